/**
 * The client side of the opening handshake over Node's HTTP client (RFC 6455 §4.1): URL checks,
 * the upgrade request through `http.request`/`https.request` (so `ws`'s `agent` and
 * `createConnection` options work, proxy agents included), the response checks, optional
 * redirects, and permessage-deflate negotiation. On success the socket is handed to the
 * `WebSocket` with `setSocket`; on failure `failHandshake` is called exactly once and the socket is
 * destroyed (never an `open` event).
 *
 * The request head is built and the 101 is judged by the sans-I/O code in
 * `src/protocol/handshake/client.ts` (`createClientRequestHead`, `validateServerResponse`); Node
 * parses the response (llhttp, so malformed responses fail with its `HPE_*` codes) and owns the
 * connection until the 101 or the final response.
 *
 * Differences from `ws` (all on the side of safety):
 * - `handshakeTimeout` defaults to 10 s and covers the whole handshake, redirects included, and
 *   the time an `unexpected-response` listener spends on the response (`ws` has no default).
 * - After `unexpected-response` the `WebSocket` closes (1006, no `error` event) once the response
 *   is over: read to its end, its connection closed, the deadline passed, or more than
 *   `maxResponseBodyBytes` (1 MiB) of body arrived, which cuts it. `ws` stays CONNECTING until
 *   the listener aborts the request.
 * - On a redirect that leaves the origin, `Authorization`, `Cookie`, a custom `Host` and URL
 *   credentials are dropped even when a `redirect` listener exists (it may set them again).
 *   `wss:` to `ws:` is refused, as are schemes other than ws/wss/http/https (`ws+unix:` too).
 * - TLS failures are wrapped in `ClientHandshakeError` `TLS_FAILED` (close code 1015, original
 *   error as `cause`); `rejectUnauthorized` is always passed explicitly (default true).
 * - A 101 with `Upgrade`/`Accept`/subprotocol/extensions headers repeated, or a response head over
 *   16 KiB (`HPE_HEADER_OVERFLOW`), fails the handshake.
 * - `'upgrade'` is emitted only for a 101 that passed every check, just before `'open'`.
 */
import type * as http from 'node:http';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { nodeHttp, nodeHttps, nodeNet, nodeTls } from './builtins.js';
import type { Duplex } from 'node:stream';
import type { Extension, ExtensionOffer } from '../protocol/extensions/extension.js';
import {
  createClientRequestHead,
  validateServerResponse,
  type ClientRequestHead,
  type ResponseHead,
} from '../protocol/handshake/index.js';
import {
  acceptDeflateResponse,
  createDeflateOffer,
  type PerMessageDeflateOptions,
} from '../protocol/extensions/permessage-deflate.js';
import { createDeflateExtension } from './deflate-codec.js';
import { nodePlatform } from './platform.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_HEAD_BYTES } from './limits.js';
import { DEFAULT_MAX_PAYLOAD } from '../protocol/limits.js';
import { ClientErrorCode, ClientHandshakeError } from './client-errors.js';
import {
  TLS_OPTION_NAMES,
  normalizeProtocols,
  parseClientUrl,
  type ClientTarget,
} from './client-url.js';
import { applyRedirectPolicy, isRedirectStatus } from './client-redirect.js';
import {
  openTunnel,
  resolveProxy,
  type PendingTunnel,
  type ProxyOption,
  type ProxyTarget,
} from './client-proxy.js';
import { startHttp2ClientHandshake, wantsHttp2, type ClientHttp2Mode } from './client-http2.js';
import { wsClientWording } from './ws-wording.js';
import { installClientHandshake } from './websocket.js';

export { ClientErrorCode, ClientHandshakeError, ClientSyntaxError } from './client-errors.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Default for `maxRedirects` (as `ws`). */
export const DEFAULT_MAX_REDIRECTS = 10;

/**
 * Default cap of the body of a non-101 response read by an `unexpected-response` listener:
 * 1 MiB (python websockets uses the same). Blunts a server answering with an endless body
 * (checklist K4).
 */
export const DEFAULT_MAX_RESPONSE_BODY = 1024 * 1024;

/** TLS options passed through to `tls.connect` for `wss:` URLs (same names and meaning). */
export type ClientTlsOptions = Pick<
  tls.ConnectionOptions,
  | 'ca'
  | 'cert'
  | 'key'
  | 'pfx'
  | 'passphrase'
  | 'servername'
  | 'checkServerIdentity'
  | 'minVersion'
  | 'maxVersion'
  | 'ciphers'
  | 'ecdhCurve'
  | 'crl'
  | 'sigalgs'
  | 'secureContext'
  | 'secureOptions'
  | 'session'
  | 'ALPNProtocols'
> & {
  /**
   * Verify the server's certificate chain and name (default **true**). Only an explicit `false`
   * turns verification off (it is then open to any man in the middle); `NODE_TLS_REJECT_UNAUTHORIZED`
   * is ignored because this option is always passed explicitly.
   */
  rejectUnauthorized?: boolean;
};

