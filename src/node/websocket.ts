/**
 * The user-facing `WebSocket` object: the `ws` package's surface (client and server side), the
 * WHATWG members (`onmessage`, `addEventListener`, ...), and a modern one (`WebSocket.connect`,
 * `sendAsync`, async iteration). Built on `SocketDriver` + `Connection`.
 *
 * Deviations from ws, on purpose:
 * - `'error'` is only emitted when someone listens for it: an unlistened protocol error never
 *   crashes the process (checklist R8). The close event always follows.
 * - `send`/`ping`/`pong` reject plain objects, booleans and null with a TypeError (checklist
 *   X5: never bytes the caller did not mean); numbers are sent as their decimal string and
 *   `undefined` as an empty message, as in ws.
 * - Close codes accepted by `close()` are those allowed on the wire (1000-1003, 1007-1014,
 *   3000-4999), which is ws's rule; 1004/1005/1006/1015 throw.
 */
import { nodeEvents } from './builtins.js';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CloseInfo, Role } from '../protocol/connection.js';
import type { Extension } from '../protocol/extensions/extension.js';
import type { Limits } from '../protocol/limits.js';
import { isValidWireCloseCode } from '../protocol/codes.js';
import { PauseReason, SocketDriver } from './socket-driver.js';
import type { WriteCallback } from './socket-driver.js';
import { resolveDriverConfig } from './driver-contract.js';
import type { DriverConfig } from './driver-contract.js';
import { sendControl, sendMessage, whenWritten } from './send-gate.js';
import type { BufferedAmountPolicy } from './limits.js';
import { ITERATOR_HIGH_WATER_BYTES, ITERATOR_HIGH_WATER_MESSAGES } from './limits.js';
import { keepaliveWheel } from './keepalive.js';
import { checkClientOptions } from './server-options.js';
import type { KeepaliveOptions, KeepaliveWheel } from './keepalive.js';
import { CloseEvent, ErrorEvent, MessageEvent, WsEvent } from './events.js';
import type { TopicHub } from '../pubsub/hub.js';
import { UsageError } from '../protocol/errors.js';
import type { EventListenerLike } from './events.js';
import { ClientErrorCode, ClientHandshakeError } from './client-errors.js';
import type { ClientHandshake, ClientOptions, startClientHandshake } from './client.js';
import type { WebSocketServer } from './server.js';
import type { createWebSocketStream } from './stream.js';

// The client's handshake (client.ts and the URL, proxy, redirect and HTTP/2 modules it loads)
// is installed when client.ts loads. The package entry (`ironsock`) loads it; `ironsock serve`
// imports the server module only and does not: about 0.4 MB less heap in that server process,
// and under large messages over many connections that heap decides how often V8 marks
// (BENCHMARKS.md, "Large messages over many connections").
let startClient: typeof startClientHandshake | undefined;

/** @internal Called once by client.ts when it loads. */
export function installClientHandshake(start: typeof startClientHandshake): void {
  startClient = start;
}

/** How binary messages are delivered: ws's three types plus `blob`. */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';

/**
 * Anything `send` accepts: text, bytes in any binary container (never copied needlessly), a
 * `Blob` (read first, order kept), a list of byte chunks (`'fragments'` data, joined), or a
 * number (sent as its decimal string, as ws does).
 */
export type SendData =
  | string
  | number
  | Buffer
  | ArrayBuffer
  | SharedArrayBuffer
  | ArrayBufferView
  | Blob
  | readonly Uint8Array[];

/**
 * What `send` returns: a promise-like that settles once everything sent so far has been handed
 * to the kernel, or once it is known it never will be because the connection is closing or
 * closed. It resolves in both cases (see `send`); `then`, `catch` and `finally` behave as a
 * Promise's. One object per socket, created on first use: code that ignores the value (every
 * ws-style caller) allocates nothing.
 */
export interface SendResult extends PromiseLike<void> {
  catch<T = never>(
    onRejected?: ((reason: unknown) => T | PromiseLike<T>) | null,
  ): Promise<void | T>;
  finally(onFinally?: (() => void) | null): Promise<void>;
}

/** The `readyState` values (WHATWG and ws). */
export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

/** Options of `send`. `mask` is accepted for ws compatibility and ignored (the role decides, §5.3). */
export interface SendOptions {
  /** Send as binary (default: true for bytes, false for strings). */
  binary?: boolean;
  /** Compress with the negotiated permessage-deflate, if any (default true). */
  compress?: boolean;
  /** Last fragment of the message (default true); false starts/continues a fragmented message. */
  fin?: boolean;
  mask?: boolean;
}

/**
 * Per-connection options shared by client and server (client: constructor options; server:
 * `WebSocketServer` options). Durations in ms, sizes in bytes.
 */
export interface ConnectionTuning {
  /** Largest message accepted (bytes, after decompression). Default 1 MiB. */
  maxPayload?: number;
  /** Further engine limits (see `src/protocol/limits.ts`). */
  limits?: Partial<Limits>;
  /** Answer pings automatically (default true). */
  autoPong?: boolean;
  /** ws name: skip UTF-8 validation of text. Unsafe; default false. */
  skipUTF8Validation?: boolean;
  /** Time to wait for the peer's Close after ours. Default 10 s. */
  closeTimeout?: number;
  /**
   * Cap of `bufferedAmount`. Default 1 MiB; `Infinity` disables it (memory cost: a peer that
   * never reads then makes us buffer everything we send to it).
   */
  maxBufferedAmount?: number;
  /** Policy when a send would pass the cap: `'close'` (default) or `'reject'`. */
  bufferedAmountPolicy?: BufferedAmountPolicy;
  /** Control frames accepted per second before closing with 1008. Default 256. */
  maxControlFramesPerSecond?: number;
  /** Ping silent peers and drop dead ones: `true` for 30 s / 20 s, or explicit durations. */
  keepalive?: KeepaliveOptions | boolean;
}

/**
 * Client constructor options: the handshake options of `client.ts` (ws's names) plus the
 * connection tuning above. One closed interface, so a misspelt option fails to compile.
 */
export interface WebSocketOptions extends ConnectionTuning, ClientOptions {}

