/**
 * `WebSocketStream`: the WHATWG streams-based WebSocket API (the WebSockets standard's
 * `WebSocketStream` and `WebSocketError`), on top of ironsock's `WebSocket`, for clients and for
 * sockets accepted by a `WebSocketServer` (`WebSocketStream.from(ws)`).
 *
 * Backpressure is real in both directions:
 * - Receiving: the socket is read only while the `readable` wants more. Messages are queued up
 *   to `readableHighWaterMark` bytes (default 64 KiB); then the connection is paused
 *   (`ws.pause()`, which stops reading from TCP) until the application reads. A peer sending
 *   faster than the application reads fills its own buffers and the TCP window, not ours.
 * - Sending: a `write()` resolves once the message's bytes were handed to the kernel (as the
 *   promise of `send()`), so `await writer.write(x)` and `writer.ready` pace the producer.
 *
 * Closing follows the standard: `close({ closeCode, reason })`, closing the writable, aborting it
 * or cancelling the readable start the closing handshake (with the code and reason of a
 * `WebSocketError` given to `abort()`/`cancel()`, else without a code). While the handshake runs
 * the socket is read again so that the peer's Close frame can arrive; data messages that arrive
 * then are still queued while the readable has room and are dropped beyond that (the
 * application asked to close). `closed` resolves with `{ closeCode, reason }` after a clean
 * close and rejects with a `WebSocketError` (code 1006) after an unclean one; `opened` and
 * `closed` reject with a `WebSocketError` when the opening handshake fails, and with the
 * signal's reason when `signal` aborts it. Both promises are marked handled, so leaving one
 * unobserved never crashes the process.
 */
import type { ReadableStream, WritableStream } from 'node:stream/web';
import { nodeStreamWeb } from './builtins.js';
import type {
  ReadableStreamDefaultController,
  WritableStreamDefaultController,
} from 'node:stream/web';
import { WebSocket } from './websocket.js';
import './client.js'; // installs the client handshake in WebSocket
import type { ConnectionTuning } from './websocket.js';
import type { ClientOptions } from './client.js';
import { DEFAULT_STREAM_READABLE_HIGH_WATER_MARK } from './limits.js';

/** What the `readable` yields: text messages as strings, binary ones as (fresh) `Uint8Array`s. */
export type WebSocketStreamChunk = string | Uint8Array;

/** What the `writable` accepts: bytes are sent as binary messages, anything else as text. */
export type WebSocketStreamInput = string | ArrayBuffer | ArrayBufferView;

/** Options of `new WebSocketStream(url, options)`: the standard's two plus ironsock's client options. */
export interface WebSocketStreamOptions extends ClientOptions, ConnectionTuning {
  /** Subprotocols to offer, in order of preference (must be an array). */
  protocols?: string[];
  /** Aborting it before the connection is open cancels the handshake; afterwards it does nothing. */
  signal?: AbortSignal;
  /**
   * Bytes of received messages queued for the `readable` before the socket stops being read
   * (a string counts its length). Default 64 KiB. Memory cost: up to this much plus one message.
   */
  readableHighWaterMark?: number;
}

/** What `opened` resolves with. */
export interface WebSocketOpenInfo {
  readable: ReadableStream<WebSocketStreamChunk>;
  writable: WritableStream<WebSocketStreamInput>;
  /** The negotiated subprotocol, or ''. */
  protocol: string;
  /** The negotiated `Sec-WebSocket-Extensions` value, or ''. */
  extensions: string;
}

/** The close code and reason: what `closed` resolves with, and what `close()` takes. */
export interface WebSocketCloseInfo {
  closeCode?: number;
  reason?: string;
}

type DomExceptionConstructor = new (
  message?: string,
  name?: string,
) => Error & {
  readonly code: number;
};
// A global since Node 17; @types/node 20 does not declare it.
const DOMExceptionBase = (globalThis as unknown as { DOMException: DomExceptionConstructor })
  .DOMException;

function domException(message: string, name: string): Error {
  return new DOMExceptionBase(message, name);
}

