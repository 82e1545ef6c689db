/**
 * `ReconnectingWebSocket`: a client that comes back after the connection is lost, with
 * exponential backoff and jitter, typed events, and a bounded queue for what is sent while it is
 * disconnected. Opt-in: `new ReconnectingWebSocket(url, protocols?, { reconnect: {...} })` or
 * `await ReconnectingWebSocket.connect(url, ...)`; a plain `WebSocket` never reconnects.
 *
 * What is retried (the default `shouldReconnect`, which an option can replace):
 * - a lost connection closed with 1001 (going away), 1005 (no code), 1006 (dropped), 1011
 *   (server error), 1012 (service restart), 1013 (try again later) or 1014 (bad gateway);
 * - an opening handshake that failed on the network (refused, reset, DNS, timeout, the server
 *   or the proxy unreachable or closing before answering), or that the server (or the proxy's
 *   CONNECT) answered with HTTP 408, 425, 429, 500, 502, 503 or 504.
 * What is never retried: a close the application asked for (`close()`/`terminate()`); 1000 (the
 * server ended the session on purpose); 1002, 1003, 1007, 1008, 1009, 1010 (the server refused
 * what we did: retrying repeats it); 1015 and other TLS failures (a certificate does not fix
 * itself); 3000-4999 (application refusals such as 4001 "unauthorized"); any other HTTP status
 * (401, 403, 404, 426 ...); a response that is not a valid WebSocket handshake.
 *
 * Backoff: before attempt n (1-based, counting consecutive failures since the last open) the
 * client waits `min(maxDelay, minDelay × factor^(n-1))`, multiplied by a random factor in
 * `[1 - jitter, 1 + jitter]`. After `attempts` failed attempts in a row it gives up. A
 * connection that opens resets the count.
 *
 * Sending while disconnected (no silent loss, never twice):
 * - `send()` returns a promise that resolves once the message's bytes were handed to the
 *   kernel on an open connection, and rejects otherwise: every message is either confirmed or
 *   reported, none is dropped quietly.
 * - While not connected, messages wait in a queue bounded by `maxQueuedMessages` (default 1024)
 *   and `maxQueuedBytes` (default 1 MiB); a send that does not fit is rejected at once with
 *   `QUEUE_FULL` (`maxQueuedMessages: 0` rejects every send made while disconnected with
 *   `NOT_CONNECTED`). When a connection opens, the `'open'` (and `'reconnected'`) listeners run
 *   first, so what they send (authentication, resubscription) goes before the queue; then the
 *   queue is sent in order.
 * - A message is handed to one connection at most once and never re-sent: if that connection
 *   is lost before the bytes reached the kernel, its promise rejects with `SEND_FAILED` (the
 *   application may send it again if its protocol tolerates duplicates). When the client gives
 *   up or is closed, the queued messages are rejected with `CLOSED`.
 */
import { nodeEvents } from './builtins.js';
import { WebSocket } from './websocket.js';
import './client.js'; // installs the client handshake in WebSocket
import type { BinaryType, SendData, SendOptions, WebSocketOptions } from './websocket.js';
import type { WriteCallback } from './socket-driver.js';
import {
  DEFAULT_RECONNECT_ATTEMPTS,
  DEFAULT_RECONNECT_FACTOR,
  DEFAULT_RECONNECT_JITTER,
  DEFAULT_RECONNECT_MAX_DELAY_MS,
  DEFAULT_RECONNECT_MIN_DELAY_MS,
  DEFAULT_RECONNECT_QUEUE_BYTES,
  DEFAULT_RECONNECT_QUEUE_MESSAGES,
} from './limits.js';

/** How a connection (or a connection attempt) ended. */
export interface LastClose {
  /** The close code: from the peer's Close frame, or 1006 (dropped, failed handshake), 1015 (TLS). */
  code: number;
  /** The close reason ('' when none). */
  reason: string;
  /** Whether both Close frames were exchanged. */
  wasClean: boolean;
  /** Whether the connection had opened (false: the opening handshake failed). */
  opened: boolean;
  /** The error reported by the attempt, if any (handshake errors, protocol errors). */
  error?: Error;
  /** The HTTP status that refused the handshake, if the server answered with one. */
  statusCode?: number;
}

