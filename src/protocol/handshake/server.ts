/**
 * Server-side validation of the opening handshake request (RFC 6455 §4.2.1, §4.2.2 and
 * §10.2), sans-I/O: a parsed request head and a policy in, a decision out. Every refusal names
 * what was wrong and carries the status (and headers) to answer with; the adapter then writes
 * `buildRejectResponse(decision)` and closes the connection (checklist H1-H9).
 */
import type { ExtensionOffer } from '../extensions/extension.js';
import { isValidKey } from './accept.js';
import { HandshakeError, refuse } from './errors.js';
import { listHasToken, parseExtensionHeader, parseProtocolHeader } from './header-tokens.js';
import { checkHost, type HostPolicy } from './host.js';
import type { RequestHead } from './http-head.js';
import { checkOrigin, ownOrigins, type OriginPolicy } from './origin.js';

/**
 * What the server accepts. Defaults: same-origin (requests without `Origin` accepted), DNS
 * rebinding protection when `listenAddress` is loopback or private, no other host restriction.
 * See {@link OriginPolicy} and {@link HostPolicy} for the fields.
 */
/**
 * The server's handshake policy. `R` is what `origins` predicates receive as their second
 * argument: the `RequestHead` by default, or the adapter's own request object (Node passes
 * its `IncomingMessage`) given as `context` to `validateUpgradeRequest`.
 */
export interface ServerPolicy<R = RequestHead> extends OriginPolicy<R>, HostPolicy {
  /**
   * Whether the connection is TLS (set by the adapter); gives the scheme of the server's own
   * origin (`https://` + Host when true, `http://` + Host otherwise). Default false.
   */
  secure?: boolean;
}

/** An accepted request: what the adapter needs to negotiate and answer 101. */
export interface UpgradeAccepted {
  readonly ok: true;
  /** The client's `Sec-WebSocket-Key` (valid, OWS trimmed), for `buildAcceptResponse`. */
  readonly key: string;
  /** Offered subprotocols in preference order (all `Sec-WebSocket-Protocol` headers); may be empty. */
  readonly protocols: string[];
  /** Offered extensions in order (all `Sec-WebSocket-Extensions` headers); may be empty. */
  readonly extensions: ExtensionOffer[];
  /** The `Origin` header as sent, if any. */
  readonly origin: string | undefined;
  /** The `Host` header as sent. */
  readonly host: string;
}

/** A refused request: answer with `buildRejectResponse(rejection)` and close the connection. */
export interface UpgradeRejection {
  readonly ok: false;
  /** HTTP status: 400, 403, 405, 426, 431, 500, 505. */
  readonly status: number;
  /** Stable code, e.g. `UNSUPPORTED_VERSION`. */
  readonly code: string;
  /** One sentence naming what was wrong (safe to send: contains no request bytes). */
  readonly reason: string;
  /** Headers the status calls for (`Allow: GET`, `Upgrade: websocket`, `Sec-WebSocket-Version: 13`). */
  readonly headers: Array<[name: string, value: string]>;
}

/** The outcome of {@link validateUpgradeRequest}. */
export type UpgradeDecision = UpgradeAccepted | UpgradeRejection;

/** Turns a HandshakeError (e.g. a 431 from `HttpHeadParser`) into a rejection; status defaults to 400. */
export function toRejection(error: HandshakeError): UpgradeRejection {
  return {
    ok: false,
    status: error.status ?? 400,
    code: error.code,
    reason: error.message,
    headers: error.headers.map(([n, v]) => [n, v]),
  };
}

/** The values (in order) of every header the handshake looks at. */
interface HandshakeHeaders {
  host: string[];
  upgrade: string[];
  connection: string[];
  key: string[];
  version: string[];
  contentLength: string[];
  transferEncoding: string[];
  protocol: string[];
  extensions: string[];
  origin: string[];
}

/** The value list of a header the request does not have (shared, frozen). */
const NONE: string[] = Object.freeze([]) as unknown as string[];

/** `list` with `value` appended: a new array the first time (most headers come once). */
function add(list: string[], value: string): string[] {
  if (list === NONE) return [value];
  list.push(value);
  return list;
}

/**
 * Sorts the request's headers into the ones the checks need, in one pass over the list; a
 * header the request does not carry costs no array.
 */
