/**
 * The client side of WebSockets over HTTP/2 (RFC 8441), used by `new WebSocket(url, { http2 })`
 * for `wss:` URLs: one TLS connection with ALPN `h2` per origin (and TLS settings), shared by
 * every WebSocket to that origin; the peer's SETTINGS are awaited and must carry
 * SETTINGS_ENABLE_CONNECT_PROTOCOL (§3); each WebSocket is one extended CONNECT stream (§4),
 * answered with a 2xx (§5), then driven by the same `SocketDriver` as a TCP socket.
 *
 * `http2: 'auto'`: when the server does not select `h2` or does not advertise the setting, the
 * handshake starts again over HTTP/1.1 on a fresh connection (the HTTP/2 one is not reused for
 * it), and the origin is remembered as HTTP/1.1-only for a while so that later sockets go
 * straight there. `http2: true` fails instead (`HTTP2_UNSUPPORTED`). `false` (the default, as
 * in `ws`) never tries.
 *
 * Not over HTTP/2: redirects (a 3xx is an unexpected response), `ws:` URLs (cleartext HTTP/2
 * needs prior knowledge, which browsers never use), `ws+unix:` and proxies.
 */
import { nodeHttp2, nodeTls } from './builtins.js';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type tls from 'node:tls';
import type { Extension } from '../protocol/extensions/extension.js';
import {
  acceptDeflateResponse,
  createDeflateOffer,
  type PerMessageDeflateOptions,
} from '../protocol/extensions/permessage-deflate.js';
import {
  createExtendedConnectRequest,
  validateExtendedConnectResponse,
  type H2Field,
} from '../protocol/handshake/extended-connect.js';
import { createDeflateExtension } from './deflate-codec.js';
import { ClientErrorCode, ClientHandshakeError } from './client-errors.js';
import {
  TLS_OPTION_NAMES,
  normalizeProtocols,
  parseClientUrl,
  type ClientTarget,
} from './client-url.js';
import { DEFAULT_H2_CONNECTION_WINDOW_SIZE, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './limits.js';
import type { ClientHandshake, ClientHandshakeTarget, ClientOptions } from './client.js';

/**
 * A non-2xx answer to an extended CONNECT, given to `unexpected-response` listeners as
 * `(null, response)`: HTTP/2 has no `ClientRequest`/`IncomingMessage`, so this is a plain object
 * whose body was already read, capped at `maxResponseBodyBytes` (1 MiB by default).
 */
export interface Http2HandshakeResponse {
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly httpVersion: string;
  readonly headers: Record<string, string | string[]>;
  readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  readonly bodyTruncated: boolean;
  readonly url: string;
}

/** The `http2` client option. */
export type ClientHttp2Mode = 'auto' | boolean;

/** Largest non-2xx response body kept for `unexpected-response` (as HTTP/1.1). */
const DEFAULT_MAX_BODY = 1024 * 1024;
/** How long an origin found without RFC 8441 support is not tried over HTTP/2 again ('auto'). */
const NEGATIVE_CACHE_MS = 5 * 60 * 1000;
const NEGATIVE_CACHE_MAX = 256;
/** Receive window of each WebSocket stream of the client (what a paused socket may park). */
const CLIENT_STREAM_WINDOW = 256 * 1024;

/**
 * Options that make a connection different (never share a session across them): what goes to
 * `tls.connect`, less the per-connection `session` and ALPN list, plus what picks the peer and
 * the route.
 */
const TLS_IDENTITY = [
  ...TLS_OPTION_NAMES.filter((name) => name !== 'session' && name !== 'ALPNProtocols'),
  'servername',
  'rejectUnauthorized',
  'family',
  'localAddress',
  'lookup',
] as const;

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function identity(value: unknown): string {
  if (value === undefined) return '';
  if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
    let id = objectIds.get(value as object);
    if (id === undefined) {
      id = nextObjectId++;
      objectIds.set(value as object, id);
    }
    return `#${id}`;
  }
  return JSON.stringify(value);
}