/** Reconnection settings (all optional). Durations in ms. */
export interface ReconnectOptions {
  /** Failed attempts in a row before giving up. Default 10; `Infinity` never gives up. */
  attempts?: number;
  /** Delay before the first retry. Default 1 000. */
  minDelay?: number;
  /** Longest delay between retries. Default 30 000. */
  maxDelay?: number;
  /** Random spread of each delay, as a fraction (0.2 = ±20 %). Default 0.2; 0 to 1. */
  jitter?: number;
  /** Growth of the delay per failed attempt. Default 2. */
  factor?: number;
  /**
   * Messages kept while disconnected. Default 1024; 0 rejects sends made while disconnected.
   * Memory cost: up to `maxQueuedBytes`.
   */
  maxQueuedMessages?: number;
  /** Bytes kept while disconnected. Default 1 MiB. */
  maxQueuedBytes?: number;
  /** Decides whether to retry after `close`; the default is `shouldReconnect` (module comment). */
  shouldReconnect?: (close: LastClose) => boolean;
}

/** Options of `ReconnectingWebSocket`: every `WebSocket` client option plus `reconnect`. */
export interface ReconnectingWebSocketOptions extends WebSocketOptions {
  /** Reconnection settings; `true` or omitted for the defaults. */
  reconnect?: ReconnectOptions | boolean;
}

/** What `'reconnecting'` reports: the attempt about to be made, after `delay` ms. */
export interface ReconnectingInfo {
  attempt: number;
  delay: number;
  lastClose: LastClose;
}

/** What `'reconnected'` reports: the attempt that succeeded and the close it recovered from. */
export interface ReconnectedInfo {
  attempt: number;
  lastClose: LastClose;
}

/** The events of a `ReconnectingWebSocket` and their arguments. */
export interface ReconnectingWebSocketEvents {
  /** A connection opened (the first one, and each one after a reconnection). */
  open: [];
  /** A received message, as the `WebSocket` 'message' event. */
  message: [data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  /** The connection was lost (or an attempt failed) and attempt `attempt` starts in `delay` ms. */
  reconnecting: [info: ReconnectingInfo];
  /** A connection opened again after a loss (emitted just before 'open'). */
  reconnected: [info: ReconnectedInfo];
  /** An error of the current connection or attempt (only emitted when listened for). */
  error: [error: Error];
  /** The end: closed by the application, a close not to retry, or attempts exhausted. Once. */
  close: [code: number, reason: Buffer];
}

/** Why a `send` of a `ReconnectingWebSocket` failed. */
export const ReconnectErrorCode = {
  /** The queue for messages sent while disconnected is full (`maxQueuedMessages`/`Bytes`). */
  QUEUE_FULL: 'QUEUE_FULL',
  /** Sent while disconnected with `maxQueuedMessages: 0`. */
  NOT_CONNECTED: 'NOT_CONNECTED',
  /** The client was closed, or gave up, before the message could be sent. */
  CLOSED: 'CLOSED',
  /** The connection the message was handed to was lost before its bytes reached the kernel. */
  SEND_FAILED: 'SEND_FAILED',
} as const;
export type ReconnectErrorCode = (typeof ReconnectErrorCode)[keyof typeof ReconnectErrorCode];

/** The error of a `send` that did not go through; `code` is a {@link ReconnectErrorCode}. */
export class ReconnectError extends Error {
  readonly code: ReconnectErrorCode;
  constructor(code: ReconnectErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReconnectError';
    this.code = code;
  }
}

const RETRIED_CLOSE_CODES = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);
const RETRIED_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Handshake error codes that mean the network or the server's availability, not a refusal. */
const RETRIED_HANDSHAKE_CODES = new Set(['HANDSHAKE_TIMEOUT', 'CONNECTION_CLOSED', 'PROXY_FAILED']);

/** The HTTP status of a refused handshake, from ironsock's error or ws's message. */
function statusOf(error: Error | undefined): number | undefined {
  if (error === undefined) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') return status;
  const match = /Unexpected server response: (\d{3})/.exec(error.message);
  return match === null ? undefined : Number(match[1]);
}

/**
 * The default retry policy (see the module comment): true to reconnect after `close`.
 * @example new ReconnectingWebSocket(url, { reconnect: { shouldReconnect: (c) => c.code !== 4000 && shouldReconnect(c) } })
 */
