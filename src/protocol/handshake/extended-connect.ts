/**
 * WebSockets over HTTP/2 (RFC 8441), sans-I/O: the extended CONNECT request as a list of
 * header fields (pseudo-headers included) in, a decision out, and the same for the client's
 * view of the response. The transport (Node's `node:http2`) stays in src/node/.
 *
 * RFC 8441 replaces the HTTP/1.1 upgrade with a stream opened by `CONNECT` carrying
 * `:protocol: websocket` (§4), on a connection whose server sent
 * `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (§3). There is no `Sec-WebSocket-Key` and no
 * `Sec-WebSocket-Accept` (§5): HTTP/2 framing, ALPN and the `:protocol` pseudo-header already
 * prove that both ends speak the protocol, which is what the key/accept exchange proves on
 * HTTP/1.1. Everything else of the security model is unchanged: `Origin`, the `Host` policy
 * applied to `:authority`, version 13, subprotocols and extensions (§5: "the same way as
 * RFC 6455").
 */
import type { ExtensionOffer } from '../extensions/extension.js';
import { HandshakeError, refuse } from './errors.js';
import {
  isToken,
  isValidFieldValue,
  parseExtensionHeader,
  parseProtocolHeader,
} from './header-tokens.js';
import { checkHost } from './host.js';
import { checkOrigin, ownOrigins } from './origin.js';
import type { ServerPolicy, UpgradeRejection } from './server.js';
import { toRejection } from './server.js';

/** One HTTP/2 header field (lower-case name, pseudo-headers included), as received. */
export type H2Field = readonly [name: string, value: string];

/** An accepted extended CONNECT: what the adapter needs to negotiate and answer `:status 200`. */
export interface ExtendedConnectAccepted {
  readonly ok: true;
  /** Offered subprotocols in preference order; may be empty. */
  readonly protocols: string[];
  /** Offered extensions in order; may be empty. */
  readonly extensions: ExtensionOffer[];
  /** The `origin` header as sent, if any. */
  readonly origin: string | undefined;
  /** The `:authority` as sent (it plays the role of `Host`). */
  readonly host: string;
  /** The `:path` as sent (path and query). */
  readonly path: string;
  /** The `:scheme` as sent (`https` or `http`). */
  readonly scheme: string;
}

/** The outcome of {@link validateExtendedConnect}. */
export type ExtendedConnectDecision = ExtendedConnectAccepted | UpgradeRejection;

/** True when the fields are an extended CONNECT (`:method CONNECT` with a `:protocol`). */
export function isExtendedConnect(fields: readonly H2Field[]): boolean {
  let connect = false;
  let protocol = false;
  for (const [name, value] of fields) {
    if (name === ':method' && value === 'CONNECT') connect = true;
    else if (name === ':protocol') protocol = true;
  }
  return connect && protocol;
}

interface Collected {
  method: string[];
  protocol: string[];
  scheme: string[];
  path: string[];
  authority: string[];
  host: string[];
  version: string[];
  contentLength: string[];
  subprotocols: string[];
  extensions: string[];
  origin: string[];
}

function collect(fields: readonly H2Field[]): Collected {
  const out: Collected = {
    method: [],
    protocol: [],
    scheme: [],
    path: [],
    authority: [],
    host: [],
    version: [],
    contentLength: [],
    subprotocols: [],
    extensions: [],
    origin: [],
  };
  for (const [name, value] of fields) {
    switch (name) {
      case ':method':
        out.method.push(value);
        break;
      case ':protocol':
        out.protocol.push(value);
        break;
      case ':scheme':
        out.scheme.push(value);
        break;
      case ':path':
        out.path.push(value);
        break;
      case ':authority':
        out.authority.push(value);
        break;
      case 'host':
        out.host.push(value);
        break;
      case 'sec-websocket-version':
        out.version.push(value);
        break;
      case 'content-length':
        out.contentLength.push(value);
        break;
      case 'sec-websocket-protocol':
        out.subprotocols.push(value);
        break;
      case 'sec-websocket-extensions':
        out.extensions.push(value);
        break;
      case 'origin':
        out.origin.push(value);
        break;
    }
  }
  return out;
}

