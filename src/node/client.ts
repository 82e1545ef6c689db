/**
 * The client side of the opening handshake over real sockets (RFC 6455 §4.1): URL checks,
 * TCP/TLS connect, the upgrade request, the response (with a head limit, a capped body for
 * non-101 answers, and a deadline), optional redirects, and permessage-deflate negotiation.
 * On success the socket is handed to the `WebSocket` with `setSocket`; on failure
 * `failHandshake` is called exactly once and the socket is destroyed (never an `open` event).
 *
 * Differences from `ws` (all on the side of safety):
 * - `handshakeTimeout` defaults to 10 s and covers the whole handshake, redirects included
 *   (`ws` has no default and times each request).
 * - `unexpected-response` gets `(null, HandshakeResponse)`: a plain object whose body is already
 *   read and capped at 1 MiB, instead of Node's `ClientRequest`/`IncomingMessage` streams.
 * - On a redirect that leaves the origin, `Authorization`, `Cookie`, a custom `Host` and URL
 *   credentials are dropped even when a `redirect` listener exists (it may set them again).
 *   `wss:` to `ws:` is refused, as are schemes other than ws/wss/http/https (`ws+unix:` too).
 * - TLS failures are wrapped in `ClientHandshakeError` `TLS_FAILED` (close code 1015, original
 *   error as `cause`); `rejectUnauthorized` is always passed explicitly (default true).
 * - A response with `Upgrade`/`Accept`/subprotocol/extensions headers repeated, or a response
 *   head over 16 KiB, fails the handshake (hs's `validateServerResponse`, `HttpHeadParser`).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Extension, ExtensionOffer } from '../protocol/extensions/extension.js';
import {
  createClientRequest,
  HttpHeadParser,
  validateServerResponse,
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
import { normalizeProtocols, parseClientUrl, type ClientTarget } from './client-url.js';
import { BodyCollector, bodyFraming, DEFAULT_MAX_RESPONSE_BODY } from './client-body.js';
import { applyRedirectPolicy, createRedirectRequest, isRedirectStatus } from './client-redirect.js';
import { startHttp2ClientHandshake, wantsHttp2, type ClientHttp2Mode } from './client-http2.js';

export { ClientErrorCode, ClientHandshakeError, ClientSyntaxError } from './client-errors.js';
export type { RedirectRequest } from './client-redirect.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Default for `maxRedirects` (as `ws`). */
export const DEFAULT_MAX_REDIRECTS = 10;

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

/** Options of the client handshake; names and meanings follow `ws` where `ws` has them. */
export interface ClientOptions extends ClientTlsOptions {
  /**
   * Extra request headers. Names are case-insensitive; values may not contain CR or LF.
   * `Authorization` and `Cookie` are dropped when a redirect leaves the origin.
   */
  headers?: Record<string, string | number | readonly string[] | undefined>;
  /**
   * `user:password` sent as Basic `Authorization` to the first host (ws name). Default: the
   * credentials written in the URL, if any. Never sent to another origin after a redirect.
   */
  auth?: string;
  /** Value of the `Origin` header (§4.1 item 8, §10.2). Default: none (non-browser client). */
  origin?: string;
  /**
   * Milliseconds allowed for the whole opening handshake: connect, TLS, response head, every
   * redirect hop, and reading a non-101 response body. Default 10,000 (`ws` has no default).
   * Blunts servers that accept TCP and never answer (checklist K6).
   */
  handshakeTimeout?: number;
  /** Largest message accepted, in bytes after decompression. Default 1 MiB. */
  maxPayload?: number;
  /** Follow 301/302/303/307/308 redirects. Default false (browser behaviour). */
  followRedirects?: boolean;
  /** Most redirects followed before failing with TOO_MANY_REDIRECTS. Default 10. */
  maxRedirects?: number;
  /**
   * permessage-deflate (RFC 7692): `true` (default, offered as browsers do), options, or `false`.
   * Inflation is always bounded by `maxPayload`.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Largest non-101 response body kept for `unexpected-response`, in bytes. Default 1 MiB. */
  maxResponseBodyBytes?: number;
  /** IP family for the host name lookup (4 or 6; default: both). */
  family?: number;
  /** Local address to bind the outgoing connection to. */
  localAddress?: string;
  /** Custom DNS lookup function (as `net.connect`). */
  lookup?: net.LookupFunction;
  /**
   * WebSockets over HTTP/2 (RFC 8441) for `wss:` URLs. `'auto'`: use HTTP/2 when the server
   * selects ALPN `h2` and advertises SETTINGS_ENABLE_CONNECT_PROTOCOL, sharing one connection
   * per origin between sockets; otherwise fall back to HTTP/1.1 on a fresh connection.
   * `true`: HTTP/2 or fail (`HTTP2_UNSUPPORTED`). `false` (default, as `ws`): HTTP/1.1 only.
   * Over HTTP/2 redirects are not followed. See client-http2.ts.
   */
  http2?: ClientHttp2Mode;
}