export function shouldReconnect(close: LastClose): boolean {
  if (close.opened) return RETRIED_CLOSE_CODES.has(close.code);
  if (close.statusCode !== undefined) return RETRIED_STATUSES.has(close.statusCode);
  if (close.code === 1015) return false;
  const code = (close.error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return close.error === undefined;
  // System errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EAI_AGAIN, ENOTFOUND ...) are the network.
  return RETRIED_HANDSHAKE_CODES.has(code) || /^E[A-Z_]+$/.test(code);
}

/** Resolved reconnection settings. */
interface Policy {
  attempts: number;
  minDelay: number;
  maxDelay: number;
  jitter: number;
  factor: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  shouldReconnect: (close: LastClose) => boolean;
}

function checkNumber(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new RangeError(
      `reconnect.${name} must be a number from ${min} to ${max}, got ${String(value)}`,
    );
  }
}

/** Resolves and checks `reconnect` options. @throws RangeError/TypeError for invalid values. */
export function reconnectPolicy(options: ReconnectOptions | boolean | undefined): Policy {
  const o: ReconnectOptions = typeof options === 'object' && options !== null ? options : {};
  if (
    options !== undefined &&
    typeof options !== 'boolean' &&
    (typeof options !== 'object' || options === null)
  ) {
    throw new TypeError('reconnect must be true or an object of reconnection settings');
  }
  const policy: Policy = {
    attempts: o.attempts ?? DEFAULT_RECONNECT_ATTEMPTS,
    minDelay: o.minDelay ?? DEFAULT_RECONNECT_MIN_DELAY_MS,
    maxDelay: o.maxDelay ?? Math.max(DEFAULT_RECONNECT_MAX_DELAY_MS, o.minDelay ?? 0),
    jitter: o.jitter ?? DEFAULT_RECONNECT_JITTER,
    factor: o.factor ?? DEFAULT_RECONNECT_FACTOR,
    maxQueuedMessages: o.maxQueuedMessages ?? DEFAULT_RECONNECT_QUEUE_MESSAGES,
    maxQueuedBytes: o.maxQueuedBytes ?? DEFAULT_RECONNECT_QUEUE_BYTES,
    shouldReconnect: o.shouldReconnect ?? shouldReconnect,
  };
  checkNumber('attempts', policy.attempts, 0, Infinity);
  checkNumber('minDelay', policy.minDelay, 0, 2 ** 31 - 1);
  checkNumber('maxDelay', policy.maxDelay, policy.minDelay, 2 ** 31 - 1);
  checkNumber('jitter', policy.jitter, 0, 1);
  checkNumber('factor', policy.factor, 1, 1000);
  checkNumber('maxQueuedMessages', policy.maxQueuedMessages, 0, Infinity);
  checkNumber('maxQueuedBytes', policy.maxQueuedBytes, 0, Infinity);
  if (typeof policy.shouldReconnect !== 'function') {
    throw new TypeError('reconnect.shouldReconnect must be a function');
  }
  return policy;
}

/**
 * The delay before attempt `attempt` (1-based): `min(maxDelay, minDelay × factor^(attempt-1))`
 * scaled by `1 + jitter × (2r - 1)` for `r` in [0, 1).
 */
export function reconnectDelay(
  attempt: number,
  policy: Pick<Policy, 'minDelay' | 'maxDelay' | 'jitter' | 'factor'>,
  random: number,
): number {
  const base = Math.min(
    policy.maxDelay,
    policy.minDelay * policy.factor ** Math.max(0, attempt - 1),
  );
  return Math.max(0, Math.round(base * (1 + policy.jitter * (2 * random - 1))));
}

interface Queued {
  data: SendData;
  options: SendOptions | undefined;
  size: number;
  done: (error: Error | null) => void;
}

const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

function noop(): void {}

function byteSize(data: SendData): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  return (data as ArrayBufferLike | ArrayBufferView).byteLength;
}