/**
 * Validates an extended CONNECT request (RFC 8441 §4-5, with RFC 6455 §4.2.1 and §10.2 for what
 * HTTP/2 leaves unchanged). Checks, in order; the codes match the HTTP/1.1 ones where the
 * meaning is the same, so that the same bad request gets the same verdict on both:
 *
 * | check | refusal |
 * |---|---|
 * | exactly one `:method`, `CONNECT` (§4) | 405 `METHOD_NOT_ALLOWED` |
 * | exactly one `:protocol`, `websocket` (§4, §5) | 400 `MISSING_UPGRADE` / `UNSUPPORTED_PROTOCOL` |
 * | exactly one `:scheme`, `https` or `http` (§4) | 400 `INVALID_SCHEME` |
 * | exactly one non-empty `:path` (§4) | 400 `INVALID_PATH` |
 * | exactly one `:authority`, a valid `host[:port]`; a `host` field, if any, equal to it (RFC 9113 §8.3.1) | 400 `MISSING_HOST` / `DUPLICATE_HOST` / `INVALID_HOST` |
 * | exactly one `sec-websocket-version: 13` (§5, RFC 6455 §4.4) | 426 `UNSUPPORTED_VERSION` + `sec-websocket-version: 13` |
 * | no `content-length` (the stream's DATA is the WebSocket) | 400 `UNEXPECTED_BODY` |
 * | `sec-websocket-protocol` / `-extensions` well-formed | 400 `MALFORMED_PROTOCOLS` / `MALFORMED_EXTENSIONS` |
 * | at most one `origin` | 400 `DUPLICATE_ORIGIN` |
 * | `:authority` allowed by the DNS-rebinding policy | 403 `HOST_NOT_ALLOWED` |
 * | `origin` parsable and allowed (same-origin or allow-listed) | 400 `INVALID_ORIGIN`, 403 `ORIGIN_NOT_ALLOWED` / `MISSING_ORIGIN` |
 *
 * `sec-websocket-key` is not required and ignored if present (§5). The 426 carries no `Upgrade`
 * field: HTTP/2 forbids connection-specific fields (RFC 9113 §8.2.2). Never throws (a throwing
 * origin predicate gives 500 `ORIGIN_CHECK_FAILED`).
 *
 * @param fields every header field of the request, pseudo-headers included, duplicates kept
 * @param policy the same policy as {@link validateUpgradeRequest}; `secure` gives the scheme of
 *   the server's own origin
 * @param context what origin predicates get as their second argument
 * @example
 * const decision = validateExtendedConnect(
 *   [[':method', 'CONNECT'], [':protocol', 'websocket'], [':scheme', 'https'],
 *    [':path', '/chat'], [':authority', 'localhost:8443'], ['sec-websocket-version', '13']],
 *   { secure: true, listenAddress: '127.0.0.1' },
 * );
 */
