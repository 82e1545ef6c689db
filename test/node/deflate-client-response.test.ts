/**
 * RFC 7692 §7: the client fails the WebSocket connection when the server's permessage-deflate
 * response is invalid or not what was offered. A raw TCP server answers 101 with crafted
 * `Sec-WebSocket-Extensions` values; the client must never open.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocket, type PerMessageDeflateOptions } from '../../src/index.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A server answering every upgrade with 101 and the given extensions header. */
async function craftedServer(
  extensions: string,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      socket.write(
        [
          'HTTP/1.1 101 Switching Protocols',
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Accept: ${accept}`,
          `Sec-WebSocket-Extensions: ${extensions}`,
          '',
          '',
        ].join('\r\n'),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function outcome(extensions: string, options: PerMessageDeflateOptions | true = true) {
  const server = await craftedServer(extensions);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}`, { perMessageDeflate: options });
    let opened = false;
    let error: (Error & { code?: string; cause?: unknown }) | undefined;
    ws.on('open', () => {
      opened = true;
      ws.terminate();
    });
    ws.on('error', (e: Error) => (error = e));
    // Not events.once: it rejects on 'error', which is expected here.
    const code = await new Promise<number>((resolve) => ws.on('close', (c: number) => resolve(c)));
    return { opened, error, code, extensions: ws.extensions };
  } finally {
    await server.close();
  }
}

const invalid: Array<[string, string, PerMessageDeflateOptions | true, string?]> = [
  [
    '§7.1.2.1 server_max_window_bits out of range',
    'permessage-deflate; server_max_window_bits=16',
    true,
  ],
  [
    '§7.1.2.1 server_max_window_bits without a value',
    'permessage-deflate; server_max_window_bits',
    true,
  ],
  [
    '§7.1.2.1 server_max_window_bits above the offered value',
    'permessage-deflate; server_max_window_bits=12',
    { serverMaxWindowBits: 10 },
  ],
  [
    '§7.1.2.1 server_max_window_bits missing though offered',
    'permessage-deflate',
    { serverMaxWindowBits: 10 },
  ],
  [
    '§7.1.2.2 client_max_window_bits without a value',
    'permessage-deflate; client_max_window_bits',
    true,
  ],
  [
    '§7.1.2.2 client_max_window_bits above the offered value',
    'permessage-deflate; client_max_window_bits=12',
    { clientMaxWindowBits: 10 },
  ],
  [
    '§7.1.1.1 server_no_context_takeover missing though offered',
    'permessage-deflate',
    { serverNoContextTakeover: true },
  ],
  [
    '§7.1.1.1 server_no_context_takeover with a value',
    'permessage-deflate; server_no_context_takeover=1',
    true,
  ],
  [
    '§7 duplicate parameter',
    'permessage-deflate; client_no_context_takeover; client_no_context_takeover',
    true,
  ],
  ['§7 unknown parameter', 'permessage-deflate; foo=bar', true],
  [
    'RFC 6455 §9.1 the extension twice',
    'permessage-deflate, permessage-deflate',
    true,
    'DUPLICATE_EXTENSION',
  ],
  [
    'RFC 6455 §9.1 an extension never offered',
    'x-webkit-deflate-frame',
    true,
    'UNOFFERED_EXTENSION',
  ],
];

describe(
  'RFC 7692 §7 client fails on an invalid permessage-deflate response',
  { timeout: 60_000 },
  () => {
    for (const [name, header, options, expected = 'INVALID_EXTENSION_PARAMS'] of invalid) {
      test(name, async () => {
        const result = await outcome(header, options);
        assert.equal(result.opened, false);
        assert.ok(result.error, 'an error event');
        // The client may wrap our error; the stable code stays reachable.
        const cause = result.error.cause as { code?: string } | undefined;
        assert.ok(
          result.error.code === expected || cause?.code === expected,
          `${result.error.code ?? ''} / ${cause?.code ?? ''} (expected ${expected})`,
        );
        assert.equal(result.code, 1006);
      });
    }

    test('a valid response opens with the extension', async () => {
      const result = await outcome(
        'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
      );
      assert.equal(result.opened, true);
      assert.match(result.extensions, /permessage-deflate/);
    });
  },
);