/** @internal What `setSocket` takes after a successful handshake. */
export interface SetSocketOptions {
  /** The negotiated subprotocol, or ''. */
  protocol?: string;
  /** The negotiated `Sec-WebSocket-Extensions` value, or ''. */
  extensions?: string;
  /** The negotiated extension instance, or null. */
  extension?: Extension | null;
}

/**
 * What a `'message'` listener receives (ws's `RawData`): a text message as a Buffer (whatever
 * `binaryType` says, as in ws), a binary message per `binaryType` (Buffer, ArrayBuffer, Buffer[]
 * or Blob).
 */
export type RawData = Buffer | ArrayBuffer | Buffer[] | Blob;

/** The events of `WebSocket` and the arguments their listeners get (the names and order of ws). */
export interface WebSocketEvents {
  /** Client: the opening handshake succeeded. */
  open: [];
  /** A complete message; `isBinary` tells text from binary. */
  message: [data: RawData, isBinary: boolean];
  /** The connection closed (code 1005 when the peer sent none, 1006 when it vanished). */
  close: [code: number, reason: Buffer];
  /** Only emitted when a listener exists (an unlistened error never crashes the process). */
  error: [error: Error];
  ping: [data: Buffer];
  pong: [data: Buffer];
  /** Client: the 101 response, just before `'open'`. */
  upgrade: [response: IncomingMessage];
  /** Client: the server answered the handshake with something other than 101. */
  'unexpected-response': [request: ClientRequest, response: IncomingMessage];
  /** Client: a redirect is being followed (`followRedirects`). */
  redirect: [url: string, request: ClientRequest];
}

/** One message yielded by async iteration. `data` follows `binaryType` (text: a string). */
export interface WebSocketMessage {
  data: Buffer | ArrayBuffer | Buffer[] | Blob | string;
  isBinary: boolean;
}

const kListener = Symbol('ironsock.listener');
const kAttribute = Symbol('ironsock.attribute');
type Wrapped = ((...args: any[]) => void) & {
  [kListener]?: EventListenerLike;
  [kAttribute]?: boolean;
};
const EMPTY_BUFFER = Buffer.alloc(0);

/** Views `bytes` as a Buffer without copying. */
/**
 * The listener table of a new WebSocket. EventEmitter starts with a null-prototype object, which
 * V8 keeps in dictionary mode (a hash table of a few hundred bytes); a literal with the usual
 * events declared up front stays a small fast-mode object, as Node's own streams do. The
 * prototype is still null, so an event named like an Object.prototype member is safe. A
 * server-side connection declares the three events servers listen for (24 bytes less per
 * connection; a listener for another event adds its slot), a client the six of ws's examples.
 */
