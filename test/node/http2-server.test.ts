/**
 * RFC 8441 on the server: extended CONNECT streams on an HTTP/2 server become WebSockets, with
 * the same events and objects as HTTP/1.1; the setting is advertised only where ironsock
 * handles the stream; HTTP/1.1 upgrades keep working on the same port. Raw `node:http2` client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import WS from 'ws';
import { WebSocketServer } from '../../src/node/server.js';
import type { WebSocket } from '../../src/node/websocket.js';
import { connectHeaders, h2Open, h2Session, selfSigned } from '../helpers/h2.js';
import { once, parseFrames, stopServer, waitFor } from './util.js';
import { RawH2Connection, SETTINGS_ENABLE_CONNECT_PROTOCOL } from '../../src/cli/audit/h2-wire.js';

function credentials(t: { skip(msg: string): void }): { key: Buffer; cert: Buffer } | null {
  const pair = selfSigned();
  if (pair === null) {
    if (process.env.CI === 'true') assert.fail('openssl is required under CI');
    t.skip('openssl not found');
  }
  return pair;
}

test('standalone http2 server: echo over an extended CONNECT stream, req says HTTP/2, SETTINGS advertise RFC 8441', async (t) => {
  const pair = credentials(t);
  if (pair === null) return;
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', http2: pair });
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  let request: { httpVersion: string; method?: string; url?: string } | undefined;
  let verified: string | undefined;
  const wss2 = wss;
  let remoteAddress: string | undefined;
  wss2.on('connection', (ws: WebSocket, req) => {
    request = req as unknown as typeof request;
    // ws users read the peer address from `ws._socket`: the stream answers for its connection.
    remoteAddress = (ws._socket as { remoteAddress?: string } | null)?.remoteAddress;
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  const session = await h2Session(port, pair.cert);
  try {
    assert.equal(session.remoteSettings.enableConnectProtocol, true);
    const socket = await h2Open(session, connectHeaders(`127.0.0.1:${port}`, {}, '/echo?x=1'));
    assert.equal(socket.status, 200);
    assert.equal(socket.headers['sec-websocket-accept'], undefined);
    socket.frame(0x1, 'hello over h2');
    await waitFor(() => parseFrames(socket.data).length >= 1, 5000, 'echo');
    const [echo] = parseFrames(socket.data);
    assert.equal(echo.opcode, 0x1);
    assert.equal(echo.payload.toString(), 'hello over h2');
    assert.equal(request?.httpVersion, '2.0');
    assert.equal(request?.method, 'CONNECT');
    assert.equal(request?.url, '/echo?x=1');
    assert.equal(remoteAddress, '127.0.0.1');
    void verified;
    // Clean close: Close frames both ways, then END_STREAM from the server.
    socket.frame(0x8, Buffer.from([0x03, 0xe8]));
    await waitFor(() => socket.ended || socket.closed, 5000, 'END_STREAM');
    const frames = parseFrames(socket.data);
    assert.equal(frames.at(-1)?.opcode, 0x8);
    await waitFor(() => wss.clients.size === 0, 5000, 'clients emptied');
  } finally {
    session.destroy();
    await stopServer(wss);
  }
});

test('HTTP/1.1 upgrades keep working on the HTTP/2 port (allowHTTP1), and several WebSockets share one session', async (t) => {
  const pair = credentials(t);
  if (pair === null) return;
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', http2: pair });
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  const versions: string[] = [];
  wss.on('connection', (ws: WebSocket, req) => {
    versions.push((req as { httpVersion: string }).httpVersion);
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  const h1 = new WS(`wss://127.0.0.1:${port}/`, { ca: pair.cert });
  h1.on('error', () => {});
  await once(h1, 'open');
  h1.send('h1');
  const [reply] = await once<[Buffer]>(h1, 'message');
  assert.equal(reply.toString(), 'h1');
  const session = await h2Session(port, pair.cert);
  try {
    const sockets = await Promise.all(
      [1, 2, 3].map(() => h2Open(session, connectHeaders(`127.0.0.1:${port}`))),
    );
    sockets.forEach((s, i) => s.frame(0x2, Buffer.from([i])));
    for (const [i, s] of sockets.entries()) {
      await waitFor(() => parseFrames(s.data).length === 1, 5000, 'echo');
      assert.deepEqual([...parseFrames(s.data)[0].payload], [i]);
    }
    assert.deepEqual(versions.sort(), ['1.1', '2.0', '2.0', '2.0']);
    assert.equal(wss.clients.size, 4);
  } finally {
    h1.terminate();
    session.destroy();
    await stopServer(wss);
  }
});

test('attach to an application http2 server: its own requests still work, the setting appears only while attached', async (t) => {
  const pair = credentials(t);
  if (pair === null) return;
  const server = http2.createSecureServer({ ...pair, allowHTTP1: true }, (req, res) => {
    res.end(`page ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const before = await h2Session(port, pair.cert);
    assert.equal(before.remoteSettings.enableConnectProtocol, false);
    before.destroy();

    const wss = new WebSocketServer({ server });
    const reqs: unknown[] = [];
    wss.on('connection', (ws: WebSocket, req) => {
      reqs.push(req);
      ws.send('welcome');
    });
    const session = await h2Session(port, pair.cert);
    assert.equal(session.remoteSettings.enableConnectProtocol, true);
    const page = session.request({ ':path': '/index.html' });
    let body = '';
    page.setEncoding('utf8');
    page.on('data', (c: string) => (body += c));
    await once(page, 'end');
    assert.equal(body, 'page /index.html');
    const socket = await h2Open(session, connectHeaders(`127.0.0.1:${port}`));
    assert.equal(socket.status, 200);
    await waitFor(() => parseFrames(socket.data).length === 1, 5000, 'welcome');
    // The compatibility layer's own request object is the one the application gets.
    assert.ok(reqs[0] instanceof http2.Http2ServerRequest);
    // A plain CONNECT (no :protocol) is not ours: Node's compatibility answer (405) stands.
    const tunnel = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
    tunnel.on('error', () => {});
    const [head] = await once<[Record<string, unknown>]>(tunnel, 'response');
    assert.equal(head[':status'], 405);
    session.destroy();

    await stopServer(wss);
    const after = await h2Session(port, pair.cert);
    assert.equal(after.remoteSettings.enableConnectProtocol, false);
    after.destroy();
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('an http2 server without ironsock never sends the setting (raw SETTINGS frame), and an extended CONNECT to it is refused cleanly', async (t) => {
  const pair = credentials(t);
  if (pair === null) return;
  const server = http2.createSecureServer(pair, (_req, res) => res.end('plain'));
  let streams = 0;
  server.on('stream', () => streams++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const authority = `127.0.0.1:${port}`;
  const raw = await RawH2Connection.open({ host: '127.0.0.1', port, ca: pair.cert }, 5000);
  let wss: WebSocketServer | null = null;
  try {
    assert.ok(raw !== null, 'the server selects h2');
    const settings = await raw.serverSettings(5000);
    assert.ok(settings !== null);
    assert.equal(settings.has(SETTINGS_ENABLE_CONNECT_PROTOCOL), false);
    // Sent anyway (Node's client would refuse to): the stream is reset, the connection lives.
    raw.sendHeaders(1, Object.entries(connectHeaders(authority)) as Array<[string, string]>);
    const outcome = await raw.outcome(1, 5000);
    assert.equal(outcome.kind, 'rst');
    assert.equal(streams, 0, 'never reaches the application');
    raw.sendHeaders(
      3,
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/'],
        [':authority', authority],
      ],
      true,
    );
    assert.equal(
      (await raw.outcome(3, 5000)).kind,
      'headers',
      'the connection still serves requests',
    );

    // With `http2: false` an attached WebSocketServer leaves the HTTP/2 side exactly as it was.
    wss = new WebSocketServer({ server, http2: false });
    const session = await h2Session(port, pair.cert);
    assert.equal(session.remoteSettings.enableConnectProtocol, false);
    session.destroy();
  } finally {
    raw?.close();
    if (wss !== null) await stopServer(wss);
    await new Promise((r) => server.close(r));
  }
});

test('noServer: handleStream() takes extended CONNECT streams from the application', async (t) => {
  const pair = credentials(t);
  if (pair === null) return;
  const server = http2.createSecureServer({
    ...pair,
    settings: { enableConnectProtocol: true },
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on(
    'stream',
    (
      stream: http2.ServerHttp2Stream,
      headers: http2.IncomingHttpHeaders,
      _flags: number,
      rawHeaders: string[],
    ) => {
      if (headers[':protocol'] === 'websocket') {
        wss.handleStream(stream, headers, rawHeaders, (ws, req) => {
          ws.send(`hello ${req.httpVersion} ${req.url}`);
        });
      } else {
        stream.respond({ ':status': 404 });
        stream.end();
      }
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const session = await h2Session(port, pair.cert);
  try {
    const socket = await h2Open(session, connectHeaders(`127.0.0.1:${port}`, {}, '/x'));
    assert.equal(socket.status, 200);
    await waitFor(() => parseFrames(socket.data).length === 1, 5000, 'greeting');
    assert.equal(parseFrames(socket.data)[0].payload.toString(), 'hello 2.0 /x');
    // The same policy as HTTP/1.1: a cross-origin page is refused.
    const refused = await h2Open(
      session,
      connectHeaders(`127.0.0.1:${port}`, { origin: 'https://evil.example' }),
    );
    assert.equal(refused.status, 403);
  } finally {
    session.destroy();
    await stopServer(wss);
    await new Promise((r) => server.close(r));
  }
});