/** Whether this connect should try HTTP/2 (the hook in `startClientHandshake`). */
export function wantsHttp2(
  url: string | URL,
  options: ClientOptions & { http2?: unknown },
): boolean {
  const mode = options.http2;
  if (mode !== undefined && mode !== true && mode !== false && mode !== 'auto') {
    throw new TypeError(`The "http2" option must be 'auto', true or false, got ${String(mode)}`);
  }
  if (mode !== true && mode !== 'auto') return false;
  const proxy: unknown = options.proxy;
  // A proxy or a custom agent decides the connection: HTTP/1.1 through them.
  if (proxy !== undefined && proxy !== false && proxy !== null) return false;
  if ((options as { agent?: unknown }).agent !== undefined) return false;
  // An agent or createConnection provides HTTP/1.1 connections: honour it over HTTP/2.
  if ((options.agent !== undefined && options.agent !== null) || options.createConnection)
    return false;
  let protocol: string;
  try {
    protocol = (typeof url === 'string' ? new URL(url) : url).protocol;
  } catch {
    return false; // the HTTP/1.1 path reports the bad URL
  }
  if (protocol !== 'wss:' && protocol !== 'https:') return false;
  if (mode === 'auto') {
    let target: ClientTarget;
    try {
      target = parseClientUrl(url, false);
    } catch {
      return false;
    }
    const until = knownHttp1.get(poolKey(target, options));
    if (until !== undefined && until > Date.now()) return false;
  }
  return true;
}

/** Origins (pool keys) found without RFC 8441 support, until a time. */
const knownHttp1 = new Map<string, number>();
function rememberHttp1(key: string): void {
  if (knownHttp1.size >= NEGATIVE_CACHE_MAX) knownHttp1.clear();
  knownHttp1.set(key, Date.now() + NEGATIVE_CACHE_MS);
}

function poolKey(target: ClientTarget, options: ClientOptions): string {
  let key = `${target.hostname}|${target.port}`;
  for (const name of TLS_IDENTITY)
    key += `|${identity((options as Record<string, unknown>)[name])}`;
  return key;
}

/** Why a session cannot carry WebSockets. */
type Unsupported = 'no-h2' | 'no-connect-protocol';

/** One shared HTTP/2 connection to an origin. */
class PooledSession {
  readonly key: string;
  readonly session: ClientHttp2Session;
  /** Resolves once the peer's SETTINGS arrived: null when usable, else why not. */
  readonly ready: Promise<Unsupported | null>;
  users = 0;
  /** TCP connected / TLS completed: a failure in between is a TLS failure. */
  tcpConnected = false;
  secureConnected = false;
  private failure: Error | null = null;