/**
 * A non-101 response to the opening handshake, given to `unexpected-response` listeners.
 * Unlike `ws` (which passes Node's `ClientRequest` and `IncomingMessage` streams), this is a plain
 * object whose body was already read, capped at `maxResponseBodyBytes` (1 MiB by default;
 * `bodyTruncated` tells when more was sent). The connection is already destroyed.
 */
export interface HandshakeResponse {
  /** HTTP status code, e.g. 404. */
  readonly statusCode: number;
  /** Reason phrase as sent (may be empty). */
  readonly statusMessage: string;
  /** '1.1' (or '1.0'). */
  readonly httpVersion: string;
  /**
   * Headers by lower-cased name (prototype-free object). Repeated headers are joined with
   * `, ` except `set-cookie`, which is always an array.
   */
  readonly headers: Record<string, string | string[]>;
  /** Headers as received: lower-cased name and raw value, in order, duplicates kept. */
  readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
  /** The body (chunked encoding removed), at most `maxResponseBodyBytes`. */
  readonly body: Buffer;
  /** True when the body was longer than the cap, or cut by the deadline or a malformed framing. */
  readonly bodyTruncated: boolean;
  /** The URL that produced this response (the last hop when redirects were followed). */
  readonly url: string;
}

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
 * `error` and `close` listeners synchronously (the handshake's listeners are removed just before
 * the call, and the socket is left flowing). `emit` is used for `redirect` and `upgrade`.
 * @internal
 */
export interface ClientHandshakeTarget {
  setSocket(socket: Duplex, head: Buffer, result: ClientHandshakeResult): void;
  failHandshake(error: Error, response?: HandshakeResponse): void;
  emit?(event: string, ...args: unknown[]): boolean;
  /** Called with the new URL when a redirect is followed, so `ws.url` can show it. */
  setUrl?(url: string): void;
}

/** The running handshake, as returned by {@link startClientHandshake}. */
export interface ClientHandshake {
  /** The normalised URL of the first request (`http:` mapped to `ws:`, `https:` to `wss:`). */
  readonly url: string;
  /**
   * Stops the handshake (e.g. `close()` or `terminate()` while CONNECTING): destroys the socket
   * and calls `failHandshake` with an `ABORTED` error, unless the handshake already settled.
   * Returns true if it aborted something.
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
 * Destroys a socket we give up on. A no-op `error` listener stays attached, so an error raised
 * while it is torn down (ECONNRESET, EPIPE) can never become an uncaught exception.
 */
function discard(socket: Duplex | null): void {
  if (socket === null) return;
  socket.on('error', ignoreError);
  socket.destroy();
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

/** Response headers as a prototype-free object (see {@link HandshakeResponse.headers}). */
function headersObject(
  raw: ReadonlyArray<readonly [string, string]>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of raw) {
    const previous = out[name];
    if (name === 'set-cookie')
      out[name] = previous === undefined ? [value] : [...(previous as string[]), value];
    else out[name] = previous === undefined ? value : `${previous as string}, ${value}`;
  }
  return out;
}

/**
 * Starts the opening handshake for `ws` (RFC 6455 §4.1). Checks the URL and subprotocols
 * synchronously, then connects. Exactly one of `ws.setSocket(...)` or `ws.failHandshake(...)`
 * is called later (never synchronously).
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
  const deflateOptions: PerMessageDeflateOptions | undefined =
    options.perMessageDeflate === false
      ? undefined
      : options.perMessageDeflate === true || options.perMessageDeflate === undefined
        ? {}
        : options.perMessageDeflate;
  const deflateOffer =
    deflateOptions === undefined ? undefined : createDeflateOffer(deflateOptions);

  let headers = toHeaderMap(options.headers);
  // `auth` ('user:password', a ws option) wins over credentials written in the URL.
  let credentials = options.auth ?? first.credentials;
  /** Whether the caller's own `servername` still applies (dropped after a cross-origin hop). */
  let keepServername = true;
  let redirects = 0;
  let settled = false;
  let socket: net.Socket | tls.TLSSocket | null = null;
  let cleanup: (() => void) | null = null;
  /** Set while a non-101 body is read: the deadline then delivers what arrived. */
  let onTimeout: (() => void) | null = null;