function newEventTable(client: boolean): object {
  return Object.setPrototypeOf(
    client
      ? {
          message: undefined,
          close: undefined,
          error: undefined,
          open: undefined,
          ping: undefined,
          pong: undefined,
        }
      : { message: undefined, close: undefined, error: undefined },
    null,
  ) as object;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Converts `send` input to bytes without copying binary data.
 * @throws TypeError for anything that is not a string or binary data.
 */
export function toSendBytes(data: unknown): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (
    data instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)
  ) {
    return new Uint8Array(data);
  }
  if (Array.isArray(data) && data.every((part) => part instanceof Uint8Array)) {
    // ws's 'fragments' binary type delivers a list of chunks; echoing it sends them joined.
    return Buffer.concat(data as Uint8Array[]);
  }
  throw new TypeError(
    'data must be a string, number, Buffer, ArrayBuffer, TypedArray, DataView or Blob (got ' +
      describe(data) +
      ')',
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

function closeReasonBytes(reason: unknown): Uint8Array {
  if (reason === undefined) return EMPTY_BUFFER;
  if (typeof reason === 'string') return Buffer.from(reason, 'utf8');
  if (reason instanceof Uint8Array) return reason;
  throw new TypeError('close reason must be a string or a Buffer');
}

/**
 * Types only (declaration merging with the class below): the listener methods typed per event of
 * {@link WebSocketEvents}, then ws's catch-all for other names, as `@types/ws` declares them.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebSocket {
  on<K extends keyof WebSocketEvents>(
    event: K,
    listener: (this: WebSocket, ...args: WebSocketEvents[K]) => void,
  ): this;
  on(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
  once<K extends keyof WebSocketEvents>(
    event: K,
    listener: (this: WebSocket, ...args: WebSocketEvents[K]) => void,
  ): this;
  once(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
  off<K extends keyof WebSocketEvents>(
    event: K,
    listener: (this: WebSocket, ...args: WebSocketEvents[K]) => void,
  ): this;
  off(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
  addListener<K extends keyof WebSocketEvents>(
    event: K,
    listener: (this: WebSocket, ...args: WebSocketEvents[K]) => void,
  ): this;
  addListener(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
  removeListener<K extends keyof WebSocketEvents>(
    event: K,
    listener: (this: WebSocket, ...args: WebSocketEvents[K]) => void,
  ): this;
  removeListener(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
  prependListener<K extends keyof WebSocketEvents>(
    event: K,
    listener: (this: WebSocket, ...args: WebSocketEvents[K]) => void,
  ): this;
  prependListener(
    event: string | symbol,
    listener: (this: WebSocket, ...args: any[]) => void,
  ): this;
  prependOnceListener<K extends keyof WebSocketEvents>(
    event: K,
    listener: (this: WebSocket, ...args: WebSocketEvents[K]) => void,
  ): this;
  prependOnceListener(
    event: string | symbol,
    listener: (this: WebSocket, ...args: any[]) => void,
  ): this;
}

/**
 * A WebSocket connection (client or server side). See the module comment for the surface.
 *
 * @example
 * const ws = await WebSocket.connect('ws://127.0.0.1:8080');
 * ws.send('hello');
 * for await (const { data } of ws) console.log(data);
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WebSocket extends nodeEvents.EventEmitter {
  // Defined after the class: enumerable, non-writable and non-configurable, as in ws.
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  /** ws's static: the server class (`new WebSocket.Server(options)`); set by the package entry. */
  declare static Server: typeof WebSocketServer;
  /** ws's static: the server class; set by the package entry. */
  declare static WebSocketServer: typeof WebSocketServer;
  /** ws's static: this class itself (`const { WebSocket } = require('ironsock')`). */
  declare static WebSocket: typeof WebSocket;
  /** ws's static: `createWebSocketStream`; set by the package entry. */
  declare static createWebSocketStream: typeof createWebSocketStream;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  /** @internal */
  _driver: SocketDriver | null = null;
  /** @internal The shared awaitable returned by `send` (created on first use). */
  _sent: SendCompletion | null = null;
  /** @internal The server tracking this connection; told when it closes (before 'close' listeners). */
  _owner: { forgetClient(ws: WebSocket): void; topicHub?(): TopicHub } | null = null;
  private _state: ReadyState = ReadyState.CONNECTING;
  private _protocol = '';
  private _extensions = '';
  private _binaryType: BinaryType = 'nodebuffer';
  private _userPaused = false;
  private _closeInfo: CloseInfo | null = null;
  private _queue: MessageQueue | null = null;
  /** Sends held behind a Blob being read (ws keeps the order of sends); null almost always. */
  private _held: HeldSends | null = null;
  /** Bytes given to send/ping/pong after the connection stopped being OPEN (ws counts them). */
  private _droppedBytes = 0;
  /**
   * Client only, created by the constructor (one field, so server-side connections stay
   * small): the URL, the options, the running handshake, the request in flight (`_req`),
   * redirects met (`_redirects`), and the reason given by close()/terminate() while
   * CONNECTING, which every end of the handshake then reports. Null on the server side (made
   * there only if close()/terminate() is called before the server attached the socket).
   */
  private _client: ClientState | null = null;

  /**
   * Client: `new WebSocket(url, protocols?, options?)` starts the opening handshake (see
   * client.ts for the options and what throws: a `SyntaxError` for an invalid URL).
   * Server side objects are created by `WebSocketServer` with `url` null.
   */
  constructor(
    url?: string | URL | null,
    protocols?: string | string[] | WebSocketOptions,
    options?: WebSocketOptions,
  ) {
    super();
    const isClient = url !== undefined && url !== null;
    (this as unknown as { _events: object })._events = newEventTable(isClient);
    if (!isClient) return;
    if (
      protocols !== undefined &&
      protocols !== null &&
      typeof protocols === 'object' &&
      !Array.isArray(protocols)
    ) {
      options = protocols;
      protocols = undefined;
    }
    checkClientOptions(options);
    if (startClient === undefined) {
      throw new UsageError(
        'CLIENT_NOT_LOADED',
        "the WebSocket client is not loaded: import WebSocket from 'ironsock' (or its client module)",
      );
    }
    const client = (this._client = newClientState(options));
    client.handshake = startClient(
      this,
      url,
      protocols as string | string[] | undefined,
      (options ?? {}) as ClientOptions,
    );
    // As ws: the URL as parsed, with http:/https: shown as ws:/wss:.
    client.url = client.handshake.url;
  }

  /** The events with listeners (the pre-declared, empty slots of the table are left out). */
  override eventNames(): (string | symbol)[] {
    const table = (this as unknown as { _events: Record<string | symbol, unknown> })._events;
    return super.eventNames().filter((name) => table[name] !== undefined);
  }

  /**
   * Connects and resolves once the connection is open; rejects with the handshake error.
   * @example const ws = await WebSocket.connect('wss://example.com/chat', ['chat']);
   */
  static connect(
    url: string | URL,
    protocols?: string | string[] | WebSocketOptions,
    options?: WebSocketOptions,
  ): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, protocols, options);
      } catch (error) {
        reject(error);
        return;
      }
      let failure: unknown = null;
      const onOpen = (): void => {
        ws.off('error', onError);
        ws.off('close', onClose);
        resolve(ws);
      };
      const onError = (error: unknown): void => {
        failure ??= error;
      };
      const onClose = (code: number): void => {
        ws.off('open', onOpen);
        ws.off('error', onError);
        reject(failure ?? new Error(`WebSocket closed before opening (code ${code})`));
      };
      ws.once('open', onOpen);
      ws.on('error', onError);
      ws.once('close', onClose);
    });
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): ReadyState {
    return this._state;
  }
  /** The negotiated subprotocol, or ''. */
  get protocol(): string {
    return this._protocol;
  }
  /** The negotiated `Sec-WebSocket-Extensions` value, or ''. */
  get extensions(): string {
    return this._extensions;
  }
  /** The URL given to the constructor (client), or '' (server side). */
  get url(): string {
    return this._client === null ? '' : this._client.url;
  }
  /** Whether reading was paused with `pause()`. */
  get isPaused(): boolean {
    return this._userPaused;
  }
  /**
   * Bytes accepted by `send`/`ping`/`pong` and not yet handed to the kernel (exact: socket
   * buffer + engine backlog + held pong). 0 when not connected.
   */
  get bufferedAmount(): number {
    let amount = this._droppedBytes;
    if (this._driver !== null) amount += this._driver.bufferedAmount;
    if (this._held !== null) amount += this._held.bytes;
    return amount;
  }
  /** The underlying socket, for ws compatibility (e.g. `ws._socket.remoteAddress`). */
  get _socket(): Duplex | null {
    return this._driver === null ? null : this._driver.socket;
  }
  /**
   * Client, for ws compatibility: the `http.ClientRequest` of the opening handshake while it is
   * in flight (set by the constructor, replaced on each followed redirect), null once the
   * handshake is over. Changing it after it was sent changes nothing.
   */
  get _req(): ClientRequest | null {
    return this._client === null ? null : this._client.request;
  }
  /**
   * Client, for ws compatibility: how many redirects the opening handshake met (with
   * `followRedirects`), counting the one that failed it (`maxRedirects` + 1 when the limit was
   * passed). 0 without redirects.
   */
  get _redirects(): number {
    return this._client === null ? 0 : this._client.redirects;
  }

  /** How binary messages are delivered; invalid values are ignored (as in ws). */
  get binaryType(): BinaryType {
    return this._binaryType;
  }
  set binaryType(type: BinaryType) {
    if (
      type === 'nodebuffer' ||
      type === 'arraybuffer' ||
      type === 'fragments' ||
      type === 'blob'
    ) {
      this._binaryType = type;
    }
  }

  /**
   * Sends a message (ws signature). `cb` runs once the bytes reached the kernel, or with an error
   * (connection not open; `SendBufferFullError`; the socket's error, such as `ECONNRESET`, when
   * the connection failed while the bytes were still being written: ws reports those as sent).
   * After `terminate()` a write cut short is not reported. As in ws: a number is sent as its decimal
   * string, `undefined` as an empty binary message, a `Blob` once read (later sends wait for
   * it, so order is kept); when the connection is CLOSING or CLOSED nothing is sent, nothing
   * throws, the byte count is added to `bufferedAmount` and `cb` gets
   * `Error('WebSocket is not open: readyState 2 (CLOSING)')`.
   *
   * The return value may be awaited: `await ws.send(data)` resolves once everything sent so far
   * has been handed to the kernel. On a connection that is closing or closed it resolves too,
   * without sending: the closing handshake has started (the peer's Close may already be in),
   * data after it is dropped as ws drops it, and the end of the connection is reported once, by
   * `'close'` and by async iteration ending, not by every pending send. So the loop
   * `for await (const { data } of ws) await ws.send(data)` ends quietly when a peer sends and
   * closes at once. Use the callback or `sendAsync` to learn that a given message was dropped.
   *
   * Who owns `data`: ironsock never modifies it. An uncompressed payload over 16 KiB sent by a
   * server is written from `data` itself, without a copy: do not modify it until the callback
   * has run (or the awaited send resolved). Every other payload is copied before `send`
   * returns, and the caller may reuse it at once: smaller ones into the output buffer, client
   * frames while masking, a message to be compressed (the compressor reads the copy), and any
   * message sent while an earlier one is still being compressed (it waits as a copy). A `Blob`
   * is read first; sends after it wait (as references) until it has been sent.
   * @throws Error when CONNECTING (as ws); TypeError for data that is not text, bytes, a Blob
   *   or a number; SendBufferFullError under the `'reject'` policy when no callback is given.
   */
  send(data?: SendData, options?: SendOptions | WriteCallback, cb?: WriteCallback): SendResult {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (this._state === ReadyState.CONNECTING) throw notOpenError(ReadyState.CONNECTING);
    if (typeof data === 'number') data = String(data);
    else if (data === undefined) data = EMPTY_BUFFER;
    const driver = this._driver;
    if (this._state !== ReadyState.OPEN || driver === null) {
      this._dropAfterClose(data, cb);
      return (this._sent ??= new SendCompletion(this));
    }
    let isBinary = typeof data !== 'string';
    let fin = true;
    let compress = true;
    if (options !== undefined) {
      if (options.binary !== undefined) isBinary = options.binary;
      if (options.fin !== undefined) fin = options.fin;
      if (options.compress !== undefined) compress = options.compress;
    }
    // Strings and byte views (every hot-path send) never reach the Blob check.
    if (
      this._held !== null ||
      (typeof data === 'object' && !ArrayBuffer.isView(data) && isBlob(data))
    ) {
      this._hold({ kind: 'send', data, isBinary, fin, compress, cb });
      return (this._sent ??= new SendCompletion(this));
    }
    sendMessage(driver, toSendBytes(data), isBinary, fin, compress, cb);
    return (this._sent ??= new SendCompletion(this));
  }

  /**
   * Sends a message; the promise resolves when the bytes were handed to the kernel and rejects
   * when the connection is not open or the send was refused (buffer cap).
   */
  sendAsync(data?: SendData, options?: SendOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.send(data, options, (error) => (error ? reject(error) : resolve()));
      } catch (error) {
        reject(error);
      }
    });
  }

  /** Sends a ping (ws signature; `mask` ignored). @throws as `send`; RangeError-like UsageError over 125 bytes. */
  ping(data?: SendData | WriteCallback, mask?: boolean | WriteCallback, cb?: WriteCallback): void {
    this._control(true, data, mask, cb);
  }

  /** Sends a pong (ws signature; `mask` ignored). @throws as `ping`. */
  pong(data?: SendData | WriteCallback, mask?: boolean | WriteCallback, cb?: WriteCallback): void {
    this._control(false, data, mask, cb);
  }

  /**
   * Starts the closing handshake (§7.1.2); the 'close' event follows when the TCP connection is
   * closed (after the peer's Close, or the close timeout). While CONNECTING, aborts the handshake.
   * @throws TypeError for a code not allowed on the wire (1000-1003, 1007-1014, 3000-4999 are);
   *   RangeError for a reason over 123 bytes.
   */
  close(code?: number, reason?: string | Buffer): void {
    if (this._state === ReadyState.CLOSED) return;
    if (this._state === ReadyState.CONNECTING) {
      this._abort('WebSocket was closed before the connection was established');
      return;
    }
    if (code !== undefined && (typeof code !== 'number' || !isValidWireCloseCode(code))) {
      throw new TypeError('First argument must be a valid close code number');
    }
    const reasonBytes = closeReasonBytes(reason);
    if (reasonBytes.length > 123)
      throw new RangeError('The close reason must not be greater than 123 bytes');
    if (this._state === ReadyState.CLOSING) return;
    this._state = ReadyState.CLOSING;
    const payload = code === undefined ? undefined : reasonBytes;
    if (this._held !== null) this._hold({ kind: 'close', code, reason: payload });
    else this._driver?.close(code, payload);
  }

  /** Destroys the connection at once, without a closing handshake (local code 1006). */
  terminate(): void {
    if (this._state === ReadyState.CLOSED) return;
    if (this._state === ReadyState.CONNECTING) {
      this._abort('WebSocket was closed before the connection was established');
      return;
    }
    this._state = ReadyState.CLOSING;
    this._failHeld();
    this._driver?.terminate();
  }

  /**
   * No 'message' event is emitted from now until `resume()`, not even for messages that
   * arrived in the same read (called from a 'message' listener, it is a pause between two
   * messages). Control frames ahead of the next message are still handled: pings are answered
   * and a Close from the peer completes the closing handshake. Once a message is waiting the
   * socket is no longer read, so pings behind it wait too (docs/design.md, "Pause between
   * messages").
   */
  pause(): void {
    if (this._state === ReadyState.CONNECTING || this._state === ReadyState.CLOSED) return;
    this._userPaused = true;
    this._driver?.setPaused(PauseReason.User, true);
  }

  /** Ends `pause()`: waiting messages are emitted, in order, from the next tick on. */
  resume(): void {
    if (this._state === ReadyState.CONNECTING || this._state === ReadyState.CLOSED) return;
    this._userPaused = false;
    this._driver?.setPaused(PauseReason.User, false);
  }

  /**
   * Async iteration over incoming messages, from the moment the iterator is created, as
   * `{ data, isBinary }` (text as a string, binary per `binaryType`). Backpressure: while more
   * than 16 messages or 1 MiB wait for the consumer, the socket is not read. Iteration ends when
   * the connection closes; it throws if the opening handshake failed. Breaking out of the loop
   * ends the iteration only (the connection stays open: call `close()`). One iterator at a time.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<WebSocketMessage> {
    if (this._queue !== null) throw new Error('WebSocket is already being iterated');
    const queue = new MessageQueue(this);
    this._queue = queue;
    return queue;
  }

  // ---- WHATWG members -------------------------------------------------------------------------

  /** WHATWG `addEventListener` for 'open', 'message', 'close' and 'error' (option `once`). */
  addEventListener(type: string, listener: EventListenerLike, options?: { once?: boolean }): void {
    if (typeof listener !== 'function' && typeof listener?.handleEvent !== 'function') return;
    for (const existing of this.listeners(type) as Wrapped[]) {
      if (existing[kListener] === listener && !existing[kAttribute]) return;
    }
    const wrapped = this._wrap(type, listener);
    if (wrapped === null) return;
    if (options?.once) this.once(type, wrapped);
    else this.on(type, wrapped);
  }

  /** WHATWG `removeEventListener`. */
  removeEventListener(type: string, listener: EventListenerLike): void {
    for (const existing of this.listeners(type) as Wrapped[]) {
      if (existing[kListener] === listener && !existing[kAttribute]) {
        this.removeListener(type, existing);
        return;
      }
    }
  }

  get onopen(): EventListenerLike | null {
    return this._attribute('open');
  }
  set onopen(handler: EventListenerLike | null) {
    this._setAttribute('open', handler);
  }
  get onmessage(): EventListenerLike | null {
    return this._attribute('message');
  }
  set onmessage(handler: EventListenerLike | null) {
    this._setAttribute('message', handler);
  }
  get onclose(): EventListenerLike | null {
    return this._attribute('close');
  }
  set onclose(handler: EventListenerLike | null) {
    this._setAttribute('close', handler);
  }
  get onerror(): EventListenerLike | null {
    return this._attribute('error');
  }
  set onerror(handler: EventListenerLike | null) {
    this._setAttribute('error', handler);
  }

  // ---- pub/sub (server side; see src/pubsub/hub.ts) ---------------------------------------------

  /**
   * Subscribes this connection to `topic` (exact match) on its server: `wss.publish(topic)` and
   * other connections' `publish(topic)` reach it, from this process and, with an adapter, from
   * other nodes. Subscriptions end with the connection. Returns false if already subscribed or
   * closed.
   * @throws UsageError `NOT_SERVER_SIDE` on a client; `TOPIC_TOO_LONG`, `TOO_MANY_SUBSCRIPTIONS`
   *   past the server's pub/sub limits; TypeError for a topic that is not a non-empty string.
   */
  subscribe(topic: string): boolean {
    return this._topicHub().subscribe(this, topic);
  }

  /** Ends the subscription to `topic`; returns false if there was none. */
  unsubscribe(topic: string): boolean {
    return this._topicHub().unsubscribe(this, topic);
  }

  /** Whether this connection is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this._topicHub().isSubscribed(this, topic);
  }

  /** The topics this connection is subscribed to (a copy, in subscription order). */
  get topics(): string[] {
    return this._owner?.topicHub === undefined ? [] : this._topicHub().topicsOf(this);
  }

  /**
   * Publishes to every subscriber of `topic` except this connection (uWebSockets.js and Bun
   * semantics), on every node; see `WebSocketServer.publish`. This connection need not be
   * subscribed. Returns the number of local subscribers written to.
   */
  publish(topic: string, data: SendData, options?: { binary?: boolean }): number {
    return this._topicHub().publish(topic, data, { binary: options?.binary, except: this });
  }

  private _topicHub(): TopicHub {
    const owner = this._owner;
    if (owner === null || owner.topicHub === undefined) {
      throw new UsageError('NOT_SERVER_SIDE', 'pub/sub topics exist on server-side connections');
    }
    return owner.topicHub();
  }

  // ---- internal: used by server.ts and client.ts -----------------------------------------------

  /**
   * @internal Attaches the socket after a successful opening handshake: the connection is OPEN.
   * `head` holds bytes read past the handshake (ownership passes here). A client emits 'open'
   * synchronously; reading starts so that listeners attached now, or after awaiting settled
   * promises, see every message (`SocketDriver.start`).
   * `shared` (a server's, from {@link serverDriverConfig}) is used as it is: every connection of
   * a server shares one resolved driver config. Without it a client resolves its own tuning, a
   * server-side socket the defaults.
   */
  setSocket(
    socket: Duplex,
    head: Uint8Array | undefined,
    options: SetSocketOptions = {},
    shared?: DriverConfig,
  ): void {
    if (this._state !== ReadyState.CONNECTING) {
      socket.destroy();
      return;
    }
    const client = this._client;
    if (client !== null) client.handshake = null;
    this._protocol = options.protocol ?? '';
    this._extensions = options.extensions ?? '';
    let config = shared;
    if (config === undefined) {
      const tuning: ConnectionTuning = client?.options ?? {};
      const wheel = keepaliveWheel(tuning.keepalive);
      config = driverConfig(tuning, client === null ? 'server' : 'client', wheel);
    }
    const role = config.role;
    this._driver = new SocketDriver(socket, this, config, options.extension ?? null);
    this._state = ReadyState.OPEN;
    if (this._queue !== null && this._queue.paused)
      this._driver.setPaused(PauseReason.Iterator, true);
    if (role === 'client') this.emit('open');
    this._driver.start(head);
  }

  /**
   * @internal The opening handshake failed (client). Emits 'error' (if listened for) unless an
   * 'unexpected-response' listener already had the response (`reported`), then 'close' with
   * `error.closeCode` (1015 for TLS) or 1006.
   */
  failHandshake(error: Error, reported = false): void {
    if (this._state === ReadyState.CLOSED) return;
    const abortMessage = this._client === null ? null : this._client.abortMessage;
    if (abortMessage !== null && (error as { code?: unknown }).code !== 'ABORTED') {
      // close()/terminate() was called while CONNECTING (e.g. from an 'unexpected-response'
      // listener): whatever ended the handshake since, ws reports the abort, as an 'error'.
      error = new ClientHandshakeError(ClientErrorCode.ABORTED, abortMessage);
      reported = false;
    }
    if (this._client !== null) this._client.handshake = null;
    this._state = ReadyState.CLOSING;
    if (!reported) this._emitError(error);
    const code = (error as { closeCode?: unknown }).closeCode;
    const info: CloseInfo = {
      code: typeof code === 'number' ? code : 1006,
      reason: '',
      wasClean: false,
    };
    this._queue?.fail(error);
    this._finish(info);
  }

  /** @internal Used by the server to start its shutdown close with 1001 (not allowed from the API). */
  _closeWith(code: number, reason: string): void {
    if (this._state !== ReadyState.OPEN) return;
    this._state = ReadyState.CLOSING;
    this._driver?.close(code, reason);
  }

  // ---- DriverSink -----------------------------------------------------------------------------

  /** @internal */
  driverMessage(data: Uint8Array | Uint8Array[], isBinary: boolean): void {
    const queue = this._queue;
    if (queue !== null) {
      queue.push(this._convert(data, isBinary, true), isBinary, byteLength(data));
      if (this.listenerCount('message') === 0) return;
    }
    this.emit('message', this._convert(data, isBinary, false), isBinary);
  }

  /** @internal */
  driverPing(payload: Uint8Array): void {
    this.emit('ping', toBuffer(payload));
  }

  /** @internal */
  driverPong(payload: Uint8Array): void {
    this.emit('pong', toBuffer(payload));
  }

  /** @internal */
  driverClosing(info: CloseInfo): void {
    this._state = ReadyState.CLOSING;
    this._closeInfo = info;
    if (info.error !== undefined) this._emitError(info.error);
  }

  /** @internal */
  driverClosed(info: CloseInfo): void {
    this._finish(info);
  }

  // ---- private --------------------------------------------------------------------------------

  private _finish(info: CloseInfo): void {
    if (this._state === ReadyState.CLOSED) return;
    this._state = ReadyState.CLOSED;
    this._closeInfo = info;
    this._queue?.end();
    this._owner?.forgetClient(this);
    this.emit(
      'close',
      info.code,
      info.reason === '' ? EMPTY_BUFFER : Buffer.from(info.reason, 'utf8'),
    );
  }

  /** @internal WHATWG CloseEvent needs `wasClean`. */
  get _wasClean(): boolean {
    return this._closeInfo?.wasClean ?? false;
  }

  private _emitError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /** close()/terminate() while CONNECTING: CLOSING now, 'error' and 'close' on the next tick (as ws). */
  private _abort(message: string): void {
    const client = this._clientState();
    const handshake = client.handshake;
    client.handshake = null;
    this._state = ReadyState.CLOSING;
    client.abortMessage = message;
    process.nextTick(abortHandshake, this, handshake, message);
  }

  /** @internal client.ts: the URL after a followed redirect. */
  setUrl(url: string): void {
    this._clientState().url = url;
  }

  /** @internal client.ts: the request in flight (`_req`). */
  setRequest(request: ClientRequest | null): void {
    this._clientState().request = request;
  }

  /** @internal client.ts: redirects met so far (`_redirects`). */
  setRedirects(count: number): void {
    this._clientState().redirects = count;
  }

  private _clientState(): ClientState {
    return (this._client ??= newClientState(undefined));
  }

  private _control(
    isPing: boolean,
    data: SendData | WriteCallback | undefined,
    mask: boolean | WriteCallback | undefined,
    cb: WriteCallback | undefined,
  ): void {
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (this._state === ReadyState.CONNECTING) throw notOpenError(ReadyState.CONNECTING);
    if (typeof data === 'number') data = String(data);
    else if (data === undefined) data = EMPTY_BUFFER;
    const driver = this._driver;
    if (this._state !== ReadyState.OPEN || driver === null) {
      this._dropAfterClose(data, cb);
      return;
    }
    if (this._held !== null || isBlob(data)) {
      if (isBlob(data) && data.size > 125) throw new RangeError(CONTROL_TOO_BIG);
      this._hold({ kind: isPing ? 'ping' : 'pong', data, cb });
      return;
    }
    const bytes = toSendBytes(data);
    if (bytes.length > 125) throw new RangeError(CONTROL_TOO_BIG);
    sendControl(driver, isPing, bytes, cb);
  }

  /** ws's `sendAfterClose`: count the bytes in `bufferedAmount`, tell `cb`, send nothing. */
  private _dropAfterClose(data: SendData, cb: WriteCallback | undefined): void {
    this._droppedBytes += isBlob(data) ? data.size : toSendBytes(data).length;
    if (cb !== undefined) process.nextTick(cb, notOpenError(this._state));
  }

  /** Queues a send behind a Blob being read, and starts reading when it is the first. */
  private _hold(op: HeldOp): void {
    let held = this._held;
    if (held === null) {
      held = this._held = { ops: [], bytes: 0, reading: false };
    }
    if (op.kind !== 'close') {
      const data = op.data;
      if (isBlob(data)) {
        held.bytes += data.size;
      } else {
        const bytes = toSendBytes(data);
        op.data = bytes;
        held.bytes += bytes.length;
      }
    }
    held.ops.push(op);
    this._drainHeld();
  }

  /** Dispatches held sends in order, stopping at a Blob until its bytes are read. */
  private _drainHeld(): void {
    const held = this._held;
    if (held === null || held.reading) return;
    while (held.ops.length > 0) {
      const op = held.ops[0];
      if (op.kind !== 'close' && isBlob(op.data)) {
        held.reading = true;
        const blob = op.data;
        blob.arrayBuffer().then(
          (buffer) => {
            held.reading = false;
            if (this._held !== held) return;
            op.data = new Uint8Array(buffer);
            this._drainHeld();
          },
          (error: Error) => {
            held.reading = false;
            if (this._held !== held) return;
            // ws: the callbacks get the error; while the connection is open the WebSocket emits
            // it too and the connection ends. Once it is closing (a protocol error was already
            // reported, or close() was called) or closed, the callbacks alone say it.
            this._failHeld(error);
            if (this._state === ReadyState.CLOSED) return;
            if (this._state === ReadyState.OPEN) this._emitError(error);
            this.terminate();
          },
        );
        return;
      }
      held.ops.shift();
      if (op.kind !== 'close') held.bytes -= (op.data as Uint8Array).length;
      this._dispatchHeld(op);
    }
    this._held = null;
  }

  private _dispatchHeld(op: HeldOp): void {
    const driver = this._driver;
    if (driver === null) return;
    switch (op.kind) {
      case 'send':
        sendMessage(driver, op.data as Uint8Array, op.isBinary, op.fin, op.compress, op.cb);
        break;
      case 'ping':
      case 'pong': {
        const bytes = op.data as Uint8Array;
        if (bytes.length > 125) {
          op.cb?.(new RangeError(CONTROL_TOO_BIG));
          break;
        }
        sendControl(driver, op.kind === 'ping', bytes, op.cb);
        break;
      }
      case 'close':
        driver.close(op.code, op.reason);
        break;
    }
  }

  /**
   * Drops every held send (terminate, Blob read failure), calling their callbacks with `error`,
   * by default ws's `The socket was closed while the blob was being read`.
   */
  private _failHeld(error?: Error): void {
    const held = this._held;
    if (held === null) return;
    this._held = null;
    const reason = error ?? new Error('The socket was closed while the blob was being read');
    for (const op of held.ops) {
      if (op.kind !== 'close' && op.cb !== undefined) process.nextTick(op.cb, reason);
    }
  }

  /** @internal Converts a received message per `binaryType`; `textAsString` for WHATWG/iteration paths. */
  _convert(data: Uint8Array | Uint8Array[], isBinary: boolean, textAsString: boolean): any {
    if (!isBinary) {
      // `binaryType` is for binary messages only: text is a Buffer (ws) or a string.
      const bytes = Array.isArray(data) ? Buffer.concat(data) : toBuffer(data);
      return textAsString ? bytes.toString('utf8') : bytes;
    }
    switch (this._binaryType) {
      case 'nodebuffer':
        return Array.isArray(data) ? Buffer.concat(data) : toBuffer(data);
      case 'fragments':
        return Array.isArray(data) ? data.map(toBuffer) : [toBuffer(data)];
      case 'arraybuffer': {
        const joined = Array.isArray(data) ? Buffer.concat(data) : data;
        return joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
      }
      case 'blob':
        return new Blob(Array.isArray(data) ? data : [data]);
    }
  }

  private _wrap(type: string, listener: EventListenerLike): Wrapped | null {
    const call = (event: unknown): void => {
      if (typeof listener === 'function') listener.call(this, event);
      else listener.handleEvent(event);
    };
    let wrapped: Wrapped;
    switch (type) {
      case 'message':
        wrapped = (data: unknown, isBinary: boolean) => {
          let value = data;
          if (!isBinary) {
            value = Array.isArray(data)
              ? Buffer.concat(data as Buffer[]).toString('utf8')
              : String(data);
          }
          call(new MessageEvent(this, value));
        };
        break;
      case 'close':
        wrapped = (code: number, reason: Buffer) =>
          call(new CloseEvent(this, code, reason.toString('utf8'), this._wasClean));
        break;
      case 'error':
        wrapped = (error: unknown) => call(new ErrorEvent(this, error));
        break;
      case 'open':
        wrapped = () => call(new WsEvent('open', this));
        break;
      default:
        return null;
    }
    wrapped[kListener] = listener;
    return wrapped;
  }

  private _attribute(type: string): EventListenerLike | null {
    for (const existing of this.listeners(type) as Wrapped[]) {
      if (existing[kAttribute]) return existing[kListener] ?? null;
    }
    return null;
  }

  private _setAttribute(type: string, handler: EventListenerLike | null): void {
    for (const existing of this.listeners(type) as Wrapped[]) {
      if (existing[kAttribute]) this.removeListener(type, existing);
    }
    if (typeof handler !== 'function') return;
    const wrapped = this._wrap(type, handler);
    if (wrapped === null) return;
    wrapped[kAttribute] = true;
    this.on(type, wrapped);
  }
}

