/**
 * WebSockets over HTTP/2 (RFC 8441) for `WebSocketServer`: extended CONNECT streams on Node's
 * core `'stream'` API, validated by the sans-I/O `validateExtendedConnect`
 * (src/protocol/handshake/extended-connect.ts) with the server's own Origin and Host policy,
 * then driven by the same `SocketDriver` and `WebSocket` as an HTTP/1.1 socket (the stream is
 * a Duplex: DATA frames carry the WebSocket bytes, END_STREAM plays the role of TCP FIN,
 * RST_STREAM of a TCP reset, RFC 8441 §5).
 *
 * Flow per stream: extended CONNECT? → server state, handshake rate, connection caps (the
 * WebSocketServer's own, shared with HTTP/1.1) → WebSockets on this session under
 * `maxWebSocketsPerSession` (503) → `path` → `validateExtendedConnect` → subprotocol →
 * permessage-deflate → verifyClient → `:status 200` → `WebSocket.setSocket(stream)`.
 * A refusal answers `:status` 4xx/5xx with a short text body and END_STREAM, is reported by
 * 'rejected', and the stream is reset after a short grace if the peer keeps it open.
 *
 * SETTINGS_ENABLE_CONNECT_PROTOCOL is advertised only while a WebSocketServer handles the
 * streams: a server that advertises it and then refuses every extended CONNECT makes browsers
 * fail their WebSockets instead of using HTTP/1.1 (Chrome does not retry; Go's net/http turned
 * its own support off by default for this reason, golang/go#71128).
 */
import { nodeHttp2 } from './builtins.js';
import type {
  Http2SecureServer,
  Http2Server,
  Http2ServerRequest,
  Http2ServerResponse,
  Http2Session,
  IncomingHttpHeaders,
  SecureServerOptions,
  ServerHttp2Stream,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ExtendedConnectAccepted, H2Field } from '../protocol/handshake/extended-connect.js';
import {
  buildExtendedConnectAccept,
  isExtendedConnect,
  validateExtendedConnect,
} from '../protocol/handshake/extended-connect.js';
import { isToken, isValidFieldValue } from '../protocol/handshake/header-tokens.js';
import type { ServerPolicy } from '../protocol/handshake/server.js';
import { negotiateDeflateServer } from '../protocol/extensions/permessage-deflate.js';
import type { PerMessageDeflateOptions } from '../protocol/extensions/permessage-deflate.js';
import type { Extension } from '../protocol/extensions/extension.js';
import { createDeflateExtension } from './deflate-codec.js';
import type { CompressionBudget } from './compression-budget.js';
import { WebSocket } from './websocket.js';
import type { DriverConfig } from './driver-contract.js';
import {
  DEFAULT_H2_CONNECTION_WINDOW_SIZE,
  DEFAULT_H2_INITIAL_WINDOW_SIZE,
  DEFAULT_H2_MAX_CONCURRENT_STREAMS,
  DEFAULT_H2_MAX_SESSION_MEMORY_MB,
  DEFAULT_H2_MAX_WEBSOCKETS_PER_SESSION,
  REJECT_GRACE_MS,
} from './limits.js';

/** HTTP/2 options of `WebSocketServer` (the `http2` option). */
export interface Http2Options {
  /**
   * Most WebSockets open at once on one HTTP/2 session (connection); the next extended CONNECT
   * is refused with 503 `TOO_MANY_WEBSOCKETS_PER_SESSION`. Default 100.
   */
  maxWebSocketsPerSession?: number;
}

/**
 * Options of the HTTP/2 server a standalone `WebSocketServer` creates (`port` + `http2`): TLS
 * credentials (required: browsers speak HTTP/2 only over TLS) and the HTTP/2 limits. The server
 * also accepts HTTP/1.1 (`allowHTTP1`) and its WebSocket upgrades on the same port.
 */
