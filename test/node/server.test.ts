import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import WS from 'ws';
import { WebSocketServer } from '../../src/node/server.js';
import { WebSocket } from '../../src/node/websocket.js';
import type { RejectionInfo, VerifyClientAsync, VerifyClientInfo } from '../../src/node/server.js';
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
  wsClient,
} from './util.js';

function echo(wss: WebSocketServer): void {
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
}

describe('RFC 6455 §5.6 data frames over real sockets (ws client as the peer)', () => {
  test('echoes text, binary, 0-byte and fragmented messages', async () => {
    const { wss, url } = await startServer();
    echo(wss);
    const client = await wsClient(url);
    const got: Array<[string, boolean]> = [];
    client.on('message', (data: Buffer, isBinary: boolean) =>
      got.push([data.toString('hex'), isBinary]),
    );
    client.send('héllo');
    client.send(Buffer.from([0, 1, 2, 255]));
    client.send('');
    client.send(Buffer.alloc(0));
    client.send('ab', { fin: false });
    client.send('cd', { fin: false });
    client.send('ef', { fin: true });
    await waitFor(() => got.length === 5);
    assert.deepEqual(got, [
      [Buffer.from('héllo').toString('hex'), false],
      ['000102ff', true],
      ['', false],
      ['', true],
      [Buffer.from('abcdef').toString('hex'), false],
    ]);
    client.close();
    await once(client, 'close');
    await stopServer(wss);
  });

  test('server-side fragmented sends (fin: false) arrive as one message', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (ws: WebSocket) => {
      ws.send('one-', { fin: false });
      ws.send(Buffer.from('two-'), { fin: false, binary: false });
      ws.send('three', { fin: true });
    });
    const client = new WS(url);
    const [data, isBinary] = await once<[Buffer, boolean]>(client, 'message');
    assert.equal(data.toString(), 'one-two-three');
    assert.equal(isBinary, false);
    client.close();
    await once(client, 'close');
    await stopServer(wss);
  });

  test('16 MiB message round trip with maxPayload raised', async () => {
    const size = 16 * 1024 * 1024;
    const { wss, url } = await startServer({
      maxPayload: size,
      maxBufferedAmount: 64 * 1024 * 1024,
    });
    echo(wss);
    const client = await wsClient(url, { maxPayload: size });
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) payload[i] = i & 0xff;
    client.send(payload);
    const [data] = await once<[Buffer]>(client, 'message', 30000);
    assert.equal(data.length, size);
    assert.ok(data.equals(payload));
    client.close();
    await once(client, 'close');
    await stopServer(wss);
  });

  test('a message over the default 1 MiB maxPayload is refused with 1009', async () => {
    const { wss, url } = await startServer();
    const serverClose = new Promise<number>((resolve) =>
      wss.on('connection', (ws: WebSocket) => ws.on('close', (code: number) => resolve(code))),
    );
    const client = await wsClient(url);
    client.send(Buffer.alloc(1024 * 1024 + 1));
    const [code] = await once<[number]>(client, 'close');
    assert.equal(code, 1009);
    assert.equal(await serverClose, 1009);
    await stopServer(wss);
  });

  test('§5.5.2 ping is answered with a pong carrying the same payload; pong events', async () => {
    const { wss, url } = await startServer();
    const serverPings: string[] = [];
    wss.on('connection', (ws: WebSocket) => {
      ws.on('ping', (data: Buffer) => serverPings.push(data.toString()));
      ws.on('pong', (data: Buffer) => ws.send(`pong:${data.toString()}`));
      ws.ping('from-server');
    });
    const client = new WS(url);
    client.on('ping', () => {});
    const [pingData] = await once<[Buffer]>(client, 'ping');
    assert.equal(pingData.toString(), 'from-server');
    const [msg] = await once<[Buffer]>(client, 'message');
    assert.equal(msg.toString(), 'pong:from-server');
    client.ping('hi');
    const [pong] = await once<[Buffer]>(client, 'pong');
    assert.equal(pong.toString(), 'hi');
    assert.deepEqual(serverPings, ['hi']);
    client.close();
    await once(client, 'close');
    await stopServer(wss);
  });
});

