/**
 * permessage-deflate end to end against an independent implementation (the `ws` package):
 * each negotiation configuration of RFC 7692 §7.1 from both sides, messages round-tripped
 * through compression in both directions, and the wire checked to be actually compressed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import WsWebSocket, { WebSocketServer as WsServer } from 'ws';
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from '../../src/index.js';

const compressible = (n: number): Buffer =>
  Buffer.from('permessage-deflate interop '.repeat(Math.ceil(n / 27)).slice(0, n));

/** Messages covering: below threshold, empty, medium, large compressible, incompressible. */
const MESSAGES: Array<[Buffer, boolean]> = [
  [Buffer.from('short'), false],
  [Buffer.alloc(0), true],
  [compressible(5_000), false],
  [compressible(200_000), true],
  [randomBytes(40_000), true],
  [compressible(5_000), false], // repeated: exercises context takeover
];

function nextMessage(ws: {
  once(event: 'message', fn: (data: unknown, isBinary: boolean) => void): unknown;
}) {
  return new Promise<[Buffer, boolean]>((resolve) =>
    ws.once('message', (data: unknown, isBinary: boolean) => resolve([toBuffer(data), isBinary])),
  );
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(String(data));
}

const serverCases: Array<[string, PerMessageDeflateOptions | true, object]> = [
  ['defaults', true, {}],
  [
    'no context takeover both ways',
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    {},
  ],
  ['server windows 10/9', { serverMaxWindowBits: 10, clientMaxWindowBits: 9 }, {}],
  ['client asks server_max_window_bits=9', true, { serverMaxWindowBits: 9 }],
  [
    'client offers client_max_window_bits=8 (Node compresses with 9)',
    true,
    { clientMaxWindowBits: 8 },
  ],
  ['client asks server_no_context_takeover', true, { serverNoContextTakeover: true }],
  ['server window 8: we send uncompressed', { serverMaxWindowBits: 8, threshold: 0 }, {}],
  ['threshold 0', { threshold: 0 }, { threshold: 0 }],
];

describe('RFC 7692 interop: ironsock server, ws client', { timeout: 60_000 }, () => {
  for (const [name, serverDeflate, wsClientDeflate] of serverCases) {
    test(name, async () => {
      const wss = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        perMessageDeflate: serverDeflate,
        maxPayload: 1 << 20,
      });
      await once(wss, 'listening');
      wss.on('connection', (ws: WebSocket) => {
        ws.on('message', (data: unknown, isBinary: boolean) =>
          ws.send(toBuffer(data), { binary: isBinary }),
        );
      });
      const port = (wss.address() as AddressInfo).port;
      const client = new WsWebSocket(`ws://127.0.0.1:${port}`, {
        perMessageDeflate: wsClientDeflate,
      });
      try {
        await once(client, 'open');
        assert.match(String(client.extensions), /permessage-deflate/);
        for (const [message, binary] of MESSAGES) {
          const reply = nextMessage(client);
          client.send(message, { binary });
          const [data, isBinary] = await reply;
          assert.equal(isBinary, binary);
          assert.deepEqual(data, message);
        }
        // A 200 KB compressible message travelled compressed unless our window is 8.
        const read = (client as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
        const weCompress = !(
          typeof serverDeflate === 'object' && serverDeflate.serverMaxWindowBits === 8
        );
        if (weCompress) assert.ok(read < 100_000, `client read ${read} bytes`);
        else assert.ok(read > 200_000, `client read ${read} bytes`);
      } finally {
        client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      }
    });
  }
});

const clientCases: Array<[string, PerMessageDeflateOptions | true, object]> = [
  ['defaults', true, {}],
  [
    'ws server: no context takeover, windows 10',
    true,
    {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 10,
    },
  ],
  [
    'we offer server_max_window_bits=11 and client_max_window_bits=12',
    { serverMaxWindowBits: 11, clientMaxWindowBits: 12 },
    {},
  ],
  [
    'we offer both no context takeover',
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    {},
  ],
  ['ws server limits our window to 9', true, { clientMaxWindowBits: 9 }],
];

describe('RFC 7692 interop: ironsock client, ws server', { timeout: 60_000 }, () => {
  for (const [name, clientDeflate, wsServerDeflate] of clientCases) {
    test(name, async () => {
      const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: wsServerDeflate });
      await once(wss, 'listening');
      let serverRead = (): number => 0;
      wss.on('connection', (ws: WsWebSocket, req: IncomingMessage) => {
        serverRead = () => req.socket.bytesRead;
        ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
      });
      const port = (wss.address() as AddressInfo).port;
      const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: clientDeflate });
      client.on('error', () => {});
      try {
        await once(client, 'open');
        assert.match(client.extensions, /permessage-deflate/);
        for (const [message, binary] of MESSAGES) {
          const reply = nextMessage(client);
          client.send(message, { binary });
          const [data, isBinary] = await reply;
          assert.equal(isBinary, binary);
          assert.deepEqual(data, message);
        }
        assert.ok(serverRead() < 100_000, `ws server read ${serverRead()} bytes`);
      } finally {
        client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      }
    });
  }
});

describe('RFC 7692 incompressible messages at the size limit', { timeout: 60_000 }, () => {
  // Deflate stores incompressible data with 5 bytes per block (~320 B per MiB), so a peer's
  // compressed 8 MiB random message is ~2.5 KB larger than the message. The engine allows
  // compressed frames a margin of limit/2048 + 1024 bytes (src/protocol/connection.ts).
  test('an 8 MiB random message accepted by a server with maxPayload 8 MiB', async () => {
    const limit = 8 << 20;
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: true,
      maxPayload: limit,
    });
    await once(wss, 'listening');
    let received = -1;
    wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (data: unknown) => {
        received = toBuffer(data).length;
        ws.close(1000);
      });
      ws.on('error', () => {});
    });
    const client = new WsWebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    try {
      await once(client, 'open');
      client.send(randomBytes(limit));
      const [code] = (await once(client, 'close')) as [number];
      assert.equal(code, 1000);
      assert.equal(received, limit);
    } finally {
      client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});

describe('the peer ends TCP while compressed messages are still being inflated', () => {
  test('every message that arrived before the end is delivered, then close 1006 (as ws)', async () => {
    // ws sends four compressed messages and ends its TCP connection without a Close frame.
    // They can all be in one read with the end right behind: the client must inflate and
    // deliver each before it reports the end (they were sent; a Close would have said more).
    const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
    await once(wss, 'listening');
    wss.on('connection', (peer) => {
      peer.send('foo');
      peer.send('bar');
      peer.send('baz');
      peer.send('qux', () => (peer as unknown as { _socket: { end(): void } })._socket.end());
    });
    const port = (wss.address() as AddressInfo).port;
    for (let round = 0; round < 5; round++) {
      const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: true });
      const messages: string[] = [];
      client.on('message', (data) => messages.push(String(data)));
      const [code] = (await once(client, 'close')) as [number];
      assert.deepEqual(messages, ['foo', 'bar', 'baz', 'qux'], `round ${round}`);
      assert.equal(code, 1006);
    }
    await new Promise((resolve) => wss.close(resolve));
  });
});