/**
 * Checks a close code and reason as the standard does and returns the code to send
 * (undefined: a Close frame without a code). A reason without a code means 1000.
 * @throws TypeError for a code that is not an integer in 0..65535; DOMException
 *   `InvalidAccessError` for a code other than 1000 or 3000-4999; DOMException `SyntaxError`
 *   for a reason over 123 bytes of UTF-8.
 */
function checkCloseInfo(
  closeCode: unknown,
  reason: unknown,
): { code: number | undefined; reason: string } {
  let code: number | undefined;
  if (closeCode !== undefined) {
    const value = Number(closeCode);
    if (!Number.isFinite(value) || value < 0 || value > 0xffff) {
      throw new TypeError(
        `closeCode must be an integer between 0 and 65535, got ${String(closeCode)}`,
      );
    }
    code = Math.trunc(value);
    if (code !== 1000 && (code < 3000 || code > 4999)) {
      throw domException(
        `closeCode must be 1000 or between 3000 and 4999, got ${code}`,
        'InvalidAccessError',
      );
    }
  }
  const text = reason === undefined ? '' : String(reason);
  if (Buffer.byteLength(text, 'utf8') > 123) {
    throw domException('the close reason must not be longer than 123 bytes', 'SyntaxError');
  }
  if (code === undefined && text !== '') code = 1000;
  return { code, reason: text };
}

/**
 * The error of a WebSocket that closed badly or never opened, and the way to choose the close
 * code and reason when aborting a `writable` or cancelling a `readable`: a `DOMException` named
 * `WebSocketError` with `closeCode` (null when none) and `reason`.
 *
 * @example writer.abort(new WebSocketError('bye', { closeCode: 4000, reason: 'shutting down' }));
 * @throws as `close()`: DOMException `InvalidAccessError` for a code other than 1000 or
 *   3000-4999, `SyntaxError` for a reason over 123 bytes.
 */
export class WebSocketError extends DOMExceptionBase {
  /** The close code (1006 for an unclean close), or null. */
  readonly closeCode: number | null;
  /** The close reason, or ''. */
  readonly reason: string;

  constructor(message = '', init: WebSocketCloseInfo = {}) {
    const checked = checkCloseInfo(init.closeCode, init.reason);
    super(message, 'WebSocketError');
    this.closeCode = checked.code ?? null;
    this.reason = checked.reason;
  }
}

/** A `WebSocketError` carrying a code the constructor refuses (1006, a handshake failure...). */
function closeError(message: string, closeCode: number | null, reason: string): WebSocketError {
  const error = new WebSocketError(message);
  Object.defineProperty(error, 'closeCode', { value: closeCode, enumerable: true });
  Object.defineProperty(error, 'reason', { value: reason, enumerable: true });
  return error;
}

function noop(): void {}

function invalidState(message: string): Error {
  return domException(message, 'InvalidStateError');
}

/** Bytes of a writable chunk, or null for text. @throws TypeError for unusable buffers. */
function binaryOf(chunk: unknown): Uint8Array | null {
  let buffer: ArrayBufferLike;
  let view: Uint8Array;
  if (chunk instanceof ArrayBuffer) {
    buffer = chunk;
    view = new Uint8Array(chunk);
  } else if (ArrayBuffer.isView(chunk)) {
    buffer = chunk.buffer;
    view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  } else if (typeof SharedArrayBuffer !== 'undefined' && chunk instanceof SharedArrayBuffer) {
    throw new TypeError('a SharedArrayBuffer cannot be sent');
  } else {
    return null;
  }
  if (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) {
    throw new TypeError('a view on a SharedArrayBuffer cannot be sent');
  }
  if ((buffer as { resizable?: boolean }).resizable === true) {
    throw new TypeError('a resizable ArrayBuffer cannot be sent');
  }
  return view;
}