export interface Http2ServerOptions
  extends
    Http2Options,
    Pick<
      SecureServerOptions,
      | 'key'
      | 'cert'
      | 'ca'
      | 'pfx'
      | 'passphrase'
      | 'minVersion'
      | 'ciphers'
      | 'secureContext'
      | 'requestCert'
    > {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams of any kind a peer may have open. Default 256. */
  maxConcurrentStreams?: number;
  /** Node's `maxSessionMemory` in MB (new streams refused past it). Default 10. */
  maxSessionMemory?: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE: per-stream receive window, bytes. Default 65,535. */
  initialWindowSize?: number;
  /**
   * Connection-level receive window, bytes (WINDOW_UPDATE on stream 0 right after the
   * preface). Default 1 MiB (RFC 9113's initial value is 65,535, which lets one connection
   * carry only 64 KiB per round trip for all its WebSockets together). Not a memory bound by
   * itself: what a paused WebSocket can park is bounded by its stream window.
   */
  connectionWindowSize?: number;
}

/** Any HTTP/2 server Node can make (TLS or cleartext h2c). */
export type AnyHttp2Server = Http2SecureServer | Http2Server;

/** The request object given to 'connection', `verifyClient`, `handleProtocols` over HTTP/2. */
export type Http2UpgradeRequest = Http2ServerRequest;

/** True for a `node:http2` server (`createSecureServer` / `createServer`). */
export function isHttp2Server(server: unknown): server is AnyHttp2Server {
  return (
    typeof server === 'object' &&
    server !== null &&
    typeof (server as { updateSettings?: unknown }).updateSettings === 'function'
  );
}

/**
 * What the HTTP/2 adapter needs from its `WebSocketServer` (the same caps, policy and
 * bookkeeping as HTTP/1.1). Implemented by `WebSocketServer._http2Host()`.
 * @internal
 */
export interface Http2Host {
  readonly handshakeTimeout: number;
  readonly deflate: PerMessageDeflateOptions | null;
  /** The server's permessage-deflate state budget (compression-budget.ts). */
  readonly compressionBudget: CompressionBudget | null;
  /** The driver settings its connections share (`serverDriverConfig`). */
  readonly driverConfig: DriverConfig;
  readonly handleProtocols:
    ((protocols: Set<string>, req: IncomingMessage) => string | false) | undefined;
  readonly verifyClient:
    | ((info: { origin: string | undefined; secure: boolean; req: IncomingMessage }) => boolean)
    | ((
        info: { origin: string | undefined; secure: boolean; req: IncomingMessage },
        cb: (
          ok: boolean,
          code?: number,
          message?: string,
          headers?: Record<string, string>,
        ) => void,
      ) => void)
    | undefined;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount(event: string | symbol): number;
  /** An application callback failed during a handshake: 'error' if listened for, else a warning. */
  handshakeFailed(error: unknown): void;
  /** Server state, rate limit and connection caps; a refusal or null (slot taken). */
  admit(
    stream: Duplex,
  ): { status: number; code: string; reason: string; headers?: Array<[string, string]> } | null;
  /** Whether the `path` option accepts this request target. */
  shouldHandle(req: IncomingMessage): boolean;
  policy(stream: Duplex, secure: boolean): ServerPolicy<IncomingMessage>;
  /** Reports a refusal ('rejected' event). */
  reported(stream: Duplex, status: number, code: string, reason: string): void;
  /** Still accepting new connections (not closing). */
  running(): boolean;
  /** Registers the accepted WebSocket (clients, shutdown) once `setSocket` ran. */
  adopt(ws: WebSocket, stream: Duplex): void;
}

const kSessionCount = Symbol('ironsock.h2WebSockets');
const kCompatRequest = Symbol('ironsock.h2Request');
const kOurs = Symbol('ironsock.h2Ours');
type Session = Http2Session & { [kSessionCount]?: number };
type Stream = ServerHttp2Stream & {
  [kCompatRequest]?: Http2ServerRequest;
  [kOurs]?: boolean;
  remoteAddress?: string;
  encrypted?: boolean;
};

function destroyStream(stream: Duplex): void {
  stream.destroy();
}
function ignore(): void {}

/**
 * Answers a refused extended CONNECT: `:status`, a text body with the reason, END_STREAM. The
 * stream is reset after a short grace if the peer keeps its side open (its DATA is never read).
 */
