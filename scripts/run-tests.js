#!/usr/bin/env node
// Runs the compiled test files with node's own test runner.
//   node scripts/run-tests.js [--dir dist] [substring ...]
// Node 20's `--test` takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
let dir = 'dist';
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--dir') dir = args[++i];
  else filters.push(args[i]);
}

function walk(path, out) {
  for (const name of readdirSync(path)) {
    const full = join(path, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const files = walk(join(dir, 'test'), [])
  .filter((f) => filters.length === 0 || filters.some((s) => relative(dir, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched in ${dir}/test`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${concurrency}`,
    // A hung test fails after this long instead of hanging the run.
    `--test-timeout=${process.env.TEST_TIMEOUT ?? '180000'}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    // Then the tests that did not run, grouped by the reason they give (skip-report.js).
    `--test-reporter=${fileURLToPath(new URL('./skip-report.js', import.meta.url))}`,
    '--test-reporter-destination=stdout',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