/** The URL as a string, checked as the WebSocket constructor would (scheme and syntax). */
function checkUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw domException(`invalid URL: ${String(url)}`, 'SyntaxError');
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol) || parsed.hash !== '') {
    throw domException(`invalid WebSocket URL: ${parsed.href}`, 'SyntaxError');
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  return parsed.href;
}

/** Set by `WebSocketStream.from` for the constructor it calls. */
let adopting: WebSocket | null = null;

/**
 * A WebSocket connection as a pair of WHATWG streams (see the module comment).
 *
 * @example
 * const wss = new WebSocketStream('ws://127.0.0.1:8080/chat', { protocols: ['chat'] });
 * const { readable, writable } = await wss.opened;
 * const writer = writable.getWriter();
 * await writer.write('hello');
 * for await (const message of readable) console.log(message);
 * const { closeCode, reason } = await wss.closed;
 */
export class WebSocketStream {
  /** The URL given to the constructor (client), or '' for an accepted socket. */
  readonly url: string;
  /** Resolves once the connection is open; rejects if it never opens. */
  readonly opened: Promise<WebSocketOpenInfo>;
  /** Resolves after a clean close; rejects after an unclean one or a failed handshake. */
  readonly closed: Promise<Required<WebSocketCloseInfo>>;

  #ws: WebSocket | null = null;
  #resolveOpened: (info: WebSocketOpenInfo) => void = noop;
  #rejectOpened: (error: unknown) => void = noop;
  #resolveClosed: (info: Required<WebSocketCloseInfo>) => void = noop;
  #rejectClosed: (error: unknown) => void = noop;
  #highWaterMark: number;
  #readController: ReadableStreamDefaultController<WebSocketStreamChunk> | null = null;
  #writeController: WritableStreamDefaultController | null = null;
  /** The readable was closed, errored or cancelled: nothing more is enqueued. */
  #readableDone = false;
  /** The writable was closed, errored or aborted. */
  #writableDone = false;
  /** The rejecter of the write in progress, if any. */
  #pendingWrite: (() => void) | null = null;
  /** A writable close() waiting for the closing handshake. */
  #pendingClose: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  /** close() was called (or the writable closed/aborted, or the readable cancelled). */
  #closing = false;
  #open = false;
  #settled = false;
  #abortSignal: AbortSignal | null = null;
  #onAbort: (() => void) | null = null;

  /**
   * Opens a client connection (RFC 6455 §4.1).
   * @param url `ws:` or `wss:` URL (`http:`/`https:` are mapped as by `WebSocket`)
   * @param options `protocols`, `signal`, `readableHighWaterMark` and any `WebSocket` client option
   * @throws TypeError without a URL, for options that are not an object, or `protocols` that is
   *   not an array; DOMException `SyntaxError` for an invalid URL or subprotocol.
   */
  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    this.opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.opened.catch(noop);
    this.closed.catch(noop);
    const adopted = adopting;
    adopting = null;
    if (adopted !== null) {
      this.url = adopted.url;
      this.#highWaterMark = DEFAULT_STREAM_READABLE_HIGH_WATER_MARK;
      this.#attach(adopted);
      return;
    }
    if (url === undefined) throw new TypeError('WebSocketStream needs a URL');
    if (options === null || typeof options !== 'object') {
      throw new TypeError('WebSocketStream options must be an object');
    }
    const { protocols, signal, readableHighWaterMark, ...clientOptions } = options;
    if (protocols !== undefined && !Array.isArray(protocols)) {
      throw new TypeError('protocols must be an array of strings');
    }
    this.#highWaterMark = readableHighWaterMark ?? DEFAULT_STREAM_READABLE_HIGH_WATER_MARK;
    if (!(this.#highWaterMark >= 0)) {
      throw new RangeError('readableHighWaterMark must be a non-negative number');
    }
    if (signal?.aborted) {
      // No connection is attempted at all; the URL is still checked.
      this.url = checkUrl(url);
      this.#fail(signal.reason);
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, protocols ?? [], clientOptions);
    } catch (error) {
      if (error instanceof SyntaxError) throw domException(error.message, 'SyntaxError');
      throw error;
    }
    this.url = ws.url;
    if (signal !== undefined) {
      this.#abortSignal = signal;
      this.#onAbort = () => {
        this.#detachSignal();
        if (this.#open || this.#settled) return;
        this.#fail(signal.reason);
        ws.terminate();
      };
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    this.#attach(ws);
  }

