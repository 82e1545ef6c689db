/**
 * Small utilities shared by the interop suites: an event recorder for ws-compatible sockets
 * (so no event is missed between awaits), bounded waits, and server start/stop helpers that
 * work with any implementation of the `ws` API (`ws` itself or ironsock).
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/** The subset of the ws `WebSocket` API the interop suites rely on (loosely typed on purpose). */
export interface SocketLike {
  readyState: number;
  protocol: string;
  extensions: string;
  send(data: unknown, options?: unknown, cb?: (err?: Error) => void): void;
  ping(data?: unknown, mask?: boolean, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string | Buffer): void;
  terminate(): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
}

/** The subset of the ws `WebSocketServer` API the interop suites rely on. */
export interface ServerLike {
  clients: Set<unknown>;
  address(): AddressInfo | string | null;
  close(cb?: (err?: Error) => void): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
}

/** A received message: bytes plus the binary flag of the ws 'message' event. */
export interface Received {
  data: Buffer;
  isBinary: boolean;
}

/** A 'close' event: code and the reason decoded as UTF-8. */
export interface Closed {
  code: number;
  reason: string;
}

type Kind = 'message' | 'ping' | 'pong' | 'close' | 'error' | 'open';

/** Default wait for one event, in ms (generous: the machine is shared). */
export const EVENT_TIMEOUT = 15_000;

/**
 * Records every event of a socket from the moment it is attached, so tests can `await
 * rec.next('message')` without racing. `next` rejects after `timeoutMs`.
 */
export class Recorder {
  readonly queues = new Map<Kind, unknown[]>();
  readonly waiters = new Map<Kind, Array<(value: unknown) => void>>();
  readonly errors: Error[] = [];

  constructor(readonly socket: SocketLike) {
    socket.on('message', (data: unknown, isBinary: boolean) =>
      this.push('message', { data: toBuffer(data), isBinary } satisfies Received),
    );
    socket.on('ping', (data: unknown) => this.push('ping', toBuffer(data)));
    socket.on('pong', (data: unknown) => this.push('pong', toBuffer(data)));
    socket.on('close', (code: number, reason: unknown) =>
      this.push('close', {
        code,
        reason: toBuffer(reason ?? '').toString('utf8'),
      } satisfies Closed),
    );
    socket.on('error', (error: Error) => {
      this.errors.push(error);
      this.push('error', error);
    });
    socket.on('open', () => this.push('open', true));
  }

  private push(kind: Kind, value: unknown): void {
    const waiter = this.waiters.get(kind)?.shift();
    if (waiter) waiter(value);
    else {
      let queue = this.queues.get(kind);
      if (!queue) this.queues.set(kind, (queue = []));
      queue.push(value);
    }
  }

  /** The next event of `kind` (already recorded or future). */
  next(kind: 'message', timeoutMs?: number): Promise<Received>;
  next(kind: 'ping' | 'pong', timeoutMs?: number): Promise<Buffer>;
  next(kind: 'close', timeoutMs?: number): Promise<Closed>;
  next(kind: 'error', timeoutMs?: number): Promise<Error>;
  next(kind: 'open', timeoutMs?: number): Promise<true>;
  next(kind: Kind, timeoutMs = EVENT_TIMEOUT): Promise<unknown> {
    const queued = this.queues.get(kind);
    if (queued && queued.length > 0) return Promise.resolve(queued.shift());
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(kind) ?? [];
      this.waiters.set(kind, list);
      const waiter = (value: unknown): void => {
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        const i = list.indexOf(waiter);
        if (i !== -1) list.splice(i, 1);
        const errs = this.errors.map((e) => e.message).join('; ');
        reject(
          new Error(`no '${kind}' event within ${timeoutMs} ms${errs ? ` (errors: ${errs})` : ''}`),
        );
      }, timeoutMs);
      // A wait still pending after its test failed must not hold the process open.
      timer.unref();
      list.push(waiter);
    });
  }

  /**
   * Resolves when the socket is open; rejects with the first 'error' (or a 'close') before
   * that, or after `timeoutMs`. Leaves no timer or waiter behind either way.
   */
  opened(timeoutMs = EVENT_TIMEOUT): Promise<void> {
    if (this.socket.readyState === 1) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (error?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new Error(`not open within ${timeoutMs} ms`)),
        timeoutMs,
      );
      if (this.errors.length > 0) return finish(this.errors[0]);
      this.socket.once('open', () => finish());
      this.socket.once('error', (error: Error) => finish(error));
      this.socket.once('close', (code: number) =>
        finish(new Error(`closed (${code}) before open`)),
      );
    });
  }

  /** How many events of `kind` are recorded and not yet consumed. */
  pending(kind: Kind): number {
    return this.queues.get(kind)?.length ?? 0;
  }
}

/** Converts a ws message payload (Buffer, Buffer[], ArrayBuffer, string) to one Buffer. */
export function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Array.isArray(data)) return Buffer.concat(data.map(toBuffer));
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`unexpected payload type ${Object.prototype.toString.call(data)}`);
}