function collectHeaders(headers: RequestHead['headers']): HandshakeHeaders {
  const out: HandshakeHeaders = {
    host: NONE,
    upgrade: NONE,
    connection: NONE,
    key: NONE,
    version: NONE,
    contentLength: NONE,
    transferEncoding: NONE,
    protocol: NONE,
    extensions: NONE,
    origin: NONE,
  };
  for (const [name, value] of headers) {
    switch (name) {
      case 'host':
        out.host = add(out.host, value);
        break;
      case 'upgrade':
        out.upgrade = add(out.upgrade, value);
        break;
      case 'connection':
        out.connection = add(out.connection, value);
        break;
      case 'sec-websocket-key':
        out.key = add(out.key, value);
        break;
      case 'sec-websocket-version':
        out.version = add(out.version, value);
        break;
      case 'content-length':
        out.contentLength = add(out.contentLength, value);
        break;
      case 'transfer-encoding':
        out.transferEncoding = add(out.transferEncoding, value);
        break;
      case 'sec-websocket-protocol':
        out.protocol = add(out.protocol, value);
        break;
      case 'sec-websocket-extensions':
        out.extensions = add(out.extensions, value);
        break;
      case 'origin':
        out.origin = add(out.origin, value);
        break;
    }
  }
  return out;
}

const UPGRADE_REQUIRED: Array<[string, string]> = [['Upgrade', 'websocket']];

/**
 * Validates an upgrade request. Checks, in order (each refusal says which failed):
 *
 * | check (RFC 6455 §4.2.1 unless noted) | refusal |
 * |---|---|
 * | method is `GET` (item 1) | 405 `METHOD_NOT_ALLOWED` + `Allow: GET` |
 * | HTTP/1.1 or later (item 1) | 505 `HTTP_VERSION_NOT_SUPPORTED` |
 * | exactly one valid `Host` (item 2; RFC 7230 §5.4) | 400 `MISSING_HOST` / `DUPLICATE_HOST` / `INVALID_HOST` |
 * | `Upgrade` lists `websocket` (item 3) | 426 `MISSING_UPGRADE` + `Upgrade: websocket` |
 * | `Connection` lists `upgrade` (item 4) | 426 `MISSING_CONNECTION_UPGRADE` + `Upgrade: websocket` |
 * | exactly one `Sec-WebSocket-Key`, base64 of 16 bytes (item 5) | 400 `MISSING_KEY` / `DUPLICATE_KEY` / `INVALID_KEY` |
 * | exactly one `Sec-WebSocket-Version: 13` (item 6, §4.4) | 426 `UNSUPPORTED_VERSION` + `Sec-WebSocket-Version: 13` |
 * | no body: `Content-Length` absent or one `0`, no `Transfer-Encoding` | 400 `UNEXPECTED_BODY` |
 * | `Sec-WebSocket-Protocol` / `-Extensions` well-formed (§4.1, §9.1) | 400 `MALFORMED_PROTOCOLS` / `MALFORMED_EXTENSIONS` |
 * | at most one `Origin` (item 8) | 400 `DUPLICATE_ORIGIN` |
 * | `Host` allowed by the DNS-rebinding policy (§10.2) | 403 `HOST_NOT_ALLOWED` |
 * | `Origin` parsable (400 `INVALID_ORIGIN`) and allowed: same-origin or allow-listed (§10.2) | 403 `ORIGIN_NOT_ALLOWED` / `MISSING_ORIGIN` |
 *
 * A plain GET without upgrade headers gets 426, telling the client to upgrade.
 * The host refusal uses 403 rather than 421: the request reached the right socket, it names
 * a host this server does not serve for browsers. Never throws (a policy predicate that
 * throws gives a 500 rejection `ORIGIN_CHECK_FAILED`; a malformed `origins` entry gives a 500
 * `INVALID_ORIGIN_POLICY`).
 *
 * @example
 * const decision = validateUpgradeRequest(head, { listenAddress: '127.0.0.1' });
 * socket.write(decision.ok ? buildAcceptResponse({ key: decision.key }, platform) : buildRejectResponse(decision));
 */
export function validateUpgradeRequest<R = RequestHead>(
  request: RequestHead,
  policy: ServerPolicy<R> = {},
  context?: R,
): UpgradeDecision {
  try {
    return check(request, policy, context === undefined ? (request as R) : context);
  } catch (error) {
    if (error instanceof HandshakeError) {
      return toRejection(error.status === undefined ? withStatus(error, 500) : error);
    }
    return {
      ok: false,
      status: 500,
      code: 'INTERNAL_ERROR',
      reason: 'internal error',
      headers: [],
    };
  }
}

function withStatus(error: HandshakeError, status: number): HandshakeError {
  return new HandshakeError(error.code, error.message, status, error.headers);
}

