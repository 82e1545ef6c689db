/**
 * Benchmarks are not tests (no speed is asserted anywhere); this only keeps the harness
 * working: `npm run bench -- --smoke` must run end to end and print its table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
const gcc = ['/usr/bin/gcc', '/usr/bin/cc'].some((path) => existsSync(path));

test('npm run bench -- --smoke runs the harness end to end', { timeout: 180_000 }, (t) => {
  if (!gcc) {
    if (process.env.CI === 'true') assert.fail('gcc is needed to build the load generator');
    t.skip('gcc not found: the C load generator cannot be built');
    return;
  }
  const result = spawnSync(process.execPath, [runner, '--smoke'], {
    encoding: 'utf8',
    timeout: 170_000,
  });
  assert.equal(result.status, 0, `bench --smoke failed:\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /\| workload \|/, 'prints the results table');
  assert.match(result.stdout, /ironsock/);
  // The pub/sub cells (issue #14): topic fan-out beside raw TCP, and the cross-process bus.
  assert.match(result.stdout, /\| publish \| .* \| ironsock-publish \|/);
  assert.match(result.stdout, /\| pub\/sub bus \| Redis .* \| ironsock \| \d/);
  assert.match(result.stdout, /\| pub\/sub bus \| NATS .* \| ironsock \| \d/);
  // A figure that cannot be computed is printed as '-' or left out, never as NaN.
  assert.doesNotMatch(`${result.stdout}\n${result.stderr}`, /NaN/);
});
