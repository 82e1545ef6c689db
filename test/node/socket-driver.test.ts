import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from '../../src/node/websocket.js';
import { SocketDriver } from '../../src/node/socket-driver.js';
import { resolveDriverConfig } from '../../src/node/driver-contract.js';
import type { DriverOptions } from '../../src/node/driver-contract.js';
import { scriptedSocket } from '../helpers/scripted-socket.js';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:http';
import { WebSocketServer } from '../../src/node/server.js';
import { randomBytes } from 'node:crypto';
import { encodeFrame } from '../../src/protocol/frame.js';
import {
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

/** A server whose first connection is handed to `onConnection`. */
async function serverWith(options: Parameters<typeof startServer>[0] = {}) {
  const started = await startServer(options);
  const connected = new Promise<WebSocket>((resolve) => started.wss.once('connection', resolve));
  return { ...started, connected };
}

describe('bufferedAmount', () => {
  test('is exact: frame bytes accepted by send() and not yet handed to the kernel', async () => {
    const { wss, port, connected } = await serverWith();
    const raw = await rawUpgrade(port);
    const ws = await connected;
    assert.equal(ws.bufferedAmount, 0);
    ws.send('hello'); // 2-byte header + 5
    assert.equal(ws.bufferedAmount, 7);
    ws.send(Buffer.alloc(200)); // 4-byte header + 200
    assert.equal(ws.bufferedAmount, 7 + 204);
    ws.ping(Buffer.from('p')); // 2 + 1
    assert.equal(ws.bufferedAmount, 7 + 204 + 3);
    await new Promise((resolve) => ws.send('', resolve));
    assert.equal(ws.bufferedAmount, 0);
    await waitFor(() => parseFrames(raw.frames).length === 4);
    raw.destroy();
    await stopServer(wss);
  });
});

describe('write callbacks', () => {
  test('a send cut by a connection reset reports an error, not success', async () => {
    // Node calls a write back without an error when the socket was destroyed while the write
    // was in flight (ws reports such a send as done). 64 MiB to a peer that stopped reading
    // cannot all have reached the kernel when the peer resets.
    const { wss, port, connected } = await serverWith({ maxPayload: 0 });
    const raw = await rawUpgrade(port);
    const ws = await connected;
    ws.on('error', () => {});
    raw.socket.pause();
    const result = new Promise<Error | null | undefined>((resolve) =>
      ws.send(Buffer.alloc(64 << 20), resolve),
    );
    await delay(100);
    raw.socket.resetAndDestroy();
    const error = await result;
    assert.ok(error instanceof Error, `expected an error, got ${String(error)}`);
    assert.equal((error as NodeJS.ErrnoException).code, 'ECONNRESET');
    await stopServer(wss);
  });

  test('a send that reached the kernel before the peer closed reports success', async () => {
    const { wss, port, connected } = await serverWith();
    const raw = await rawUpgrade(port);
    const ws = await connected;
    ws.on('error', () => {});
    const result = new Promise<Error | null | undefined>((resolve) =>
      ws.send(Buffer.alloc(1000), resolve),
    );
    assert.equal((await result) ?? null, null);
    raw.socket.resetAndDestroy();
    await stopServer(wss);
  });
});

describe('transport edge cases', () => {
  test('bytes that arrive with the handshake (head) are processed as frames', async () => {
    const { wss, port, connected } = await serverWith();
    const { RawClient, upgradeRequest } = await import('./util.js');
    const raw = new RawClient(port);
    await raw.connected();
    const messages: string[] = [];
    void connected.then((ws) => ws.on('message', (d: Buffer) => messages.push(d.toString())));
    // Request and first frame in one write.
    raw.socket.cork();
    raw.socket.write(upgradeRequest(port));
    raw.frame(0x1, 'early');
    raw.socket.uncork();
    await waitFor(() => messages.length === 1);
    assert.deepEqual(messages, ['early']);
    raw.destroy();
    await stopServer(wss);
  });

  test('server closes TCP first after the closing handshake (§7.1.1)', async () => {
    const { wss, port, connected } = await serverWith();
    const raw = await rawUpgrade(port);
    await connected;
    raw.frame(0x8, Buffer.from([0x03, 0xe8]));
    await waitFor(() => raw.ended, 3000, 'FIN from the server');
    const frames = parseFrames(raw.frames);
    assert.equal(frames[0].opcode, 8);
    assert.equal(frames[0].payload.readUInt16BE(0), 1000);
    raw.destroy();
    await stopServer(wss);
  });

  test('after a clean close the server releases the socket without waiting for the peer', async () => {
    // The peer sends its Close, gets ours and the FIN, but never closes its own side
    // (allowHalfOpen): the server must not hold the connection until the peer's FIN or the
    // 30 s close timeout.
    const { wss, port, connected } = await serverWith({ closeTimeout: 30000 });
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    let received = Buffer.alloc(0);
    let ended = false;
    socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    socket.on('end', () => (ended = true));
    await once(socket, 'connect');
    socket.write(upgradeRequest(port));
    const ws = await connected;
    await waitFor(() => received.includes('\r\n\r\n'), 3000, 'the 101 response');
    const closed = once<[number]>(ws, 'close', 3000);
    socket.write(
      encodeFrame(
        true,
        0,
        0x8,
        Buffer.from([0x03, 0xe8]),
        randomBytes(4),
        Buffer.allocUnsafe,
      ) as Buffer,
    );
    const [code] = await closed;
    assert.equal(code, 1000);
    await waitFor(() => ended, 3000, "the server's FIN");
    const head = received.indexOf('\r\n\r\n') + 4;
    assert.equal(parseFrames(received.subarray(head))[0].opcode, 8);
    assert.equal(socket.writableEnded, false, 'the peer never closed its side');
    socket.destroy();
    await stopServer(wss);
  });
});

describe('per-connection state', () => {
  test("a server's connections share one resolved copy of their settings", async () => {
    const { wss, url } = await startServer({ maxBufferedAmount: 12_345, closeTimeout: 777 });
    const two = new Promise<WebSocket[]>((resolve) => {
      const seen: WebSocket[] = [];
      wss.on('connection', (ws: WebSocket) => {
        seen.push(ws);
        if (seen.length === 2) resolve(seen);
      });
    });
    const a = await wsClient(url);
    const b = await wsClient(url);
    const [first, second] = await two;
    type Inner = { config: unknown; maxBuffered: number; role: string };
    const one = first._driver as unknown as Inner;
    const other = second._driver as unknown as Inner;
    assert.equal(typeof one.config, 'object');
    assert.equal(one.config, other.config, 'one settings object for both drivers');
    assert.equal(one.maxBuffered, 12_345);
    assert.equal(other.maxBuffered, 12_345);
    assert.equal(one.role, 'server');
    a.close();
    b.close();
    await stopServer(wss);
  });

  test('drivers given one resolved config share it: a later change to the options is not seen', () => {
    const sink = {
      driverMessage() {},
      driverPing() {},
      driverPong() {},
      driverClosing() {},
      driverClosed() {},
    };
    const options: DriverOptions = {
      role: 'server',
      limits: { maxPayload: 10 },
      closeTimeout: 500,
    };
    // As a server does: resolved once, one object for every driver.
    const config = resolveDriverConfig(options);
    const first = new SocketDriver(scriptedSocket().socket, sink, config);
    options.limits = { maxPayload: 20 };
    options.closeTimeout = 900;
    options.unsafeSkipUtf8Validation = true;
    const second = new SocketDriver(scriptedSocket().socket, sink, config);
    type Inner = {
      config: { limits: { maxPayload: number }; closeTimeout: number; skipUtf8: boolean };
    };
    for (const driver of [first, second]) {
      const { config } = driver as unknown as Inner;
      assert.equal(config.limits.maxPayload, 10);
      assert.equal(config.closeTimeout, 500);
      assert.equal(config.skipUtf8, false);
      driver.terminate();
    }
  });

  test('a socket that had an idle timeout gets it turned off; one without gets none', async () => {
    // Attach mode: node:http arms the socket's timeout from `server.timeout`.
    const http = createServer();
    http.timeout = 5000;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const attached = new WebSocketServer({ server: http });
    const viaHttp = new Promise<WebSocket>((resolve) => attached.once('connection', resolve));
    const c1 = await wsClient(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
    const ws1 = await viaHttp;
    assert.equal((ws1._socket as Socket).timeout, 0, 'the timeout node:http armed is off');
    // The standalone server's own front never sets one: no `timeout` property is added.
    const { wss, url, connected } = await serverWith();
    const c2 = await wsClient(url);
    const ws2 = await connected;
    assert.equal((ws2._socket as Socket).timeout, undefined);
    c1.close();
    c2.close();
    await stopServer(attached);
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await stopServer(wss);
  });
});
