/**
 * The `http2` client option (RFC 8441): ironsock client ↔ ironsock server over HTTP/2, several
 * sockets sharing one session, subprotocol and permessage-deflate negotiation, refusals as
 * 'unexpected-response', TLS verification, and the fallback to HTTP/1.1 on a fresh connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../../src/node/server.js';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { http2SessionCount } from '../../src/node/client-http2.js';
import { selfSigned } from '../helpers/h2.js';
import { once, stopServer, waitFor } from './util.js';

function credentials(): { key: Buffer; cert: Buffer } | null {
  const pair = selfSigned();
  if (pair === null && process.env.CI === 'true') assert.fail('openssl is required under CI');
  return pair;
}

async function h2Server(
  pair: { key: Buffer; cert: Buffer },
  options: Record<string, unknown> = {},
): Promise<{
  wss: WebSocketServer;
  url: string;
  seen: Array<{ version: string; session: unknown }>;
}> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', http2: pair, ...options });
  await once(wss, 'listening');
  const seen: Array<{ version: string; session: unknown }> = [];
  wss.on('connection', (ws: WebSocket, req) => {
    const r = req as unknown as {
      httpVersion: string;
      stream?: { session: unknown };
      socket: unknown;
    };
    seen.push({ version: r.httpVersion, session: r.stream?.session ?? r.socket });
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  return { wss, url: `wss://127.0.0.1:${(wss.address() as AddressInfo).port}`, seen };
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = once<[Buffer]>(ws, 'message');
  ws.send(text);
  return (await reply)[0].toString();
}

test("http2: 'auto' against an RFC 8441 server: five sockets share one session, echo on each, the session closes with the last", async (t) => {
  const pair = credentials();
  if (pair === null) return t.skip('openssl not found');
  const { wss, url, seen } = await h2Server(pair);
  try {
    const sockets = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        WebSocket.connect(`${url}/room/${i}`, { ca: pair.cert, http2: 'auto' }),
      ),
    );
    for (const [i, ws] of sockets.entries()) assert.equal(await echo(ws, `m${i}`), `m${i}`);
    assert.deepEqual(
      seen.map((s) => s.version),
      ['2.0', '2.0', '2.0', '2.0', '2.0'],
    );
    assert.equal(new Set(seen.map((s) => s.session)).size, 1, 'one HTTP/2 session');
    assert.equal(http2SessionCount(), 1);
    // A sixth socket opened later reuses the same session.
    const late = await WebSocket.connect(`${url}/late`, { ca: pair.cert, http2: true });
    assert.equal(await echo(late, 'late'), 'late');
    assert.equal(new Set(seen.map((s) => s.session)).size, 1);
    const closes = [...sockets, late].map((ws) => once<[number]>(ws, 'close'));
    for (const ws of [...sockets, late]) ws.close(1000, 'bye');
    for (const c of closes) assert.equal((await c)[0], 1000);
    await waitFor(() => http2SessionCount() === 0, 3000, 'the pooled session to close');
  } finally {
    await stopServer(wss);
  }
});

test('over HTTP/2: subprotocol and permessage-deflate negotiate as on HTTP/1.1; large messages cross flow control', async (t) => {
  const pair = credentials();
  if (pair === null) return t.skip('openssl not found');
  const { wss, url } = await h2Server(pair, { perMessageDeflate: true, maxPayload: 4 << 20 });
  try {
    const ws = await WebSocket.connect(url, ['chat.v2', 'chat.v1'], {
      ca: pair.cert,
      http2: true,
      maxPayload: 4 << 20,
    });
    assert.equal(ws.protocol, 'chat.v2');
    assert.match(ws.extensions, /^permessage-deflate/);
    const big = Buffer.alloc(3 << 20, 'abcdefgh');
    const reply = once<[Buffer]>(ws, 'message');
    ws.send(big);
    assert.ok((await reply)[0].equals(big));
    ws.close();
    await once(ws, 'close');
  } finally {
    await stopServer(wss);
  }
});

test('over HTTP/2: a refusal is an unexpected-response with status, headers and the body; close 1006', async (t) => {
  const pair = credentials();
  if (pair === null) return t.skip('openssl not found');
  const { wss, url } = await h2Server(pair);
  try {
    const ws = new WebSocket(url, { ca: pair.cert, http2: true, origin: 'https://evil.example' });
    const closed = once<[number]>(ws, 'close');
    const [, response] = await once<
      [null, { statusCode: number; httpVersion: string; body: Buffer }]
    >(ws, 'unexpected-response');
    assert.equal(response.statusCode, 403);
    assert.equal(response.httpVersion, '2.0');
    assert.match(response.body.toString(), /Origin/);
    const [code] = await closed;
    assert.equal(code, 1006);
  } finally {
    await stopServer(wss);
  }
});

test('over HTTP/2: a self-signed certificate without its CA fails with TLS_FAILED (local 1015), never downgraded', async (t) => {
  const pair = credentials();
  if (pair === null) return t.skip('openssl not found');
  const { wss, url, seen } = await h2Server(pair);
  try {
    const ws = new WebSocket(url, { http2: 'auto' });
    const errored = once<[{ code: string }]>(ws, 'error');
    const closed = once<[number]>(ws, 'close');
    const [error] = await errored;
    assert.equal(error.code, 'TLS_FAILED');
    const [code] = await closed;
    assert.equal(code, 1015);
    assert.equal(seen.length, 0);
  } finally {
    await stopServer(wss);
  }
});

test("http2: 'auto' falls back to HTTP/1.1 on a fresh connection: an https-only server, and an h2 server without the setting; http2: true fails instead", async (t) => {
  const pair = credentials();
  if (pair === null) return t.skip('openssl not found');
  // 1. HTTP/1.1 only (no ALPN h2).
  const server = https.createServer(pair);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const wss = new WebSocketServer({ server });
  const versions: string[] = [];
  wss.on('connection', (ws: WebSocket, req) => {
    versions.push(req.httpVersion);
    ws.on('message', (d) => ws.send(d as Buffer));
  });
  const h1url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // 2. HTTP/2 with HTTP/1.1 allowed, ironsock attached with http2: false (no setting).
  const h2only = http2.createSecureServer({ ...pair, allowHTTP1: true });
  await new Promise<void>((r) => h2only.listen(0, '127.0.0.1', r));
  let h2Sessions = 0;
  h2only.on('session', () => h2Sessions++);
  const wss2 = new WebSocketServer({ server: h2only, http2: false });
  wss2.on('connection', (ws: WebSocket, req) => {
    versions.push(req.httpVersion);
    ws.on('message', (d) => ws.send(d as Buffer));
  });
  const noSettingUrl = `wss://127.0.0.1:${(h2only.address() as AddressInfo).port}`;
  try {
    const a = await WebSocket.connect(h1url, { ca: pair.cert, http2: 'auto' });
    assert.equal(await echo(a, 'a'), 'a');
    const b = await WebSocket.connect(noSettingUrl, { ca: pair.cert, http2: 'auto' });
    assert.equal(await echo(b, 'b'), 'b');
    assert.deepEqual(versions, ['1.1', '1.1']);
    assert.equal(h2Sessions, 1, 'the HTTP/2 session was tried once, then HTTP/1.1');
    // The origin is remembered: the next 'auto' socket goes straight to HTTP/1.1.
    const c = await WebSocket.connect(noSettingUrl, { ca: pair.cert, http2: 'auto' });
    assert.equal(h2Sessions, 1);
    await waitFor(() => http2SessionCount() === 0, 3000, 'the probe session to close');
    const forced = new WebSocket(`${noSettingUrl}/x`, { ca: pair.cert, http2: true });
    const [error] = await once<[{ code: string }]>(forced, 'error');
    assert.equal(error.code, 'HTTP2_UNSUPPORTED');
    for (const ws of [a, b, c]) ws.terminate();
  } finally {
    await stopServer(wss);
    await stopServer(wss2);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await new Promise((r) => h2only.close(r));
  }
});

test("over HTTP/2: a server that never answers the CONNECT fails at handshakeTimeout with ws's text", async (t) => {
  const pair = credentials();
  if (pair === null) return t.skip('openssl not found');
  const server = http2.createSecureServer({
    ...pair,
    settings: { enableConnectProtocol: true },
  });
  const streams: http2.ServerHttp2Stream[] = [];
  server.on('stream', (stream) => streams.push(stream)); // never answered
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const ws = new WebSocket(`wss://127.0.0.1:${port}`, {
      http2: true,
      ca: pair.cert,
      handshakeTimeout: 200,
    });
    const errored = once<[{ code: string; message: string; explanation: string }]>(ws, 'error');
    const closed = once<[number]>(ws, 'close');
    const [error] = await errored;
    assert.equal(error.code, 'HANDSHAKE_TIMEOUT');
    assert.equal(error.message, 'Opening handshake has timed out');
    assert.equal(error.explanation, 'Opening handshake has timed out after 200 ms');
    assert.equal((await closed)[0], 1006);
  } finally {
    for (const stream of streams) stream.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