/**
 * A client `WebSocket` that reconnects (see the module comment for the policy and guarantees).
 * Its surface follows `WebSocket` where it can: `send`, `ping`, `close`, `terminate`,
 * `readyState` (CONNECTING while waiting to reconnect), `protocol`, `extensions`, `url`,
 * `binaryType`, `bufferedAmount` (the current connection's plus the queue's).
 *
 * @example
 * const ws = new ReconnectingWebSocket('wss://example.com/feed', {
 *   reconnect: { attempts: 20, minDelay: 500, maxDelay: 10_000, jitter: 0.2 },
 * });
 * ws.on('open', () => ws.send(JSON.stringify({ subscribe: 'prices' })));
 * ws.on('reconnecting', ({ attempt, delay, lastClose }) =>
 *   console.warn(`lost (${lastClose.code}); attempt ${attempt} in ${delay} ms`));
 * ws.on('message', (data) => console.log(String(data)));
 */
export class ReconnectingWebSocket extends nodeEvents.EventEmitter<ReconnectingWebSocketEvents> {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  /** The URL given to the constructor. */
  readonly url: string;
  #protocols: string | string[] | undefined;
  #options: WebSocketOptions;
  #policy: Policy;
  #socket: WebSocket | null = null;
  #state: (typeof ReadyState)[keyof typeof ReadyState] = ReadyState.CONNECTING;
  #binaryType: BinaryType = 'nodebuffer';
  #attempt = 0;
  #opened = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #queue: Queued[] = [];
  #queuedBytes = 0;
  #lastClose: LastClose | null = null;
  #lastError: Error | undefined;
  /** The 'open'/'reconnected' listeners are running: their sends go before the queue. */
  #greeting = false;
  /** Whether the current connection opened. */
  #socketOpened = false;