  constructor(key: string, target: ClientTarget, options: ClientOptions) {
    this.key = key;
    let alpn: string | false | null = null;
    const connect = (): tls.TLSSocket => {
      const tlsOptions: tls.ConnectionOptions = {
        host: target.hostname,
        port: target.port,
        ALPNProtocols: ['h2'],
      };
      for (const name of TLS_IDENTITY) {
        const value = (options as Record<string, unknown>)[name];
        if (value !== undefined && name !== 'servername')
          (tlsOptions as Record<string, unknown>)[name] = value;
      }
      // No default ever disables verification (checklist K7).
      tlsOptions.rejectUnauthorized = options.rejectUnauthorized !== false;
      if (options.servername !== undefined) tlsOptions.servername = options.servername;
      else if (target.ipFamily === 0) tlsOptions.servername = target.hostname;
      const socket = nodeTls().connect(tlsOptions);
      socket.once('connect', () => {
        this.tcpConnected = true;
      });
      socket.once('secureConnect', () => {
        this.secureConnected = true;
        alpn = socket.alpnProtocol;
      });
      return socket;
    };
    this.session = nodeHttp2().connect(target.url.href.replace(/^wss:/, 'https:'), {
      createConnection: connect,
      settings: { enablePush: false, initialWindowSize: CLIENT_STREAM_WINDOW },
    });
    // All the sockets of this connection share its receive window: 64 KiB (RFC 9113's initial
    // value) per round trip would throttle them together.
    this.session.once('localSettings', () => {
      if (!this.session.destroyed)
        this.session.setLocalWindowSize(DEFAULT_H2_CONNECTION_WINDOW_SIZE);
    });
    this.session.on('error', (error) => {
      this.failure ??= error;
    });
    this.ready = new Promise((resolve, reject) => {
      const session = this.session;
      const onSettings = (): void => {
        cleanup();
        resolve(
          session.remoteSettings.enableConnectProtocol === true ? null : 'no-connect-protocol',
        );
      };
      const onClose = (): void => {
        cleanup();
        // A TLS connection that did not select h2 is closed by Node's client at once.
        if (alpn !== null && alpn !== 'h2') resolve('no-h2');
        else reject(this.failure ?? new Error('HTTP/2 session closed before SETTINGS'));
      };
      const onError = (error: Error): void => {
        this.failure ??= error;
      };
      const cleanup = (): void => {
        session.removeListener('remoteSettings', onSettings);
        session.removeListener('close', onClose);
        session.removeListener('error', onError);
      };
      session.once('remoteSettings', onSettings);
      session.once('close', onClose);
      session.on('error', onError);
    });
    // Avoid an unhandled rejection when nobody awaits (all users aborted).
    this.ready.catch(() => {});
    this.session.once('close', () => {
      if (pool.get(this.key) === this) pool.delete(this.key);
    });
  }

  /** The TLS failure, if the connection failed during its handshake. */
  get error(): Error | null {
    return this.failure;
  }

  release(): void {
    if (--this.users > 0) return;
    if (pool.get(this.key) === this) pool.delete(this.key);
    if (!this.session.closed && !this.session.destroyed) this.session.close();
  }
}

const pool = new Map<string, PooledSession>();

/** Number of pooled HTTP/2 sessions (for tests and diagnostics). @internal */
export function http2SessionCount(): number {
  return pool.size;
}

function headersObject(fields: readonly H2Field[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of fields) {
    if (name.startsWith(':')) continue;
    const previous = out[name];
    if (name === 'set-cookie')
      out[name] = previous === undefined ? [value] : [...(previous as string[]), value];
    else out[name] = previous === undefined ? value : `${previous as string}, ${value}`;
  }
  return out;
}

function fieldsOf(headers: IncomingHttpHeaders): H2Field[] {
  const out: H2Field[] = [];
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) out.push([name, v]);
    else if (value !== undefined) out.push([name, String(value)]);
  }
  return out;
}

/**
 * Starts the opening handshake of `ws` over HTTP/2 (see the module comment). Exactly one of
 * `ws.setSocket(...)` / `ws.failHandshake(...)` is called later, or `fallback()` runs (mode
 * 'auto', server without RFC 8441) and its handshake takes over.
 * @throws ClientSyntaxError for a bad URL or subprotocol; RangeError for bad numeric options;
 *   HandshakeError `INVALID_REQUEST_HEADER` for headers that cannot be sent over HTTP/2.
 */
