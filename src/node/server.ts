/**
 * WebSocketServer: the server side of the opening handshake on Node's `http`/`https` servers,
 * with ws's option names and events, secure defaults (same-origin, DNS-rebinding Host check,
 * handshake timeout, connection caps, 1 MiB messages, compression off) and a graceful `close`.
 *
 * Handshake flow (RFC 6455 §4.2): 'upgrade' → connection caps (503 before any WebSocket state) →
 * `path` → `validateUpgradeRequest` (hs: method, version, Host, Upgrade/Connection, key,
 * version 13, no body, Origin, Host policy) → subprotocol → permessage-deflate → verifyClient
 * (sync or async, bounded by the handshake timeout) → 101 → `WebSocket.setSocket`.
 * Every refusal is a short 4xx/5xx with `Connection: close`; the socket is ended and destroyed
 * after a short grace, never seen as a connection, and reported with a 'rejected' event.
 */
import type http from 'node:http';
import { nodeEvents, nodeHttp } from './builtins.js';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { writeHeader, headerSize } from '../protocol/frame.js';
import { Opcode } from '../protocol/codes.js';
import type { RequestHead } from '../protocol/handshake/http-head.js';
import { validateUpgradeRequest } from '../protocol/handshake/server.js';
import { wsRefusalText } from './ws-wording.js';
import type { ServerPolicy, UpgradeAccepted } from '../protocol/handshake/server.js';
import { buildAcceptResponse, buildRejectResponse } from '../protocol/handshake/response.js';
import { compileOrigins } from '../protocol/handshake/origin.js';
import type { OriginPolicy } from '../protocol/handshake/origin.js';
import { negotiateDeflateServer } from '../protocol/extensions/permessage-deflate.js';
import type { PerMessageDeflateOptions } from '../protocol/extensions/permessage-deflate.js';
import type { Extension } from '../protocol/extensions/extension.js';
import { createDeflateExtension } from './deflate-codec.js';
import { CompressionBudget } from './compression-budget.js';
import { nodePlatform } from './platform.js';
import { WebSocket, serverDriverConfig, toSendBytes } from './websocket.js';
import type { DriverConfig } from './driver-contract.js';
import { writeEncoded } from './send-gate.js';
import type { ConnectionTuning, SendData } from './websocket.js';
import { keepaliveWheel } from './keepalive.js';
import { checkServerOptions } from './server-options.js';
import { plainRequestAnswer, refusalDetails, warnUnheardRefusal } from './refusals.js';
import { HEAD_TIMEOUT_CODE, HeadFront, holdInput, ignoreSocketError } from './head-front.js';
import type { FrontTarget } from './head-front.js';
import { TopicHub } from '../pubsub/hub.js';
import type { PublishOptions, PubSubOptions } from '../pubsub/hub.js';
import type { KeepaliveOptions } from './keepalive.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_COMPRESSION_MEMORY,
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_HEAD_BYTES,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  REJECT_GRACE_MS,
  RETRY_AFTER_CLOSING_S,
} from './limits.js';
import { DEFAULT_MAX_PAYLOAD, resolveLimits } from '../protocol/limits.js';
import { Http2Attachment, createHttp2Server, isHttp2Server } from './http2-server.js';
import type {
  AnyHttp2Server,
  Http2Host,
  Http2ServerOptions,
  Http2UpgradeRequest,
} from './http2-server.js';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';

/** What `verifyClient` gets (ws's shape). */
export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: IncomingMessage;
}
/** Synchronous `verifyClient`: return false to refuse with 401. */
export type VerifyClientSync = (info: VerifyClientInfo) => boolean;
/** Asynchronous `verifyClient`: call `callback(false, code?, message?, headers?)` to refuse. */
export type VerifyClientAsync = (
  info: VerifyClientInfo,
  callback: (
    result: boolean,
    code?: number,
    message?: string,
    headers?: Record<string, string>,
  ) => void,
) => void;

/** A refused handshake, as reported by the 'rejected' event (for operators' logs). */
export interface RejectionInfo {
  remoteAddress: string | undefined;
  status: number;
  /** Stable code, e.g. `ORIGIN_NOT_ALLOWED`, `VERIFY_CLIENT`, `TOO_MANY_CONNECTIONS`. */
  code: string;
  /**
   * What went wrong, for the operator: names the option that allows such requests when one
   * exists (e.g. "Origin http://localhost:5173 is not allowed: add it to the origins option").
   * The HTTP response body sent to the client stays short and generic.
   */
  reason: string;
  /** The refused request's `Origin` header, as sent (absent when it had none). */
  origin?: string;
  /** The refused request's `Host` header, for Host refusals (`HOST_NOT_ALLOWED`, ...). */
  host?: string;
  /** The server option that allows this kind of request, when one exists (`origins`, ...). */
  option?: string;
}

/**
 * Options of `WebSocketServer` (ws names where ws has them). Exactly one of `port`, `server`
 * and `noServer` is required. Durations in ms, sizes in bytes.
 */