  /**
   * Wraps a `WebSocket` (typically one accepted by a `WebSocketServer`) in the same streams
   * shape. Call it in the `'connection'` handler, before the first message can arrive; a socket
   * still CONNECTING is wrapped once it opens. Its `url` is the socket's (`''` server side).
   *
   * @example
   * wss.on('connection', async (ws) => {
   *   const { readable, writable } = await WebSocketStream.from(ws).opened;
   *   await readable.pipeTo(writable); // echo, with backpressure
   * });
   */
  static from(ws: WebSocket): WebSocketStream {
    if (!(ws instanceof WebSocket)) throw new TypeError('WebSocketStream.from needs a WebSocket');
    adopting = ws;
    try {
      return new WebSocketStream(ws.url);
    } finally {
      adopting = null;
    }
  }

  /**
   * Starts the closing handshake (or aborts the opening one). `closeCode` must be 1000 or
   * 3000-4999; a `reason` without a code sends 1000; neither sends a Close without a code (the
   * peer sees 1005).
   * @throws TypeError when `closeInfo` is not an object; DOMException `InvalidAccessError` for a
   *   code not allowed; DOMException `SyntaxError` for a reason over 123 bytes.
   */
  close(closeInfo?: WebSocketCloseInfo): void {
    if (closeInfo !== undefined && closeInfo !== null && typeof closeInfo !== 'object') {
      throw new TypeError('close() takes an object { closeCode, reason }');
    }
    const { code, reason } = checkCloseInfo(closeInfo?.closeCode, closeInfo?.reason);
    this.#startClose(code, reason);
  }

  // ---- internals ------------------------------------------------------------------------------

  #attach(ws: WebSocket): void {
    this.#ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('error', noop); // reported through `opened`/`closed`
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.addEventListener('close', (event: { code: number; reason: string; wasClean: boolean }) =>
      this.#onClose(event.code, event.reason, event.wasClean),
    );
    if (ws.readyState === WebSocket.OPEN) this.#onOpen();
    else if (ws.readyState === WebSocket.CONNECTING) ws.once('open', () => this.#onOpen());
    else this.#fail(closeError('the WebSocket is already closed', 1006, ''));
  }