function answer(
  stream: ServerHttp2Stream,
  status: number,
  reason: string,
  extra: ReadonlyArray<readonly [string, string]> = [],
): void {
  stream.on('error', ignore);
  if (!stream.destroyed && !stream.headersSent) {
    const headers: Record<string, string | number> = {
      ':status': status,
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    };
    for (const [name, value] of extra) {
      const lower = name.toLowerCase();
      if (isToken(lower) && isValidFieldValue(value) && !FORBIDDEN.has(lower))
        headers[lower] = value;
    }
    try {
      stream.respond(headers);
      stream.end(`${reason}\n`);
    } catch {
      stream.destroy();
      return;
    }
  }
  const timer = setTimeout(destroyStream, REJECT_GRACE_MS, stream);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
}

/** Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2). */
const FORBIDDEN = new Set([
  'connection',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
]);

/** Node's flat raw header list (`[name, value, ...]`) as lower-cased pairs. */
function fieldsOf(raw: readonly string[] | undefined, headers: IncomingHttpHeaders): H2Field[] {
  const out: Array<[string, string]> = [];
  if (raw !== undefined && raw.length > 0) {
    for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i].toLowerCase(), raw[i + 1]]);
    return out;
  }
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) out.push([name, v]);
    else if (value !== undefined) out.push([name, String(value)]);
  }
  return out;
}

/**
 * The HTTP/2 side of one `WebSocketServer` attached to one HTTP/2 server: turns on
 * SETTINGS_ENABLE_CONNECT_PROTOCOL for the server's new sessions and handles their extended
 * CONNECT streams. Other streams (the page, its assets) are left to the application.
 * @internal
 */
export class Http2Attachment {
  private readonly host: Http2Host;
  private readonly server: AnyHttp2Server | null;
  private readonly maxPerSession: number;
  private readonly onStream: (
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    flags: number,
    rawHeaders?: string[],
  ) => void;
  private readonly onConnect: (req: Http2ServerRequest, res: Http2ServerResponse) => void;