export interface ServerOptions<T extends WebSocket = WebSocket>
  extends ConnectionTuning, Omit<OriginPolicy<IncomingMessage>, never> {
  /**
   * The class instantiated for each connection (ws's option): `WebSocket` or a subclass of it.
   * It is constructed with no arguments, then attached to the socket.
   */
  WebSocket?: new () => T;
  /**
   * Standalone mode: listen on this port (0: any free port). The first request head of each
   * connection is read by ironsock itself (a `net.Server`, src/node/head-front.ts): an upgrade
   * goes straight to the handshake, with a real `IncomingMessage` as `req` (`rawHeaders` as
   * sent, `headers` with Node's rules); any other request, and whatever follows it on the
   * connection, is answered by an internal node:http server (426 `Upgrade Required`, or the
   * validator's status for a broken handshake). A malformed head gets 400, one over 16 KiB or
   * `maxHeadersCount` lines 431, a head not complete within `handshakeTimeout` 408.
   */
  port?: number;
  /** Standalone mode: address to listen on (default: Node's, all interfaces). */
  host?: string;
  backlog?: number;
  /**
   * Attach mode: an existing http/https server whose 'upgrade' requests we handle, or a
   * `node:http2` server (`http2.createSecureServer({ allowHTTP1: true })`): its extended
   * CONNECT streams (RFC 8441) become WebSockets too, and SETTINGS_ENABLE_CONNECT_PROTOCOL is
   * turned on for its new sessions (off again after `close()`). Other streams stay the
   * application's. Over HTTP/2 the `req` of 'connection', `verifyClient` and `handleProtocols`
   * is an `Http2ServerRequest` (`httpVersion` '2.0', `method` 'CONNECT', `url` the `:path`).
   */
  server?: HttpServer | HttpsServer | AnyHttp2Server;
  /**
   * WebSockets over HTTP/2 (RFC 8441). Standalone (`port`): TLS credentials and HTTP/2
   * limits; an HTTP/2 server is created that also takes HTTP/1.1 upgrades on the same port.
   * Attach mode with an HTTP/2 server: limits, or `false` to leave its streams alone (the
   * setting is then never advertised). Ignored for http/https servers. See `Http2ServerOptions`
   * for the defaults (100 WebSockets per session, 256 concurrent streams, 10 MB session
   * memory, 64 KiB stream window).
   */
  http2?: boolean | Http2ServerOptions;
  /** No server: the application calls `handleUpgrade` itself. */
  noServer?: boolean;
  /** Only accept requests for this path (exact match on the pathname). */
  path?: string;
  /** Largest message accepted, in bytes. Default 1 MiB (ws: 100 MiB). */
  maxPayload?: number;
  /** Selects the subprotocol; return false for none. Default: the first offered (as ws). */
  handleProtocols?: (protocols: Set<string>, req: IncomingMessage) => string | false;
  /** Decides whether to accept the client (sync: 1 parameter; async: 2). */
  verifyClient?: VerifyClientSync | VerifyClientAsync;
  /** Keep open connections in `clients` (default true); when false, `clients` is undefined (as ws). */
  clientTracking?: boolean;
  /** permessage-deflate: off by default (memory and CPU cost per connection; zip-bomb surface). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Budget of this server for permessage-deflate state kept between messages, in bytes
   * (compression-budget.ts). Default 64 MiB; `Infinity` disables it. Each connection reserves
   * what its agreed mode keeps (about 290 KiB with context takeover both ways at 15-bit
   * windows, about 65 KiB when only the client's window is kept); once the budget cannot hold
   * that, new offers are accepted with `server_no_context_takeover`, then also
   * `client_no_context_takeover` (nothing kept between messages): never an out-of-memory.
   */
  maxCompressionMemory?: number;
  /** Extra `Host` values accepted (DNS rebinding check), see hs `HostPolicy`. */
  allowedHosts?: readonly string[];
  /** The listen address for the Host check; default the server's address. */
  listenAddress?: string;
  /**
   * Time allowed for the handshake (10 s). Standalone: from the TCP accept to a complete request
   * head (408; checked by one shared sweep, so up to a quarter of it late, at least 50 ms and
   * at most 1 s), and Node's
   * `headersTimeout`/`requestTimeout` for requests that are not upgrades; attach:
   * `headersTimeout` is lowered to it; plus a timer while an async `verifyClient` is pending.
   * Blunts slowloris (H7).
   */
  handshakeTimeout?: number;
  /** Most connections (open + handshaking); excess refused with 503. Default: unlimited. */
  maxConnections?: number;
  /** Most connections per remote address; excess refused with 503. Default: unlimited. */
  maxConnectionsPerAddress?: number;
  /**
   * Most handshakes per remote address per second; excess refused with 429 + `Retry-After: 1`
   * before any validation work. Default: unlimited. Blunts handshake floods that burn CPU
   * (SHA-1, parsing) without ever holding many connections at once (R6).
   */
  maxHandshakesPerSecond?: number;
  /** How long `close()` waits for clients to answer its Close 1001. Default 10 s. */
  shutdownTimeout?: number;
  /** Standalone: most header lines (`server.maxHeadersCount`). Default 100. */
  maxHeadersCount?: number;
  /**
   * Keepalive, **on by default** on the server: a connection silent for `interval` ms (30 000)
   * is sent a ping; if nothing at all arrives within `timeout` ms (20 000) after it, it is
   * terminated (local code 1006). Any received byte counts as life, so busy connections are
   * never pinged. Keeps idle connections open through proxies with idle timeouts (nginx's
   * `proxy_read_timeout` is 60 s) and drops half-open ones. Costs one shared timer per process
   * and a Set entry per connection. `false` turns it off; `{ interval, timeout }` tunes it.
   */
  keepalive?: KeepaliveOptions | boolean;
  /**
   * Pub/sub topics (`ws.subscribe`, `wss.publish`): limits, and the adapter that carries topics
   * to other processes or machines. Topics work without it, in this process.
   */
  pubsub?: PubSubOptions;
}

/** The events of `WebSocketServer` and the arguments their listeners get (ws's, plus `rejected`). */
export interface WebSocketServerEvents<T extends WebSocket = WebSocket> {
  /** A client completed the opening handshake. */
  connection: [socket: T, request: IncomingMessage];
  /** The underlying HTTP server failed (e.g. EADDRINUSE), or an application callback threw. */
  error: [error: Error];
  /** The 101 response lines, before they are written; listeners may add lines. */
  headers: [headers: string[], request: IncomingMessage];
  /** The server finished `close()`. */
  close: [];
  /** Standalone mode: the HTTP server is listening. */
  listening: [];
  /** A handshake was invalid; only when listened for (the listener then answers and owns the socket). */
  wsClientError: [error: Error, socket: Duplex, request: IncomingMessage];
  /** A handshake was refused (for operators' logs). */
  rejected: [info: RejectionInfo];
}

/**
 * Types only (declaration merging with the class below): the listener methods typed per event of
 * {@link WebSocketServerEvents}, then ws's catch-all for other names, as `@types/ws` declares them.
 */
export interface WebSocketServer<T extends WebSocket = WebSocket> {
  on<K extends keyof WebSocketServerEvents<T>>(
    event: K,
    listener: (this: WebSocketServer<T>, ...args: WebSocketServerEvents<T>[K]) => void,
  ): this;
  on(event: string | symbol, listener: (this: WebSocketServer<T>, ...args: any[]) => void): this;
  once<K extends keyof WebSocketServerEvents<T>>(
    event: K,
    listener: (this: WebSocketServer<T>, ...args: WebSocketServerEvents<T>[K]) => void,
  ): this;
  once(event: string | symbol, listener: (this: WebSocketServer<T>, ...args: any[]) => void): this;
  off<K extends keyof WebSocketServerEvents<T>>(
    event: K,
    listener: (this: WebSocketServer<T>, ...args: WebSocketServerEvents<T>[K]) => void,
  ): this;
  off(event: string | symbol, listener: (this: WebSocketServer<T>, ...args: any[]) => void): this;
  addListener<K extends keyof WebSocketServerEvents<T>>(
    event: K,
    listener: (this: WebSocketServer<T>, ...args: WebSocketServerEvents<T>[K]) => void,
  ): this;
  addListener(
    event: string | symbol,
    listener: (this: WebSocketServer<T>, ...args: any[]) => void,
  ): this;
  removeListener<K extends keyof WebSocketServerEvents<T>>(
    event: K,
    listener: (this: WebSocketServer<T>, ...args: WebSocketServerEvents<T>[K]) => void,
  ): this;
  removeListener(
    event: string | symbol,
    listener: (this: WebSocketServer<T>, ...args: any[]) => void,
  ): this;
  prependListener<K extends keyof WebSocketServerEvents<T>>(
    event: K,
    listener: (this: WebSocketServer<T>, ...args: WebSocketServerEvents<T>[K]) => void,
  ): this;
  prependListener(
    event: string | symbol,
    listener: (this: WebSocketServer<T>, ...args: any[]) => void,
  ): this;
  prependOnceListener<K extends keyof WebSocketServerEvents<T>>(
    event: K,
    listener: (this: WebSocketServer<T>, ...args: WebSocketServerEvents<T>[K]) => void,
  ): this;
  prependOnceListener(
    event: string | symbol,
    listener: (this: WebSocketServer<T>, ...args: any[]) => void,
  ): this;
}