/** Hex SHA-256 of bytes, to compare large payloads without printing them. */
export function digest(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Resolves once `server` emits 'listening' (or at once if it already listens); bounded. */
export function listening(server: ServerLike, timeoutMs = EVENT_TIMEOUT): Promise<number> {
  return new Promise((resolve, reject) => {
    const portOf = (): number | null => {
      const address = server.address();
      return address && typeof address === 'object' ? address.port : null;
    };
    const now = portOf();
    if (now !== null) return resolve(now);
    const timer = setTimeout(() => reject(new Error('server did not start listening')), timeoutMs);
    server.once('listening', () => {
      clearTimeout(timer);
      resolve(portOf() ?? 0);
    });
    server.once('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Terminates every client of `server` and closes it; resolves when closed (bounded, never rejects). */
export function shutdown(server: ServerLike, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    for (const client of server.clients) (client as SocketLike).terminate();
    const timer = setTimeout(resolve, timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Waits `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `what` if `promise` has not settled within `timeoutMs`. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The bytes the python scripts call a "pattern": byte i is i % 251. */
export function pattern(size: number): Buffer {
  const unit = Buffer.allocUnsafe(251);
  for (let i = 0; i < 251; i++) unit[i] = i;
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 251) unit.copy(out, i, 0, Math.min(251, size - i));
  return out;
}

/** How a server-side connection ended, as its 'close' event reported it. */
export interface ServerClose {
  code: number;
  reason: string;
  extensions: string;
}

/**
 * Makes a server-side socket echo every message, except text commands starting with `!`
 * (the same commands as test/interop/python/echo_server.py):
 * `!close <code> <reason>`, `!frag <words...>` (one fragment per word, sent with fin: false),
 * `!fragpattern <size> <parts>`, `!pattern <size>`, `!ping <payload>` (answers "pong <payload>"
 * once the pong arrives), `!info` (JSON with the negotiated extensions and subprotocol).
 * Pushes the connection's close event to `closes`.
 */
export function commandEcho(socket: SocketLike, closes: ServerClose[]): void {
  const extensions = String(socket.extensions ?? '');
  socket.on('close', (code: number, reason: unknown) =>
    closes.push({ code, reason: toBuffer(reason ?? '').toString('utf8'), extensions }),
  );
  socket.on('error', () => {});
  socket.on('message', (data: unknown, isBinary: boolean) => {
    const bytes = toBuffer(data);
    const text = isBinary ? '' : bytes.toString('utf8');
    if (!text.startsWith('!')) return socket.send(bytes, { binary: isBinary });
    const [cmd, ...args] = text.slice(1).split(' ');
    if (cmd === 'close') socket.close(Number(args[0]), args.slice(1).join(' '));
    else if (cmd === 'frag')
      args.forEach((w, i) =>
        socket.send(w + (i < args.length - 1 ? ' ' : ''), { fin: i === args.length - 1 }),
      );
    else if (cmd === 'pattern') socket.send(pattern(Number(args[0])), { binary: true });
    else if (cmd === 'fragpattern') {
      const [size, parts] = args.map(Number);
      const all = pattern(size);
      const step = Math.ceil(size / parts);
      for (let i = 0; i < size; i += step)
        socket.send(all.subarray(i, i + step), { binary: true, fin: i + step >= size });
    } else if (cmd === 'ping') {
      socket.once('pong', (payload: unknown) =>
        socket.send(`pong ${toBuffer(payload).toString('utf8')}`),
      );
      socket.ping(Buffer.from(args.join(' ')));
    } else if (cmd === 'info')
      socket.send(JSON.stringify({ extensions, protocol: socket.protocol }));
    else socket.send(`unknown command ${cmd}`);
  });
}

/** Polls `condition` every 20 ms; rejects after `timeoutMs` (default 10 s). */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await delay(20);
  }
}

/** 16 MiB: the "large message" of every interop suite. */
export const LARGE = 16 * 1024 * 1024;

/**
 * Options that let a 16 MiB message through on a ws-compatible socket or server: `maxPayload`
 * (both libraries) and ironsock's send-buffer cap `maxBufferedAmount` (default 1 MiB, policy
 * 'close': a larger send fails the connection with 1008). `ws` ignores the latter.
 */
export const LARGE_LIMITS = {
  maxPayload: LARGE + 1024,
  maxBufferedAmount: 2 * LARGE + 1024,
} as const;

/** One raw frame for misbehaving peers (RFC 6455 §5.2), built without any validation. */
export interface RawFrame {
  opcode: number;
  payload?: Uint8Array;
  fin?: boolean;
  rsv1?: boolean;
  /** Mask the payload with the fixed key 01 02 03 04 (a client frame, §5.3). */
  masked?: boolean;
}

/** Encodes `frame` exactly as described (7/16/64-bit length forms chosen by size). */
export function rawFrame(frame: RawFrame): Buffer {
  const payload = Buffer.from(frame.payload ?? new Uint8Array(0));
  const length = payload.length;
  const head: number[] = [
    ((frame.fin ?? true) ? 0x80 : 0) | (frame.rsv1 ? 0x40 : 0) | (frame.opcode & 0x0f),
  ];
  const maskBit = frame.masked ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    head.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  if (frame.masked) {
    const key = [1, 2, 3, 4];
    head.push(...key);
    for (let i = 0; i < length; i++) payload[i] ^= key[i & 3];
  }
  return Buffer.concat([Buffer.from(head), payload]);
}

/**
 * Waits until `closes` has, at index `from` or later, a close with `code`, and returns it.
 * Matching by code (not "the last one") keeps a late close of an earlier connection from
 * being mistaken for the one under test. Rejects after `timeoutMs` listing what arrived.
 */
export async function closeWith(
  closes: ServerClose[],
  from: number,
  code: number,
  timeoutMs = 10_000,
): Promise<ServerClose> {
  const find = (): ServerClose | undefined => closes.slice(from).find((c) => c.code === code);
  try {
    await waitUntil(() => find() !== undefined, timeoutMs);
  } catch {
    throw new Error(`no server-side close ${code}; got ${JSON.stringify(closes.slice(from))}`);
  }
  return find() as ServerClose;
}
