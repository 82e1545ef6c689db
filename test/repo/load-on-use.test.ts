/**
 * What a process loads is what it carries in its heap for good, and a server whose heap is a
 * few megabytes larger spends measurably more time in V8's marking under load (BENCHMARKS.md,
 * "Heap at start"). These tests pin the modules that are loaded only on use: the Node built-ins
 * of src/node/builtins.ts (`node:http2`, the web streams, zlib, tls, https, cluster; eslint.config.js
 * keeps direct imports of built-ins out of what a server loads), and the CLI commands other than
 * the one run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/repo/: dist/src (the modules) and dist/cli, dist/lib (the bundles that
// ship, scripts/bundle.js) are two levels up.
const dist = fileURLToPath(new URL('../../src/', import.meta.url));
const cliBundle = fileURLToPath(new URL('../../cli/', import.meta.url));
const libBundle = fileURLToPath(new URL('../../lib/', import.meta.url));

/** A resolve hook that reports on stderr every file: URL the process loads. */
const REPORT_LOADS =
  'data:text/javascript,export async function resolve(s, c, next) {' +
  " const r = await next(s, c); if (r.url.startsWith('file:'))" +
  " process.stderr.write('LOADED ' + r.url + '\\n'); return r; }";

/** Runs the CLI at `bin` with `args` and returns the files it loaded. */
function cliLoads(bin: string, args: string[]): string[] {
  const result = spawnSync(
    process.execPath,
    ['--no-warnings', '--experimental-loader', REPORT_LOADS, bin, ...args],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stderr);
  return [...result.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => fileURLToPath(m[1]));
}

/** Definitions only the client side of the library has (as tsc or esbuild writes them). */
const CLIENT_ONLY = [
  /\bfunction startClientHandshake\(/,
  /\bclass _?ReconnectingWebSocket\b|\bReconnectingWebSocket ?= ?class\b/,
];

/** Runs `body` (an ES module) in a fresh Node process and returns what it printed as JSON. */
function runModule(body: string): unknown {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', body], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** The built-ins src/node/builtins.ts loads on first use (Node's bootstrap loads no one of them). */
const ON_USE = ['cluster', 'http2', 'https', 'stream/web', 'tls', 'zlib'];

/** Source text printing which of {@link ON_USE} are loaded so far. */
/** Module source that prints which of the built-ins `modules` the process has loaded. */
function printLoaded(modules: readonly string[]): string {
  return (
    `const names = new Set(${JSON.stringify(modules.map((name) => `NativeModule ${name}`))});` +
    'console.log(JSON.stringify(process.moduleLoadList.filter((m) => names.has(m))));'
  );
}
const PRINT_LOADED = printLoaded(ON_USE);

describe('modules loaded on use', () => {
  test('importing ironsock loads none of node:http2, stream/web, zlib, tls, https, cluster', () => {
    const loaded = runModule(`await import(${JSON.stringify(dist + 'index.js')});` + PRINT_LOADED);
    assert.deepEqual(loaded, []);
  });

  test('they load on first use (nodeHttp2, nodeStreamWeb, nodeZlib, nodeTls, nodeHttps, nodeCluster)', () => {
    const loaded = runModule(
      `await import(${JSON.stringify(dist + 'index.js')});` +
        `const b = await import(${JSON.stringify(dist + 'node/builtins.js')});` +
        `b.nodeHttp2(); b.nodeStreamWeb(); b.nodeZlib(); b.nodeTls(); b.nodeHttps(); b.nodeCluster();` +
        PRINT_LOADED,
    );
    assert.deepEqual(
      [...(loaded as string[])].sort(),
      ON_USE.map((name) => `NativeModule ${name}`),
    );
  });

  test('a ws: client and the server it talks to load neither node:tls nor node:https', () => {
    const loaded = runModule(
      `const { WebSocketServer, WebSocket } = await import(${JSON.stringify(dist + 'index.js')});` +
        `const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });` +
        `await new Promise((resolve) => wss.on('listening', resolve));` +
        'const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`);' +
        `await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });` +
        `ws.send('hi'); await new Promise((resolve) => wss.clients.values().next().value.once('message', resolve));` +
        `ws.terminate(); wss.close();` +
        printLoaded(['tls', 'https']),
    );
    assert.deepEqual(loaded, []);
  });

  test('the CLI loads only the command it runs (serve: not audit, bench, connect, the bus)', () => {
    const loaded = new Set(
      cliLoads(dist + 'cli/bin.js', ['serve', '--help']).map((file) => file.slice(dist.length)),
    );
    assert.ok(loaded.has('cli/serve.js'), [...loaded].join(' '));
    for (const name of [
      'cli/audit.js',
      'cli/bench.js',
      'cli/connect.js',
      'cli/serve-bus.js',
      // A server never loads the client side (websocket.ts takes its handshake from client.ts).
      'index.js',
      'node/client.js',
      'node/client-http2.js',
      'node/reconnect.js',
      'node/websocket-stream.js',
    ]) {
      assert.ok(!loaded.has(name), `${name} was loaded`);
    }
  });

  test('without the client module a client cannot be made, and says how to get one', () => {
    const outcome = runModule(
      `const { WebSocket } = await import(${JSON.stringify(dist + 'node/websocket.js')});` +
        `let code = null, message = ''; try { new WebSocket('ws://127.0.0.1:1'); } catch (e) { code = e.code; message = e.message; }` +
        `await import(${JSON.stringify(dist + 'node/client.js')});` +
        `const ws = new WebSocket('ws://127.0.0.1:1'); ws.on('error', () => {}); ws.terminate();` +
        `console.log(JSON.stringify({ code, message, url: ws.url }));`,
    ) as { code: string; message: string; url: string };
    assert.equal(outcome.code, 'CLIENT_NOT_LOADED');
    assert.match(outcome.message, /import WebSocket from 'ironsock'/);
    assert.equal(outcome.url, 'ws://127.0.0.1:1/');
  });

  test('the shipped entry (dist/lib bundle) loads neither node:http2 nor node:stream/web', () => {
    const loaded = runModule(
      `await import(${JSON.stringify(libBundle + 'index.js')});` + PRINT_LOADED,
    );
    assert.deepEqual(loaded, []);
  });

  test('the shipped `ironsock serve` (dist/cli bundle) loads no client-side code', () => {
    const chunks = readdirSync(cliBundle).filter((name) => name.endsWith('.js'));
    const defines = (file: string, code: RegExp): boolean => code.test(readFileSync(file, 'utf8'));
    // The bundle has the client code (for `ironsock connect`), in chunks serve does not load.
    for (const code of CLIENT_ONLY) {
      assert.ok(
        chunks.some((name) => defines(cliBundle + name, code)),
        `the CLI bundle defines ${code}`,
      );
    }
    const loaded = cliLoads(cliBundle + 'bin.js', ['serve', '--help']);
    assert.ok(
      loaded.some((file) => file.startsWith(cliBundle + 'serve-')),
      loaded.join(' '),
    );
    for (const file of loaded.filter((name) => name.startsWith(cliBundle))) {
      for (const code of CLIENT_ONLY) assert.ok(!defines(file, code), `${file} defines ${code}`);
    }
  });
});
