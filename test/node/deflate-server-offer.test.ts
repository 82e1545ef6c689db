/**
 * RFC 7692 §7 on the server over a socket: invalid offers are declined (101 without the
 * extension, checklist H5), a valid fallback offer is accepted, and a server created without
 * `perMessageDeflate` never negotiates it (checklist Z4).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import { WebSocketServer } from '../../src/index.js';

/** Sends an upgrade request with the given extensions header; resolves with the response head. */
async function handshake(port: number, extensions: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(
    [
      'GET / HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Extensions: ${extensions}`,
      '',
      '',
    ].join('\r\n'),
  );
  return new Promise((resolve, reject) => {
    let data = '';
    const timer = setTimeout(() => reject(new Error(`no response; got ${data}`)), 10_000);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(data.slice(0, end));
    });
  });
}

const extensionsOf = (head: string): string | undefined =>
  /^sec-websocket-extensions:\s*(.*)$/im.exec(head)?.[1]?.trim();

describe('RFC 7692 §7 server negotiation over a socket', { timeout: 60_000 }, () => {
  let on: WebSocketServer;
  let off: WebSocketServer;
  let onPort: number;
  let offPort: number;

  before(async () => {
    on = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    off = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await Promise.all([once(on, 'listening'), once(off, 'listening')]);
    onPort = (on.address() as AddressInfo).port;
    offPort = (off.address() as AddressInfo).port;
    for (const server of [on, off]) server.on('connection', (ws) => ws.on('error', () => {}));
  });

  after(async () => {
    for (const server of [on, off]) {
      for (const ws of server.clients) ws.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  const declined = [
    'permessage-deflate; server_max_window_bits=16',
    'permessage-deflate; server_max_window_bits',
    'permessage-deflate; client_max_window_bits=7',
    'permessage-deflate; server_no_context_takeover=yes',
    'permessage-deflate; client_no_context_takeover; client_no_context_takeover',
    'permessage-deflate; __proto__=1',
    'permessage-deflate; constructor; hasOwnProperty',
    'permessage-deflate; foo',
  ];
  for (const header of declined) {
    test(`declined: ${header}`, async () => {
      const head = await handshake(onPort, header);
      assert.match(head, /^HTTP\/1\.1 101/);
      assert.equal(extensionsOf(head), undefined);
    });
  }

  test('an invalid first offer falls back to a valid second one', async () => {
    const head = await handshake(
      onPort,
      'permessage-deflate; server_max_window_bits=99, permessage-deflate; client_max_window_bits',
    );
    assert.match(head, /^HTTP\/1\.1 101/);
    assert.equal(extensionsOf(head), 'permessage-deflate');
  });

  test('server_no_context_takeover offered is echoed (§7.1.1.1)', async () => {
    const head = await handshake(
      onPort,
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10',
    );
    assert.equal(
      extensionsOf(head),
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10',
    );
  });

  test('checklist Z4: a server without perMessageDeflate never negotiates it', async () => {
    const head = await handshake(offPort, 'permessage-deflate; client_max_window_bits');
    assert.match(head, /^HTTP\/1\.1 101/);
    assert.equal(extensionsOf(head), undefined);
  });
});
