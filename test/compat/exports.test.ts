/**
 * STYLE.md §7 and issue #11 group 1: the package's entry points, loaded by name as an
 * application loads them. Pins the names exported by `ironsock` and `ironsock/protocol` (ESM and
 * CommonJS alike), ws's CommonJS shape of `require('ironsock')`, the `exports` conditions, and
 * that `npm pack` ships both builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN_NAMES, ROOT, importByName, requireFromPackage } from './support.js';

const PROTOCOL_NAMES = [
  'CloseCode',
  'Connection',
  'DEFAULT_MAX_PAYLOAD',
  'ExtensionError',
  'GUID',
  'HandshakeError',
  'HttpHeadParser',
  'MAX_CLOSE_REASON_BYTES',
  'Opcode',
  'ProtocolError',
  'ProtocolViolation',
  'STATUS_REASONS',
  'UsageError',
  'Utf8Validator',
  'acceptDeflateResponse',
  'buildAcceptResponse',
  'buildClosePayload',
  'buildExtendedConnectAccept',
  'buildRejectResponse',
  'checkOrigin',
  'compileOrigins',
  'computeAccept',
  'createClientRequest',
  'createClientRequestHead',
  'createDeflateOffer',
  'createExtendedConnectRequest',
  'encodeFrame',
  'generateKey',
  'headerSize',
  'isControlOpcode',
  'isExtendedConnect',
  'isValidKey',
  'isValidUtf8',
  'isValidWireCloseCode',
  'negotiateDeflateServer',
  'normalizeOrigin',
  'parseClosePayload',
  'parseExtensionHeader',
  'parseProtocolHeader',
  'resolveLimits',
  'serializeExtensions',
  'toRejection',
  'validateExtendedConnect',
  'validateExtendedConnectResponse',
  'validateServerResponse',
  'validateUpgradeRequest',
  'webPlatform',
  'writeHeader',
];

test("import 'ironsock' exports exactly the curated names; the default export is the WebSocket class", async () => {
  const ironsock = await importByName('ironsock');
  assert.deepEqual(Object.keys(ironsock).sort(), MAIN_NAMES);
  assert.equal(ironsock.default, ironsock.WebSocket);
  // ws's statics, on the ES module default too (ws's README: `new WebSocket.Server(...)` in CJS).
  assert.equal(ironsock.default.Server, ironsock.WebSocketServer);
  assert.equal(ironsock.default.WebSocketServer, ironsock.WebSocketServer);
  assert.equal(ironsock.default.WebSocket, ironsock.WebSocket);
  assert.equal(ironsock.default.createWebSocketStream, ironsock.createWebSocketStream);
});

test("import 'ironsock/protocol' exports exactly the engine's curated names", async () => {
  const protocol = await importByName('ironsock/protocol');
  assert.deepEqual(Object.keys(protocol).sort(), PROTOCOL_NAMES);
});

test("require('ironsock') is ws's CommonJS shape: the WebSocket class with the other exports as statics", () => {
  const WebSocket = requireFromPackage('ironsock');
  assert.equal(typeof WebSocket, 'function');
  assert.equal(WebSocket.name, 'WebSocket');
  assert.equal(WebSocket.WebSocket, WebSocket);
  assert.equal(WebSocket.Server, WebSocket.WebSocketServer);
  assert.equal(typeof WebSocket.createWebSocketStream, 'function');
  assert.equal(WebSocket.OPEN, 1);
  // Every named export of the ES module is reachable, e.g. `const { CloseCode } = require(...)`.
  for (const name of MAIN_NAMES.filter((n) => n !== 'default')) {
    assert.ok(WebSocket[name] !== undefined, `require('ironsock').${name}`);
  }
  assert.equal(WebSocket.default, undefined, 'no `default` (ws has none; esModuleInterop wraps)');
  // A real CommonJS module (Node 20 cannot require() an ES module): its own copy of the classes
  // (dist/cjs/bundle.js, built by scripts/build-cjs.js).
  const resolved = requireFromPackage.resolve('ironsock');
  assert.match(resolved, /dist[\\/]cjs[\\/]ironsock\.cjs$/);
});

test('both entries share their classes and keep their names (ESM and CommonJS bundles)', async () => {
  const main = await importByName('ironsock');
  const protocol = await importByName('ironsock/protocol');
  const mainCjs = requireFromPackage('ironsock');
  const protocolCjs = requireFromPackage('ironsock/protocol');
  for (const name of ['ProtocolError', 'UsageError', 'HandshakeError', 'CloseCode']) {
    assert.equal(protocol[name], main[name], `import: ${name} is one class`);
    assert.equal(protocolCjs[name], mainCjs[name], `require: ${name} is one class`);
  }
  for (const name of ['WebSocket', 'WebSocketServer', 'ReconnectingWebSocket', 'TopicHub']) {
    assert.equal(main[name].name, name);
    assert.equal(mainCjs[name].name, name);
  }
});

test("require('ironsock/protocol') exports the same names as the ES module", () => {
  const protocol = requireFromPackage('ironsock/protocol');
  assert.deepEqual(
    Object.keys(protocol)
      .filter((k) => k !== '__esModule')
      .sort(),
    PROTOCOL_NAMES,
  );
});

test('a CommonJS server and client work end to end on Node 20 (require, WebSocket.Server)', async () => {
  const WebSocket = requireFromPackage('ironsock');
  const wss = new WebSocket.Server({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.on('listening', resolve));
  wss.on('connection', (ws: any) => ws.on('message', (data: Buffer) => ws.send(data)));
  const client = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
  await new Promise((resolve) => client.on('open', resolve));
  client.send('cjs');
  const [data] = await new Promise<any[]>((resolve) =>
    client.on('message', (...args: any[]) => resolve(args)),
  );
  assert.equal(String(data), 'cjs');
  client.close();
  await new Promise((resolve) => wss.close(resolve));
});

test('package.json exports: import, require and types conditions for both entries', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const entry of ['.', './protocol']) {
    const conditions = pkg.exports[entry];
    assert.ok(conditions.import.types.endsWith('.d.ts'), `${entry} import types`);
    assert.ok(conditions.require.types.match(/\.d\.c?ts$/), `${entry} require types`);
    assert.ok(conditions.import.default.startsWith('./dist/lib/'), `${entry} import (the bundle)`);
    assert.ok(conditions.require.default.startsWith('./dist/cjs/'), `${entry} require`);
  }
});

test('npm pack ships the bundled ES modules and executable, the CommonJS build and both sets of types', () => {
  const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  const [report] = JSON.parse(result.stdout);
  const files = new Set(report.files.map((f: { path: string }) => f.path));
  for (const path of [
    'dist/lib/index.js',
    'dist/lib/protocol/index.js',
    'dist/lib/pubsub/redis.js',
    'dist/lib/pubsub/nats.js',
    'dist/cli/bin.js',
    'dist/src/index.d.ts',
    'dist/src/protocol/index.d.ts',
    'dist/cjs/package.json',
    'dist/cjs/ironsock.cjs',
    'dist/cjs/ironsock.d.cts',
    'dist/cjs/index.js',
    'dist/cjs/protocol/index.js',
    'dist/cjs/protocol/index.d.ts',
  ]) {
    assert.ok(files.has(path), `npm pack includes ${path}`);
  }
  assert.ok(![...files].some((p) => String(p).startsWith('dist/test/')), 'no test files shipped');
  // The unbundled modules are the build's input, not part of the package (only their types).
  assert.ok(![...files].some((p) => /^dist\/src\/.*\.js$/.test(String(p))), 'no dist/src modules');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.bin.ironsock, 'dist/cli/bin.js');
});
