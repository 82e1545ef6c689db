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
  // Issue #12: the connect storm with both client endings, and the raw node:net broadcast
  // reference (it raced the server's accept before untilServerHas).
  assert.match(result.stdout, /\| connect storm \| [^|]*client reset \| ironsock \| \d/);
  assert.match(result.stdout, /\| connect storm \| [^|]*client FIN \| ironsock \| \d/);
  assert.match(result.stdout, /\| broadcast \| [^|]* \| raw-net \| \d/);
  // A figure that cannot be computed is printed as '-' or left out, never as NaN.
  assert.doesNotMatch(`${result.stdout}\n${result.stderr}`, /NaN/);
});

test('the broadcast and memory cells wait until the server has accepted every connection', async () => {
  const { untilServerHas } = await import('../../bench/harness/workloads.js');
  let calls = 0;
  // The server sees the connections arrive a few at a time (they sit in its accept backlog).
  const server = {
    stats: async () => ({ connections: Math.min(10, ++calls * 3) }),
  } as unknown as Parameters<typeof untilServerHas>[0];
  await untilServerHas(server, 10, 5000);
  assert.equal(calls, 4, 'polled until the server reported all 10');
  calls = 0;
  const never = {
    stats: async () => ({ connections: (++calls, 1) }),
  } as unknown as Parameters<typeof untilServerHas>[0];
  const started = Date.now();
  await untilServerHas(never, 10, 100);
  assert.ok(Date.now() - started >= 100 && calls > 1, 'gives up after its timeout');
});
