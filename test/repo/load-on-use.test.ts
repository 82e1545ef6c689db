/**
 * What a process loads is what it carries in its heap for good, and a server whose heap is a
 * few megabytes larger spends measurably more time in V8's marking under load (BENCHMARKS.md,
 * "Heap at start"). These tests pin the modules that are loaded only on use: `node:http2` and
 * the web streams (RFC 8441 and `WebSocketStream`), and the CLI commands other than the one run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/repo/: dist/src is two levels up.
const dist = fileURLToPath(new URL('../../src/', import.meta.url));

/** Runs `body` (an ES module) in a fresh Node process and returns what it printed as JSON. */
function runModule(body: string): unknown {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', body], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** Source text printing which of Node's `node:http2` and `node:stream/web` are loaded so far. */
const PRINT_LOADED =
  'console.log(JSON.stringify(process.moduleLoadList.filter((m) =>' +
  " m === 'NativeModule http2' || m === 'NativeModule stream/web')));";

describe('modules loaded on use', () => {
  test('importing ironsock loads neither node:http2 nor node:stream/web', () => {
    const loaded = runModule(`await import(${JSON.stringify(dist + 'index.js')});` + PRINT_LOADED);
    assert.deepEqual(loaded, []);
  });

  test('they load on first use (nodeHttp2, nodeStreamWeb)', () => {
    const loaded = runModule(
      `await import(${JSON.stringify(dist + 'index.js')});` +
        `const { nodeHttp2, nodeStreamWeb } = await import(${JSON.stringify(dist + 'node/builtins.js')});` +
        `nodeHttp2(); nodeStreamWeb();` +
        PRINT_LOADED,
    );
    assert.deepEqual([...(loaded as string[])].sort(), [
      'NativeModule http2',
      'NativeModule stream/web',
    ]);
  });

  test('the CLI loads only the command it runs (serve: not audit, bench, connect, the bus)', () => {
    // A resolve hook reports every module of ours the process loads.
    const hook =
      'data:text/javascript,export async function resolve(s, c, next) {' +
      " const r = await next(s, c); if (r.url.startsWith('file:'))" +
      " process.stderr.write('LOADED ' + r.url + '\\n'); return r; }";
    const result = spawnSync(
      process.execPath,
      ['--no-warnings', '--experimental-loader', hook, dist + 'cli/bin.js', 'serve', '--help'],
      { encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
    const loaded = new Set(
      [...result.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) =>
        fileURLToPath(m[1]).slice(dist.length),
      ),
    );
    assert.ok(loaded.has('cli/serve.js'), [...loaded].join(' '));
    for (const name of ['cli/audit.js', 'cli/bench.js', 'cli/connect.js', 'cli/serve-bus.js']) {
      assert.ok(!loaded.has(name), `${name} was loaded`);
    }
  });
});