/**
 * The `createConnection` option (as Node's `http.request` and `ws`): returns the socket for the
 * request, or calls `oncreate(error, socket)` later and returns nothing.
 */
export type CreateConnection = (
  options: http.ClientRequestArgs,
  oncreate: (error: Error | null, socket: Duplex) => void,
) => Duplex | null | undefined;

/** Options of the client handshake; names and meanings follow `ws` where `ws` has them. */
export interface ClientOptions extends ClientTlsOptions {
  /**
   * Extra request headers. Names are case-insensitive; values may not contain CR or LF.
   * `Authorization` and `Cookie` are dropped when a redirect leaves the origin.
   */
  headers?: Record<string, string | number | readonly string[] | undefined>;
  /**
   * `user:password` sent as Basic `Authorization` to the first host (ws name), when the URL has
   * no credentials of its own (credentials written in the URL win, as in `ws`). An explicit
   * `Authorization` header wins over both. Never sent to another origin after a redirect.
   */
  auth?: string;
  /** Value of the `Origin` header (§4.1 item 8, §10.2). Default: none (non-browser client). */
  origin?: string;
  /**
   * Milliseconds allowed for the whole opening handshake: connect, TLS, response head, every
   * redirect hop, and the time an `unexpected-response` listener reads the response.
   * Default 10,000 (`ws` has no default). Blunts servers that accept TCP and never answer
   * (checklist K6).
   */
  handshakeTimeout?: number;
  /** Largest message accepted, in bytes after decompression. Default 1 MiB. */
  maxPayload?: number;
  /**
   * Follow 301/302/303/307/308 redirects (ws semantics: `'redirect'` is emitted with the new URL
   * and the request before it is sent; `ws.url` shows the new URL). Default false (browser
   * behaviour). ironsock's policy on top: never from `wss:` to `ws:`, never to `ws+unix:`, and
   * credentials never follow a redirect to another origin (checklist K5).
   */
  followRedirects?: boolean;
  /**
   * Most redirects followed: the one past it fails with `TOO_MANY_REDIRECTS` ("Maximum
   * redirects exceeded"). Default 10, as `ws`.
   */
  maxRedirects?: number;
  /**
   * The `Sec-WebSocket-Version` to send: 13 (default, RFC 6455) or 8 (the last hybi draft, whose
   * framing is the same; the `origin` option is then sent as `Sec-WebSocket-Origin`, as `ws`
   * does). Any other value throws `RangeError('Unsupported protocol version: <v> (supported
   * versions: 8, 13)')`. ironsock's server accepts 13 only.
   */
  protocolVersion?: number;
  /**
   * permessage-deflate (RFC 7692): `true` (default, offered as browsers do), options, or `false`.
   * Inflation is always bounded by `maxPayload`.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Most bytes of a non-101 response body an `unexpected-response` listener can read (counted
   * as received, chunk framing included); past it the response is cut (`res` emits `aborted`)
   * and the connection destroyed. Default 1 MiB.
   */
  maxResponseBodyBytes?: number;
  /** IP family for the host name lookup (4 or 6; default: both). */
  family?: number;
  /** Local address to bind the outgoing connection to. */
  localAddress?: string;
  /** Custom DNS lookup function (as `net.connect`). */
  lookup?: net.LookupFunction;
  /**
   * An `http.Agent` (or `https.Agent` for `wss:`) that provides the connection, as in `ws`:
   * proxy agents such as `https-proxy-agent` work through it. The TLS options above are passed
   * to the agent with the request. Default: none (one fresh connection per WebSocket).
   */
  agent?: http.Agent;
  /**
   * Makes the connection instead of `net.connect`/`tls.connect` (Node's and `ws`'s option):
   * gets the request options (`host`, `port`, `servername`, the TLS options...) and returns the
   * socket, or calls `oncreate(error, socket)` later. Ignored when `agent` is set (as in Node).
   */
  createConnection?: CreateConnection;
  /**
   * Called instead of `request.end()` to finish the upgrade request (ws option), e.g. to write
   * extra bytes first. Default: `request.end()`.
   */
  finishRequest?: (request: http.ClientRequest, websocket: unknown) => void;
  /**
   * Tunnel through an HTTP proxy with `CONNECT` (RFC 9110 §9.3.6), for `ws:` and `wss:` alike;
   * for `wss:` TLS runs end to end inside the tunnel (SNI and the certificate check are against
   * the target, never the proxy). Default: off.
   * - `'http://[user:pass@]host[:port]'` (or a `URL`): that proxy for every target. The
   *   credentials go in `Proxy-Authorization` on the CONNECT only, never to the target.
   * - `'env'`: `https_proxy`/`HTTPS_PROXY` for `wss:`, `http_proxy`/`HTTP_PROXY` for `ws:` (lower
   *   case first), skipped for hosts listed in `no_proxy`/`NO_PROXY` (`*`, names that also cover
   *   subdomains, IP literals, optional `:port`); none set means a direct connection.
   * Nothing is sent to the target before the proxy's 2xx. A 407 fails with
   * `PROXY_AUTH_REQUIRED`, another status with `PROXY_REFUSED`, an unreachable or broken proxy
   * with `PROXY_FAILED`; a tunnel that closes before the 101 fails with `CONNECTION_CLOSED`.
   * Cannot be combined with `agent` or `createConnection` (a TypeError: those make their own
   * connections; give the proxy to the agent instead). `ws+unix:` URLs never use a proxy.
   */
  proxy?: ProxyOption;
  /**
   * WebSockets over HTTP/2 (RFC 8441) for `wss:` URLs. `'auto'`: use HTTP/2 when the server
   * selects ALPN `h2` and advertises SETTINGS_ENABLE_CONNECT_PROTOCOL, sharing one connection
   * per origin between sockets; otherwise fall back to HTTP/1.1 on a fresh connection.
   * `true`: HTTP/2 or fail (`HTTP2_UNSUPPORTED`). `false` (default, as `ws`): HTTP/1.1 only.
   * Over HTTP/2 redirects are not followed. See client-http2.ts.
   */
  http2?: ClientHttp2Mode;
}