  const timer = setTimeout(() => {
    if (onTimeout !== null) onTimeout();
    else
      fail(
        new ClientHandshakeError(
          ClientErrorCode.HANDSHAKE_TIMEOUT,
          `Opening handshake has timed out after ${timeoutMs} ms`,
        ),
      );
  }, timeoutMs);

  function finish(): void {
    settled = true;
    clearTimeout(timer);
    if (cleanup !== null) cleanup();
    cleanup = null;
  }

  function fail(error: Error, response?: HandshakeResponse): void {
    if (settled) return;
    finish();
    discard(socket);
    socket = null;
    ws.failHandshake(error, response);
  }

  /** The request for `target` with the current header set (§4.1 items 1-10). */
  function buildRequest(target: ClientTarget): {
    request: string;
    key: string;
    expectedAccept: string;
  } {
    const extra: Array<[string, string]> = [];
    for (const [name, value] of headers.values()) extra.push([name, value]);
    if (credentials !== undefined && !headers.has('authorization')) {
      extra.push(['Authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`]);
    }
    return createClientRequest(
      {
        // The Host header is derived from these (brackets for IPv6, port when not the default).
        host: target.socketPath === undefined ? target.hostname : 'localhost',
        port: target.socketPath === undefined ? target.port : 80,
        secure: target.secure,
        path: target.path,
        protocols: protocolList,
        extensions: deflateOffer,
        origin: options.origin,
        headers: extra,
      },
      nodePlatform,
    );
  }

  function connect(target: ClientTarget): net.Socket | tls.TLSSocket {
    if (target.socketPath !== undefined) return net.connect({ path: target.socketPath });
    const base: net.TcpNetConnectOpts = { host: target.hostname, port: target.port };
    if (options.family !== undefined) base.family = options.family;
    if (options.localAddress !== undefined) base.localAddress = options.localAddress;
    if (options.lookup !== undefined) base.lookup = options.lookup;
    if (!target.secure) return net.connect(base);
    const tlsOptions: tls.ConnectionOptions = { ...base };
    for (const name of TLS_OPTION_NAMES) {
      if (options[name] !== undefined)
        (tlsOptions as Record<string, unknown>)[name] = options[name];
    }
    // No default ever disables verification (checklist K7; CVE-2020-15133 class).
    tlsOptions.rejectUnauthorized = options.rejectUnauthorized !== false;
    // SNI for host names only: RFC 6066 §3 forbids IP literals in server_name.
    if (options.servername !== undefined && keepServername)
      tlsOptions.servername = options.servername;
    else if (target.ipFamily === 0) tlsOptions.servername = target.hostname;
    else delete tlsOptions.servername;
    return tls.connect(tlsOptions);
  }

  function attempt(
    target: ClientTarget,
    request: { request: string; key: string; expectedAccept: string },
  ): void {
    const current = connect(target);
    socket = current;
    let tcpConnected = false;
    let secureConnected = false;
    const parser = new HttpHeadParser('response', { maxHeadBytes: DEFAULT_MAX_HEAD_BYTES });
    let body: BodyCollector | null = null;
    let deliver: (() => void) | null = null;

    const onConnect = (): void => {
      tcpConnected = true;
    };
    const onReady = (): void => {
      current.setNoDelay(true);
      current.write(request.request, 'latin1');
    };
    const onError = (error: Error): void => {
      if (deliver !== null) {
        // The body was being read: a reset just ends it.
        body?.end();
        deliver();
        return;
      }
      if (target.secure && tcpConnected && !secureConnected) {
        // §7.4.1: 1015 is reported locally for a failed TLS handshake, never sent.
        fail(
          new ClientHandshakeError(
            ClientErrorCode.TLS_FAILED,
            `TLS handshake failed: ${error.message}`,
            { cause: error },
          ),
        );
      } else {
        // Connect errors (ECONNREFUSED, ENOTFOUND...) keep Node's own error and code, as in `ws`.
        fail(error);
      }
    };
    const onSecure = (): void => {
      secureConnected = true;
      onReady();
    };
    const onEnd = (): void => {
      if (deliver !== null) {
        body?.end();
        deliver();
        return;
      }
      fail(
        new ClientHandshakeError(
          ClientErrorCode.CONNECTION_CLOSED,
          'The server closed the connection before completing the opening handshake',
        ),
      );
    };
    const onData = (chunk: Buffer): void => {
      if (body !== null) {
        if (body.push(chunk) && deliver !== null) deliver();
        return;
      }
      let parsed;
      try {
        parsed = parser.feed(chunk);
      } catch (error) {
        // Malformed head, or more than 16 KiB of it (K4): HandshakeError from the parser.
        fail(error as Error);
        return;
      }
      if (!parsed.done) return;
      // A view, not a copy: the chunk came from the socket and is ours.
      const rest = Buffer.from(parsed.rest.buffer, parsed.rest.byteOffset, parsed.rest.byteLength);
      onHead(target, request, parsed.head, rest, (collector, done) => {
        body = collector;
        deliver = done;
      });
    };

    current.on('error', onError);
    current.once('connect', onConnect);
    if (target.secure) current.once('secureConnect', onSecure);
    else current.once('connect', onReady);
    current.on('data', onData);
    current.on('end', onEnd);
    current.on('close', onEnd);
    cleanup = () => {
      current.removeListener('error', onError);
      current.removeListener('connect', onConnect);
      current.removeListener('connect', onReady);
      current.removeListener('secureConnect', onSecure);
      current.removeListener('data', onData);
      current.removeListener('end', onEnd);
      current.removeListener('close', onEnd);
      onTimeout = null;
    };
  }

  function onHead(
    target: ClientTarget,
    request: { key: string; expectedAccept: string },
    head: ResponseHead,
    rest: Buffer,
    startBody: (collector: BodyCollector, deliver: () => void) => void,
  ): void {
    if (head.status === 101) {
      succeed(target, request, head, rest);
      return;
    }
    if (options.followRedirects === true && isRedirectStatus(head.status)) {
      const location = head.headers.find(([name]) => name === 'location')?.[1];
      if (location !== undefined) {
        redirect(target, location, head.status);
        return;
      }
    }
    // Not 101: read a capped body for `unexpected-response`, then fail (§4.1: "If the status
    // code received from the server is not 101, the client handles the response per HTTP").
    const collector = new BodyCollector(bodyFraming(head.status, head.headers), maxBody);
    const deliver = (): void => {
      if (settled) return;
      const response: HandshakeResponse = {
        statusCode: head.status,
        statusMessage: head.reason,
        httpVersion: head.httpVersion,
        headers: headersObject(head.headers),
        rawHeaders: head.headers,
        body: collector.body(),
        bodyTruncated: collector.truncated || !collector.complete,
        url: target.url.href,
      };
      fail(
        new ClientHandshakeError(
          ClientErrorCode.UNEXPECTED_RESPONSE,
          `Unexpected server response: ${head.status}`,
          {
            statusCode: head.status,
          },
        ),
        response,
      );
    };
    startBody(collector, deliver);
    // The deadline still applies: when it passes, deliver what arrived so far.
    onTimeout = deliver;
    if (collector.push(rest)) deliver();
  }

  function succeed(
    target: ClientTarget,
    request: { key: string; expectedAccept: string },
    head: ResponseHead,
    rest: Buffer,
  ): void {
    let protocol: string;
    let accepted: ExtensionOffer[];
    let extension: Extension | null = null;
    try {
      // §4.1 response checks: Upgrade, Connection, Accept, subprotocol offered, extensions offered.
      const checked = validateServerResponse(head, {
        expectedAccept: request.expectedAccept,
        protocols: protocolList,
        extensionsOffered: deflateOffer === undefined ? [] : ['permessage-deflate'],
      });
      protocol = checked.protocol;
      accepted = checked.extensions;
      if (accepted.length > 0 && deflateOptions !== undefined) {
        // RFC 7692 §5.1 / §7.1: the client fails the connection on a response it cannot accept.
        const params = acceptDeflateResponse(accepted[0], deflateOptions);
        extension = createDeflateExtension(params, 'client', deflateOptions);
      }
    } catch (error) {
      fail(error as Error);
      return;
    }
    const current = socket as net.Socket | tls.TLSSocket;
    const extensions = head.headers
      .filter(([name]) => name === 'sec-websocket-extensions')
      .map(([, value]) => value)
      .join(', ');
    // ws emits 'upgrade' (with the response) just before 'open'. A listener may abort.
    if (typeof ws.emit === 'function') {
      ws.emit('upgrade', {
        statusCode: 101,
        statusMessage: head.reason,
        headers: headersObject(head.headers),
        url: target.url.href,
      });
    }
    if (settled) {
      extension?.dispose();
      return;
    }
    finish();
    socket = null;
    ws.setSocket(current, rest, {
      protocol,
      extensions: extension === null ? '' : extensions,
      extension,
    });
  }

  function redirect(from: ClientTarget, location: string, statusCode: number): void {
    if (redirects >= maxRedirects) {
      fail(
        new ClientHandshakeError(
          ClientErrorCode.TOO_MANY_REDIRECTS,
          `Maximum redirects exceeded (${maxRedirects})`,
          { statusCode },
        ),
      );
      return;
    }
    const decision = applyRedirectPolicy(from, location, first);
    if (decision instanceof ClientHandshakeError) {
      fail(decision);
      return;
    }
    redirects++;
    const next = decision.target;
    if (decision.crossOrigin) {
      // Credentials are for the origin the user named, never for another host (K5, K10).
      headers.delete('authorization');
      headers.delete('cookie');
      headers.delete('host');
      credentials = undefined;
      keepServername = false;
    }
    // Credentials written in the Location URL itself are for that hop's host.
    if (next.credentials !== undefined) credentials = next.credentials;
    // Tear down this hop before the next one.
    if (cleanup !== null) cleanup();
    cleanup = null;
    discard(socket);
    socket = null;
    const requestLike = createRedirectRequest(next.url.href, headers);
    if (typeof ws.setUrl === 'function') ws.setUrl(next.url.href);
    if (typeof ws.emit === 'function') ws.emit('redirect', next.url.href, requestLike);
    if (settled) return; // a listener may have aborted
    headers = requestLike.headerMap();
    let request;
    try {
      request = buildRequest(next);
    } catch (error) {
      fail(error as Error);
      return;
    }
    attempt(next, request);
  }

  // Build the first request now so that bad headers throw at the constructor, as in `ws`.
  let firstRequest;
  try {
    firstRequest = buildRequest(first);
  } catch (error) {
    clearTimeout(timer);
    throw error;
  }
  // Connect on the next tick so the caller can attach listeners first.
  process.nextTick(() => {
    if (!settled) attempt(first, firstRequest);
  });

  return {
    url: first.url.href,
    abort(message = 'WebSocket was closed before the connection was established'): boolean {
      if (settled) return false;
      fail(new ClientHandshakeError(ClientErrorCode.ABORTED, message));
      return true;
    },
  };
}

const TLS_OPTION_NAMES = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'checkServerIdentity',
  'minVersion',
  'maxVersion',
  'ciphers',
  'ecdhCurve',
  'crl',
  'sigalgs',
  'secureContext',
  'secureOptions',
  'session',
  'ALPNProtocols',
] as const satisfies ReadonlyArray<keyof ClientTlsOptions>;