// ws's object shape: the ready-state constants are enumerable, read-only and non-configurable on
// the class and on the prototype; the attributes are enumerable, configurable accessors.
const readyStateConstants: PropertyDescriptorMap = {
  CONNECTING: { enumerable: true, value: ReadyState.CONNECTING },
  OPEN: { enumerable: true, value: ReadyState.OPEN },
  CLOSING: { enumerable: true, value: ReadyState.CLOSING },
  CLOSED: { enumerable: true, value: ReadyState.CLOSED },
};
Object.defineProperties(WebSocket, readyStateConstants);
Object.defineProperties(WebSocket.prototype, readyStateConstants);
for (const name of [
  'binaryType',
  'bufferedAmount',
  'extensions',
  'isPaused',
  'protocol',
  'readyState',
  'url',
  'onopen',
  'onmessage',
  'onclose',
  'onerror',
]) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

const CONTROL_TOO_BIG = 'The data size must not be greater than 125 bytes';
const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;

/** ws's error for a send on a connection that is not OPEN (same text, users match on it). */
function notOpenError(state: ReadyState): Error {
  return new Error(`WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`);
}

function isBlob(data: unknown): data is Blob {
  return typeof Blob !== 'undefined' && data instanceof Blob;
}

function abortHandshake(ws: WebSocket, handshake: ClientHandshake | null, message: string): void {
  if (handshake === null || !handshake.abort(message)) ws.failHandshake(new Error(message));
}