export function startHttp2ClientHandshake(
  ws: ClientHandshakeTarget,
  url: string | URL,
  protocols: string | readonly string[] | undefined,
  options: ClientOptions & { http2?: ClientHttp2Mode },
  fallback: () => ClientHandshake,
): ClientHandshake {
  const target = parseClientUrl(url, false);
  const protocolList = normalizeProtocols(protocols);
  const timeoutMs = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1) {
    throw new RangeError(`handshakeTimeout must be a positive integer, got ${String(timeoutMs)}`);
  }
  const maxBody = options.maxResponseBodyBytes ?? DEFAULT_MAX_BODY;
  const deflateOptions: PerMessageDeflateOptions | undefined =
    options.perMessageDeflate === false
      ? undefined
      : options.perMessageDeflate === true || options.perMessageDeflate === undefined
        ? {}
        : options.perMessageDeflate;
  const extra: Array<[string, string]> = [];
  let authority = target.hostHeader;
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    if (name.toLowerCase() === 'host') authority = text;
    else extra.push([name, text]);
  }
  const credentials = target.credentials ?? options.auth; // the URL first, as ws
  if (credentials !== undefined && !extra.some(([n]) => n.toLowerCase() === 'authorization')) {
    extra.push(['authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`]);
  }
  // Built now so that unsendable headers throw at the constructor, as on HTTP/1.1.
  const fields = createExtendedConnectRequest({
    authority,
    path: target.path,
    protocols: protocolList,
    extensions: deflateOptions === undefined ? undefined : createDeflateOffer(deflateOptions),
    origin: options.origin,
    headers: extra,
  });
  // Node 20's `session.request` takes an object: repeated names become arrays (sent as
  // separate fields, as HTTP/2 does for lists).
  const requestHeaders: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of fields) {
    const previous = requestHeaders[name];
    if (previous === undefined) requestHeaders[name] = value;
    else requestHeaders[name] = [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const key = poolKey(target, options);
  const mode = options.http2;

  let settled = false;
  let delegated: ClientHandshake | null = null;
  let entry: PooledSession | null = null;
  let stream: ClientHttp2Stream | null = null;

  const timer = setTimeout(() => {
    fail(
      new ClientHandshakeError(
        ClientErrorCode.HANDSHAKE_TIMEOUT,
        'Opening handshake has timed out',
        {
          explanation: `Opening handshake has timed out after ${timeoutMs} ms`,
        },
      ),
    );
  }, timeoutMs);

  function release(): void {
    const held = entry;
    entry = null;
    held?.release();
  }

  function fail(error: Error, response?: Http2HandshakeResponse): void {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (stream !== null && !stream.destroyed) {
      stream.on('error', () => {});
      stream.close(nodeHttp2().constants.NGHTTP2_CANCEL);
    }
    release();
    // As over HTTP/1.1: an 'unexpected-response' listener takes the response instead of 'error'.
    const reported =
      response !== undefined &&
      typeof ws.emit === 'function' &&
      ws.emit('unexpected-response', null, response);
    ws.failHandshake(error, reported);
  }

  function unsupported(why: Unsupported): void {
    if (settled) return;
    rememberHttp1(key);
    if (mode === 'auto') {
      settled = true;
      clearTimeout(timer);
      release();
      // A fresh HTTP/1.1 connection: the HTTP/2 one is never downgraded in place.
      try {
        delegated = fallback();
      } catch (error) {
        ws.failHandshake(error as Error);
      }
      return;
    }
    fail(
      new ClientHandshakeError(
        ClientErrorCode.HTTP2_UNSUPPORTED,
        why === 'no-h2'
          ? 'The server does not speak HTTP/2 (ALPN h2 not selected)'
          : 'The server does not support WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)',
      ),
    );
  }

  function open(session: ClientHttp2Session): void {
    let request: ClientHttp2Stream;
    try {
      request = session.request(requestHeaders, { endStream: false });
    } catch (error) {
      fail(error as Error);
      return;
    }
    stream = request;
    const onError = (error: Error): void => fail(error);
    const onClose = (): void =>
      fail(
        new ClientHandshakeError(
          ClientErrorCode.CONNECTION_CLOSED,
          `The server closed the stream before answering (code ${request.rstCode ?? 0})`,
        ),
      );
    request.on('error', onError);
    request.on('close', onClose);
    request.once('response', (headers) => {
      if (settled) return;
      const status = Number(headers[':status']);
      const received = fieldsOf(headers);
      if (status >= 200 && status < 300) {
        request.removeListener('error', onError);
        request.removeListener('close', onClose);
        succeed(request, status, received);
        return;
      }
      // Not 2xx: read a capped body for 'unexpected-response', then fail.
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const deliver = (): void => {
        const response: Http2HandshakeResponse = {
          statusCode: status,
          statusMessage: '',
          httpVersion: '2.0',
          headers: headersObject(received),
          rawHeaders: received.filter(([n]) => !n.startsWith(':')),
          body: Buffer.concat(chunks, size),
          bodyTruncated: truncated,
          url: target.url.href,
        };
        fail(
          new ClientHandshakeError(
            ClientErrorCode.UNEXPECTED_RESPONSE,
            `Unexpected server response: ${status}`,
            { statusCode: status },
          ),
          response,
        );
      };
      request.removeListener('close', onClose);
      request.on('data', (chunk: Buffer) => {
        const room = maxBody - size;
        if (chunk.length > room) truncated = true;
        if (room > 0) {
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          chunks.push(part);
          size += part.length;
        }
        if (truncated) deliver();
      });
      request.once('end', deliver);
      request.once('close', () => {
        truncated ||= !request.readableEnded;
        deliver();
      });
    });
  }

  function succeed(request: ClientHttp2Stream, status: number, received: H2Field[]): void {
    let protocol: string;
    let extension: Extension | null = null;
    let extensionsValue: string;
    try {
      const agreed = validateExtendedConnectResponse(status, received, {
        protocols: protocolList,
        extensionsOffered: deflateOptions === undefined ? [] : ['permessage-deflate'],
      });
      protocol = agreed.protocol;
      extensionsValue = agreed.extensionsValue;
      if (agreed.extensions.length > 0 && deflateOptions !== undefined) {
        const params = acceptDeflateResponse(agreed.extensions[0], deflateOptions);
        extension = createDeflateExtension(params, 'client', deflateOptions);
      }
    } catch (error) {
      fail(error as Error);
      return;
    }
    if (typeof ws.emit === 'function') {
      ws.emit('upgrade', {
        statusCode: status,
        statusMessage: '',
        httpVersion: '2.0',
        headers: headersObject(received),
        url: target.url.href,
      });
    }
    if (settled) {
      extension?.dispose();
      return;
    }
    settled = true;
    clearTimeout(timer);
    const held = entry;
    entry = null;
    stream = null;
    // The session stays open while this stream lives; released when it closes.
    if (held !== null) request.once('close', () => held.release());
    ws.setSocket(request, Buffer.alloc(0), {
      protocol,
      extensions: extension === null ? '' : extensionsValue,
      extension,
    });
  }

  process.nextTick(() => {
    if (settled) return;
    let pooled = pool.get(key);
    if (pooled === undefined || pooled.session.closed || pooled.session.destroyed) {
      pooled = new PooledSession(key, target, options);
      pool.set(key, pooled);
    }
    pooled.users++;
    entry = pooled;
    const current = pooled;
    current.ready.then(
      (why) => {
        if (settled) return;
        if (why !== null) unsupported(why);
        else open(current.session);
      },
      (error: Error) => {
        const code = (error as { code?: string }).code ?? '';
        // ALPN refused with a fatal alert by a server without h2: same as not selecting it.
        if (/NO_APPLICATION_PROTOCOL|ALPN/i.test(code + error.message)) {
          unsupported('no-h2');
          return;
        }
        if (current.tcpConnected && !current.secureConnected) {
          // §7.4.1: 1015 is reported locally for a failed TLS handshake, never sent.
          fail(
            new ClientHandshakeError(
              ClientErrorCode.TLS_FAILED,
              `TLS handshake failed: ${error.message}`,
              {
                cause: error,
              },
            ),
          );
          return;
        }
        fail(error);
      },
    );
  });

  return {
    url: target.url.href,
    abort(message = 'WebSocket was closed before the connection was established'): boolean {
      if (delegated !== null) return delegated.abort(message);
      if (settled) return false;
      fail(new ClientHandshakeError(ClientErrorCode.ABORTED, message));
      return true;
    },
  };
}