describe('RFC 6455 §7 closing paths', () => {
  test('client-initiated close: both sides see 1000 and the reason', async () => {
    const { wss, url } = await startServer();
    const serverSide = new Promise<[number, string, number]>((resolve) =>
      wss.on('connection', (ws: WebSocket) =>
        ws.on('close', (code: number, reason: Buffer) =>
          resolve([code, reason.toString(), ws.readyState]),
        ),
      ),
    );
    const client = await wsClient(url);
    client.close(1000, 'bye');
    const [code, reason] = await once<[number, Buffer]>(client, 'close');
    assert.equal(code, 1000);
    assert.equal(reason.toString(), 'bye');
    assert.deepEqual(await serverSide, [1000, 'bye', WebSocket.CLOSED]);
    await waitFor(() => wss.clients.size === 0, 2000, 'clients to be empty');
    await stopServer(wss);
  });

  test('server-initiated close with a code from the API; readyState CLOSING then CLOSED', async () => {
    const { wss, url } = await startServer();
    let states: number[] = [];
    wss.on('connection', (ws: WebSocket) => {
      ws.close(4001, 'custom');
      states.push(ws.readyState);
      ws.on('close', () => states.push(ws.readyState));
    });
    const client = new WS(url);
    const [code, reason] = await once<[number, Buffer]>(client, 'close');
    assert.equal(code, 4001);
    assert.equal(reason.toString(), 'custom');
    await waitFor(() => states.length === 2);
    assert.deepEqual(states, [WebSocket.CLOSING, WebSocket.CLOSED]);
    states = [];
    await stopServer(wss);
  });

  test('§7.1.7 protocol error (unmasked client frame): close 1002 with a generic reason, error event', async () => {
    const { wss, port } = await startServer();
    const serverSide = new Promise<[number, unknown]>((resolve) =>
      wss.on('connection', (ws: WebSocket) => {
        let error: unknown;
        ws.on('error', (e: unknown) => (error = e));
        ws.on('close', (code: number) => resolve([code, error]));
      }),
    );
    const raw = await rawUpgrade(port);
    raw.socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // unmasked text "hi"
    const [code, error] = await serverSide;
    assert.equal(code, 1002);
    assert.equal((error as { code: string }).code, 'UNMASKED_CLIENT_FRAME');
    await waitFor(() => raw.closed, 3000, 'TCP closed by the server');
    const frames = parseFrames(raw.frames);
    assert.equal(frames.length, 1);
    assert.equal(frames[0].opcode, 8);
    assert.equal(frames[0].payload.readUInt16BE(0), 1002);
    assert.equal(frames[0].payload.length, 2, 'no detailed reason on the wire');
    await stopServer(wss);
  });

  test('a protocol error without an error listener does not crash the process', async () => {
    const { wss, port } = await startServer();
    const closed = new Promise<number>((resolve) =>
      wss.on('connection', (ws: WebSocket) => ws.on('close', (code: number) => resolve(code))),
    );
    const raw = await rawUpgrade(port);
    raw.frame(0x3, 'x'); // reserved opcode
    assert.equal(await closed, 1002);
    raw.destroy();
    await stopServer(wss);
  });

  test('TCP drop without a Close frame is reported as 1006 (never sent)', async () => {
    const { wss, port } = await startServer();
    const closed = new Promise<[number, boolean]>((resolve) =>
      wss.on('connection', (ws: WebSocket) =>
        ws.on('close', (code: number) => resolve([code, ws.readyState === 3])),
      ),
    );
    const raw = await rawUpgrade(port);
    raw.socket.destroy();
    assert.deepEqual(await closed, [1006, true]);
    await stopServer(wss);
  });

  test('close timeout: a peer that never answers our Close is dropped and reported 1006', async () => {
    const { wss, port } = await startServer({ closeTimeout: 200 });
    const closed = new Promise<[number, number]>((resolve) =>
      wss.on('connection', (ws: WebSocket) => {
        const start = Date.now();
        ws.close(1000);
        ws.on('close', (code: number) => resolve([code, Date.now() - start]));
      }),
    );
    const raw = await rawUpgrade(port); // never answers
    const [code, elapsed] = await closed;
    assert.equal(code, 1006);
    assert.ok(elapsed >= 150, `closed after ${elapsed} ms`);
    await waitFor(() => raw.closed, 3000, 'socket destroyed');
    await stopServer(wss);
  });

  test('close() argument validation (X5): invalid codes and long reasons throw', async () => {
    const { wss, url } = await startServer();
    const checked = new Promise<void>((resolve, reject) =>
      wss.on('connection', (ws: WebSocket) => {
        try {
          for (const code of [0, 999, 1004, 1005, 1006, 1015, 2000, 5000]) {
            assert.throws(() => ws.close(code), TypeError, `code ${code}`);
          }
          assert.throws(() => ws.close(1000, 'x'.repeat(124)), RangeError);
          assert.throws(() => ws.close(1000, new Float32Array(2) as unknown as string), TypeError);
          ws.close(1000, 'y'.repeat(123));
          resolve();
        } catch (error) {
          reject(error);
        }
      }),
    );
    const client = new WS(url);
    await checked;
    const [code, reason] = await once<[number, Buffer]>(client, 'close');
    assert.equal(code, 1000);
    assert.equal(reason.length, 123);
    await stopServer(wss);
  });
});