function byteLength(data: Uint8Array | Uint8Array[]): number {
  if (!Array.isArray(data)) return data.length;
  let total = 0;
  for (const part of data) total += part.length;
  return total;
}

/** The buffer behind async iteration, with backpressure on the socket. */
/**
 * What `send` returns (see `SendResult`): one per socket, and no promise exists until someone
 * calls `then`, `catch` or `finally`. It never rejects because of the connection's state: on a
 * connection that is not OPEN, or one that ends before the bytes are written, it resolves.
 */
class SendCompletion implements SendResult {
  constructor(private readonly ws: WebSocket) {}

  then<A = void, B = never>(
    onFulfilled?: ((value: void) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return new Promise<void>((resolve) => {
      const driver = this.ws._driver;
      if (this.ws.readyState !== ReadyState.OPEN || driver === null) {
        resolve();
        return;
      }
      // An error here means the connection ended first: reported by 'close', not here.
      whenWritten(driver, () => resolve());
    }).then(onFulfilled, onRejected);
  }

  catch<T = never>(
    onRejected?: ((reason: unknown) => T | PromiseLike<T>) | null,
  ): Promise<void | T> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<void> {
    return this.then().finally(onFinally);
  }
}

/** The resolved driver settings of a connection tuned by `tuning`. */
function driverConfig(
  tuning: ConnectionTuning,
  role: Role,
  wheel: KeepaliveWheel | null,
): DriverConfig {
  const maxPayload = tuning.maxPayload;
  return resolveDriverConfig({
    role,
    limits: maxPayload === undefined ? tuning.limits : { ...tuning.limits, maxPayload },
    autoPong: tuning.autoPong,
    unsafeSkipUtf8Validation: tuning.skipUTF8Validation,
    closeTimeout: tuning.closeTimeout,
    maxBufferedAmount: tuning.maxBufferedAmount,
    bufferedAmountPolicy: tuning.bufferedAmountPolicy,
    maxControlFramesPerSecond: tuning.maxControlFramesPerSecond,
    keepalive: wheel,
  });
}

/**
 * @internal The driver settings of a server's connections, resolved once by the server from its
 * tuning and keepalive wheel and passed to every `setSocket`.
 */
export function serverDriverConfig(
  tuning: ConnectionTuning,
  wheel: KeepaliveWheel | null,
): DriverConfig {
  return driverConfig(tuning, 'server', wheel);
}

/** The client-only state of a `WebSocket` (see `WebSocket._client`). */
interface ClientState {
  /** The URL given to the constructor, as parsed (after a followed redirect: its target). */
  url: string;
  /** The constructor's options. */
  readonly options: WebSocketOptions | undefined;
  /** The running handshake (aborted by close()/terminate() while CONNECTING). */
  handshake: ClientHandshake | null;
  request: ClientRequest | null;
  redirects: number;
  abortMessage: string | null;
}

/** The client state of a connection being opened with `options`, before its handshake starts. */
function newClientState(options: WebSocketOptions | undefined): ClientState {
  return { url: '', options, handshake: null, request: null, redirects: 0, abortMessage: null };
}

/** One send waiting behind a Blob (see `WebSocket._hold`). */
type HeldOp =
  | {
      kind: 'send';
      data: Blob | Uint8Array | Exclude<SendData, number>;
      isBinary: boolean;
      fin: boolean;
      compress: boolean;
      cb: WriteCallback | undefined;
    }
  | {
      kind: 'ping' | 'pong';
      data: Blob | Uint8Array | Exclude<SendData, number>;
      cb: WriteCallback | undefined;
    }
  | { kind: 'close'; code: number | undefined; reason: Uint8Array | undefined };

interface HeldSends {
  ops: HeldOp[];
  /** Bytes of the held sends, counted in `bufferedAmount`. */
  bytes: number;
  reading: boolean;
}

class MessageQueue implements AsyncIterableIterator<WebSocketMessage> {
  paused = false;
  private readonly ws: WebSocket;
  private readonly items: WebSocketMessage[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;
  private done = false;
  private error: unknown = null;
  private waiting: {
    resolve: (result: IteratorResult<WebSocketMessage>) => void;
    reject: (error: unknown) => void;
  } | null = null;

  constructor(ws: WebSocket) {
    this.ws = ws;
    if (ws.readyState === ReadyState.CLOSED) this.done = true;
  }

  push(data: WebSocketMessage['data'], isBinary: boolean, size: number): void {
    if (this.done) return;
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting.resolve({ value: { data, isBinary }, done: false });
      return;
    }
    this.items.push({ data, isBinary });
    this.sizes.push(size);
    this.bytes += size;
    if (
      !this.paused &&
      (this.items.length >= ITERATOR_HIGH_WATER_MESSAGES || this.bytes >= ITERATOR_HIGH_WATER_BYTES)
    ) {
      this.paused = true;
      this.ws._driver?.setPaused(PauseReason.Iterator, true);
    }
  }