  constructor(host: Http2Host, server: AnyHttp2Server | null, options: Http2Options = {}) {
    this.host = host;
    this.server = server;
    const max = options.maxWebSocketsPerSession ?? DEFAULT_H2_MAX_WEBSOCKETS_PER_SESSION;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(
        `http2.maxWebSocketsPerSession must be a positive integer, got ${String(max)}`,
      );
    }
    this.maxPerSession = max;
    this.onStream = (stream, headers, _flags, rawHeaders) => {
      if (headers[':method'] !== 'CONNECT' || headers[':protocol'] === undefined) return;
      const ours = stream as Stream;
      ours[kOurs] = true;
      // Node's compatibility layer (a 'request' listener on the server) builds its own
      // Http2ServerRequest during this same emit and offers it on 'connect': wait for the
      // other 'stream' listeners, then use that one if it exists.
      queueMicrotask(() => {
        this.handleNodeStream(stream, headers, rawHeaders, ours[kCompatRequest], (ws, request) =>
          host.emit('connection', ws, request),
        );
      });
    };
    this.onConnect = (req, res) => {
      const stream = req.stream as Stream;
      // Node's compatibility layer may run before or after our 'stream' listener.
      if (stream[kOurs] === true || req.headers[':protocol'] !== undefined) {
        stream[kCompatRequest] = req;
        return;
      }
      // A CONNECT that is not a WebSocket: if nobody else listens for 'connect', answer as
      // Node would without our listener (405), instead of leaving the stream hanging.
      if (server !== null && server.listenerCount('connect') === 1) {
        res.statusCode = 405;
        res.end();
      }
    };
    if (server !== null) {
      server.on('stream', this.onStream);
      server.on('connect', this.onConnect);
      server.updateSettings({ enableConnectProtocol: true });
    }
  }

  /** Stops handling streams and stops advertising the setting to new sessions. */
  detach(): void {
    const server = this.server;
    if (server === null) return;
    server.removeListener('stream', this.onStream);
    server.removeListener('connect', this.onConnect);
    server.updateSettings({ enableConnectProtocol: false });
  }

  /**
   * `handleStream` from the arguments of Node's 'stream' event; `req` is the compatibility
   * layer's request when it made one, else one is made here.
   */
  handleNodeStream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    rawHeaders: readonly string[] | undefined,
    req: Http2ServerRequest | undefined,
    cb: (ws: WebSocket, req: Http2ServerRequest) => void,
  ): void {
    const request =
      req ?? new (nodeHttp2().Http2ServerRequest)(stream, headers, {}, [...(rawHeaders ?? [])]);
    this.handleStream(stream, request, fieldsOf(rawHeaders, headers), cb);
  }

  /**
   * Runs the WebSocket handshake on one extended CONNECT stream (noServer mode, or from the
   * server's 'stream' event). `cb(ws, req)` is called on success; refusals are answered with
   * END_STREAM and reported ('rejected').
   */
  handleStream(
    stream: ServerHttp2Stream,
    req: Http2ServerRequest,
    fields: readonly H2Field[],
    cb: (ws: WebSocket, req: Http2ServerRequest) => void,
  ): void {
    const host = this.host;
    const tracked = stream as Stream;
    stream.on('error', ignore);
    if (stream.destroyed || stream.headersSent) return;
    const session = stream.session as Session | undefined;
    const socket = session?.socket as (Socket & { encrypted?: boolean }) | undefined;
    // ws users read `ws._socket.remoteAddress`: the stream answers for its connection.
    tracked.remoteAddress = socket?.remoteAddress;
    const secure = session?.encrypted === true || socket?.encrypted === true;
    tracked.encrypted = secure;
    const request = req as unknown as IncomingMessage;

    const refusal = host.admit(stream);
    if (refusal !== null) {
      this.refuse(stream, refusal.status, refusal.code, refusal.reason, refusal.headers);
      return;
    }
    if (this.refusedAsSessionFull(stream, session)) return;
    if (!host.shouldHandle(request)) {
      this.refuse(stream, 400, 'PATH_NOT_HANDLED', 'unknown path');
      return;
    }
    if (!isExtendedConnect(fields)) {
      this.refuse(stream, 400, 'MISSING_UPGRADE', 'not an extended CONNECT');
      return;
    }
    const decision = validateExtendedConnect(fields, host.policy(stream, secure), request);
    if (!decision.ok) {
      if (host.listenerCount('wsClientError') > 0) {
        const error = Object.assign(new Error(decision.reason), {
          code: decision.code,
          status: decision.status,
        });
        host.emit('wsClientError', error, stream, req);
        return;
      }
      this.refuse(stream, decision.status, decision.code, decision.reason, decision.headers);
      return;
    }

    // RFC 6455 §4.2.2 step 5.3, unchanged by RFC 8441: one of the offered subprotocols, or none.
    let protocol: string | undefined;
    if (decision.protocols.length > 0) {
      let selected: string | false;
      try {
        selected = host.handleProtocols
          ? host.handleProtocols(new Set(decision.protocols), request)
          : decision.protocols[0];
      } catch (error) {
        host.handshakeFailed(error);
        this.refuse(stream, 500, 'HANDLE_PROTOCOLS_FAILED', 'internal error');
        return;
      }
      if (selected !== false) protocol = selected;
    }
    let deflate: { response: string; params: unknown } | null = null;
    if (host.deflate !== null && decision.extensions.length > 0) {
      try {
        deflate = negotiateDeflateServer(decision.extensions, host.deflate);
      } catch (error) {
        host.handshakeFailed(error);
        this.refuse(stream, 500, 'DEFLATE_NEGOTIATION_FAILED', 'internal error');
        return;
      }
    }

    const complete = (): void => this.complete(stream, req, decision, protocol, deflate, cb);
    const verify = host.verifyClient;
    if (verify === undefined) {
      complete();
      return;
    }
    const info = { origin: decision.origin, secure, req: request };
    if (verify.length < 2) {
      let ok: boolean;
      try {
        ok = (verify as (i: typeof info) => boolean)(info);
      } catch (error) {
        host.handshakeFailed(error);
        this.refuse(stream, 500, 'VERIFY_CLIENT_FAILED', 'internal error');
        return;
      }
      if (!ok) this.refuse(stream, 401, 'VERIFY_CLIENT', 'unauthorized');
      else complete();
      return;
    }
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      this.refuse(stream, 408, 'HANDSHAKE_TIMEOUT', 'handshake timed out');
    }, host.handshakeTimeout);
    try {
      (
        verify as (
          i: typeof info,
          cb: (
            ok: boolean,
            code?: number,
            message?: string,
            headers?: Record<string, string>,
          ) => void,
        ) => void
      )(info, (result, code, message, headers) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (stream.destroyed) return;
        if (!result) {
          const status = code !== undefined && code >= 400 && code <= 599 ? code : 401;
          const extra =
            headers === undefined ? [] : (Object.entries(headers) as Array<[string, string]>);
          this.refuse(stream, status, 'VERIFY_CLIENT', message ?? 'unauthorized', extra);
          return;
        }
        complete();
      });
    } catch (error) {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        host.handshakeFailed(error);
        this.refuse(stream, 500, 'VERIFY_CLIENT_FAILED', 'internal error');
      }
    }
  }

  private complete(
    stream: ServerHttp2Stream,
    req: Http2ServerRequest,
    decision: ExtendedConnectAccepted,
    protocol: string | undefined,
    deflate: { response: string; params: unknown } | null,
    cb: (ws: WebSocket, req: Http2ServerRequest) => void,
  ): void {
    const host = this.host;
    if (stream.destroyed || stream.headersSent || !stream.writable) {
      stream.destroy();
      return;
    }
    if (!host.running()) {
      this.refuse(stream, 503, 'SERVER_CLOSING', 'server is shutting down');
      return;
    }
    const session = stream.session as Session | undefined;
    if (this.refusedAsSessionFull(stream, session)) return;
    // The compression budget is charged where the connection is certain (as over HTTP/1.1).
    const budget = host.compressionBudget;
    let reserved = 0;
    if (deflate !== null && budget !== null && host.deflate !== null) {
      const admitted = budget.admit(decision.extensions, host.deflate);
      deflate = admitted;
      if (admitted !== null) reserved = admitted.reserved;
    }
    let fields: Array<[string, string]>;
    try {
      fields = buildExtendedConnectAccept({
        protocol,
        offeredProtocols: decision.protocols,
        extensions: deflate === null ? undefined : deflate.response,
      });
      if (host.listenerCount('headers') > 0) {
        // ws's 'headers' event: the application may add lines (`name: value`), checked as
        // strictly as the library's own (H10): no CR/LF, no connection-specific field.
        const lines = fields.slice(1).map(([n, v]) => `${n}: ${v}`);
        host.emit('headers', lines, req);
        const extra: Array<[string, string]> = [];
        for (const line of lines.slice(fields.length - 1)) {
          const colon = line.indexOf(':');
          if (colon <= 0) throw new Error('response header line without a name');
          extra.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
        }
        fields = buildExtendedConnectAccept({
          protocol,
          offeredProtocols: decision.protocols,
          extensions: deflate === null ? undefined : deflate.response,
          headers: extra,
        });
      }
    } catch (error) {
      if (reserved > 0) budget?.release(reserved);
      host.handshakeFailed(error);
      this.refuse(stream, 500, 'INVALID_RESPONSE', 'internal error');
      return;
    }
    const headers: Record<string, string> = Object.create(null);
    for (const [name, value] of fields) {
      const previous = headers[name];
      headers[name] = previous === undefined ? value : `${previous}, ${value}`;
    }
    let extension: Extension | null = null;
    if (deflate !== null && host.deflate !== null) {
      const onDispose = reserved > 0 ? () => budget?.release(reserved) : undefined;
      extension = createDeflateExtension(deflate.params as never, 'server', host.deflate, {
        onDispose,
      });
    }
    try {
      // RFC 8441 §5: a 2xx answer opens the WebSocket; the stream stays open both ways.
      stream.respond(headers);
    } catch (error) {
      extension?.dispose();
      host.handshakeFailed(error);
      stream.destroy();
      return;
    }
    if (session !== undefined) {
      session[kSessionCount] = (session[kSessionCount] ?? 0) + 1;
      stream.once('close', () => {
        session[kSessionCount] = (session[kSessionCount] ?? 1) - 1;
      });
    }
    const ws = new WebSocket(null);
    ws.setSocket(
      stream,
      undefined,
      {
        protocol: protocol ?? '',
        extensions: deflate === null ? '' : deflate.response,
        extension,
      },
      host.driverConfig,
    );
    stream.removeListener('error', ignore);
    host.adopt(ws, stream);
    cb(ws, req);
  }

  /**
   * Refuses the stream with 503 when its HTTP/2 connection already carries `maxPerSession`
   * WebSockets: checked on arrival and again in `complete`, where the stream becomes a WebSocket
   * (an asynchronous `verifyClient` may have let other streams in meanwhile).
   */
  private refusedAsSessionFull(stream: ServerHttp2Stream, session: Session | undefined): boolean {
    if (session === undefined || (session[kSessionCount] ?? 0) < this.maxPerSession) return false;
    this.refuse(
      stream,
      503,
      'TOO_MANY_WEBSOCKETS_PER_SESSION',
      'too many WebSockets on this connection',
    );
    return true;
  }

  private refuse(
    stream: ServerHttp2Stream,
    status: number,
    code: string,
    reason: string,
    headers: ReadonlyArray<readonly [string, string]> = [],
  ): void {
    this.host.reported(stream, status, code, reason);
    answer(stream, status, reason, headers);
  }
}

