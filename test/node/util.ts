/**
 * Helpers for the Node adapter tests: servers on 127.0.0.1:0, ws-package peers, raw sockets
 * speaking hand-made handshakes and frames, and bounded waits.
 */
import type http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from '../helpers/events.js';
import { randomBytes } from 'node:crypto';
import WS from 'ws';
import { WebSocketServer } from '../../src/node/server.js';
import type { ServerOptions } from '../../src/node/server.js';
import { encodeFrame } from '../../src/protocol/frame.js';

export { once };

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until true or `ms` passes. */
export async function waitFor(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** A standalone server on 127.0.0.1, listening. */
export async function startServer(
  options: Partial<ServerOptions> = {},
): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** Closes the server (bounded). */
export async function stopServer(wss: WebSocketServer): Promise<void> {
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}

/** A `ws` package client, open. */
export async function wsClient(
  url: string,
  options: WS.ClientOptions = {},
  protocols?: string | string[],
): Promise<WS> {
  const client = new WS(url, protocols, options);
  client.on('error', () => {});
  await once(client, 'open');
  return client;
}

/** A valid upgrade request for `port` (extra header lines appended). */
export function upgradeRequest(port: number, extra: string[] = [], path = '/'): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/** A raw TCP client that collects everything it receives. */
export class RawClient {
  readonly socket: net.Socket;
  data = Buffer.alloc(0);
  ended = false;
  closed = false;
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk) => {
      this.data = Buffer.concat([this.data, chunk]);
    });
    this.socket.on('end', () => {
      this.ended = true;
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => {});
  }
  async connected(): Promise<void> {
    if (this.socket.readyState !== 'open') await once(this.socket, 'connect');
  }
  /** Text received so far (latin1). */
  get text(): string {
    return this.data.toString('latin1');
  }
  /** Waits for a full HTTP head and returns the status code. */
  async status(ms = 5000): Promise<number> {
    await waitFor(() => this.text.includes('\r\n\r\n') || this.closed, ms, 'an HTTP response');
    return Number(this.text.slice(9, 12));
  }
  /** Bytes after the HTTP head. */
  get frames(): Buffer {
    const end = this.text.indexOf('\r\n\r\n');
    return end < 0 ? Buffer.alloc(0) : this.data.subarray(end + 4);
  }
  /** Sends a masked client frame. */
  frame(opcode: number, payload: Uint8Array | string, fin = true, rsv = 0): void {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const out = encodeFrame(fin, rsv, opcode, bytes, randomBytes(4), (n) => Buffer.allocUnsafe(n));
    for (const part of Array.isArray(out) ? out : [out]) this.socket.write(part);
  }
  destroy(): void {
    this.socket.destroy();
  }
}

/** Opens a raw client and completes the handshake; returns it once the 101 arrived. */
export async function rawUpgrade(port: number, extra: string[] = []): Promise<RawClient> {
  const client = new RawClient(port);
  await client.connected();
  client.socket.write(upgradeRequest(port, extra));
  const status = await client.status();
  if (status !== 101) throw new Error(`expected 101, got ${client.text}`);
  return client;
}

/** Parses unmasked server frames from `bytes`: [{fin, opcode, payload}]. */
export function parseFrames(
  bytes: Buffer,
): Array<{ fin: boolean; opcode: number; payload: Buffer }> {
  const out: Array<{ fin: boolean; opcode: number; payload: Buffer }> = [];
  let i = 0;
  while (i + 2 <= bytes.length) {
    const fin = (bytes[i] & 0x80) !== 0;
    const opcode = bytes[i] & 0x0f;
    let len = bytes[i + 1] & 0x7f;
    let off = i + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(off));
      off += 8;
    }
    if (off + len > bytes.length) break;
    out.push({ fin, opcode, payload: bytes.subarray(off, off + len) });
    i = off + len;
  }
  return out;
}

/**
 * Stops a WebSocket server (ws's or ironsock's) at once: terminates its clients, closes it, then
 * closes the HTTP(S) server it was attached to, if any, with its open connections.
 */
export async function closeServerNow(
  wss: { clients: Iterable<{ terminate(): void }>; close(cb: () => void): void },
  server?: http.Server,
): Promise<void> {
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