function check<R>(request: RequestHead, policy: ServerPolicy<R>, context: R): UpgradeAccepted {
  const headers = collectHeaders(request.headers);
  // Item 1: "An HTTP/1.1 or higher GET request".
  if (request.method !== 'GET') {
    throw refuse(405, 'METHOD_NOT_ALLOWED', 'the WebSocket handshake must use GET', [
      ['Allow', 'GET'],
    ]);
  }
  if (!isVersionAtLeast11(request.httpVersion)) {
    throw refuse(505, 'HTTP_VERSION_NOT_SUPPORTED', 'the WebSocket handshake requires HTTP/1.1');
  }

  // Item 2: a Host header. Duplicates are refused (RFC 7230 §5.4: 400 for more than one).
  const hosts = headers.host;
  if (hosts.length === 0) throw refuse(400, 'MISSING_HOST', 'missing Host header');
  if (hosts.length > 1) throw refuse(400, 'DUPLICATE_HOST', 'more than one Host header');
  const hostValue = hosts[0];

  // Item 3: Upgrade containing the (case-insensitive) token "websocket".
  if (!listHasToken(headers.upgrade, 'websocket')) {
    throw refuse(426, 'MISSING_UPGRADE', 'Upgrade header must include websocket', UPGRADE_REQUIRED);
  }
  // Item 4: Connection containing the (case-insensitive) token "Upgrade".
  if (!listHasToken(headers.connection, 'upgrade')) {
    throw refuse(
      426,
      'MISSING_CONNECTION_UPGRADE',
      'Connection header must include Upgrade',
      UPGRADE_REQUIRED,
    );
  }

  // Item 5: exactly one Sec-WebSocket-Key, base64 of 16 bytes.
  const keys = headers.key;
  if (keys.length === 0) throw refuse(400, 'MISSING_KEY', 'missing Sec-WebSocket-Key header');
  if (keys.length > 1) throw refuse(400, 'DUPLICATE_KEY', 'more than one Sec-WebSocket-Key header');
  const key = keys[0];
  if (!isValidKey(key)) {
    throw refuse(400, 'INVALID_KEY', 'Sec-WebSocket-Key is not the base64 encoding of 16 bytes');
  }

  // Item 6 and §4.4: version 13 only; otherwise 426 with the versions we speak.
  const versions = headers.version;
  if (versions.length !== 1 || versions[0] !== '13') {
    throw refuse(
      426,
      'UNSUPPORTED_VERSION',
      versions.length > 1
        ? 'more than one Sec-WebSocket-Version header'
        : 'Sec-WebSocket-Version must be 13',
      [['Sec-WebSocket-Version', '13']],
    );
  }

  // A GET carrying a body could smuggle frames or a second request (checklist H4).
  const lengths = headers.contentLength;
  if (lengths.length > 1 || (lengths.length === 1 && lengths[0] !== '0')) {
    throw refuse(
      400,
      'UNEXPECTED_BODY',
      'the handshake request must not have a body (Content-Length)',
    );
  }
  if (headers.transferEncoding.length > 0) {
    throw refuse(
      400,
      'UNEXPECTED_BODY',
      'the handshake request must not have a body (Transfer-Encoding)',
    );
  }

  // Items 9, 10: optional lists; several headers are one list (RFC 7230 §3.2.2).
  const protocolValues = headers.protocol;
  const protocols =
    protocolValues.length === 0 ? [] : parseProtocolHeader(protocolValues.join(','));
  const extensionValues = headers.extensions;
  const extensions =
    extensionValues.length === 0 ? [] : parseExtensionHeader(extensionValues.join(','));

  const origins = headers.origin;
  if (origins.length > 1) throw refuse(400, 'DUPLICATE_ORIGIN', 'more than one Origin header');

  // §10.2 and DNS rebinding: the Host must name this server when it listens privately.
  const host = checkHost(hostValue, policy);
  // Item 8 / §10.2: Origin checked against same-origin and the allow-list.
  // (This server's own origins matter only when an Origin was sent.)
  const origin = checkOrigin(
    origins,
    origins.length === 0 ? NONE : ownOrigins(host, policy.secure === true, policy.serverOrigins),
    policy,
    context,
  );

  return { ok: true, key, protocols, extensions, origin, host: hostValue };
}

/** True for `1.1`, `1.2`, ..., `2.0` and later; false for `1.0`, `0.9`. */
function isVersionAtLeast11(version: string): boolean {
  const dot = version.indexOf('.');
  const major = Number(version.slice(0, dot));
  const minor = Number(version.slice(dot + 1));
  if (dot < 0 || !Number.isInteger(major) || !Number.isInteger(minor)) return false;
  return major > 1 || (major === 1 && minor >= 1);
}