/** The answer of a standalone server to plain requests: 426 (see `createHttp2Server`). */
function upgradeRequired(
  req: Http2ServerRequest | IncomingMessage,
  res: Http2ServerResponse | ServerResponse,
): void {
  const body = 'Upgrade Required\n';
  if (req.httpVersionMajor >= 2) {
    (res as Http2ServerResponse).writeHead(426, {
      'content-length': body.length,
      'content-type': 'text/plain',
    });
  } else {
    (res as ServerResponse).writeHead(426, {
      'Content-Length': body.length,
      'Content-Type': 'text/plain',
      Connection: 'close',
      Upgrade: 'websocket',
    });
  }
  res.end(body);
}

/**
 * Creates the HTTP/2 server of a standalone `WebSocketServer` (`port` + `http2`): TLS with ALPN
 * `h2` and `http/1.1` (`allowHTTP1`), SETTINGS from the options (ENABLE_CONNECT_PROTOCOL is set
 * by the attachment), `headersTimeout`/`requestTimeout` for HTTP/1.1 set to the handshake
 * timeout. Plain requests go to `handler`; by default they get 426 (HTTP/1.1, with
 * `Upgrade: websocket`) or 426 without that field over HTTP/2 (connection-specific fields are
 * forbidden there). `ironsock serve --http2` passes its demo page handler.
 * @throws TypeError without `key`+`cert` or `pfx`.
 */
