/**
 * The client through the public `WebSocket` object: the handshake wired to the engine
 * (checklist K3, K9), ws-compatible events on handshake failures, and a `ws` server as a peer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { once as onceOrError } from 'node:events';
import { WebSocketServer } from 'ws';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The arguments of the next `event` (unlike `events.once`, an 'error' event does not reject). */
function once(
  emitter: { once(event: string, listener: (...args: any[]) => void): unknown },
  event: string,
): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args)));
}

/** A raw server that answers the upgrade with a valid 101 and then runs `after` on the socket. */
async function rawPeer(
  after: (socket: net.Socket) => void,
): Promise<{ port: number; received: Buffer[]; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const received: Buffer[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    socket.on('data', (chunk) => {
      if (upgraded) {
        received.push(chunk);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      upgraded = true;
      const key =
        /sec-websocket-key:\s*(\S+)/i.exec(buffered.subarray(0, end).toString('latin1'))?.[1] ?? '';
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      if (buffered.length > end + 4) received.push(buffered.subarray(end + 4));
      after(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A server that accepts TCP and never answers (its sockets are destroyed by `close`). */
async function silentServer(): Promise<{ port: number; server: { close(): Promise<void> } }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    server: {
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    },
  };
}

/** Unmasks the payload of the first (client, masked) frame in `bytes`; returns opcode and payload. */
function firstClientFrame(bytes: Buffer): { opcode: number; payload: Buffer } {
  const opcode = bytes[0] & 0x0f;
  const length = bytes[1] & 0x7f; // small frames only
  assert.equal(bytes[1] & 0x80, 0x80, 'client frames are masked (§5.3)');
  const mask = bytes.subarray(2, 6);
  const payload = Buffer.from(bytes.subarray(6, 6 + length));
  for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
  return { opcode, payload };
}

describe('client WebSocket wired to the engine', () => {
  test('checklist K3: a masked frame from the server -> Close 1002 (§5.1), no message', async () => {
    const peer = await rawPeer((socket) => {
      // Masked text frame "hi" (mask 01 02 03 04).
      socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]));
    });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/`, { perMessageDeflate: false });
      const messages: unknown[] = [];
      const errors: Array<Error & { code?: string }> = [];
      ws.on('message', (data) => messages.push(data));
      ws.on('error', (error) => errors.push(error));
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 1002);
      assert.deepEqual(messages, []);
      assert.equal(errors[0]?.code, 'MASKED_SERVER_FRAME');
      const frame = firstClientFrame(Buffer.concat(peer.received));
      assert.equal(frame.opcode, 0x8);
      assert.equal(frame.payload.readUInt16BE(0), 1002);
    } finally {
      await peer.close();
    }
  });

  test('checklist K9: a frame over maxPayload -> Close 1009', async () => {
    const peer = await rawPeer((socket) => {
      // Binary frame announcing 1025 bytes, with no payload sent.
      socket.write(Buffer.from([0x82, 126, 0x04, 0x01]));
    });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/`, {
        maxPayload: 1024,
        perMessageDeflate: false,
      });
      ws.on('error', () => {});
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 1009);
      assert.equal(firstClientFrame(Buffer.concat(peer.received)).payload.readUInt16BE(0), 1009);
    } finally {
      await peer.close();
    }
  });

  test('echo against ws WebSocketServer with permessage-deflate and a subprotocol', async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: { threshold: 0 },
    });
    wss.on('connection', (peer) =>
      peer.on('message', (data, isBinary) => peer.send(data, { binary: isBinary })),
    );
    await onceOrError(wss, 'listening');
    const port = (wss.address() as net.AddressInfo).port;
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['chat']);
      const events: string[] = [];
      ws.on('upgrade', () => events.push('upgrade'));
      await once(ws, 'open');
      events.push('open');
      assert.deepEqual(events, ['upgrade', 'open']);
      assert.equal(ws.protocol, 'chat');
      assert.match(ws.extensions, /^permessage-deflate/);
      const text = 'hello '.repeat(1000);
      ws.send(text);
      const [data, isBinary] = (await once(ws, 'message')) as [Buffer | string, boolean];
      assert.equal(isBinary, false);
      assert.equal(data.toString(), text);
      ws.close(1000);
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 1000);
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  test("'unexpected-response' gets Node's request and response streams, then 'close' 1006 without 'error'; without a listener 'error' then 'close' 1006", async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () =>
        socket.end('HTTP/1.1 418 Teapot\r\nContent-Length: 5\r\n\r\nshort'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const withListener = new WebSocket(`ws://127.0.0.1:${port}/`);
      const seen: string[] = [];
      withListener.on('error', () => seen.push('error'));
      const [request, response] = (await once(withListener, 'unexpected-response')) as [
        http.ClientRequest,
        http.IncomingMessage,
      ];
      assert.ok(request instanceof http.ClientRequest);
      assert.ok(response instanceof http.IncomingMessage);
      assert.equal(response.statusCode, 418);
      assert.equal(withListener.readyState, WebSocket.CONNECTING);
      // Code written for ws reads the body with res.on(...).
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      const [code1] = (await once(withListener, 'close')) as [number];
      assert.equal(code1, 1006);
      assert.equal(body, 'short');
      assert.deepEqual(seen, []);

      const without = new WebSocket(`ws://127.0.0.1:${port}/`);
      const order: string[] = [];
      let error: (Error & { code?: string; statusCode?: number }) | undefined;
      without.on('open', () => order.push('open'));
      without.on('error', (e) => {
        error = e;
        order.push('error');
      });
      const [code] = (await once(without, 'close')) as [number];
      order.push('close');
      assert.equal(code, 1006);
      assert.deepEqual(order, ['error', 'close']);
      assert.equal(error?.code, 'UNEXPECTED_RESPONSE');
      assert.equal(error?.statusCode, 418);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('close() while CONNECTING aborts the handshake; the constructor throws SyntaxError for a bad URL', async () => {
    const { server, port } = await silentServer();
    try {
      assert.throws(() => new WebSocket(`ws://127.0.0.1:${port}/#frag`), SyntaxError);
      assert.throws(() => new WebSocket('gopher://127.0.0.1/'), SyntaxError);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      const errors: Array<Error & { code?: string }> = [];
      ws.on('error', (error) => errors.push(error));
      ws.on('open', () => assert.fail('must not open'));
      setTimeout(() => ws.close(), 50);
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 1006);
      assert.equal(errors[0]?.code, 'ABORTED');
    } finally {
      await server.close();
    }
  });

  test('WebSocket.connect rejects with the TLS-free timeout error (K6) and reports 1006', async () => {
    const { server, port } = await silentServer();
    try {
      await assert.rejects(
        WebSocket.connect(`ws://127.0.0.1:${port}/`, { handshakeTimeout: 150 }),
        {
          code: 'HANDSHAKE_TIMEOUT',
        },
      );
    } finally {
      await server.close();
    }
  });
});