  end(): void {
    this.done = true;
    this.release();
  }

  fail(error: unknown): void {
    this.error ??= error;
    this.end();
  }

  next(): Promise<IteratorResult<WebSocketMessage>> {
    if (this.items.length > 0) {
      const value = this.items.shift() as WebSocketMessage;
      this.bytes -= this.sizes.shift() as number;
      if (
        this.paused &&
        this.items.length <= ITERATOR_HIGH_WATER_MESSAGES / 2 &&
        this.bytes < ITERATOR_HIGH_WATER_BYTES / 2
      ) {
        this.paused = false;
        this.ws._driver?.setPaused(PauseReason.Iterator, false);
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      this.detach();
      if (this.error !== null) {
        const error = this.error;
        this.error = null;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiting !== null)
      return Promise.reject(new Error('next() called while a previous next() is pending'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<WebSocketMessage>> {
    this.done = true;
    this.items.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
    this.release();
    this.detach();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WebSocketMessage> {
    return this;
  }

  private release(): void {
    const waiting = this.waiting;
    if (waiting !== null && this.items.length === 0) {
      this.waiting = null;
      if (this.error !== null) {
        const error = this.error;
        this.error = null;
        waiting.reject(error);
      } else {
        waiting.resolve({ value: undefined, done: true });
      }
    }
    if (this.paused && this.done) {
      this.paused = false;
      this.ws._driver?.setPaused(PauseReason.Iterator, false);
    }
  }

  private detach(): void {
    const ws = this.ws as unknown as { _queue: MessageQueue | null };
    if (ws._queue === this) ws._queue = null;
  }
}