  #onOpen(): void {
    const ws = this.#ws as WebSocket;
    if (this.#settled) return;
    this.#open = true;
    this.#detachSignal();
    // Nothing is read until the readable asks for it (its first pull comes right after start).
    ws.pause();
    const readable = new (nodeStreamWeb().ReadableStream)<WebSocketStreamChunk>(
      {
        start: (controller) => {
          this.#readController = controller;
        },
        pull: () => {
          this.#ws?.resume();
        },
        cancel: (reason: unknown) => {
          this.#readableDone = true;
          this.#closeWith(reason);
        },
      },
      {
        highWaterMark: this.#highWaterMark,
        size: (chunk: WebSocketStreamChunk) =>
          typeof chunk === 'string' ? chunk.length : chunk.byteLength,
      },
    );
    const writable = new (nodeStreamWeb().WritableStream)<WebSocketStreamInput>(
      {
        start: (controller) => {
          this.#writeController = controller;
        },
        write: (chunk: unknown) => this.#write(chunk),
        close: () => {
          this.#writableDone = true;
          if (this.#settled) return Promise.resolve();
          return new Promise<void>((resolve, reject) => {
            this.#pendingClose = { resolve, reject };
            this.#startClose(undefined, '');
          });
        },
        abort: (reason: unknown) => {
          this.#writableDone = true;
          this.#closeWith(reason);
        },
      },
      { highWaterMark: 1 },
    );
    this.#resolveOpened({ readable, writable, protocol: ws.protocol, extensions: ws.extensions });
  }

  #write(chunk: unknown): Promise<void> {
    const ws = this.#ws as WebSocket;
    const bytes = binaryOf(chunk);
    const data = bytes ?? String(chunk); // String() throws a TypeError for unconvertible objects
    if (ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(invalidState('the WebSocket is not open'));
    }
    return new Promise<void>((resolve, reject) => {
      const fail = (error: unknown): void => {
        this.#pendingWrite = null;
        reject(error);
      };
      this.#pendingWrite = () =>
        fail(invalidState('the WebSocket closed before the message was sent'));
      try {
        ws.send(data, { binary: bytes !== null }, (error) => {
          if (this.#pendingWrite === null) return;
          if (error) fail(invalidState(`the message could not be sent: ${error.message}`));
          else if (ws._socket?.destroyed === true) {
            // Node completes the writes of a destroyed socket without an error: the bytes of
            // this message may never have reached the kernel.
            fail(invalidState('the WebSocket closed before the message was sent'));
          } else {
            this.#pendingWrite = null;
            resolve();
          }
        });
      } catch (error) {
        fail(error);
      }
    });
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    const controller = this.#readController;
    if (controller === null || this.#readableDone) return;
    if (this.#closing && (controller.desiredSize ?? 0) <= 0) return; // see the module comment
    controller.enqueue(isBinary ? new Uint8Array(data) : data.toString('utf8'));
    if ((controller.desiredSize ?? 0) <= 0 && !this.#closing) this.#ws?.pause();
  }

  /** close() of the stream, of the writable (no code), or abort()/cancel() with `reason`. */
  #closeWith(reason: unknown): void {
    if (reason instanceof WebSocketError)
      this.#startClose(reason.closeCode ?? undefined, reason.reason);
    else this.#startClose(undefined, '');
  }

  #startClose(code: number | undefined, reason: string): void {
    const ws = this.#ws;
    if (ws === null || this.#settled) return;
    if (!this.#open) {
      this.#fail(
        closeError('the WebSocket was closed before the connection was established', null, ''),
      );
      ws.terminate();
      return;
    }
    if (this.#closing) return;
    this.#closing = true;
    // Read again, so that the peer's Close frame can arrive behind whatever it sent before.
    ws.resume();
    if (ws.readyState === WebSocket.OPEN) ws.close(code, code === undefined ? undefined : reason);
  }

  #onClose(code: number, reason: string, wasClean: boolean): void {
    if (!this.#open) {
      this.#fail(
        closeError(
          `the WebSocket connection could not be established (code ${code})`,
          code,
          reason,
        ),
      );
      return;
    }
    if (this.#settled) return;
    this.#settled = true;
    const error = wasClean
      ? null
      : closeError(`the WebSocket closed uncleanly (code ${code})`, code, reason);
    if (!this.#readableDone) {
      this.#readableDone = true;
      if (error === null) this.#readController?.close();
      else this.#readController?.error(error);
    }
    const pendingWrite = this.#pendingWrite;
    if (pendingWrite !== null) {
      // Not yet handed to the kernel: it fails, and its error errors the writable.
      queueMicrotask(pendingWrite);
    } else if (this.#pendingClose !== null) {
      if (error === null) this.#pendingClose.resolve();
      else this.#pendingClose.reject(error);
      this.#pendingClose = null;
    } else if (!this.#writableDone) {
      this.#writableDone = true;
      this.#writeController?.error(error ?? invalidState('the WebSocket is closed'));
    }
    if (error === null) this.#resolveClosed({ closeCode: code, reason });
    else this.#rejectClosed(error);
  }

  /** The connection never opened: both promises reject with `error`. */
  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#detachSignal();
    this.#rejectOpened(error);
    this.#rejectClosed(error);
  }

  #detachSignal(): void {
    if (this.#abortSignal !== null && this.#onAbort !== null) {
      this.#abortSignal.removeEventListener('abort', this.#onAbort);
    }
    this.#abortSignal = null;
    this.#onAbort = null;
  }
}