export function createHttp2Server(
  options: Http2ServerOptions,
  handshakeTimeout: number,
  handler: (
    req: Http2ServerRequest | IncomingMessage,
    res: Http2ServerResponse | ServerResponse,
  ) => void = upgradeRequired,
): Http2SecureServer {
  if ((options.key === undefined || options.cert === undefined) && options.pfx === undefined) {
    throw new TypeError('The "http2" option needs TLS credentials: key and cert (or pfx)');
  }
  const {
    maxWebSocketsPerSession,
    maxConcurrentStreams,
    maxSessionMemory,
    initialWindowSize,
    connectionWindowSize,
    ...tls
  } = options;
  void maxWebSocketsPerSession;
  const server = nodeHttp2().createSecureServer(
    {
      ...tls,
      allowHTTP1: true,
      maxSessionMemory: maxSessionMemory ?? DEFAULT_H2_MAX_SESSION_MEMORY_MB,
      settings: {
        maxConcurrentStreams: maxConcurrentStreams ?? DEFAULT_H2_MAX_CONCURRENT_STREAMS,
        initialWindowSize: initialWindowSize ?? DEFAULT_H2_INITIAL_WINDOW_SIZE,
      },
    },
    handler,
  );
  const timed = server as Http2SecureServer & { headersTimeout?: number; requestTimeout?: number };
  timed.headersTimeout = handshakeTimeout;
  timed.requestTimeout = handshakeTimeout;
  // `WebSocketServer.close()` calls `closeAllConnections()` on servers it created: give this
  // one that method too (HTTP/2 sessions and HTTP/1.1 sockets alike).
  const sockets = new Set<Socket>();
  const connectionWindow = connectionWindowSize ?? DEFAULT_H2_CONNECTION_WINDOW_SIZE;
  server.on('session', (session: Http2Session) => {
    session.once('localSettings', () => {
      if (!session.destroyed) session.setLocalWindowSize(connectionWindow);
    });
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  (server as Http2SecureServer & { closeAllConnections(): void }).closeAllConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  return server;
}