export function validateExtendedConnect<R = readonly H2Field[]>(
  fields: readonly H2Field[],
  policy: ServerPolicy<R> = {},
  context?: R,
): ExtendedConnectDecision {
  try {
    return check(fields, policy, context === undefined ? (fields as unknown as R) : context);
  } catch (error) {
    if (error instanceof HandshakeError) {
      return toRejection(
        error.status === undefined
          ? new HandshakeError(error.code, error.message, 500, error.headers)
          : error,
      );
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

function check<R>(
  fields: readonly H2Field[],
  policy: ServerPolicy<R>,
  context: R,
): ExtendedConnectAccepted {
  const h = collect(fields);
  // §4: "the :method pseudo-header field is set to CONNECT".
  if (h.method.length !== 1 || h.method[0] !== 'CONNECT') {
    throw refuse(405, 'METHOD_NOT_ALLOWED', 'a WebSocket over HTTP/2 must use CONNECT', [
      ['allow', 'CONNECT'],
    ]);
  }
  // §4: ":protocol" names the protocol; §5: "websocket" (the Upgrade token of RFC 6455).
  if (h.protocol.length === 0) {
    throw refuse(400, 'MISSING_UPGRADE', 'extended CONNECT without :protocol');
  }
  if (h.protocol.length > 1 || h.protocol[0].toLowerCase() !== 'websocket') {
    throw refuse(400, 'UNSUPPORTED_PROTOCOL', ':protocol must be websocket');
  }
  // §4: ":scheme and :path ... MUST also be included".
  if (h.scheme.length !== 1 || (h.scheme[0] !== 'https' && h.scheme[0] !== 'http')) {
    throw refuse(400, 'INVALID_SCHEME', ':scheme must be https or http');
  }
  if (h.path.length !== 1 || h.path[0] === '' || h.path[0][0] !== '/') {
    throw refuse(400, 'INVALID_PATH', ':path must be one absolute path');
  }
  // RFC 9113 §8.3.1: :authority takes the place of Host; if both are sent they must agree.
  if (h.authority.length === 0) throw refuse(400, 'MISSING_HOST', 'missing :authority');
  if (h.authority.length > 1) throw refuse(400, 'DUPLICATE_HOST', 'more than one :authority');
  const authority = h.authority[0];
  if (h.host.length > 1 || (h.host.length === 1 && h.host[0] !== authority)) {
    throw refuse(400, 'DUPLICATE_HOST', 'host field differs from :authority');
  }
  // §5 keeps RFC 6455 §4.4: version 13 only; say which one we speak.
  if (h.version.length !== 1 || h.version[0] !== '13') {
    throw refuse(
      426,
      'UNSUPPORTED_VERSION',
      h.version.length > 1
        ? 'more than one sec-websocket-version field'
        : 'sec-websocket-version must be 13',
      [['sec-websocket-version', '13']],
    );
  }
  if (h.contentLength.length > 0) {
    throw refuse(400, 'UNEXPECTED_BODY', 'the extended CONNECT must not declare a content-length');
  }
  const protocols =
    h.subprotocols.length === 0 ? [] : parseProtocolHeader(h.subprotocols.join(','));
  const extensions = h.extensions.length === 0 ? [] : parseExtensionHeader(h.extensions.join(','));
  if (h.origin.length > 1) throw refuse(400, 'DUPLICATE_ORIGIN', 'more than one origin field');
  // Exactly as on HTTP/1.1: DNS-rebinding policy on the authority, then Origin.
  const host = checkHost(authority, policy);
  const origin = checkOrigin(
    h.origin,
    ownOrigins(host, policy.secure === true, policy.serverOrigins),
    policy,
    context,
  );
  return {
    ok: true,
    protocols,
    extensions,
    origin,
    host: authority,
    path: h.path[0],
    scheme: h.scheme[0],
  };
}

/** Input of {@link buildExtendedConnectAccept}. */
export interface ExtendedConnectAcceptOptions {
  /** The selected subprotocol, if any; must be a token the client offered. */
  protocol?: string;
  /** The protocols the client offered (from the decision). */
  offeredProtocols?: readonly string[];
  /** The `sec-websocket-extensions` response value, if any. */
  extensions?: string;
  /** Extra response fields, checked like the rest. */
  headers?: ReadonlyArray<readonly [name: string, value: string]>;
}

/** Fields HTTP/2 forbids (RFC 9113 §8.2.2) or that the accept owns. */
const RESERVED = new Set([
  'connection',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * The response fields of an accepted extended CONNECT (RFC 8441 §5: a 2xx answer, here
 * `:status 200`), as a list ready for Node's `stream.respond`. No `sec-websocket-accept`.
 *
 * @throws HandshakeError (status 500) `INVALID_PROTOCOL` / `UNOFFERED_PROTOCOL` for a bad
 *   subprotocol, `INVALID_RESPONSE_HEADER` for a name that is not a token or a value with CR,
 *   LF, NUL or other controls, `RESERVED_RESPONSE_HEADER` for a connection-specific or owned field
 *   (checklist H10: nothing the application gives can split or forge the response).
 */
export function buildExtendedConnectAccept(
  options: ExtendedConnectAcceptOptions,
): Array<[string, string]> {
  const out: Array<[string, string]> = [[':status', '200']];
  const protocol = options.protocol;
  if (protocol !== undefined) {
    if (typeof protocol !== 'string' || !isToken(protocol)) {
      throw new HandshakeError('INVALID_PROTOCOL', 'selected subprotocol is not a token', 500);
    }
    if (options.offeredProtocols !== undefined && !options.offeredProtocols.includes(protocol)) {
      throw new HandshakeError(
        'UNOFFERED_PROTOCOL',
        'selected subprotocol was not offered by the client',
        500,
      );
    }
    out.push(['sec-websocket-protocol', protocol]);
  }
  if (options.extensions !== undefined && options.extensions !== '') {
    if (!isValidFieldValue(options.extensions)) {
      throw new HandshakeError(
        'INVALID_RESPONSE_HEADER',
        'sec-websocket-extensions value contains CR, LF or NUL',
        500,
      );
    }
    out.push(['sec-websocket-extensions', options.extensions]);
  }
  for (const [rawName, value] of options.headers ?? []) {
    const name = String(rawName).toLowerCase();
    if (!isToken(name) || typeof value !== 'string' || !isValidFieldValue(value)) {
      throw new HandshakeError(
        'INVALID_RESPONSE_HEADER',
        'response field name is not a token or its value contains CR, LF or NUL',
        500,
      );
    }
    if (RESERVED.has(name)) {
      throw new HandshakeError(
        'RESERVED_RESPONSE_HEADER',
        `response field ${name} is connection-specific or set by the library`,
        500,
      );
    }
    out.push([name, value]);
  }
  return out;
}

/** Input of {@link createExtendedConnectRequest}. */
export interface ExtendedConnectRequestOptions {
  /** `host[:port]` of the target (brackets around IPv6 literals; port omitted when 443/80). */
  authority: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** `https` for `wss:` (default), `http` for `ws:` over cleartext HTTP/2. */
  scheme?: 'https' | 'http';
  /** Subprotocols offered, in preference order (tokens). */
  protocols?: readonly string[];
  /** The `sec-websocket-extensions` offer, if any. */
  extensions?: string;
  /** The `origin` field, if any. */
  origin?: string;
  /** Extra fields (lower-cased on the wire); connection-specific ones are refused. */
  headers?: ReadonlyArray<readonly [name: string, value: string]>;
}

/**
 * The fields of a client's extended CONNECT (RFC 8441 §4-5), ready for Node's
 * `session.request`: pseudo-headers first, then version 13, subprotocols, extensions, origin and
 * the extra fields. No `sec-websocket-key` (§5).
 * @throws HandshakeError `INVALID_REQUEST_HEADER` for a field name that is not a token, a value
 *   with CR/LF/NUL, a connection-specific field, or a pseudo-header among the extras;
 *   `INVALID_SUBPROTOCOL` for a subprotocol that is not a token.
 */
export function createExtendedConnectRequest(
  options: ExtendedConnectRequestOptions,
): Array<[string, string]> {
  const out: Array<[string, string]> = [
    [':method', 'CONNECT'],
    [':protocol', 'websocket'],
    [':scheme', options.scheme ?? 'https'],
    [':path', options.path],
    [':authority', options.authority],
    ['sec-websocket-version', '13'],
  ];
  const protocols = options.protocols ?? [];
  for (const protocol of protocols) {
    if (!isToken(protocol)) {
      throw new HandshakeError('INVALID_SUBPROTOCOL', 'a subprotocol is not a token');
    }
  }
  if (protocols.length > 0) out.push(['sec-websocket-protocol', protocols.join(', ')]);
  if (options.extensions !== undefined && options.extensions !== '') {
    out.push(['sec-websocket-extensions', options.extensions]);
  }
  if (options.origin !== undefined) out.push(['origin', options.origin]);
  for (const [rawName, value] of options.headers ?? []) {
    const name = rawName.toLowerCase();
    if (
      !isToken(name) ||
      !isValidFieldValue(value) ||
      RESERVED.has(name) ||
      name === 'host' ||
      name === 'sec-websocket-key' ||
      name === 'sec-websocket-version' ||
      name === 'te'
    ) {
      throw new HandshakeError(
        'INVALID_REQUEST_HEADER',
        `request field ${name} cannot be sent on an HTTP/2 WebSocket request`,
      );
    }
    out.push([name, value]);
  }
  for (const [name, value] of out) {
    if (!isValidFieldValue(value)) {
      throw new HandshakeError('INVALID_REQUEST_HEADER', `request field ${name} contains CR or LF`);
    }
  }
  return out;
}

/** What the client offered, to check the response against. */
export interface ExtendedConnectExpectations {
  /** Subprotocols offered (the response may select one of them, or none). */
  protocols: readonly string[];
  /** Extension names offered (e.g. `['permessage-deflate']`). */
  extensionsOffered: readonly string[];
}

/** What the server settled, from a 2xx answer. */
export interface ExtendedConnectAgreement {
  /** The selected subprotocol, or ''. */
  readonly protocol: string;
  /** The accepted extensions (parsed), for the extension's own response check. */
  readonly extensions: ExtensionOffer[];
  /** The raw `sec-websocket-extensions` value, or ''. */
  readonly extensionsValue: string;
}

/**
 * Checks the server's answer to an extended CONNECT (RFC 8441 §5 with RFC 6455 §4.1's
 * response rules that still apply): a 2xx status, at most one subprotocol that was offered,
 * only offered extensions.
 * @throws HandshakeError `UNEXPECTED_STATUS` (a non-2xx answer), `UNOFFERED_PROTOCOL`,
 *   `UNOFFERED_EXTENSION`, `DUPLICATE_EXTENSION`, `MALFORMED_EXTENSIONS` (the same codes as
 *   `validateServerResponse` on HTTP/1.1).
 */
export function validateExtendedConnectResponse(
  status: number,
  fields: readonly H2Field[],
  expect: ExtendedConnectExpectations,
): ExtendedConnectAgreement {
  if (!(status >= 200 && status < 300)) {
    throw new HandshakeError('UNEXPECTED_STATUS', `Unexpected server response: ${status}`);
  }
  const protocols: string[] = [];
  const extensionValues: string[] = [];
  for (const [name, value] of fields) {
    if (name === 'sec-websocket-protocol') protocols.push(value);
    else if (name === 'sec-websocket-extensions') extensionValues.push(value);
  }
  // RFC 6455 §4.1 item 6: at most one subprotocol, one we offered (exact, case-sensitive).
  let protocol = '';
  if (protocols.length > 0) {
    let selected: string[];
    try {
      selected = parseProtocolHeader(protocols.join(','));
    } catch {
      selected = [];
    }
    if (selected.length !== 1 || !expect.protocols.includes(selected[0])) {
      throw new HandshakeError(
        'UNOFFERED_PROTOCOL',
        'server selected a subprotocol that was not offered',
      );
    }
    protocol = selected[0];
  }
  // Item 5: only extensions we offered, each once.
  const extensionsValue = extensionValues.join(', ');
  let extensions: ExtensionOffer[] = [];
  if (extensionsValue !== '') {
    try {
      extensions = parseExtensionHeader(extensionsValue);
    } catch {
      throw new HandshakeError(
        'MALFORMED_EXTENSIONS',
        'malformed sec-websocket-extensions in the response',
      );
    }
  }
  for (let i = 0; i < extensions.length; i++) {
    const name = extensions[i].name;
    if (!expect.extensionsOffered.some((offered) => offered.toLowerCase() === name)) {
      throw new HandshakeError(
        'UNOFFERED_EXTENSION',
        `server accepted extension ${name}, which was not offered`,
      );
    }
    if (extensions.findIndex((e) => e.name === name) !== i) {
      throw new HandshakeError('DUPLICATE_EXTENSION', `server accepted extension ${name} twice`);
    }
  }
  return { protocol, extensions, extensionsValue };
}