/** Node's response type, as given to `unexpected-response` and `upgrade` listeners. */
export type HandshakeResponse = http.IncomingMessage;

/** What the negotiation settled, passed to `setSocket` on success. */
export interface ClientHandshakeResult {
  /** The subprotocol the server selected, or '' (§4.1 item 6 of the response checks). */
  readonly protocol: string;
  /** The `Sec-WebSocket-Extensions` value in use, or ''. */
  readonly extensions: string;
  /** The permessage-deflate extension instance, or null. */
  readonly extension: Extension | null;
}

/**
 * The `WebSocket` methods the client handshake drives. `setSocket` must attach its own `data`,
 * `error` and `close` listeners synchronously (Node has removed its own; the socket is paused).
 * `emit` is used for `redirect` (url, `http.ClientRequest` not yet sent), `upgrade`
 * (`http.IncomingMessage`) and `unexpected-response` (`http.ClientRequest`, `http.IncomingMessage`);
 * its return value says whether a listener took the event. (Kept in the published types: the
 * signature of `startClientHandshake` names it.)
 */
export interface ClientHandshakeTarget {
  setSocket(socket: Duplex, head: Buffer, result: ClientHandshakeResult): void;
  /**
   * The handshake failed. `reported` is true when the failure was already given to an
   * `unexpected-response` listener (then no `error` event is due).
   */
  failHandshake(error: Error, reported?: boolean): void;
  emit?(event: string, ...args: unknown[]): boolean;
  /** Called with the new URL when a redirect is followed, so `ws.url` can show it. */
  setUrl?(url: string): void;
  /** Called with the request in flight (null once the handshake is over), ws's `_req`. */
  setRequest?(request: http.ClientRequest | null): void;
  /** Called with the number of redirects met so far (ws's `_redirects`). */
  setRedirects?(count: number): void;
}

/** The running handshake, as returned by {@link startClientHandshake}. */
export interface ClientHandshake {
  /** The normalised URL of the first request (`http:` mapped to `ws:`, `https:` to `wss:`). */
  readonly url: string;
  /**
   * Stops the handshake (e.g. `close()` or `terminate()` while CONNECTING): destroys the request
   * and its socket and calls `failHandshake` with an `ABORTED` error, unless the handshake already
   * settled. Returns true if it aborted something.
   */
  abort(message?: string): boolean;
}

