/**
 * Helpers for the RFC 8441 tests: a self-signed certificate made with openssl at test time
 * (cached per process), and a raw `node:http2` client that speaks extended CONNECT and
 * hand-made WebSocket frames, written without ironsock's client code.
 */
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import { randomBytes } from 'node:crypto';
import { encodeFrame } from '../../src/protocol/frame.js';
import { makeCert } from './certs.js';

let cached: { key: Buffer; cert: Buffer } | null | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost (null when openssl is missing). */
export function selfSigned(): { key: Buffer; cert: Buffer } | null {
  if (cached !== undefined) return cached;
  try {
    cached = makeCert('localhost', 'IP:127.0.0.1,DNS:localhost');
  } catch {
    cached = null;
  }
  return cached;
}

/** Connects a raw HTTP/2 client and resolves once the server's SETTINGS arrived. */
export async function h2Session(
  port: number,
  ca: Buffer | undefined,
  host = '127.0.0.1',
): Promise<ClientHttp2Session> {
  const session = http2.connect(`https://${host}:${port}`, {
    ca,
    rejectUnauthorized: ca !== undefined,
    settings: { enablePush: false },
  });
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
    session.once('close', () => reject(new Error('session closed before SETTINGS')));
  });
  return session;
}

/** A raw WebSocket over one extended CONNECT stream: frames in and out by hand. */
export class RawH2Socket {
  readonly stream: ClientHttp2Stream;
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  data = Buffer.alloc(0);
  ended = false;
  closed = false;
  rstCode: number | undefined;
  constructor(stream: ClientHttp2Stream) {
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
    });
    stream.on('end', () => {
      this.ended = true;
    });
    stream.on('close', () => {
      this.closed = true;
      this.rstCode = stream.rstCode;
    });
    stream.on('error', () => {});
  }
  /** Sends a masked client frame. */
  frame(opcode: number, payload: Uint8Array | string, fin = true): void {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const out = encodeFrame(fin, 0, opcode, bytes, randomBytes(4), (n) => Buffer.allocUnsafe(n));
    for (const part of Array.isArray(out) ? out : [out]) this.stream.write(part);
  }
  /** The body (for refusals), as text. */
  get text(): string {
    return this.data.toString('utf8');
  }
}

/** The fields of a valid extended CONNECT to `authority` (override or drop with `changes`). */
export function connectHeaders(
  authority: string,
  changes: Record<string, string | string[] | null> = {},
  path = '/',
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': path,
    ':authority': authority,
    'sec-websocket-version': '13',
  };
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  return headers;
}

/** Opens an extended CONNECT stream and resolves with its response (status + headers). */
export async function h2Open(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  ms = 5000,
): Promise<RawH2Socket> {
  const stream = session.request(headers, { endStream: false });
  const socket = new RawH2Socket(stream);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no response to the extended CONNECT')), ms);
    stream.once('response', (h) => {
      clearTimeout(timer);
      socket.status = Number(h[':status']);
      socket.headers = h as Record<string, string | string[] | undefined>;
      resolve();
    });
    stream.once('close', () => {
      clearTimeout(timer);
      if (socket.status === 0)
        reject(new Error(`stream closed without a response (rst ${stream.rstCode})`));
    });
  });
  return socket;
}
