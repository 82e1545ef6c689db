// The esbuild options every shipped bundle shares (scripts/bundle.js for the ES module entries
// and the executable, scripts/build-cjs.js for the CommonJS entry).
export const SHARED_BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Optional peers stay where the application installed them.
  external: ['bufferutil', 'ioredis', '@nats-io/*'],
  // Identifiers are not minified (names stay readable in stack traces); whitespace and syntax
  // are (source text is heap too).
  minifyWhitespace: true,
  minifySyntax: true,
  // Class and function names as written (`ws.constructor.name`, stack traces): esbuild would
  // otherwise rename a class that refers to itself (`class _WebSocket`).
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
};