describe('RFC 6455 §4.2 server handshake', () => {
  async function refused(port: number, request: string): Promise<RawClient> {
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(request);
    await raw.status();
    return raw;
  }

  test('refusals answer 4xx with Connection: close, end the socket and emit rejected', async () => {
    const { wss, port } = await startServer();
    const rejected: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => rejected.push(info));
    let connections = 0;
    wss.on('connection', () => connections++);
    const version8 = upgradeRequest(port).replace(
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Version: 8',
    );
    const raw = await refused(port, version8);
    assert.equal(await raw.status(), 426);
    assert.match(raw.text, /Connection: close/i);
    assert.match(raw.text, /Sec-WebSocket-Version: 13/);
    await waitFor(() => raw.closed || raw.ended, 3000, 'socket ended');
    const evil = await refused(port, upgradeRequest(port, ['Origin: https://evil.example']));
    assert.equal(await evil.status(), 403);
    assert.equal(connections, 0);
    assert.equal(rejected.length, 2);
    assert.equal(rejected[0].status, 426);
    assert.equal(rejected[0].remoteAddress, '127.0.0.1');
    assert.equal(rejected[1].code, 'ORIGIN_NOT_ALLOWED');
    evil.destroy();
    await stopServer(wss);
  });

  test('H4: a request body is refused with 400 and its bytes are never parsed as frames', async () => {
    const { wss, port } = await startServer();
    let messages = 0;
    wss.on('connection', (ws: WebSocket) => ws.on('message', () => messages++));
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(upgradeRequest(port, ['Content-Length: 8']));
    raw.frame(0x1, 'hi'); // 8 bytes: a valid masked frame as the "body"
    assert.equal(await raw.status(), 400);
    await delay(100);
    assert.equal(messages, 0);
    raw.destroy();
    await stopServer(wss);
  });

  test('H9: DNS rebinding: a foreign Host on a loopback server is refused (403)', async () => {
    const { wss, port } = await startServer();
    const raw = await refused(
      port,
      upgradeRequest(port).replace(/Host: [^\r]+/, 'Host: attacker.example'),
    );
    assert.equal(await raw.status(), 403);
    raw.destroy();
    const ok = await rawUpgrade(port, []);
    ok.destroy();
    await stopServer(wss);
  });

  test('origins option: allow-listed origin accepted, others refused', async () => {
    const { wss, url, port } = await startServer({ origins: ['https://app.example'] });
    const client = await wsClient(url, { origin: 'https://app.example' });
    client.close();
    const raw = await refused(port, upgradeRequest(port, ['Origin: https://other.example']));
    assert.equal(await raw.status(), 403);
    raw.destroy();
    await stopServer(wss);
  });

  test('path option: other paths are refused with 400', async () => {
    const { wss, url, port } = await startServer({ path: '/chat' });
    const client = await wsClient(`${url}/chat?x=1`);
    client.close();
    const raw = await refused(port, upgradeRequest(port, [], '/other'));
    assert.equal(await raw.status(), 400);
    raw.destroy();
    await stopServer(wss);
  });

  test('plain HTTP requests to the standalone server get 426', async () => {
    const { wss, port } = await startServer();
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    assert.equal(status, 426);
    await stopServer(wss);
  });

  test('handleProtocols selects the subprotocol; default is the first offered (as ws)', async () => {
    const { wss, url, port } = await startServer({
      handleProtocols: (protocols: Set<string>) => (protocols.has('chat.v2') ? 'chat.v2' : false),
    });
    const seen: string[] = [];
    wss.on('connection', (ws: WebSocket) => seen.push(ws.protocol));
    const a = await wsClient(url, {}, ['chat.v1', 'chat.v2']);
    assert.equal(a.protocol, 'chat.v2');
    // The ws client refuses a 101 without a subprotocol when it offered some: use a raw peer.
    const b = await rawUpgrade(port, ['Sec-WebSocket-Protocol: other']);
    assert.doesNotMatch(b.text, /Sec-WebSocket-Protocol/i);
    await waitFor(() => seen.length === 2);
    assert.deepEqual(seen, ['chat.v2', '']);
    a.close();
    b.destroy();
    await stopServer(wss);

    const second = await startServer();
    const c = await wsClient(second.url, {}, ['x', 'y']);
    assert.equal(c.protocol, 'x');
    c.close();
    await stopServer(second.wss);
  });

  test('handleProtocols returning an unoffered protocol answers 500 (H10)', async () => {
    const { wss, port } = await startServer({ handleProtocols: () => 'evil\r\nX-Injected: 1' });
    wss.on('error', () => {});
    const raw = await refused(port, upgradeRequest(port, ['Sec-WebSocket-Protocol: a']));
    assert.equal(await raw.status(), 500);
    assert.doesNotMatch(raw.text, /X-Injected/);
    raw.destroy();
    await stopServer(wss);
  });

  test('a failing application callback during a handshake, with no error listener: 500 and one warning, no crash', async () => {
    // handleProtocols returns a name the client did not offer (the 101 is not built), then
    // throws: each is a 500. With nobody listening for 'error' an emitted 'error' would throw
    // out of the upgrade handler and end the process; the server warns once per kind instead.
    let calls = 0;
    const { wss, port } = await startServer({
      handleProtocols: () => {
        calls++;
        if (calls === 1) return 'not-offered';
        throw new Error('application bug');
      },
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 3; i++) {
        const raw = await refused(port, upgradeRequest(port, ['Sec-WebSocket-Protocol: a']));
        assert.equal(await raw.status(), 500);
        raw.destroy();
      }
      await delay(10);
      const ours = warnings.filter(
        (w) => (w as NodeJS.ErrnoException).code === 'IRONSOCK_HANDSHAKE_ERROR',
      );
      assert.equal(ours.length, 2, ours.map((w) => w.message).join('\n'));
      assert.match(ours[1].message, /application bug/);
    } finally {
      process.off('warning', onWarning);
    }
    // Other connections are unharmed.
    const client = await wsClient(`ws://127.0.0.1:${port}/`);
    client.close();
    await stopServer(wss);
  });

  test('verifyClient sync refusal answers 401; async refusal answers the given code', async () => {
    const sync = await startServer({
      verifyClient: (info: VerifyClientInfo) => info.req.url === '/ok',
    });
    const okClient = await wsClient(`${sync.url}/ok`);
    okClient.close();
    const raw = await refused(sync.port, upgradeRequest(sync.port, [], '/no'));
    assert.equal(await raw.status(), 401);
    raw.destroy();
    await stopServer(sync.wss);

    const async = await startServer({
      verifyClient: ((info, cb) =>
        setTimeout(
          () => cb(info.req.url === '/ok', 403, 'nope', { 'X-Why': 'test' }),
          20,
        )) as VerifyClientAsync,
    });
    const ok2 = await wsClient(`${async.url}/ok`);
    ok2.close();
    const raw2 = await refused(async.port, upgradeRequest(async.port, [], '/no'));
    assert.equal(await raw2.status(), 403);
    assert.match(raw2.text, /X-Why: test/);
    assert.match(raw2.text, /nope/);
    raw2.destroy();
    await stopServer(async.wss);
  });

  test('an async verifyClient that never answers is bounded by the handshake timeout', async () => {
    const { wss, port } = await startServer({
      handshakeTimeout: 300,
      verifyClient: (_info, _cb) => {},
    });
    const raw = await refused(port, upgradeRequest(port));
    assert.equal(await raw.status(), 408);
    await waitFor(() => raw.closed || raw.ended, 3000);
    await stopServer(wss);
  });

  test('H7: a half-sent request is dropped at the handshake timeout', async () => {
    const { wss, port } = await startServer({ handshakeTimeout: 300 });
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const start = Date.now();
    await waitFor(() => raw.closed || raw.ended, 5000, 'half request dropped');
    assert.ok(Date.now() - start < 4000);
    raw.destroy();
    await stopServer(wss);
  });

  test('H7: a TCP connection that sends nothing gets 408 at the handshake timeout', async () => {
    const { wss, port } = await startServer({ handshakeTimeout: 300 });
    const rejected: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => rejected.push(info));
    const raw = new RawClient(port);
    await raw.connected();
    assert.equal(await raw.status(5000), 408);
    await waitFor(() => raw.closed || raw.ended, 3000);
    assert.equal(rejected[0]?.status, 408);
    raw.destroy();
    await stopServer(wss);
  });

  test('H6: a head over 16 KiB is refused with 431', async () => {
    const { wss, port } = await startServer();
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(upgradeRequest(port, [`X-Big: ${'a'.repeat(17 * 1024)}`]));
    assert.equal(await raw.status(), 431);
    raw.destroy();
    await stopServer(wss);
  });

  test('H6: header lines past maxHeadersCount are never silently dropped (431)', async () => {
    const { wss, port } = await startServer();
    const filler = Array.from({ length: 150 }, (_, i) => `x${i}: y`);
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(upgradeRequest(port, [...filler, 'Origin: https://evil.example']));
    assert.equal(await raw.status(), 431);
    raw.destroy();
    await stopServer(wss);
  });

  test('R6: maxHandshakesPerSecond refuses a burst from one address with 429', async () => {
    const { wss, port } = await startServer({ maxHandshakesPerSecond: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const raw = new RawClient(port);
      await raw.connected();
      raw.socket.write(upgradeRequest(port));
      statuses.push(await raw.status());
      raw.destroy();
    }
    assert.ok(statuses.includes(429), statuses.join(','));
    assert.ok(statuses.filter((s) => s === 101).length >= 3);
    await stopServer(wss);
  });

  test('wsClientError: when listened for, the application gets the error and owns the response', async () => {
    const { wss, port } = await startServer();
    wss.on(
      'wsClientError',
      (error: Error & { status: number }, socket: import('node:stream').Duplex) => {
        socket.end(`HTTP/1.1 ${error.status} Custom\r\nConnection: close\r\n\r\n`);
      },
    );
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write(
      upgradeRequest(port).replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'),
    );
    assert.equal(await raw.status(), 426);
    assert.match(raw.text, /Custom/);
    raw.destroy();
    await stopServer(wss);
  });

  test('R7: slots are released by every ending (clean, RST, terminate, refusal)', async () => {
    const { wss, url, port } = await startServer({ maxConnections: 1 });
    for (let i = 0; i < 3; i++) {
      const a = await wsClient(url);
      a.close();
      await once(a, 'close');
      await waitFor(() => wss.clients.size === 0);
      const b = await rawUpgrade(port);
      b.socket.resetAndDestroy();
      await waitFor(() => wss.clients.size === 0);
      const c = await wsClient(url);
      await waitFor(() => wss.clients.size === 1);
      [...wss.clients][0].terminate();
      await once(c, 'close');
      await waitFor(() => wss.clients.size === 0);
      const d = new RawClient(port);
      await d.connected();
      d.socket.write(upgradeRequest(port, ['Origin: https://evil.example']));
      assert.equal(await d.status(), 403);
      d.destroy();
      await waitFor(() => d.closed);
    }
    const last = await wsClient(url);
    last.close();
    await once(last, 'close');
    await stopServer(wss);
  });

  test('maxConnectionsPerAddress and maxConnections refuse excess with 503 before any WebSocket', async () => {
    const { wss, url, port } = await startServer({ maxConnectionsPerAddress: 2 });
    let connections = 0;
    wss.on('connection', () => connections++);
    const a = await wsClient(url);
    const b = await wsClient(url);
    const raw = await refused(port, upgradeRequest(port));
    assert.equal(await raw.status(), 503);
    assert.equal(connections, 2);
    a.close();
    await once(a, 'close');
    await waitFor(() => wss.clients.size === 1);
    const c = await wsClient(url);
    c.close();
    b.close();
    raw.destroy();
    await stopServer(wss);

    const total = await startServer({ maxConnections: 1 });
    const d = await wsClient(total.url);
    const raw2 = await refused(total.port, upgradeRequest(total.port));
    assert.equal(await raw2.status(), 503);
    d.close();
    raw2.destroy();
    await stopServer(total.wss);
  });

  test('clientTracking: clients holds open connections; off leaves it undefined (as ws)', async () => {
    const { wss, url } = await startServer();
    const a = await wsClient(url);
    await waitFor(() => wss.clients.size === 1);
    a.close();
    await waitFor(() => wss.clients.size === 0);
    await stopServer(wss);

    const off = await startServer({ clientTracking: false });
    let connected = false;
    off.wss.on('connection', () => (connected = true));
    const b = await wsClient(off.url);
    await waitFor(() => connected);
    assert.equal(off.wss.clients, undefined);
    b.close();
    await stopServer(off.wss);
  });

  test('headers event lets the application add response headers', async () => {
    const { wss, url } = await startServer();
    wss.on('headers', (lines: string[]) => lines.push('X-Extra: yes'));
    const client = new WS(url);
    const [res] = await once<[http.IncomingMessage]>(client, 'upgrade');
    assert.equal(res.headers['x-extra'], 'yes');
    client.close();
    await stopServer(wss);
  });

  test('option validation: exactly one of port, server, noServer', () => {
    assert.throws(() => new WebSocketServer({}), TypeError);
    assert.throws(() => new WebSocketServer({ port: 0, noServer: true }), TypeError);
    assert.throws(() => new WebSocketServer({ noServer: true, origins: ['not an origin'] }), {
      code: 'INVALID_ORIGIN_POLICY',
    });
    assert.throws(() => new WebSocketServer({ noServer: true, maxPayload: -1 }), RangeError);
    const wss = new WebSocketServer({ noServer: true });
    assert.throws(() => wss.address());
    wss.close();
  });
});