  /**
   * Starts the first connection at once.
   * @throws as the `WebSocket` constructor (invalid URL or options), RangeError/TypeError for
   *   invalid `reconnect` settings.
   */
  constructor(
    url: string | URL,
    protocols?: string | string[] | ReconnectingWebSocketOptions,
    options?: ReconnectingWebSocketOptions,
  ) {
    super();
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols;
      protocols = undefined;
    }
    const { reconnect, ...socketOptions } = options ?? {};
    this.#policy = reconnectPolicy(reconnect);
    this.#protocols = protocols as string | string[] | undefined;
    this.#options = socketOptions;
    this.url = typeof url === 'string' ? url : url.href;
    this.#socket = this.#open();
  }

  /**
   * Connects (retrying as configured) and resolves once the first connection is open; rejects
   * with the last error (or a close) when it gives up first.
   */
  static connect(
    url: string | URL,
    protocols?: string | string[] | ReconnectingWebSocketOptions,
    options?: ReconnectingWebSocketOptions,
  ): Promise<ReconnectingWebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new ReconnectingWebSocket(url, protocols, options);
      const onOpen = (): void => {
        ws.off('close', onClose);
        resolve(ws);
      };
      const onClose = (code: number): void => {
        ws.off('open', onOpen);
        reject(ws.lastClose?.error ?? new Error(`WebSocket closed before opening (code ${code})`));
      };
      ws.once('open', onOpen);
      ws.once('close', onClose);
    });
  }

  /** CONNECTING (0) while connecting or waiting to reconnect, OPEN (1), CLOSING (2), CLOSED (3). */
  get readyState(): number {
    return this.#state;
  }
  /** The current connection, or null between connections. */
  get socket(): WebSocket | null {
    return this.#socket;
  }
  /** Failed attempts in a row so far (0 once a connection is open). */
  get attempt(): number {
    return this.#attempt;
  }
  /** How the last connection or attempt ended, or null. */
  get lastClose(): LastClose | null {
    return this.#lastClose;
  }
  /** The current connection's subprotocol, or ''. */
  get protocol(): string {
    return this.#socket?.readyState === ReadyState.OPEN ? this.#socket.protocol : '';
  }
  /** The current connection's extensions, or ''. */
  get extensions(): string {
    return this.#socket?.readyState === ReadyState.OPEN ? this.#socket.extensions : '';
  }
  /** Bytes not yet handed to the kernel: the current connection's and the queue's. */
  get bufferedAmount(): number {
    return (this.#socket?.bufferedAmount ?? 0) + this.#queuedBytes;
  }
  /** Messages waiting for a connection. */
  get queuedMessages(): number {
    return this.#queue.length;
  }
  /** Applied to every connection (see `WebSocket.binaryType`). */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    this.#binaryType = type;
    if (this.#socket !== null) this.#socket.binaryType = type;
  }

  /**
   * Sends a message now if connected, else queues it (see the module comment). The promise
   * resolves once the bytes reached the kernel and rejects with a `ReconnectError`; `cb`, if
   * given, is called the same way. The promise is marked handled: ignoring it never crashes.
   * @throws TypeError for data that cannot be sent (as `WebSocket.send`).
   */
  send(data: SendData, options?: SendOptions | WriteCallback, cb?: WriteCallback): Promise<void> {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (typeof data !== 'string' && !ArrayBuffer.isView(data) && !(data instanceof ArrayBuffer)) {
      throw new TypeError('data must be a string, Buffer, ArrayBuffer or TypedArray');
    }
    let settle: (error: Error | null) => void = noop;
    const promise = new Promise<void>((resolve, reject) => {
      settle = (error) => {
        if (cb !== undefined) cb(error);
        if (error === null) resolve();
        else reject(error);
      };
    });
    promise.catch(noop);
    const socket = this.#socket;
    if (
      this.#state === ReadyState.OPEN &&
      socket !== null &&
      (this.#queue.length === 0 || this.#greeting)
    ) {
      this.#sendOn(socket, data, options, settle);
      return promise;
    }
    if (this.#state === ReadyState.CLOSING || this.#state === ReadyState.CLOSED) {
      settle(new ReconnectError('CLOSED', 'the ReconnectingWebSocket is closed'));
      return promise;
    }
    const size = byteSize(data);
    const policy = this.#policy;
    if (policy.maxQueuedMessages === 0) {
      settle(
        new ReconnectError('NOT_CONNECTED', 'not connected (reconnect.maxQueuedMessages is 0)'),
      );
    } else if (
      this.#queue.length >= policy.maxQueuedMessages ||
      this.#queuedBytes + size > policy.maxQueuedBytes
    ) {
      settle(
        new ReconnectError(
          'QUEUE_FULL',
          `not connected and the send queue is full (${this.#queue.length} messages, ${this.#queuedBytes} bytes)`,
        ),
      );
    } else {
      this.#queue.push({ data, options, size, done: settle });
      this.#queuedBytes += size;
    }
    return promise;
  }

  /** Pings the current connection. @throws Error when not connected. */
  ping(data?: SendData, cb?: WriteCallback): void {
    const socket = this.#socket;
    if (this.#state !== ReadyState.OPEN || socket === null) throw new Error('not connected');
    socket.ping(data, undefined, cb);
  }

  /**
   * Closes for good: no reconnection after this. Starts the closing handshake of the current
   * connection (or cancels a pending attempt); queued messages are rejected with `CLOSED`.
   * @throws as `WebSocket.close` for an invalid code or reason.
   */
  close(code?: number, reason?: string | Buffer): void {
    if (this.#state === ReadyState.CLOSED || this.#state === ReadyState.CLOSING) return;
    const socket = this.#socket;
    if (socket !== null && socket.readyState === ReadyState.OPEN) {
      socket.close(code, reason);
      this.#state = ReadyState.CLOSING;
      this.#failQueue();
      return;
    }
    this.#state = ReadyState.CLOSING;
    this.#failQueue();
    if (socket !== null && socket.readyState === ReadyState.CONNECTING) {
      socket.terminate(); // its 'close' finishes
      return;
    }
    // Waiting to reconnect: nothing to close; 'close' follows on the next tick, as for a socket.
    const text = reason === undefined ? '' : String(reason);
    process.nextTick(() => this.#finish(code ?? 1005, text));
  }

  /** Closes for good at once, without a closing handshake. */
  terminate(): void {
    if (this.#state === ReadyState.CLOSED) return;
    this.#state = ReadyState.CLOSING;
    this.#failQueue();
    const socket = this.#socket;
    if (socket !== null && socket.readyState !== ReadyState.CLOSED) {
      socket.terminate();
      return;
    }
    process.nextTick(() => this.#finish(1006, ''));
  }

  // ---- internals ------------------------------------------------------------------------------

  #open(): WebSocket {
    this.#lastError = undefined;
    this.#socketOpened = false;
    const socket = new WebSocket(this.url, this.#protocols, this.#options);
    socket.binaryType = this.#binaryType;
    socket.on('open', () => this.#onOpen(socket));
    socket.on('message', (data: Buffer, isBinary: boolean) => this.emit('message', data, isBinary));
    socket.on('ping', (data: Buffer) => this.emit('ping', data));
    socket.on('pong', (data: Buffer) => this.emit('pong', data));
    socket.on('error', (error: Error) => {
      this.#lastError ??= error;
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    socket.addEventListener('close', (event: { code: number; reason: string; wasClean: boolean }) =>
      this.#onClose(socket, event.code, event.reason, event.wasClean),
    );
    return socket;
  }

  #onOpen(socket: WebSocket): void {
    if (socket !== this.#socket) return;
    if (this.#state !== ReadyState.CONNECTING) {
      socket.close(); // closed by the application while this attempt was in flight
      return;
    }
    const attempt = this.#attempt;
    const recovered = this.#opened ? this.#lastClose : null;
    this.#opened = true;
    this.#socketOpened = true;
    this.#attempt = 0;
    this.#state = ReadyState.OPEN;
    this.#greeting = true;
    try {
      if (recovered !== null) this.emit('reconnected', { attempt, lastClose: recovered });
      this.emit('open');
    } finally {
      this.#greeting = false;
      this.#flush(socket);
    }
  }

  /** Sends the queue, in order, on the new connection. */
  #flush(socket: WebSocket): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const item of queue) {
      if (socket.readyState !== ReadyState.OPEN) {
        item.done(
          new ReconnectError('SEND_FAILED', 'the connection was lost before the message was sent'),
        );
        continue;
      }
      this.#sendOn(socket, item.data, item.options, item.done);
    }
  }

  #sendOn(
    socket: WebSocket,
    data: SendData,
    options: SendOptions | undefined,
    done: (error: Error | null) => void,
  ): void {
    try {
      socket.send(data, options ?? {}, (error) => {
        if (error) {
          done(
            new ReconnectError('SEND_FAILED', `the message was not sent: ${error.message}`, {
              cause: error,
            }),
          );
        } else if (socket._socket?.destroyed === true) {
          // Node completes the writes of a destroyed socket without an error.
          done(
            new ReconnectError(
              'SEND_FAILED',
              'the connection was lost before the message was sent',
            ),
          );
        } else {
          done(null);
        }
      });
    } catch (error) {
      done(error as Error);
    }
  }

  #onClose(socket: WebSocket, code: number, reason: string, wasClean: boolean): void {
    if (socket !== this.#socket) return;
    const opened = this.#socketOpened;
    const error = this.#lastError;
    const statusCode = opened ? undefined : statusOf(error);
    const lastClose: LastClose = {
      code,
      reason,
      wasClean,
      opened,
      ...(error === undefined ? {} : { error }),
      ...(statusCode === undefined ? {} : { statusCode }),
    };
    this.#lastClose = lastClose;
    this.#socket = null;
    if (this.#state === ReadyState.CLOSING || this.#state === ReadyState.CLOSED) {
      this.#finish(code, reason);
      return;
    }
    this.#state = ReadyState.CONNECTING;
    const policy = this.#policy;
    let retry = false;
    try {
      retry = policy.shouldReconnect(lastClose);
    } catch (thrown) {
      process.nextTick(() => {
        throw thrown;
      });
    }
    if (!retry || this.#attempt >= policy.attempts) {
      this.#state = ReadyState.CLOSING;
      this.#failQueue();
      this.#finish(code, reason);
      return;
    }
    this.#attempt++;
    const delay = reconnectDelay(this.#attempt, policy, Math.random());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#state !== ReadyState.CONNECTING) return;
      try {
        this.#socket = this.#open();
      } catch (thrown) {
        this.#state = ReadyState.CLOSING;
        this.#lastClose = {
          code: 1006,
          reason: '',
          wasClean: false,
          opened: false,
          error: thrown as Error,
        };
        this.#failQueue();
        this.#finish(1006, '');
      }
    }, delay);
    this.emit('reconnecting', { attempt: this.#attempt, delay, lastClose });
  }

  #failQueue(): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const item of queue)
      item.done(
        new ReconnectError(
          'CLOSED',
          'the ReconnectingWebSocket was closed before the message could be sent',
        ),
      );
  }

  #finish(code: number, reason: string): void {
    if (this.#state === ReadyState.CLOSED) return;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#state = ReadyState.CLOSED;
    this.emit('close', code, Buffer.from(reason, 'utf8'));
  }
}
