#!/usr/bin/env node
// Bundles what the package ships to be run: the ES module entries into dist/lib and the
// `ironsock` executable into dist/cli. Run by `npm run build` after the tsc passes, from their
// comment-free output in dist/src (tsconfig.lean.json); types stay in dist/src (.d.ts).
//
// Why: V8 keeps every loaded module for good (module record, scope and function data, source
// text), and the library is about sixty small modules. A bundle of the same code is about
// 0.45 MB less heap in every process, and under large messages over many connections a server's
// heap size decides how often V8 runs full marking: 1 MiB x 1,000 connections went from 0.66x
// ws to ws's level (BENCHMARKS.md, "Large messages over many connections").
//
// The library and the executable are two builds: the CLI's `serve` loads no client, audit or
// bench code (dynamic imports become chunks of their own), and `serve --workers` re-runs its
// own entry (`./bin.js` next to the chunk that forks it, see src/cli/serve-bus.ts).
import { build } from 'esbuild';
import { SHARED_BUILD_OPTIONS } from './esbuild-options.js';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'dist', 'src');

/** Options both builds here share. */
const common = {
  ...SHARED_BUILD_OPTIONS,
  splitting: true,
  format: 'esm',
  chunkNames: '[name]-[hash]',
};

for (const dir of ['lib', 'cli']) rmSync(join(root, 'dist', dir), { recursive: true, force: true });

await build({
  ...common,
  entryPoints: ['index.js', 'protocol/index.js', 'pubsub/redis.js', 'pubsub/nats.js'].map((entry) =>
    join(src, entry),
  ),
  outbase: src,
  outdir: join(root, 'dist', 'lib'),
});

await build({
  ...common,
  entryPoints: [join(src, 'cli', 'bin.js')],
  outdir: join(root, 'dist', 'cli'),
});