describe('server modes', () => {
  test('attach to an existing http server', async () => {
    const server = http.createServer((_req, res) => res.end('plain'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const wss = new WebSocketServer({ server });
    echo(wss);
    assert.deepEqual(wss.address(), server.address());
    const client = await wsClient(`ws://127.0.0.1:${port}`);
    client.send('attached');
    const [data] = await once<[Buffer]>(client, 'message');
    assert.equal(data.toString(), 'attached');
    client.close();
    await once(client, 'close');
    await stopServer(wss);
    await new Promise((resolve) => server.close(resolve));
  });

  test('attach mode: a request head that never completes is cut at the handshake timeout (H7)', async () => {
    const server = http.createServer((_req, res) => res.end('plain'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const wss = new WebSocketServer({ server, handshakeTimeout: 300 });
    const raw = new RawClient(port);
    await raw.connected();
    raw.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    assert.equal(await raw.status(5000), 408);
    await waitFor(() => raw.closed || raw.ended, 3000);
    // A normal HTTP request on the same server is not affected.
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    assert.equal(body, 'plain');
    raw.destroy();
    await stopServer(wss);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('noServer + handleUpgrade', async () => {
    const wss = new WebSocketServer({ noServer: true });
    echo(wss);
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const client = await wsClient(`ws://127.0.0.1:${port}`);
    client.send('no-server');
    const [data] = await once<[Buffer]>(client, 'message');
    assert.equal(data.toString(), 'no-server');
    client.close();
    await once(client, 'close');
    await stopServer(wss);
    await new Promise((resolve) => server.close(resolve));
  });

  test('broadcast encodes once and reaches every open client (filter honoured)', async () => {
    const { wss, url } = await startServer();
    const clients = await Promise.all([wsClient(url), wsClient(url), wsClient(url)]);
    await waitFor(() => wss.clients.size === 3);
    const received = clients.map((c) => once<[Buffer, boolean]>(c, 'message'));
    assert.equal(wss.broadcast('to all'), 3);
    for (const [data, isBinary] of await Promise.all(received)) {
      assert.equal(data.toString(), 'to all');
      assert.equal(isBinary, false);
    }
    const first = [...wss.clients][0];
    const bin = clients.map((c) => once<[Buffer, boolean]>(c, 'message', 300).catch(() => null));
    assert.equal(wss.broadcast(Buffer.from([7]), { filter: (ws) => ws !== first }), 2);
    const results = await Promise.all(bin);
    assert.equal(results.filter((r) => r !== null && r[1] === true && r[0][0] === 7).length, 2);
    for (const c of clients) c.close();
    await stopServer(wss);
  });

  test('graceful close(): 1001 to clients, messages sent before it are delivered, then close', async () => {
    const { wss, url } = await startServer();
    const received: string[] = [];
    wss.on('connection', (ws: WebSocket) =>
      ws.on('message', (data: Buffer) => received.push(data.toString())),
    );
    const client = await wsClient(url);
    await waitFor(() => wss.clients.size === 1);
    for (let i = 0; i < 100; i++) client.send(`m${i}`);
    await new Promise<void>((resolve) => client.send('last', () => resolve()));
    const clientClosed = once<[number]>(client, 'close');
    await stopServer(wss);
    const [code] = await clientClosed;
    assert.equal(code, 1001);
    assert.equal(received.length, 101);
    assert.equal(received[100], 'last');
    // New connections after close are impossible.
    await assert.rejects(
      new Promise((resolve, reject) => {
        const late = new WS(url);
        late.on('open', resolve);
        late.on('error', reject);
      }),
    );
  });

  test('close() destroys clients that never answer within shutdownTimeout', async () => {
    const { wss, port } = await startServer({ shutdownTimeout: 200 });
    const raw = await rawUpgrade(port);
    await waitFor(() => wss.clients.size === 1);
    const start = Date.now();
    await stopServer(wss);
    assert.ok(Date.now() - start < 3000);
    await waitFor(() => raw.closed, 3000);
  });

  test('R8: socket errors during the handshake never crash the process', async () => {
    const { wss, port } = await startServer();
    for (let i = 0; i < 5; i++) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      socket.write(upgradeRequest(port).slice(0, 40));
      socket.resetAndDestroy();
    }
    const raw = await rawUpgrade(port);
    raw.socket.resetAndDestroy();
    await delay(100);
    const client = await wsClient(`ws://127.0.0.1:${port}`);
    client.close();
    await stopServer(wss);
  });
});