/** Options of `broadcast`. */
export interface BroadcastOptions<T extends WebSocket = WebSocket> {
  /** Send as binary (default: true for bytes, false for strings). */
  binary?: boolean;
  /** Only clients for which this returns true. */
  filter?: (client: T) => boolean;
}

/**
 * @internal The encode-once step of `broadcast` and pub/sub fan-out: one unmasked, unfragmented
 * server frame (header + a copy of `payload`), written as is to every recipient with the
 * send gate's `writeEncoded` (send-gate.ts).
 */
export function encodeServerFrame(payload: Uint8Array, isBinary: boolean): Buffer {
  const size = headerSize(payload.length, false);
  const frame = Buffer.allocUnsafe(size + payload.length);
  writeHeader(frame, 0, {
    fin: true,
    rsv: 0,
    opcode: isBinary ? Opcode.Binary : Opcode.Text,
    length: payload.length,
    mask: null,
  });
  frame.set(payload, size);
  return frame;
}

const kServer = Symbol('ironsock.server');
const kAddress = Symbol('ironsock.address');
const kGraceTimer = Symbol('ironsock.graceTimer');
const kHeadTimer = Symbol('ironsock.headTimer');
const kUpgraded = Symbol('ironsock.upgraded');
/** ws's text for a second `handleUpgrade` on a socket that already became a WebSocket. */
const HANDLED_TWICE =
  'server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration';
type TrackedSocket = Duplex & {
  [kUpgraded]?: boolean;
  [kServer]?: WebSocketServer;
  [kAddress]?: string;
  [kGraceTimer]?: ReturnType<typeof setTimeout>;
  [kHeadTimer]?: ReturnType<typeof setTimeout>;
  remoteAddress?: string;
  encrypted?: boolean;
};

function onTrackedSocketClose(this: TrackedSocket): void {
  const timer = this[kGraceTimer];
  if (timer !== undefined) clearTimeout(timer);
  this[kServer]?.releaseSlot(this);
}
function clearHeadTimer(this: TrackedSocket): void {
  const timer = this[kHeadTimer];
  if (timer !== undefined) {
    clearTimeout(timer);
    this[kHeadTimer] = undefined;
  }
}
/** Attach mode: no request head within the handshake timeout. */
function headTimedOut(socket: TrackedSocket): void {
  socket[kHeadTimer] = undefined;
  if (socket.destroyed) return;
  socket.on('error', ignoreSocketError);
  if (socket.writable) {
    socket.end(buildRejectResponse({ status: 408, reason: 'request timed out' }), 'latin1');
  }
  setTimeout(destroySocket, REJECT_GRACE_MS, socket).unref();
}
function destroySocket(socket: Duplex): void {
  socket.destroy();
}

let warnedAnyOrigin = false;