function positiveInteger(
  name: string,
  value: number | undefined,
  fallback: number,
  allowZero = false,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new RangeError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`,
    );
  }
  return value;
}

const ignoreError = (): void => {};

/**
 * Destroys a request and socket we give up on. A no-op `error` listener stays attached, so an
 * error raised while they are torn down (ECONNRESET, EPIPE) can never become an uncaught exception.
 */
function discard(request: http.ClientRequest | null, socket: Duplex | null): void {
  if (request !== null) {
    request.on('error', ignoreError);
    request.destroy();
  }
  if (socket !== null) {
    socket.on('error', ignoreError);
    socket.destroy();
  }
}

/** Header map keyed by lower-cased name, keeping the caller's spelling for the wire. */
type HeaderMap = Map<string, [name: string, value: string]>;

function toHeaderMap(headers: ClientOptions['headers']): HeaderMap {
  const map: HeaderMap = new Map();
  if (headers === undefined) return map;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    map.set(name.toLowerCase(), [name, Array.isArray(value) ? value.join(', ') : String(value)]);
  }
  return map;
}

/** Node's parsed response as the sans-I/O `ResponseHead` (duplicates kept, names lower-cased). */
function responseHead(response: http.IncomingMessage): ResponseHead {
  const raw = response.rawHeaders;
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i].toLowerCase(), raw[i + 1]]);
  return {
    httpVersion: response.httpVersion,
    status: response.statusCode ?? 0,
    reason: response.statusMessage ?? '',
    headers,
  };
}

/**
 * Starts the opening handshake for `ws` (RFC 6455 §4.1). Checks the URL, subprotocols and
 * headers synchronously, then sends the request through `http.request`/`https.request` on the
 * next tick. Exactly one of `ws.setSocket(...)` or `ws.failHandshake(...)` is called later
 * (never synchronously).
 *
 * @param ws the `WebSocket` being opened
 * @param url `ws:`/`wss:` URL (also `http:`/`https:`, and `ws+unix:/socket:/path`)
 * @param protocols subprotocols to offer, in order of preference
 * @param options see {@link ClientOptions}
 * @throws ClientSyntaxError (`INVALID_URL`, `INVALID_SUBPROTOCOL`) for a URL or subprotocol list
 *   that can never work; RangeError for invalid numeric options; HandshakeError from the request
 *   builder for header names/values that cannot be sent (e.g. containing CR/LF).
 * @example
 * const handshake = startClientHandshake(ws, 'wss://example.com/chat', ['chat.v2'], {});
 */
export function startClientHandshake(
  ws: ClientHandshakeTarget,
  url: string | URL,
  protocols: string | readonly string[] | undefined,
  options: ClientOptions = {},
): ClientHandshake {
  // RFC 8441 (client-http2.ts); 'auto' falls back to this function with HTTP/1.1.
  if (wantsHttp2(url, options)) {
    return startHttp2ClientHandshake(ws, url, protocols, options, () =>
      startClientHandshake(ws, url, protocols, { ...options, http2: false }),
    );
  }
  const first = parseClientUrl(url);
  const protocolList = normalizeProtocols(protocols);
  const protocolVersion = options.protocolVersion ?? 13;
  if (protocolVersion !== 8 && protocolVersion !== 13) {
    throw new RangeError(
      `Unsupported protocol version: ${String(protocolVersion)} (supported versions: 8, 13)`,
    );
  }
  const timeoutMs = positiveInteger(
    'handshakeTimeout',
    options.handshakeTimeout,
    DEFAULT_HANDSHAKE_TIMEOUT_MS,
  );
  // setTimeout takes at most 2^31-1 ms (about 24.8 days); a larger value would fire at once.
  if (timeoutMs > MAX_TIMER_MS) {
    throw new RangeError(`handshakeTimeout must be at most ${MAX_TIMER_MS} ms`);
  }
  const maxRedirects = positiveInteger(
    'maxRedirects',
    options.maxRedirects,
    DEFAULT_MAX_REDIRECTS,
    true,
  );
  const maxBody = positiveInteger(
    'maxResponseBodyBytes',
    options.maxResponseBodyBytes,
    DEFAULT_MAX_RESPONSE_BODY,
    true,
  );
  // Checked here so a bad value throws at the constructor; the WebSocket applies it to the engine.
  positiveInteger('maxPayload', options.maxPayload, DEFAULT_MAX_PAYLOAD, true);
  if (options.agent !== undefined && options.agent !== null) {
    if (typeof (options.agent as { addRequest?: unknown }).addRequest !== 'function')
      throw new TypeError('agent must be an http.Agent (or an object with addRequest)');
  }
  if (options.createConnection !== undefined && typeof options.createConnection !== 'function')
    throw new TypeError('createConnection must be a function');
  const proxyOption = options.proxy;
  if (proxyOption !== undefined) {
    if (typeof proxyOption !== 'string' && !(proxyOption instanceof URL))
      throw new TypeError("proxy must be a URL string, a URL, or 'env'");
    if ((options.agent !== undefined && options.agent !== null) || options.createConnection)
      throw new TypeError(
        'The proxy option cannot be combined with agent or createConnection: they make their ' +
          'own connections (configure the proxy in the agent, or drop it)',
      );
    // A malformed proxy URL (or proxy variable) throws here, before any network activity.
    if (first.socketPath === undefined) resolveProxy(proxyOption, first);
  }
  const deflateOptions: PerMessageDeflateOptions | undefined =
    options.perMessageDeflate === false
      ? undefined
      : options.perMessageDeflate === true || options.perMessageDeflate === undefined
        ? {}
        : options.perMessageDeflate;
  const deflateOffer =
    deflateOptions === undefined ? undefined : createDeflateOffer(deflateOptions);

  let headers = toHeaderMap(options.headers);
  // Credentials written in the URL win over `auth` ('user:password'), as in ws.
  let credentials = first.credentials ?? options.auth;
  /** Whether the caller's own `servername` still applies (dropped after a cross-origin hop). */
  let keepServername = true;
  let redirects = 0;
  let settled = false;
  /**
   * True while the first request is created inside the constructor: a failure then is reported
   * on the next tick, so the caller has attached its listeners.
   */
  let starting = true;
  let request: http.ClientRequest | null = null;
  let socket: Duplex | null = null;
  let cleanup: (() => void) | null = null;
  /** A CONNECT tunnel being opened for the current attempt. */
  let tunnel: PendingTunnel | null = null;
  /** Set once an `unexpected-response` listener has the response: the deadline then ends it. */
  let onTimeout: (() => void) | null = null;

  const timer = setTimeout(() => {
    if (onTimeout !== null) onTimeout();
    else
      fail(
        new ClientHandshakeError(
          ClientErrorCode.HANDSHAKE_TIMEOUT,
          // ws's text; ironsock's names the deadline.
          'Opening handshake has timed out',
          { explanation: `Opening handshake has timed out after ${timeoutMs} ms` },
        ),
      );
  }, timeoutMs);

  function finish(): void {
    settled = true;
    clearTimeout(timer);
    if (cleanup !== null) cleanup();
    cleanup = null;
    onTimeout = null;
  }

  function fail(error: Error, reported = false): void {
    if (settled) return;
    finish();
    tunnel?.abort();
    tunnel = null;
    discard(request, socket);
    setRequest(null);
    socket = null;
    if (starting) process.nextTick(() => ws.failHandshake(error, reported));
    else ws.failHandshake(error, reported);
  }

  /** The request in flight, also shown to the WebSocket (ws's `_req`). */
  function setRequest(current: http.ClientRequest | null): void {
    request = current;
    if (typeof ws.setRequest === 'function') ws.setRequest(current);
  }

  /** The request head for `target` with the current header set (§4.1 items 1-10). */
  function buildHead(target: ClientTarget): ClientRequestHead {
    const extra: Array<[string, string]> = [];
    for (const [name, value] of headers.values()) extra.push([name, value]);
    if (credentials !== undefined && !headers.has('authorization')) {
      extra.push(['Authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`]);
    }
    const head = createClientRequestHead(
      {
        // The Host header is derived from these (brackets for IPv6, port when not the default).
        host: target.socketPath === undefined ? target.hostname : 'localhost',
        port: target.socketPath === undefined ? target.port : 80,
        secure: target.secure,
        path: target.path,
        protocols: protocolList,
        extensions: deflateOffer,
        // Version 8 (hybi-08) names the header Sec-WebSocket-Origin; set below.
        origin: protocolVersion === 13 ? options.origin : undefined,
        headers: extra,
      },
      nodePlatform,
    );
    if (protocolVersion === 13) return head;
    const versioned: Array<[string, string]> = head.headers.map(([name, value]) =>
      name.toLowerCase() === 'sec-websocket-version' ? [name, '8'] : [name, value],
    );
    if (options.origin !== undefined) versioned.push(['Sec-WebSocket-Origin', options.origin]);
    return { ...head, headers: versioned };
  }

  /** The TLS options for `target`: the caller's, verification explicit, SNI by the rules. */
  function tlsOptionsFor(target: ClientTarget): tls.ConnectionOptions {
    const tlsOptions: tls.ConnectionOptions = {};
    for (const name of TLS_OPTION_NAMES) {
      if (options[name] !== undefined)
        (tlsOptions as Record<string, unknown>)[name] = options[name];
    }
    // No default ever disables verification (checklist K7; CVE-2020-15133 class).
    tlsOptions.rejectUnauthorized = options.rejectUnauthorized !== false;
    // SNI for host names only: RFC 6066 §3 forbids IP literals in server_name ('' sends none).
    if (options.servername !== undefined && keepServername)
      tlsOptions.servername = options.servername;
    else tlsOptions.servername = target.ipFamily === 0 ? target.hostname : '';
    return tlsOptions;
  }

  /** The default `createConnection`: a fresh TCP (or TLS, or Unix socket) connection. */
  function directConnection(target: ClientTarget, tlsOptions: tls.ConnectionOptions): Duplex {
    if (target.socketPath !== undefined) return nodeNet.connect({ path: target.socketPath });
    const base: net.TcpNetConnectOpts = { host: target.hostname, port: target.port, noDelay: true };
    if (options.family !== undefined) base.family = options.family;
    if (options.localAddress !== undefined) base.localAddress = options.localAddress;
    if (options.lookup !== undefined) base.lookup = options.lookup;
    if (!target.secure) return nodeNet.connect(base);
    // servername '' (IP literals, or the caller's explicit '') sends no SNI; Node checks the
    // certificate against `host` then.
    return nodeTls().connect({ ...base, ...tlsOptions });
  }

  /**
   * A `createConnection` that opens a CONNECT tunnel through `proxy` and, for `wss:`, starts TLS
   * to the target inside it. Node's request waits for `oncreate`; nothing reaches the target
   * before the proxy's 2xx.
   */
  function tunnelConnection(
    target: ClientTarget,
    tlsOptions: tls.ConnectionOptions,
    proxy: ProxyTarget,
  ): CreateConnection {
    return (_requestOptions, oncreate) => {
      const connectOptions: net.TcpNetConnectOpts = { port: proxy.port };
      if (options.family !== undefined) connectOptions.family = options.family;
      if (options.localAddress !== undefined) connectOptions.localAddress = options.localAddress;
      if (options.lookup !== undefined) connectOptions.lookup = options.lookup;
      tunnel = openTunnel(proxy, target.hostname, target.port, connectOptions, (error, raw) => {
        tunnel = null;
        if (error !== null || raw === undefined) {
          oncreate(error ?? new Error('proxy tunnel failed'), undefined as unknown as Duplex);
          return;
        }
        if (!target.secure) {
          oncreate(null, raw);
          return;
        }
        // TLS to the target inside the tunnel: `host` is what the certificate is checked against
        // when there is no SNI name (an IP literal target).
        const secureOptions: tls.ConnectionOptions = {
          ...tlsOptions,
          socket: raw,
          host: target.hostname,
        };
        oncreate(null, nodeTls().connect(secureOptions));
      });
      return undefined;
    };
  }

  function attempt(target: ClientTarget, head: ClientRequestHead, redirected: boolean): void {
    const tlsOptions = target.secure ? tlsOptionsFor(target) : {};
    let proxy: ProxyTarget | undefined;
    try {
      proxy =
        proxyOption === undefined || target.socketPath !== undefined
          ? undefined
          : resolveProxy(proxyOption, target);
    } catch (error) {
      fail(error as Error);
      return;
    }
    const wire: Record<string, string> = {};
    for (const [name, value] of head.headers) wire[name] = value;
    const requestOptions: http.RequestOptions & tls.ConnectionOptions = {
      ...tlsOptions,
      method: head.method,
      host: target.socketPath === undefined ? target.hostname : 'localhost',
      // As ws: the port written in the URL as it is written (a string: `createConnection` sees
      // it so), else the default. (Node's request takes both; the TLS type says number.)
      port: (target.socketPath !== undefined
        ? undefined
        : target.url.port !== ''
          ? target.url.port
          : target.port) as number | undefined,
      path: head.path,
      headers: wire,
      setHost: false,
      // Checklist K4: the response head is capped at 16 KiB (llhttp: HPE_HEADER_OVERFLOW).
      maxHeaderSize: DEFAULT_MAX_HEAD_BYTES,
      insecureHTTPParser: false,
    };
    if (target.socketPath !== undefined) requestOptions.socketPath = target.socketPath;
    if (options.family !== undefined) requestOptions.family = options.family;
    if (options.localAddress !== undefined) requestOptions.localAddress = options.localAddress;
    if (options.lookup !== undefined) requestOptions.lookup = options.lookup;
    if (options.agent !== undefined && options.agent !== null) {
      requestOptions.agent = options.agent;
    } else if (proxy !== undefined) {
      requestOptions.createConnection = tunnelConnection(
        target,
        tlsOptions,
        proxy,
      ) as unknown as http.RequestOptions['createConnection'];
    } else {
      requestOptions.createConnection = (options.createConnection ??
        (() =>
          directConnection(
            target,
            tlsOptions,
          ))) as unknown as http.RequestOptions['createConnection'];
    }

    let current: http.ClientRequest;
    try {
      current = (target.secure ? nodeHttps() : nodeHttp).request(requestOptions);
    } catch (error) {
      fail(error as Error);
      return;
    }
    setRequest(current);
    /** TCP (or the tunnel) is up; for TLS sockets, whether the TLS handshake completed. */
    let transportUp = false;
    let secureUp = false;
    let responded = false;

    const onSocket = (created: Duplex): void => {
      socket = created;
      if (isTlsSocket(created)) {
        transportUp = !created.connecting;
        created.once('connect', () => (transportUp = true));
        created.once('secureConnect', () => (secureUp = true));
      }
    };
    const onError = (error: Error & { code?: string }): void => {
      if (settled) return;
      if (
        proxy !== undefined &&
        socket !== null &&
        !responded &&
        !secureUp &&
        error.code === 'ECONNRESET'
      ) {
        // The tunnel was up (the proxy said 2xx) and closed before any answer: the proxy (or the
        // target behind it) hung up. Not a TLS failure even for wss: no TLS record came back.
        fail(
          new ClientHandshakeError(
            ClientErrorCode.CONNECTION_CLOSED,
            `The connection through the proxy ${proxy.display} closed before the opening handshake completed`,
            { cause: error },
          ),
        );
      } else if (isTlsSocket(socket) && transportUp && !secureUp) {
        // §7.4.1: 1015 is reported locally for a failed TLS handshake, never sent.
        fail(
          new ClientHandshakeError(
            ClientErrorCode.TLS_FAILED,
            `TLS handshake failed: ${error.message}`,
            { cause: error },
          ),
        );
      } else if (!responded && error.code === 'ECONNRESET' && error.message === 'socket hang up') {
        // Node's word for "the connection ended before a response head arrived": kept as the
        // message (ws passes Node's error on), with a stable code and ironsock's explanation.
        fail(
          new ClientHandshakeError(ClientErrorCode.CONNECTION_CLOSED, error.message, {
            cause: error,
            explanation: 'The server closed the connection before completing the opening handshake',
          }),
        );
      } else {
        // Connect errors (ECONNREFUSED...) and parse errors (HPE_*) keep Node's own error and code.
        fail(error);
      }
    };
    const onResponse = (response: http.IncomingMessage): void => {
      responded = true;
      if (settled) return;
      onFinalResponse(target, current, response, head);
    };
    const onUpgrade = (response: http.IncomingMessage, upgraded: Duplex, rest: Buffer): void => {
      responded = true;
      socket = upgraded;
      if (settled) {
        discard(null, upgraded);
        return;
      }
      succeed(response, upgraded, rest, head);
    };

    current.on('error', onError);
    current.on('socket', onSocket);
    current.on('response', onResponse);
    current.on('upgrade', onUpgrade);
    cleanup = () => {
      current.removeListener('error', onError);
      current.removeListener('socket', onSocket);
      current.removeListener('response', onResponse);
      current.removeListener('upgrade', onUpgrade);
      // Errors after we are done (a reset while Node tears down) must not become uncaught.
      current.on('error', ignoreError);
    };

    // ws emits 'redirect' with the new request before it is sent: a listener may set headers.
    if (redirected && typeof ws.emit === 'function') ws.emit('redirect', target.url.href, current);
    if (settled) return; // a listener may have aborted
    if (options.finishRequest !== undefined) options.finishRequest(current, ws);
    else current.end();
  }

  /** A final (non-1xx) response that Node did not treat as an upgrade. */
  function onFinalResponse(
    target: ClientTarget,
    current: http.ClientRequest,
    response: http.IncomingMessage,
    head: ClientRequestHead,
  ): void {
    const status = response.statusCode ?? 0;
    if (status === 101) {
      // Node hands a 101 over as an upgrade only with Upgrade and Connection: upgrade; this one
      // lacks them, and the checks say which (MISSING_UPGRADE / MISSING_CONNECTION).
      try {
        validateServerResponse(responseHead(response), expectations(head));
      } catch (error) {
        fail(wsClientWording(error as Error, wordingContext()));
        return;
      }
    }
    if (options.followRedirects === true && isRedirectStatus(status)) {
      const location = response.headers.location;
      if (location !== undefined) {
        redirect(target, location, status);
        return;
      }
    }
    // §4.1: "If the status code received from the server is not 101, the client handles the
    // response per HTTP procedures". ws's rule: give it to an 'unexpected-response' listener, or
    // fail with "Unexpected server response: <status>".
    const error = new ClientHandshakeError(
      ClientErrorCode.UNEXPECTED_RESPONSE,
      `Unexpected server response: ${status}`,
      { statusCode: status },
    );
    const taken =
      typeof ws.emit === 'function' && ws.emit('unexpected-response', current, response);
    if (!taken) {
      fail(error);
      return;
    }
    if (settled) return; // the listener aborted
    // The listener owns the response. End the handshake when the response is over; cut it at
    // the body cap or the deadline (checklist K4, K6).
    const over = (): void => {
      if (settled) return;
      finish();
      // Read to its end, or its connection closed: never destroy the response itself here (a
      // listener may still be reading what arrived), only a connection that is still open.
      if (socket !== null && !socket.destroyed) discard(null, socket);
      setRequest(null);
      socket = null;
      ws.failHandshake(error, true);
    };
    const cut = (): void => {
      if (settled) return;
      finish();
      // Destroy the response itself (it emits 'aborted' and 'close'), not the request: Node's
      // request.destroy() would strip the listener's 'data' handlers to dump the rest.
      response.destroy();
      discard(null, socket);
      setRequest(null);
      socket = null;
      ws.failHandshake(error, true);
    };
    // Count the body where Node's parser hands it to the response (its own `push`), so the cap is
    // exact whether the listener reads in flowing or paused mode; the bytes up to the cap are kept.
    let received = 0;
    let capped = false;
    const push = response.push;
    response.push = function cappedPush(chunk: unknown, encoding?: BufferEncoding): boolean {
      // Past the cap nothing more reaches the listener, not even the end: the response is
      // destroyed ('aborted'), so a cut body never looks complete.
      if (capped) return false;
      if (chunk === null || settled || !(chunk instanceof Uint8Array))
        return push.call(response, chunk, encoding);
      if (received + chunk.length <= maxBody) {
        received += chunk.length;
        return push.call(response, chunk, encoding);
      }
      capped = true;
      const room = maxBody - received;
      if (room > 0) push.call(response, chunk.subarray(0, room), encoding);
      // Cut after the listener had the bytes that fit (a flowing 'data' is emitted in push).
      process.nextTick(cut);
      return false;
    };
    response.once('close', over);
    current.once('close', over);
    onTimeout = cut;
    const previous = cleanup;
    cleanup = () => {
      previous?.();
      response.removeListener('close', over);
      current.removeListener('close', over);
    };
  }

  /** What ws's wording of a failed 101 check depends on: what this client offered. */
  function wordingContext(): { protocolsOffered: boolean; extensionsOffered: boolean } {
    return {
      protocolsOffered: protocolList.length > 0,
      extensionsOffered: deflateOffer !== undefined,
    };
  }

  function expectations(head: ClientRequestHead): Parameters<typeof validateServerResponse>[1] {
    return {
      expectedAccept: head.expectedAccept,
      protocols: protocolList,
      extensionsOffered: deflateOffer === undefined ? [] : ['permessage-deflate'],
    };
  }

  function succeed(
    response: http.IncomingMessage,
    upgraded: Duplex,
    rest: Buffer,
    head: ClientRequestHead,
  ): void {
    let protocol: string;
    let accepted: ExtensionOffer[];
    let extension: Extension | null = null;
    const parsed = responseHead(response);
    try {
      // §4.1 response checks: Upgrade, Connection, Accept, subprotocol offered, extensions offered.
      const checked = validateServerResponse(parsed, expectations(head));
      protocol = checked.protocol;
      accepted = checked.extensions;
      if (accepted.length > 0 && deflateOptions !== undefined) {
        // RFC 7692 §5.1 / §7.1: the client fails the connection on a response it cannot accept.
        const params = acceptDeflateResponse(accepted[0], deflateOptions);
        extension = createDeflateExtension(params, 'client', deflateOptions);
      }
    } catch (error) {
      fail(wsClientWording(error as Error, wordingContext()));
      return;
    }
    const extensions = parsed.headers
      .filter(([name]) => name === 'sec-websocket-extensions')
      .map(([, value]) => value)
      .join(', ');
    // ws emits 'upgrade' (with the response) just before 'open'. A listener may abort.
    if (typeof ws.emit === 'function') ws.emit('upgrade', response);
    if (settled) {
      extension?.dispose();
      return;
    }
    finish();
    setRequest(null);
    socket = null;
    if (upgraded instanceof nodeNet.Socket) upgraded.setNoDelay(true);
    ws.setSocket(upgraded, rest, {
      protocol,
      extensions: extension === null ? '' : extensions,
      extension,
    });
  }

  function redirect(from: ClientTarget, location: string, statusCode: number): void {
    // As ws: every redirect met counts (`ws._redirects`), the one past the limit included.
    redirects++;
    if (typeof ws.setRedirects === 'function') ws.setRedirects(redirects);
    if (redirects > maxRedirects) {
      fail(
        new ClientHandshakeError(ClientErrorCode.TOO_MANY_REDIRECTS, 'Maximum redirects exceeded', {
          statusCode,
          explanation: `Maximum redirects exceeded (${maxRedirects})`,
        }),
      );
      return;
    }
    const decision = applyRedirectPolicy(from, location, first);
    if (decision instanceof Error) {
      fail(decision);
      return;
    }
    const next = decision.target;
    if (decision.crossOrigin) {
      // Credentials are for the origin the user named, never for another host (K5, K10).
      headers = new Map(headers);
      headers.delete('authorization');
      headers.delete('cookie');
      headers.delete('host');
      credentials = undefined;
      keepServername = false;
    }
    // Credentials written in the Location URL are used when none are kept (another origin, or
    // none given); on the same origin the first ones stay, as in ws.
    if (
      next.credentials !== undefined &&
      credentials === undefined &&
      !headers.has('authorization')
    )
      credentials = next.credentials;
    // Tear down this hop before the next one.
    if (cleanup !== null) cleanup();
    cleanup = null;
    discard(request, socket);
    setRequest(null);
    socket = null;
    if (typeof ws.setUrl === 'function') ws.setUrl(next.url.href);
    let head;
    try {
      head = buildHead(next);
    } catch (error) {
      fail(error as Error);
      return;
    }
    attempt(next, head, true);
  }

  // Build the first request head now so that bad headers throw at the constructor, as in `ws`.
  let firstHead: ClientRequestHead;
  try {
    firstHead = buildHead(first);
  } catch (error) {
    clearTimeout(timer);
    throw error;
  }
  // The request is created now, as in ws (`ws._req` exists after the constructor and an agent's
  // `addRequest` runs synchronously); every event it causes comes later, and a failure met
  // while creating it is reported on the next tick (see `fail`).
  try {
    attempt(first, firstHead, false);
  } finally {
    starting = false;
  }

  return {
    url: first.url.href,
    abort(message = 'WebSocket was closed before the connection was established'): boolean {
      if (settled) return false;
      fail(new ClientHandshakeError(ClientErrorCode.ABORTED, message));
      return true;
    },
  };
}

installClientHandshake(startClientHandshake);

/**
 * Whether `socket` is a TLS socket, told by its `encrypted` flag (every `tls.TLSSocket` has it)
 * rather than `instanceof`, which would load node:tls into every `ws:` client.
 */
function isTlsSocket(socket: Duplex | null): socket is tls.TLSSocket {
  return (socket as { encrypted?: unknown } | null)?.encrypted === true;
}
