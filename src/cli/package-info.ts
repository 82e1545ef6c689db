import { nodeFs, nodeUrl } from '../node/builtins.js';

/**
 * Files located relative to the running CLI: compiled to `<outDir>/src/cli/*.js`, or bundled
 * into `<outDir>/cli/*.js` (what the package's `ironsock` executable runs, scripts/bundle.js).
 * `<outDir>` is `dist/` for the package and a scratch folder in development, and the package
 * root holding package.json is its parent.
 */
const OUT_DIR = new URL(
  new URL('.', import.meta.url).pathname.endsWith('/src/cli/') ? '../../' : '../',
  import.meta.url,
);

/** The package version from package.json, or `'unknown'` if it cannot be read. */
export function packageVersion(): string {
  try {
    const text = nodeFs().readFileSync(new URL('../package.json', OUT_DIR), 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed) {
      return String((parsed as { version: unknown }).version);
    }
  } catch {
    // fall through
  }
  return 'unknown';
}

/** Path of the compiled benchmark runner (`<outDir>/bench/run.js`); it may not exist. */
export function benchRunnerPath(): string {
  return nodeUrl().fileURLToPath(new URL('bench/run.js', OUT_DIR));
}