/**
 * A WebSocket server (ws-compatible). Events: 'connection' (ws, req), 'headers' (lines, req),
 * 'listening', 'error', 'close', 'rejected' (RejectionInfo), 'wsClientError' (error, socket, req:
 * only when listened for; the listener then owns the response and the socket).
 *
 * @throws TypeError unless exactly one of `port`, `server`, `noServer` is given; HandshakeError
 *   `INVALID_ORIGIN_POLICY` for an `origins` entry that is not an origin, wildcard or function;
 *   RangeError for an invalid `maxPayload`.
 * @example
 * const wss = new WebSocketServer({ port: 8080 });
 * wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WebSocketServer<T extends WebSocket = WebSocket> extends nodeEvents.EventEmitter {
  /**
   * Open connections when `clientTracking` is on (the default). `undefined` when it is off, as
   * in ws (typed as a Set, as @types/ws does, for the common case).
   */
  readonly clients: Set<T>;
  readonly options: ServerOptions<T>;
  private readonly httpServer: HttpServer | HttpsServer | null;
  /**
   * Standalone HTTP/1.1 (`port` without `http2`): the `net.Server` that listens and reads each
   * connection's first head (head-front.ts); `httpServer` then only gets the other requests.
   */
  private readonly front: HeadFront | null;
  private readonly ownsServer: boolean;
  /** The callback of upgrades that came through this server's own listeners. */
  private readonly emitConnection = (ws: WebSocket, req: IncomingMessage): void => {
    this.emit('connection', ws, req);
  };
  private readonly deflate: PerMessageDeflateOptions | null;
  /** The permessage-deflate state budget (`maxCompressionMemory`), or null without deflate. */
  readonly compressionBudget: CompressionBudget | null;
  private readonly handshakeTimeout: number;
  private readonly listeners_: Array<[NodeJS.EventEmitter, string, (...args: any[]) => void]> = [];
  private readonly perAddress = new Map<string, number>();
  private readonly live = new Set<T>();
  private slots = 0;
  private state: 'running' | 'closing' | 'closed' = 'running';
  private policyPlain: ServerPolicy<IncomingMessage> | null = null;
  private readonly rateCounts = new Map<string, number>();
  private rateWindowStart = 0;
  private policySecure: ServerPolicy<IncomingMessage> | null = null;
  /** The driver options every connection of this server shares (resolved once). */
  private readonly driverConfig: DriverConfig;
  private http2Attachment: Http2Attachment | null = null;
  private hub: TopicHub | null = null;
  /** Handshake failures already reported as a process warning (see `handshakeFailed`). */
  private readonly warnedFailures = new Set<string>();

  constructor(options: ServerOptions<T>, callback?: () => void) {
    super();
    // Every option, at once (TypeError/RangeError naming it); see server-options.ts.
    checkServerOptions(options);
    this.options = options;
    // Fail at construction, not at the first request, for options that can never work.
    compileOrigins(options.origins);
    // On by default (30 s / 20 s): a silent connection is pinged, so proxies and load balancers
    // with idle timeouts keep it, and half-open connections of vanished clients are dropped.
    // One shared, unref'd timer sweeps every connection (keepalive.ts); `keepalive: false` opts out.
    const wheel = keepaliveWheel(options.keepalive ?? true);
    // Resolved once and shared by every connection (no per-connection copies); limits that can
    // never work fail here, not at the first connection.
    this.driverConfig = serverDriverConfig(
      { ...options, maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD },
      wheel,
    );
    resolveLimits(this.driverConfig.limits);
    this.clients = (options.clientTracking === false ? undefined : new Set()) as Set<T>;
    // With an adapter the bus opens now, so that remote topics flow before the first subscriber.
    if (options.pubsub?.adapter !== undefined) this.topicHub();
    this.handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.deflate =
      options.perMessageDeflate === true
        ? {}
        : options.perMessageDeflate === undefined || options.perMessageDeflate === false
          ? null
          : options.perMessageDeflate;
    this.compressionBudget =
      this.deflate === null
        ? null
        : new CompressionBudget(options.maxCompressionMemory ?? DEFAULT_MAX_COMPRESSION_MEMORY);
    if (options.unsafeAllowAnyOrigin === true && !warnedAnyOrigin) {
      warnedAnyOrigin = true;
      process.emitWarning(
        "unsafeAllowAnyOrigin: any web page can open WebSocket connections to this server with its users' cookies",
        { code: 'IRONSOCK_ANY_ORIGIN' },
      );
    }

    const h2 =
      typeof options.http2 === 'object' && options.http2 !== null ? options.http2 : undefined;
    if (options.http2 !== undefined && h2 === undefined && typeof options.http2 !== 'boolean') {
      throw new TypeError('The "http2" option must be a boolean or an object of HTTP/2 options');
    }
    let front: HeadFront | null = null;
    if (options.port !== undefined && options.port !== null && h2 !== undefined) {
      // Standalone over TLS with HTTP/2 and HTTP/1.1 on the same port (http2-server.ts).
      const server = createHttp2Server(h2, this.handshakeTimeout);
      this.httpServer = server as unknown as HttpsServer;
      this.ownsServer = true;
      server.listen(options.port, options.host, options.backlog, callback);
    } else if (options.port !== undefined && options.port !== null) {
      // A net.Server reads each connection's first head itself (head-front.ts); node:http
      // (not listening) gets the requests that are not upgrades, and what follows them.
      const timeout = this.handshakeTimeout;
      const server = nodeHttp.createServer(
        {
          maxHeaderSize: DEFAULT_MAX_HEAD_BYTES,
          headersTimeout: timeout,
          requestTimeout: timeout,
          connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(timeout / 4))),
        },
        (req, res) => this.answerPlainRequest(req, res),
      );
      server.maxHeadersCount = options.maxHeadersCount ?? DEFAULT_MAX_HEADERS;
      this.httpServer = server;
      this.ownsServer = true;
      front = this._createFront(server, server.maxHeadersCount);
      front.server.listen(options.port, options.host, options.backlog, callback);
    } else if (options.server !== undefined && options.server !== null) {
      this.httpServer = options.server as HttpServer | HttpsServer;
      this.ownsServer = false;
      const server = this.httpServer;
      if (server.headersTimeout === 0 || server.headersTimeout > this.handshakeTimeout) {
        server.headersTimeout = this.handshakeTimeout;
        if (server.requestTimeout > 0 && server.requestTimeout < server.headersTimeout) {
          server.headersTimeout = server.requestTimeout;
        }
      }
    } else {
      this.httpServer = null;
      this.ownsServer = false;
    }
    this.front = front;

    const server = this.httpServer;
    if (server !== null) {
      const listening: NodeJS.EventEmitter = front === null ? server : front.server;
      this.listen(listening, 'listening', () => this.emit('listening'));
      this.listen(listening, 'error', (error: Error) => this.emit('error', error));
      this.listen(server, 'upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        this.handleUpgrade(req, socket, head, this.emitConnection);
      });
      if (isHttp2Server(server)) {
        if (options.http2 !== false) {
          this.http2Attachment = new Http2Attachment(this._http2Host(), server, h2);
        }
      } else if (!this.ownsServer) {
        // Attach mode: Node checks headersTimeout only every connectionsCheckingInterval (set by
        // the application, 30 s by default), so a slowloris request would live that long. Arm
        // our own deadline from the TCP accept until the first request head arrives (H7).
        const timeout = this.handshakeTimeout;
        this.listen(server, 'connection', (socket: TrackedSocket) => {
          socket[kHeadTimer] = setTimeout(headTimedOut, timeout, socket);
          socket.on('close', clearHeadTimer);
        });
        this.listen(server, 'request', (req: IncomingMessage) => {
          clearHeadTimer.call(req.socket as TrackedSocket);
        });
      }
      if (this.ownsServer) {
        // Standalone only: in attach mode Node's own handling (or the application's) stays.
        this.listen(server, 'clientError', (error: Error & { code?: string }, socket: Duplex) => {
          socket.on('error', ignoreSocketError);
          if (socket.destroyed) return;
          // H6/H7: oversized heads get 431, slow or silent requests 408 at the handshake timeout.
          const status =
            error.code === HEAD_TIMEOUT_CODE
              ? 408
              : error.code === 'HPE_HEADER_OVERFLOW'
                ? 431
                : 400;
          this.refuseHead(
            socket as Socket,
            status,
            error.code ?? 'BAD_REQUEST',
            'malformed or incomplete HTTP request',
          );
        });
      }
    }
  }

  /** The address of the listening server. @throws Error in noServer mode. */
  address(): AddressInfo | string | null {
    if (this.httpServer === null) throw new Error('The server is operating in "noServer" mode');
    return (this.front?.server ?? this.httpServer).address();
  }

  /**
   * @internal A `net.Server` in front of `fallback` (head-front.ts): it reads each connection's
   * first request head itself, runs upgrades through this server and gives every other request,
   * with the bytes already read, to `fallback`, which must not listen itself (its 'upgrade'
   * events should reach `handleUpgrade`, as in attach mode). The caller listens on `front.server`
   * and ends it with `front.close()` (which also destroys connections still reading a head and
   * closes those handed to `fallback`); `ironsock serve` uses it for its plain-HTTP port.
   */
  _createFront(fallback: HttpServer, maxHeaders: number = DEFAULT_MAX_HEADERS): HeadFront {
    return new HeadFront(this as FrontTarget, fallback, {
      handshakeTimeout: this.handshakeTimeout,
      maxHeadBytes: DEFAULT_MAX_HEAD_BYTES,
      maxHeaders,
    });
  }

  /** @internal FrontTarget: a head read by the front that asks for an upgrade. */
  upgradeFromFront(req: IncomingMessage, head: RequestHead, socket: Socket, rest: Buffer): void {
    this.upgrade(req, head, socket as TrackedSocket, rest, this.emitConnection);
  }

  /** @internal FrontTarget: no usable head (400 malformed, 431 too large, 408 too slow). */
  refuseHead(socket: Socket, status: number, code: string, reason: string): void {
    this.emit('rejected', {
      remoteAddress: socket.remoteAddress,
      status,
      code,
      reason,
    } satisfies RejectionInfo);
    if (!socket.destroyed && socket.writable) {
      const body =
        status === 408
          ? 'request timed out'
          : status === 431
            ? 'request header fields too large'
            : 'bad request';
      socket.end(buildRejectResponse({ status, reason: body }), 'latin1');
    }
    this.armGrace(socket as TrackedSocket, REJECT_GRACE_MS);
  }

  /** Whether `req` is for this server (the `path` option). */
  shouldHandle(req: IncomingMessage): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    return (query === -1 ? url : url.slice(0, query)) === path;
  }

  /**
   * Runs the opening handshake on an upgrade request (noServer mode, or called internally).
   * `cb(ws, req)` is called on success; refusals are answered and reported ('rejected').
   */
  handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    cb: (ws: T, req: IncomingMessage) => void,
  ): void {
    const tracked = socket as TrackedSocket;
    if (tracked[kUpgraded] === true) throw new Error(HANDLED_TWICE);
    clearHeadTimer.call(tracked);
    // R8: from the first moment, a socket error never reaches the process.
    socket.on('error', ignoreSocketError);
    this.upgrade(req, null, tracked, head, cb);
  }

  /**
   * The handshake of `handleUpgrade` and of the front: `request` is the parsed head when the
   * front read it (null: built from `req.rawHeaders`, whose length is checked first).
   */
  private upgrade(
    req: IncomingMessage,
    parsed: RequestHead | null,
    tracked: TrackedSocket,
    head: Buffer,
    cb: (ws: T, req: IncomingMessage) => void,
  ): void {
    const socket: Duplex = tracked;
    if (this.state !== 'running') {
      this.rejectClosing(tracked, req);
      return;
    }
    if (this.options.maxHandshakesPerSecond !== undefined && !this.countHandshake(tracked)) {
      this.reject(tracked, req, 429, 'TOO_MANY_HANDSHAKES', 'too many handshakes', [
        ['Retry-After', '1'],
      ]);
      return;
    }
    if (!this.takeSlot(tracked)) {
      this.reject(tracked, req, 503, 'TOO_MANY_CONNECTIONS', 'too many connections');
      return;
    }
    // H6: Node drops header lines past maxHeadersCount silently; a truncated list could hide a
    // second Host or an Origin. Refuse instead of validating what is left. (The front's own
    // parser refuses with 431 instead of dropping.)
    if (parsed === null && req.rawHeaders.length / 2 >= this.maxHeadersCount(tracked)) {
      this.reject(tracked, req, 431, 'TOO_MANY_HEADERS', 'too many header lines');
      return;
    }
    if (!this.shouldHandle(req)) {
      this.reject(tracked, req, 400, 'PATH_NOT_HANDLED', 'unknown path');
      return;
    }
    const request: RequestHead = parsed ?? {
      method: req.method ?? '',
      target: req.url ?? '',
      httpVersion: req.httpVersion,
      headers: rawHeaderPairs(req.rawHeaders),
    };
    const secure = tracked.encrypted === true;
    // Origin predicates receive the IncomingMessage, as the `origins` option documents.
    const decision = validateUpgradeRequest(request, this.policy(tracked, secure), req);
    if (!decision.ok) {
      // ws's wording where ws refuses for the same reason (ws-wording.ts); ironsock's reason
      // stays on 'rejected' and as `explanation`.
      const wsText = wsRefusalText(decision.code);
      if (this.listenerCount('wsClientError') > 0) {
        const error = Object.assign(new Error(wsText ?? decision.reason), {
          code: decision.code,
          status: decision.status,
          explanation: decision.reason,
        });
        // The application gets the socket as node:http gives it to 'upgrade' listeners.
        holdInput(tracked);
        this.emit('wsClientError', error, socket, req);
        this.armGrace(tracked, this.handshakeTimeout);
        return;
      }
      this.reject(
        tracked,
        req,
        decision.status,
        decision.code,
        decision.reason,
        decision.headers,
        wsText,
      );
      return;
    }

    // §4.2.2 step 5.3: the subprotocol is one the client offered, or none.
    let protocol: string | undefined;
    if (decision.protocols.length > 0) {
      const offered = new Set(decision.protocols);
      let selected: string | false;
      try {
        selected = this.options.handleProtocols
          ? this.options.handleProtocols(offered, req)
          : decision.protocols[0];
      } catch (error) {
        this.handshakeFailed(error);
        this.reject(tracked, req, 500, 'HANDLE_PROTOCOLS_FAILED', 'internal error');
        return;
      }
      if (selected !== false) protocol = selected;
    }

    let deflateResponse: { response: string; params: unknown } | null = null;
    if (this.deflate !== null && decision.extensions.length > 0) {
      try {
        deflateResponse = negotiateDeflateServer(decision.extensions, this.deflate);
      } catch (error) {
        this.handshakeFailed(error);
        this.reject(tracked, req, 500, 'DEFLATE_NEGOTIATION_FAILED', 'internal error');
        return;
      }
    }

    const verify = this.options.verifyClient;
    if (verify === undefined) {
      this.complete(tracked, req, head, decision, protocol, deflateResponse, cb);
      return;
    }
    const info: VerifyClientInfo = { origin: decision.origin, secure, req };
    if (verify.length < 2) {
      let ok: boolean;
      try {
        ok = (verify as VerifyClientSync)(info);
      } catch (error) {
        this.handshakeFailed(error);
        this.reject(tracked, req, 500, 'VERIFY_CLIENT_FAILED', 'internal error');
        return;
      }
      if (!ok) this.reject(tracked, req, 401, 'VERIFY_CLIENT', 'unauthorized');
      else this.complete(tracked, req, head, decision, protocol, deflateResponse, cb);
      return;
    }
    // Async: bounded by the handshake timeout (an answer that never comes must not pin the socket).
    // Meanwhile the socket's close releases its slot.
    socket.on('close', onTrackedSocketClose);
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.removeListener('close', onTrackedSocketClose);
      this.reject(tracked, req, 408, 'HANDSHAKE_TIMEOUT', 'handshake timed out');
    }, this.handshakeTimeout);
    try {
      (verify as VerifyClientAsync)(info, (result, code, message, headers) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeListener('close', onTrackedSocketClose);
        if (socket.destroyed || !socket.writable) {
          this.releaseSlot(tracked);
          return;
        }
        if (!result) {
          const status = code !== undefined && code >= 400 && code <= 599 ? code : 401;
          const extra =
            headers === undefined ? [] : (Object.entries(headers) as Array<[string, string]>);
          this.reject(tracked, req, status, 'VERIFY_CLIENT', message ?? 'unauthorized', extra);
          return;
        }
        this.complete(tracked, req, head, decision, protocol, deflateResponse, cb);
      });
    } catch (error) {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        socket.removeListener('close', onTrackedSocketClose);
        this.handshakeFailed(error);
        this.reject(tracked, req, 500, 'VERIFY_CLIENT_FAILED', 'internal error');
      }
    }
  }

  /**
   * Runs the opening handshake on an HTTP/2 extended CONNECT stream (RFC 8441), for noServer
   * mode: call it from your HTTP/2 server's 'stream' event for streams with `:method` CONNECT
   * and a `:protocol` (and advertise `enableConnectProtocol: true` in that server's settings:
   * only then). `cb(ws, req)` is called on success with an `Http2ServerRequest`; refusals are
   * answered (`:status` + END_STREAM) and reported ('rejected').
   * @example
   * h2server.on('stream', (stream, headers, flags, raw) => {
   *   if (headers[':protocol'] === 'websocket') wss.handleStream(stream, headers, raw, (ws, req) => wss.emit('connection', ws, req));
   * });
   */
  handleStream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    rawHeaders: readonly string[] | undefined,
    cb: (ws: WebSocket, req: Http2UpgradeRequest) => void,
  ): void {
    this.http2Attachment ??= new Http2Attachment(
      this._http2Host(),
      null,
      typeof this.options.http2 === 'object' ? this.options.http2 : {},
    );
    this.http2Attachment.handleNodeStream(stream, headers, rawHeaders, undefined, cb);
  }

  /** @internal What the HTTP/2 adapter (http2-server.ts) shares with the HTTP/1.1 path. */
  _http2Host(): Http2Host {
    return {
      handshakeTimeout: this.handshakeTimeout,
      deflate: this.deflate,
      compressionBudget: this.compressionBudget,
      driverConfig: this.driverConfig,
      handleProtocols: this.options.handleProtocols,
      verifyClient: this.options.verifyClient,
      emit: (event, ...args) => this.emit(event, ...args),
      listenerCount: (event) => this.listenerCount(event),
      handshakeFailed: (error) => this.handshakeFailed(error),
      admit: (stream) => {
        const tracked = stream as TrackedSocket;
        if (this.state !== 'running') {
          return { status: 503, code: 'SERVER_CLOSING', reason: 'server is shutting down' };
        }
        if (this.options.maxHandshakesPerSecond !== undefined && !this.countHandshake(tracked)) {
          return {
            status: 429,
            code: 'TOO_MANY_HANDSHAKES',
            reason: 'too many handshakes',
            headers: [['retry-after', '1']],
          };
        }
        if (!this.takeSlot(tracked)) {
          return { status: 503, code: 'TOO_MANY_CONNECTIONS', reason: 'too many connections' };
        }
        // The stream's handshake may end asynchronously: its close releases the slot until then.
        tracked.on('close', onTrackedSocketClose);
        return null;
      },
      shouldHandle: (req) => this.shouldHandle(req),
      policy: (stream, secure) => this.policy(stream as TrackedSocket, secure),
      reported: (stream, status, code, reason) =>
        this.emit('rejected', {
          remoteAddress: (stream as TrackedSocket).remoteAddress,
          status,
          code,
          reason,
        } satisfies RejectionInfo),
      running: () => this.state === 'running',
      adopt: (ws, stream) => {
        stream.removeListener('close', onTrackedSocketClose);
        ws._owner = this;
        this.live.add(ws as T);
        this.clients?.add(ws as T);
      },
    };
  }

  /**
   * Sends one message to every open client (or those passing `filter`): the frame is encoded
   * once and the same bytes are written to each socket. A client whose outgoing buffer would
   * pass its `maxBufferedAmount` is skipped (and closed 1008 under the `'close'` policy).
   * Requires `clientTracking`. Returns the number of clients the message was written to.
   * @throws TypeError for data that is not a string, number or bytes (a Blob cannot be sent
   *   synchronously); Error when `clientTracking` is false.
   */
  broadcast(data: SendData, options: BroadcastOptions<T> = {}): number {
    if (this.clients === undefined) {
      throw new Error('broadcast() needs the clients list: clientTracking is false');
    }
    if (typeof data === 'number') data = String(data);
    const payload = toSendBytes(data);
    const isBinary = options.binary ?? typeof data !== 'string';
    const frame = encodeServerFrame(payload, isBinary);
    const filter = options.filter;
    let count = 0;
    for (const client of this.clients) {
      if (client.readyState !== WebSocket.OPEN) continue;
      if (filter !== undefined && !filter(client)) continue;
      const driver = client._driver;
      if (driver !== null && writeEncoded(driver, frame, payload, isBinary)) count++;
    }
    return count;
  }

  /**
   * The pub/sub hub of this server (created on first use): events `'overflow'`, `'gap'`, `'bus'`,
   * `'error'`; `stats`; `ready()`. See `src/pubsub/hub.ts`.
   */
  get pubsub(): TopicHub {
    return this.topicHub();
  }

  /**
   * Publishes to every subscriber of `topic` (`ws.subscribe(topic)`): this process's now, with
   * one frame encoded once; other nodes' through the pub/sub adapter, batched per event-loop
   * turn. Order per publisher and topic is kept. Slow subscribers get the server's
   * `bufferedAmountPolicy` (`'close'`: Close 1008; `'reject'`: skipped) and an `'overflow'` event
   * on `wss.pubsub`. Returns the number of local subscribers the message was written to.
   * @throws TypeError for an invalid topic or data; UsageError `TOPIC_TOO_LONG`.
   * @example wss.publish('room:lobby', JSON.stringify({ text: 'hi' }));
   */
  publish(topic: string, data: SendData, options?: PublishOptions): number {
    return this.topicHub().publish(topic, data, options);
  }

  /** Number of this process's connections subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this.hub === null ? 0 : this.hub.subscriberCount(topic);
  }

  /**
   * An application callback failed during a handshake (it is answered with a 500): reported as
   * 'error' when someone listens, otherwise as one process warning per kind of failure, never
   * thrown (an unheard 'error' would end the process from inside the upgrade handler).
   */
  private handshakeFailed(error: unknown): void {
    if (this.listenerCount('error') > 0) {
      this.emit('error', error);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const kind = error instanceof Error ? `${error.name}: ${message}` : message;
    if (this.warnedFailures.has(kind)) return;
    this.warnedFailures.add(kind);
    process.emitWarning(
      `WebSocket handshake failed with 500: ${message}. ` +
        "Listen for the server's 'error' event to see every failure; this warning is printed once per kind.",
      { code: 'IRONSOCK_HANDSHAKE_ERROR' },
    );
  }

  /** @internal */
  topicHub(): TopicHub {
    this.hub ??= new TopicHub(this.options, this.options.pubsub);
    return this.hub;
  }

  /**
   * Graceful shutdown: stops accepting, sends Close 1001 to every client, waits for their Close
   * frames (messages they sent before it are still delivered) up to `shutdownTimeout`, then
   * destroys what is left, closes the standalone HTTP server and emits 'close'. `cb` gets an
   * error if the server was already closed.
   */
  close(cb?: (error?: Error) => void): void {
    if (this.state !== 'running') {
      if (cb !== undefined) {
        if (this.state === 'closed') process.nextTick(cb, new Error('The server is not running'));
        else this.once('close', () => cb());
      }
      return;
    }
    this.state = 'closing';
    if (cb !== undefined) this.once('close', () => cb());
    // The HTTP server's listeners stay until the end: a handshake arriving while we wait for the
    // clients gets 503 + Retry-After (handleUpgrade), not Node's default handling. The standalone
    // server listens until then too, so that a client connecting meanwhile reads an answer
    // instead of a refused connection.
    const waiting = [...this.live];
    let remaining = waiting.length + 1;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const done = (): void => {
      if (--remaining > 0) return;
      if (timer !== null) clearTimeout(timer);
      const finish = (): void => {
        for (const [emitter, event, listener] of this.listeners_) {
          emitter.removeListener(event, listener);
        }
        this.listeners_.length = 0;
        // New HTTP/2 sessions no longer hear of RFC 8441 (existing ones cannot unlearn it).
        this.http2Attachment?.detach();
        const hub = this.hub;
        if (hub === null) {
          this.state = 'closed';
          this.emit('close');
          return;
        }
        // The pub/sub bus closes last: pending batches leave, the adapter releases what it made.
        void hub.close().then(
          () => {
            this.state = 'closed';
            this.emit('close');
          },
          (error: unknown) => {
            this.state = 'closed';
            if (this.listenerCount('error') > 0) this.emit('error', error);
            this.emit('close');
          },
        );
      };
      if (this.front !== null) {
        this.front.close(() => finish());
      } else if (this.ownsServer && this.httpServer !== null) {
        this.httpServer.close(() => finish());
        (this.httpServer as HttpServer).closeAllConnections?.();
      } else process.nextTick(finish);
    };
    for (const ws of waiting) {
      if (ws.readyState === WebSocket.CLOSED) {
        remaining--;
        continue;
      }
      ws.once('close', done);
      ws._closeWith(1001, '');
    }
    if (remaining > 1) {
      timer = setTimeout(() => {
        for (const ws of waiting) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
      }, this.options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
    }
    done();
  }

  // ---- internal ---------------------------------------------------------------------------------

  /** @internal */
  releaseSlot(socket: TrackedSocket): void {
    if (socket[kServer] !== this) return;
    socket[kServer] = undefined;
    this.slots--;
    const address = socket[kAddress];
    if (address !== undefined) {
      const count = (this.perAddress.get(address) ?? 1) - 1;
      if (count <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, count);
    }
  }

  /** @internal */
  forgetClient(ws: WebSocket): void {
    this.clients?.delete(ws as T);
    this.hub?.removeClient(ws);
    this.live.delete(ws as T);
    const socket = ws._socket;
    if (socket !== null) this.releaseSlot(socket as TrackedSocket);
  }

  private listen(
    server: NodeJS.EventEmitter,
    event: string,
    listener: (...args: any[]) => void,
  ): void {
    server.on(event, listener);
    this.listeners_.push([server, event, listener]);
  }

  /** The handshake policy; cached per (secure) once the listen address is known. */
  private policy(socket: TrackedSocket, secure: boolean): ServerPolicy<IncomingMessage> {
    const cached = secure ? this.policySecure : this.policyPlain;
    if (cached !== null) return cached;
    const policy = this.buildPolicy(socket, secure);
    if (policy.listenAddress !== undefined || this.httpServer === null) {
      if (secure) this.policySecure = policy;
      else this.policyPlain = policy;
    }
    return policy;
  }

  private buildPolicy(socket: TrackedSocket, secure: boolean): ServerPolicy<IncomingMessage> {
    const o = this.options;
    let listenAddress = o.listenAddress;
    if (listenAddress === undefined) {
      const address = (this.front?.server ?? this.httpServer)?.address();
      if (address !== null && typeof address === 'object') listenAddress = address.address;
      else {
        // noServer mode, or an HTTP server that does not listen itself (behind a front, as in
        // `ironsock serve`): the server that accepted the socket.
        const server = (socket as TrackedSocket & { server?: { address?(): unknown } }).server;
        const own = server?.address?.();
        if (own !== null && typeof own === 'object') listenAddress = (own as AddressInfo).address;
      }
    }
    return {
      origins: o.origins,
      requireOrigin: o.requireOrigin,
      unsafeAllowAnyOrigin: o.unsafeAllowAnyOrigin,
      serverOrigins: o.serverOrigins,
      allowedHosts: o.allowedHosts,
      listenAddress,
      secure,
    };
  }

  /** The header-count limit Node applied to this request (at most 1,000, see below). */
  private maxHeadersCount(socket: TrackedSocket): number {
    const server = (this.httpServer ??
      (socket as TrackedSocket & { server?: { maxHeadersCount?: number | null } }).server) as
      { maxHeadersCount?: number | null } | undefined;
    const count = server?.maxHeadersCount;
    // Node documents 2,000 for null, but its parser keeps only about 1,000 name/value pairs
    // (observed: 1,023); a handshake never needs that many, so 1,000 caps every mode.
    return Math.min(typeof count === 'number' && count > 0 ? count : 1000, 1000);
  }

  /** Per-address handshake rate (fixed 1 s windows; the map is cleared every window). */
  private countHandshake(socket: TrackedSocket): boolean {
    const address = socket.remoteAddress;
    if (address === undefined) return true;
    const now = Date.now();
    if (now - this.rateWindowStart >= 1000) {
      this.rateWindowStart = now;
      this.rateCounts.clear();
    }
    const count = (this.rateCounts.get(address) ?? 0) + 1;
    this.rateCounts.set(address, count);
    return count <= (this.options.maxHandshakesPerSecond as number);
  }

  /** Counts the socket against the caps; false (nothing allocated) when over a cap. */
  private takeSlot(socket: TrackedSocket): boolean {
    const max = this.options.maxConnections;
    if (max !== undefined && this.slots >= max) return false;
    const perAddress = this.options.maxConnectionsPerAddress;
    const address = perAddress === undefined ? undefined : socket.remoteAddress;
    if (perAddress !== undefined && address !== undefined) {
      if ((this.perAddress.get(address) ?? 0) >= perAddress) return false;
      this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
      socket[kAddress] = address;
    }
    this.slots++;
    socket[kServer] = this;
    // No 'close' listener here: the synchronous handshake ends in `complete` (the WebSocket
    // then holds the slot) or in a refusal (`armGrace` listens); only a pending asynchronous
    // verifyClient adds one (one listener added and removed fewer per connection).
    return true;
  }

  private complete(
    socket: TrackedSocket,
    req: IncomingMessage,
    head: Buffer,
    decision: UpgradeAccepted,
    protocol: string | undefined,
    deflate: { response: string; params: unknown } | null,
    cb: (ws: T, req: IncomingMessage) => void,
  ): void {
    if (socket[kUpgraded] === true) throw new Error(HANDLED_TWICE);
    if (socket.destroyed || !socket.writable || !socket.readable) {
      this.releaseSlot(socket);
      socket.destroy();
      return;
    }
    if (this.state !== 'running') {
      this.rejectClosing(socket, req);
      return;
    }
    // The compression budget is charged here, where the connection is certain: the agreed
    // mode may keep less state than negotiated when the budget is short.
    const budget = this.compressionBudget;
    let reserved = 0;
    if (deflate !== null && budget !== null && this.deflate !== null) {
      const admitted = budget.admit(decision.extensions, this.deflate);
      deflate = admitted;
      if (admitted !== null) reserved = admitted.reserved;
    }
    let response: string;
    try {
      const text = buildAcceptResponse(
        {
          key: decision.key,
          protocol,
          offeredProtocols: decision.protocols,
          extensions: deflate === null ? undefined : deflate.response,
        },
        nodePlatform,
      );
      if (this.listenerCount('headers') === 0) {
        response = text;
      } else {
        const lines = text.slice(0, -4).split('\r\n');
        this.emit('headers', lines, req);
        for (const line of lines) {
          // H10: application-supplied header lines can never split the response.
          if (/[\r\n\0]/.test(line)) throw new Error('response header line contains CR, LF or NUL');
        }
        response = lines.join('\r\n') + '\r\n\r\n';
      }
    } catch (error) {
      if (reserved > 0) budget?.release(reserved);
      this.handshakeFailed(error);
      this.reject(socket, req, 500, 'INVALID_RESPONSE', 'internal error');
      return;
    }
    let extension: Extension | null = null;
    if (deflate !== null && this.deflate !== null) {
      const onDispose = reserved > 0 ? () => budget?.release(reserved) : undefined;
      extension = createDeflateExtension(deflate.params as never, 'server', this.deflate, {
        onDispose,
      });
    }
    socket.write(response, 'latin1');
    socket[kUpgraded] = true;
    const ws =
      this.options.WebSocket === undefined
        ? (new WebSocket(null) as T)
        : new this.options.WebSocket();
    ws.setSocket(
      socket,
      head,
      {
        protocol: protocol ?? '',
        extensions: deflate === null ? '' : deflate.response,
        extension,
      },
      this.driverConfig,
    );
    // The driver now owns socket errors, and the WebSocket's end releases the slot (one listener
    // fewer per idle connection).
    socket.removeListener('error', ignoreSocketError);
    ws._owner = this;
    this.live.add(ws);
    if (this.clients !== undefined) this.clients.add(ws);
    cb(ws, req);
  }

  private reject(
    socket: TrackedSocket,
    req: IncomingMessage,
    status: number,
    code: string,
    reason: string,
    headers: ReadonlyArray<readonly [string, string]> = [],
    body?: string,
  ): void {
    this.report(
      socket.remoteAddress ?? (req.socket as Socket | undefined)?.remoteAddress,
      status,
      code,
      reason,
      req,
    );
    if (!socket.destroyed && socket.writable) {
      let text: string;
      try {
        text =
          body === undefined
            ? buildRejectResponse({ status, reason, headers })
            : buildRejectResponse({ status, reason: body, headers, newline: false });
      } catch {
        text = buildRejectResponse({ status: 500, reason: 'internal error' });
      }
      socket.end(text, 'latin1');
    }
    this.armGrace(socket, REJECT_GRACE_MS);
  }

  /**
   * Emits 'rejected' with the refused Origin/Host and the option that allows the request; with
   * no 'rejected' listener, the first policy refusal of each kind is a process warning instead.
   */
  private report(
    remoteAddress: string | undefined,
    status: number,
    code: string,
    reason: string,
    req: IncomingMessage | undefined,
  ): void {
    const details = refusalDetails(code, reason, req);
    this.emit('rejected', { remoteAddress, status, code, ...details } satisfies RejectionInfo);
    warnUnheardRefusal(this, status, code, details);
  }

  /**
   * Standalone mode: a request that is not an upgrade (Node routes those to 'request').
   * 426 + `Upgrade: websocket` (a broken handshake gets the validator's answer, see
   * `plainRequestAnswer`); 503 + `Retry-After` once `close()` was called.
   */
  private answerPlainRequest(req: IncomingMessage, res: http.ServerResponse): void {
    const answer =
      this.state === 'running'
        ? plainRequestAnswer(req)
        : {
            status: 503,
            code: 'SERVER_CLOSING',
            reason: 'server is shutting down',
            headers: [['Retry-After', String(RETRY_AFTER_CLOSING_S)]] as Array<[string, string]>,
            body: 'Service Unavailable',
          };
    if (answer.code !== 'UPGRADE_REQUIRED') {
      this.report(req.socket.remoteAddress, answer.status, answer.code, answer.reason, req);
    }
    const headers: Record<string, string | number> = {
      'Content-Type': 'text/plain',
      'Content-Length': Buffer.byteLength(answer.body),
      Connection: 'close',
    };
    for (const [name, value] of answer.headers) headers[name] = value;
    res.writeHead(answer.status, headers);
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  }

  /**
   * A handshake during `close()`: 503 + `Retry-After`, so that a client or load balancer retries
   * (elsewhere, during a rolling deploy) instead of reading 426 as "upgrade", which it just did.
   */
  private rejectClosing(socket: TrackedSocket, req: IncomingMessage): void {
    this.reject(socket, req, 503, 'SERVER_CLOSING', 'server is shutting down', [
      ['Retry-After', String(RETRY_AFTER_CLOSING_S)],
    ]);
  }

  private armGrace(socket: TrackedSocket, ms: number): void {
    if (socket.destroyed) return;
    // Never read what follows a refused request (H8): stop reading, destroy after the grace.
    socket.pause();
    const timer = setTimeout(destroySocket, ms, socket);
    timer.unref();
    socket[kGraceTimer] = timer;
    // Clears the timer and releases the slot (if the socket holds one) when the socket ends.
    socket.on('close', onTrackedSocketClose);
  }
}

/** Node's `rawHeaders` (flat name/value list) as lower-cased pairs, duplicates kept in order. */
function rawHeaderPairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i].toLowerCase(), raw[i + 1]]);
  return out;
}
