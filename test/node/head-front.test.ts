/**
 * The front of a standalone server (head-front.ts): the first request head of each connection
 * read by ironsock itself; upgrades skip node:http, every other request reaches node:http with
 * the bytes already read, keep-alive and pipelining included; refusals (400, 408, 431) answered
 * by the front; the `req` of the handshake is a real IncomingMessage.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../../src/node/server.js';
import type { RejectionInfo, VerifyClientInfo } from '../../src/node/server.js';
import type { WebSocket } from '../../src/node/websocket.js';
import type { HeadFront } from '../../src/node/head-front.js';
import {
  RawClient,
  delay,
  once,
  parseFrames,
  rawUpgrade,
  startServer,
  stopServer,
  upgradeRequest,
  waitFor,
} from './util.js';

/** A WebSocket server attached to a keep-alive HTTP server that does not listen, with a front. */
async function frontServer(
  options: { handshakeTimeout?: number } = {},
): Promise<{ wss: WebSocketServer; http: http.Server; front: HeadFront; port: number }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const text = `${req.method} ${req.url} ${body}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': text.length });
      res.end(text);
    });
  });
  const wss = new WebSocketServer({ server, ...options });
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  const front = wss._createFront(server);
  front.server.listen(0, '127.0.0.1');
  await once(front.server, 'listening');
  return { wss, http: server, front, port: (front.server.address() as AddressInfo).port };
}

async function closeFront(f: { wss: WebSocketServer; http: http.Server; front: HeadFront }) {
  await stopServer(f.wss);
  await new Promise<void>((resolve) => f.front.close(() => resolve()));
}

/** The HTTP responses in `text` (head + Content-Length body), in order. */
function responses(text: string): Array<{ status: number; body: string }> {
  const out: Array<{ status: number; body: string }> = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0 || !text.startsWith('HTTP/1.1 ', at)) return out;
    const head = text.slice(at, end);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (end + 4 + length > text.length) return out;
    out.push({ status: Number(head.slice(9, 12)), body: text.slice(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
}

describe('head front: requests that are not upgrades go to node:http', () => {
  test('pipelined keep-alive requests in one write, then an upgrade on the same connection', async () => {
    const f = await frontServer();
    const raw = new RawClient(f.port);
    await raw.connected();
    raw.socket.write(
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
        'GET /c HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    await waitFor(() => responses(raw.text).length === 3, 5000, 'three responses');
    assert.deepEqual(
      responses(raw.text).map((r) => r.body),
      ['GET /a ', 'POST /b hello', 'GET /c '],
    );
    const before = raw.data.length;
    const connected = once(f.wss, 'connection');
    raw.socket.write(upgradeRequest(f.port));
    const [, req] = (await connected) as [WebSocket, IncomingMessage];
    assert.ok(req instanceof IncomingMessage);
    await waitFor(() => raw.text.slice(before).includes('\r\n\r\n'), 5000, 'the 101');
    assert.match(raw.text.slice(before), /^HTTP\/1\.1 101 /);
    const after = raw.data.length;
    raw.frame(0x1, 'after keep-alive');
    await waitFor(() => raw.data.length > after + 2, 5000, 'the echo');
    const end = raw.text.indexOf('\r\n\r\n', before);
    assert.equal(
      parseFrames(raw.data.subarray(end + 4))[0]?.payload.toString(),
      'after keep-alive',
    );
    raw.destroy();
    await closeFront(f);
  });

  test('a request head and body split over many writes reach node:http intact', async () => {
    const f = await frontServer();
    const raw = new RawClient(f.port);
    await raw.connected();
    const request = 'POST /split HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789';
    for (let i = 0; i < request.length; i += 7) {
      raw.socket.write(request.slice(i, i + 7));
      await delay(2);
    }
    await waitFor(() => responses(raw.text).length === 1, 5000, 'the response');
    assert.deepEqual(responses(raw.text)[0], { status: 200, body: 'POST /split 0123456789' });
    raw.destroy();
    await closeFront(f);
  });

  test('standalone: a plain GET gets 426 from node:http; a broken upgrade the validator status', async () => {
    const { wss, port } = await startServer();
    const plain = new RawClient(port);
    await plain.connected();
    plain.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(await plain.status(), 426);
    assert.match(plain.text, /\r\nupgrade: websocket\r\n/i);
    plain.destroy();
    await stopServer(wss);
  });
});

describe('head front: upgrades', () => {
  test('req is an IncomingMessage with method, url, versions, headers (Node rules) and rawHeaders as sent', async () => {
    const seen: IncomingMessage[] = [];
    const { wss, port } = await startServer({
      verifyClient: (info: VerifyClientInfo) => {
        seen.push(info.req);
        return true;
      },
      handleProtocols: (protocols, req) => {
        seen.push(req);
        return protocols.values().next().value ?? false;
      },
    });
    const connected = once(wss, 'connection');
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(
      upgradeRequest(
        port,
        ['X-Two: a', 'x-two: b', 'Sec-WebSocket-Protocol: chat', 'User-Agent: one'],
        '/room?x=1',
      ),
    );
    const [, req] = (await connected) as [WebSocket, IncomingMessage];
    assert.equal(await raw.status(), 101);
    assert.ok(req instanceof IncomingMessage);
    assert.equal(seen[0], req);
    assert.equal(seen[1], req);
    assert.equal(req.method, 'GET');
    assert.equal(req.url, '/room?x=1');
    assert.equal(req.httpVersion, '1.1');
    assert.equal(req.httpVersionMajor, 1);
    assert.equal(req.httpVersionMinor, 1);
    assert.equal(req.headers.host, `127.0.0.1:${port}`);
    assert.equal(req.headers['x-two'], 'a, b');
    assert.equal(req.headers.upgrade, 'websocket');
    assert.deepEqual(req.rawHeaders.slice(0, 4), [
      'Host',
      `127.0.0.1:${port}`,
      'Upgrade',
      'websocket',
    ]);
    assert.ok(req.rawHeaders.includes('x-two'));
    assert.equal(req.socket.remoteAddress, '127.0.0.1');
    assert.equal(req.complete, true);
    raw.destroy();
    await stopServer(wss);
  });

  test('a head in 1-byte writes, and frames sent with the head, are handled', async () => {
    const { wss, port } = await startServer();
    wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    const slow = new RawClient(port);
    await slow.connected();
    const request = upgradeRequest(port);
    for (const ch of request) {
      slow.socket.write(ch);
      await delay(0);
    }
    assert.equal(await slow.status(), 101);
    // A second client sends its first frame in the same write as its head.
    const eager = new RawClient(port);
    await eager.connected();
    eager.socket.cork();
    eager.socket.write(upgradeRequest(port));
    eager.frame(0x1, 'with the head');
    eager.socket.uncork();
    assert.equal(await eager.status(), 101);
    await waitFor(() => parseFrames(eager.frames).length === 1, 5000, 'the echo');
    assert.equal(parseFrames(eager.frames)[0].payload.toString(), 'with the head');
    slow.destroy();
    eager.destroy();
    await stopServer(wss);
  });
});

describe('head front: the hand-over of the socket to its WebSocket (issue #12)', () => {
  test('a handshake accepted at once hands the socket over still flowing: no pause', async () => {
    const { wss, port } = await startServer();
    const flowing: Array<boolean | null> = [];
    wss.on('connection', (ws: WebSocket) => {
      const socket = ws._socket as import('node:net').Socket;
      flowing.push(socket.readableFlowing);
      ws.on('message', (data: Buffer) => ws.send(data));
    });
    const raw = await rawUpgrade(port);
    raw.frame(0x1, 'after the 101');
    await waitFor(() => parseFrames(raw.frames).length === 1, 5000, 'the echo');
    assert.deepEqual(flowing, [true]);
    raw.destroy();
    await stopServer(wss);
  });

  test('an accepted connection reads its head without a resume tick', async () => {
    const f = await frontServer();
    const scheduled: boolean[] = [];
    // After the front's own listener: the state the accept left.
    f.front.server.on('connection', (socket: import('node:net').Socket) => {
      const state = (socket as unknown as { _readableState: { resumeScheduled: boolean } })
        ._readableState;
      scheduled.push(state.resumeScheduled);
    });
    const raw = await rawUpgrade(f.port);
    raw.frame(0x1, 'echo me');
    await waitFor(() => parseFrames(raw.frames).length === 1, 5000, 'the echo');
    assert.deepEqual(scheduled, [false]);
    raw.destroy();
    await closeFront(f);
  });

  test('listeners attached after awaits in the connection handler see the first message', async () => {
    const { wss, port } = await startServer();
    wss.on('connection', async (ws: WebSocket) => {
      // Promise reactions only: they run before Node delivers the socket's next read.
      await Promise.resolve();
      await null;
      ws.on('message', (data: Buffer) => ws.send(data));
    });
    const raws: RawClient[] = [];
    for (let i = 0; i < 5; i++) {
      const raw = new RawClient(port);
      await raw.connected();
      // The frame follows the head at once, as a separate write (a second read on the server,
      // whenever the kernel delivers it).
      raw.socket.write(upgradeRequest(port));
      raw.frame(0x1, `first ${i}`);
      raws.push(raw);
    }
    for (const [i, raw] of raws.entries()) {
      await waitFor(() => parseFrames(raw.frames).length === 1, 5000, 'the echo');
      assert.equal(parseFrames(raw.frames)[0].payload.toString(), `first ${i}`);
      raw.destroy();
    }
    await stopServer(wss);
  });

  test('bytes that arrive while an asynchronous verifyClient waits are kept for the WebSocket', async () => {
    let answer: ((ok: boolean) => void) | undefined;
    const { wss, port } = await startServer({
      verifyClient: (_info: VerifyClientInfo, cb: (ok: boolean) => void) => {
        answer = cb;
      },
    });
    wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (data: Buffer) => ws.send(data));
    });
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(upgradeRequest(port));
    await waitFor(() => answer !== undefined, 5000, 'verifyClient');
    // A separate read while the handshake is pending: without the front stopping the flow it
    // would be emitted to no listener and lost.
    raw.frame(0x1, 'early');
    await delay(50);
    answer!(true);
    assert.equal(await raw.status(), 101);
    await waitFor(() => parseFrames(raw.frames).length === 1, 5000, 'the echo');
    assert.equal(parseFrames(raw.frames)[0].payload.toString(), 'early');
    raw.destroy();
    await stopServer(wss);
  });

  test('wsClientError listeners get the socket as node:http gives it (not flowing)', async () => {
    const { wss, port } = await startServer();
    const flowing: Array<boolean | null> = [];
    wss.on('wsClientError', (_error: Error, socket: import('node:stream').Duplex) => {
      flowing.push(socket.readableFlowing);
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(
      upgradeRequest(port).replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'),
    );
    assert.equal(await raw.status(), 400);
    assert.deepEqual(flowing, [null]);
    raw.destroy();
    await stopServer(wss);
  });
});

describe('head front: refusals (400, 408, 431) and security checks', () => {
  test('H4: a bare LF in the head is 400 with the parser code on rejected; nothing after it is read', async () => {
    const { wss, port } = await startServer();
    const rejected: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => rejected.push(info));
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(`GET / HTTP/1.1\nHost: 127.0.0.1:${port}\r\n\r\n${upgradeRequest(port)}`);
    assert.equal(await raw.status(), 400);
    await waitFor(() => raw.closed || raw.ended, 3000, 'the socket closed');
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].code, 'BARE_LF');
    assert.doesNotMatch(raw.text, /101 Switching/);
    raw.destroy();
    // A bare CR too (README: "bare LF or CR is a 400").
    const cr = new RawClient(port);
    await cr.connected();
    cr.socket.write(upgradeRequest(port).replace('Upgrade: websocket\r\n', 'Upgrade: websocket\r'));
    assert.equal(await cr.status(), 400);
    assert.equal(rejected.at(-1)?.code, 'BARE_CR');
    cr.destroy();
    await stopServer(wss);
  });

  test('H7: a head that never completes gets 408 at the handshake timeout (not before)', async () => {
    const { wss, port } = await startServer({ handshakeTimeout: 300 });
    const rejected: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => rejected.push(info));
    const raw = new RawClient(port);
    await raw.connected();
    const start = Date.now();
    raw.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const keepTalking = setInterval(() => raw.socket.write('X: y\r\n'), 50);
    assert.equal(await raw.status(3000), 408);
    clearInterval(keepTalking);
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 290 && elapsed < 2000, `408 after ${elapsed} ms`);
    assert.equal(rejected[0]?.code, 'ERR_HTTP_REQUEST_TIMEOUT');
    await waitFor(() => raw.closed || raw.ended, 3000, 'the socket closed');
    raw.destroy();
    await stopServer(wss);
  });

  test('H6: 16 KiB without the end of the head in one write is 431 at once', async () => {
    const { wss, port } = await startServer();
    const rejected: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => rejected.push(info));
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(16 * 1024)}`);
    assert.equal(await raw.status(), 431);
    assert.equal(rejected[0]?.code, 'HEAD_TOO_LARGE');
    raw.destroy();
    await stopServer(wss);
  });

  test('H6: a head of exactly maxHeadersCount (100) fields is read; one more field is 431', async () => {
    const { wss, port } = await startServer();
    const rejected: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => rejected.push(info));
    // upgradeRequest sends 5 fields of its own.
    const padding = (n: number): string[] =>
      Array.from({ length: n }, (_, i) => `X-Pad-${i}: ${i}`);
    (await rawUpgrade(port, padding(95))).destroy(); // 101, or it throws
    const over = new RawClient(port);
    await over.connected();
    over.socket.write(upgradeRequest(port, padding(96)));
    assert.equal(await over.status(), 431);
    assert.equal(rejected.at(-1)?.code, 'TOO_MANY_HEADERS');
    over.destroy();
    await stopServer(wss);
  });

  test('H2, H3, H9: version 8, a foreign Origin and a rebinding Host are refused through the front', async () => {
    const { wss, port } = await startServer();
    const cases: Array<[request: string, status: number, code: string]> = [
      [
        upgradeRequest(port).replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'),
        426,
        'UNSUPPORTED_VERSION',
      ],
      [upgradeRequest(port, ['Origin: https://evil.example']), 403, 'ORIGIN_NOT_ALLOWED'],
      [
        upgradeRequest(port).replace(`Host: 127.0.0.1:${port}`, 'Host: attacker.example'),
        403,
        'HOST_NOT_ALLOWED',
      ],
    ];
    const rejected: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => rejected.push(info));
    for (const [request, status, code] of cases) {
      const raw = new RawClient(port);
      await raw.connected();
      raw.socket.write(request);
      assert.equal(await raw.status(), status);
      assert.equal(rejected.at(-1)?.code, code);
      raw.destroy();
    }
    assert.deepEqual(
      rejected.map((r) => r.code),
      ['UNSUPPORTED_VERSION', 'ORIGIN_NOT_ALLOWED', 'HOST_NOT_ALLOWED'],
    );
    await stopServer(wss);
  });

  test('close() destroys connections still reading their head and stops listening', async () => {
    const { wss, port } = await startServer();
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write('GET / HTTP/1.1\r\n');
    await delay(20);
    const listening = (wss as unknown as { front: HeadFront }).front.server;
    assert.equal(listening.listenerCount('error'), 1);
    await stopServer(wss);
    await waitFor(() => raw.closed, 3000, 'the pending connection destroyed');
    // The server's own listeners leave the listening socket with it.
    assert.equal(listening.listenerCount('error'), 0);
    const late = new RawClient(port);
    await waitFor(() => late.closed, 3000, 'connection refused');
    assert.equal(late.data.length, 0);
  });
});
