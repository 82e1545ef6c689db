/**
 * Client side of the opening handshake (RFC 6455 §4.1), sans-I/O: builds the upgrade request
 * text and validates the server's response head. The adapter does the I/O (connect, write,
 * feed the response to `HttpHeadParser('response')`).
 */
import type { ExtensionOffer } from '../extensions/extension.js';
import type { Platform } from '../platform.js';
import { computeAccept, generateKey } from './accept.js';
import { HandshakeError } from './errors.js';
import {
  isToken,
  isValidFieldValue,
  parseExtensionHeader,
  parseProtocolHeader,
  splitList,
} from './header-tokens.js';
import { parseAuthority } from './host.js';
import type { ResponseHead } from './http-head.js';

/** Input of {@link createClientRequest}. */
export interface ClientRequestOptions {
  /**
   * Host name or IP literal (IPv6 with or without brackets). A host that already carries a
   * port (`example.com:8080`, `[::1]:8080`) is used as given.
   */
  host: string;
  /** TCP port (1-65535); written in `Host` only when it is not the default (80, or 443 when secure). */
  port: number;
  /** Whether the connection is TLS (`wss:`); decides the default port. */
  secure: boolean;
  /** Path and query (`/chat?room=1`), starting with `/`, no fragment (§3), ASCII only. */
  path: string;
  /** Subprotocols to offer, in preference order: tokens, no duplicates (§4.1 item 10). */
  protocols?: readonly string[];
  /** `Sec-WebSocket-Extensions` offer value (e.g. from `createDeflateOffer`). */
  extensions?: string;
  /** `Origin` to send (browsers always send one; other clients may, §4.1 item 8). */
  origin?: string;
  /**
   * Extra headers, e.g. `Authorization`. `Host` and `Origin` here replace the computed ones;
   * the handshake's own headers (Upgrade, Connection, Sec-WebSocket-*) and body headers are refused.
   */
  headers?: ReadonlyArray<readonly [name: string, value: string]>;
}

/** A prepared client request. */
export interface ClientRequest {
  /** The request head text (ASCII; ends with the empty line). Write it with `latin1`. */
  request: string;
  /** The `Sec-WebSocket-Key` sent. */
  key: string;
  /** The `Sec-WebSocket-Accept` the server must answer (§4.1 item 4 of the response checks). */
  expectedAccept: string;
}

const RESERVED_REQUEST_HEADERS = [
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'content-length',
  'transfer-encoding',
];

function usage(code: string, message: string): HandshakeError {
  return new HandshakeError(code, message);
}

/**
 * The opening handshake request as a method, a path and an ordered header list, for transports
 * that write the head themselves (Node's `http.request`, fetch-like APIs). `Host` comes first.
 */
export interface ClientRequestHead {
  /** Always `GET` (§4.1 item 2). */
  method: 'GET';
  /** The request target (path and query). */
  path: string;
  /** Header fields in the order they should be written; names spelled as given. */
  headers: Array<[name: string, value: string]>;
  /** The `Sec-WebSocket-Key` sent. */
  key: string;
  /** The `Sec-WebSocket-Accept` the server must answer (§4.1 item 4 of the response checks). */
  expectedAccept: string;
}

/**
 * Builds the opening handshake request (§4.1 items 1-12) with a fresh key from the platform, as
 * a header list (see {@link createClientRequest} for the same request as text).
 *
 * @throws HandshakeError (no status) `INVALID_HOST`, `INVALID_PORT`, `INVALID_PATH`,
 *   `INVALID_PROTOCOL`, `DUPLICATE_PROTOCOL`, `INVALID_HEADER` (a name that is not a token or a
 *   value with CR, LF, NUL or another control character), `RESERVED_HEADER`.
 */
export function createClientRequestHead(
  options: ClientRequestOptions,
  platform: Platform,
): ClientRequestHead {
  const port = options.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw usage('INVALID_PORT', 'port must be an integer in 1-65535');
  }
  const defaultPort = options.secure ? 443 : 80;
  let hostHeader = formatHost(options.host);
  const alreadyHasPort = options.host.startsWith('[')
    ? options.host.includes(']:')
    : options.host.split(':').length === 2;
  if (!alreadyHasPort && port !== defaultPort) hostHeader += `:${port}`;
  if (parseAuthority(hostHeader) === undefined) {
    throw usage('INVALID_HOST', 'host is not a valid host name or IP literal');
  }

  const path = options.path;
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw usage('INVALID_PATH', 'path must start with /');
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    // §3: no fragment; request-target is visible ASCII (RFC 7230 §3.1.1).
    if (c === 0x23) throw usage('INVALID_PATH', 'path must not contain a fragment (#)');
    if (c <= 0x20 || c >= 0x7f)
      throw usage('INVALID_PATH', 'path must be visible ASCII (percent-encode the rest)');
  }

  const protocols = options.protocols ?? [];
  for (let i = 0; i < protocols.length; i++) {
    if (typeof protocols[i] !== 'string' || !isToken(protocols[i])) {
      throw usage('INVALID_PROTOCOL', 'each subprotocol must be an RFC 7230 token');
    }
    if (protocols.indexOf(protocols[i]) !== i) {
      throw usage('DUPLICATE_PROTOCOL', `subprotocol ${protocols[i]} is listed twice`);
    }
  }

  let origin = options.origin;
  const extra: Array<[string, string]> = [];
  for (const [name, value] of options.headers ?? []) {
    checkHeader(name, value);
    const lower = name.toLowerCase();
    if (RESERVED_REQUEST_HEADERS.includes(lower)) {
      throw usage('RESERVED_HEADER', `header ${name} is set by the handshake itself`);
    }
    if (lower === 'host') hostHeader = value;
    else if (lower === 'origin') origin = value;
    else extra.push([name, value]);
  }
  if (origin !== undefined) checkHeader('Origin', origin);
  if (options.extensions !== undefined) checkHeader('Sec-WebSocket-Extensions', options.extensions);

  const key = generateKey(platform);
  const headers: Array<[string, string]> = [
    ['Host', hostHeader],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', key],
    ['Sec-WebSocket-Version', '13'],
  ];
  if (origin !== undefined) headers.push(['Origin', origin]);
  if (protocols.length > 0) headers.push(['Sec-WebSocket-Protocol', protocols.join(', ')]);
  if (options.extensions !== undefined && options.extensions !== '') {
    headers.push(['Sec-WebSocket-Extensions', options.extensions]);
  }
  for (const header of extra) headers.push(header);
  return { method: 'GET', path, headers, key, expectedAccept: computeAccept(key, platform) };
}

/**
 * Builds the opening handshake request (§4.1 items 1-12) with a fresh key from the platform, as
 * the text of the request head.
 *
 * @throws HandshakeError as {@link createClientRequestHead}.
 *
 * @example
 * const { request, expectedAccept } = createClientRequest(
 *   { host: 'example.com', port: 443, secure: true, path: '/chat', protocols: ['chat'] }, nodePlatform);
 */
export function createClientRequest(
  options: ClientRequestOptions,
  platform: Platform,
): ClientRequest {
  const head = createClientRequestHead(options, platform);
  let request = `GET ${head.path} HTTP/1.1\r\n`;
  for (const [name, value] of head.headers) request += `${name}: ${value}\r\n`;
  request += '\r\n';
  return { request, key: head.key, expectedAccept: head.expectedAccept };
}

/** Brackets a bare IPv6 literal (two or more colons); leaves names, IPv4 and bracketed hosts. */
function formatHost(host: string): string {
  if (typeof host !== 'string' || host.length === 0)
    throw usage('INVALID_HOST', 'host must be a non-empty string');
  if (host.startsWith('[')) return host;
  return host.split(':').length > 2 ? `[${host}]` : host;
}

function checkHeader(name: string, value: string): void {
  if (typeof name !== 'string' || !isToken(name))
    throw usage('INVALID_HEADER', 'header name is not a token');
  if (typeof value !== 'string' || !isValidFieldValue(value)) {
    throw usage(
      'INVALID_HEADER',
      `value of header ${name} contains CR, LF, NUL or another invalid character`,
    );
  }
}

/** What the client offered, for {@link validateServerResponse}. */
export interface ResponseExpectations {
  /** `expectedAccept` from {@link createClientRequest}. */
  expectedAccept: string;
  /** Subprotocols offered (may be empty). */
  protocols: readonly string[];
  /** Names (lower-case) of the extensions offered (may be empty). */
  extensionsOffered: readonly string[];
}

/** The negotiated result of a valid response. */
export interface ResponseAgreement {
  /** The subprotocol the server selected, or `''` if none. */
  protocol: string;
  /** The extensions the server accepted, in its order, with their parameters (for the extension to judge). */
  extensions: ExtensionOffer[];
}

function all(headers: ResponseHead['headers'], name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) if (n === name) out.push(v);
  return out;
}

function single(
  headers: ResponseHead['headers'],
  name: string,
  display: string,
): string | undefined {
  const values = all(headers, name);
  // §11.3.2-11.3.4: these appear at most once in a response.
  if (values.length > 1)
    throw new HandshakeError('DUPLICATE_HEADER', `more than one ${display} header in the response`);
  return values[0];
}

/**
 * Validates the server's handshake response (§4.1, "the client MUST validate the server's
 * response"; checklist K1, K2):
 * status 101 (`UNEXPECTED_STATUS`); exactly `Upgrade: websocket` (`MISSING_UPGRADE`);
 * `Connection` listing `upgrade` (`MISSING_CONNECTION`); `Sec-WebSocket-Accept` equal to the
 * expected value (`BAD_ACCEPT`); extensions well-formed (`MALFORMED_EXTENSIONS`), offered
 * (`UNOFFERED_EXTENSION`) and not repeated (`DUPLICATE_EXTENSION`); a subprotocol, if any, one
 * of those offered (`UNOFFERED_PROTOCOL`); `Upgrade`, `Sec-WebSocket-Accept`, `-Protocol` and
 * `-Extensions` at most once each (`DUPLICATE_HEADER`).
 *
 * @throws HandshakeError with one of the codes above; the client must then fail the
 *   WebSocket connection (no `open`).
 */
export function validateServerResponse(
  response: ResponseHead,
  expected: ResponseExpectations,
): ResponseAgreement {
  const headers = response.headers;
  if (response.status !== 101) {
    throw new HandshakeError(
      'UNEXPECTED_STATUS',
      `unexpected response status ${response.status} (expected 101)`,
    );
  }
  // §4.1 response item 2: Upgrade must be "websocket" (ASCII case-insensitive).
  const upgrade = single(headers, 'upgrade', 'Upgrade');
  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
    throw new HandshakeError('MISSING_UPGRADE', 'response lacks Upgrade: websocket');
  }
  // Item 3: Connection must contain the token "Upgrade" (ASCII case-insensitive).
  if (
    !all(headers, 'connection')
      .flatMap(splitList)
      .some((t) => t.toLowerCase() === 'upgrade')
  ) {
    throw new HandshakeError('MISSING_CONNECTION', 'response lacks Connection: Upgrade');
  }
  // Item 4: Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)).
  const accept = single(headers, 'sec-websocket-accept', 'Sec-WebSocket-Accept');
  if (accept === undefined)
    throw new HandshakeError('BAD_ACCEPT', 'response lacks Sec-WebSocket-Accept');
  if (accept !== expected.expectedAccept) {
    throw new HandshakeError('BAD_ACCEPT', 'Sec-WebSocket-Accept does not match the key sent');
  }
  // Item 5: only extensions we offered, each at most once.
  const extensionValue = single(headers, 'sec-websocket-extensions', 'Sec-WebSocket-Extensions');
  let extensions: ExtensionOffer[] = [];
  if (extensionValue !== undefined) {
    try {
      extensions = parseExtensionHeader(extensionValue);
    } catch {
      throw new HandshakeError(
        'MALFORMED_EXTENSIONS',
        'malformed Sec-WebSocket-Extensions in the response',
      );
    }
    for (let i = 0; i < extensions.length; i++) {
      const name = extensions[i].name;
      if (!expected.extensionsOffered.some((offered) => offered.toLowerCase() === name)) {
        throw new HandshakeError(
          'UNOFFERED_EXTENSION',
          `server accepted extension ${name}, which was not offered`,
        );
      }
      if (extensions.findIndex((e) => e.name === name) !== i) {
        throw new HandshakeError('DUPLICATE_EXTENSION', `server accepted extension ${name} twice`);
      }
    }
  }
  // Item 6: a subprotocol must be one we offered (exact match, subprotocols are case-sensitive).
  const protocolValue = single(headers, 'sec-websocket-protocol', 'Sec-WebSocket-Protocol');
  let protocol = '';
  if (protocolValue !== undefined) {
    let selected: string[];
    try {
      selected = parseProtocolHeader(protocolValue);
    } catch {
      selected = [];
    }
    if (selected.length !== 1 || !expected.protocols.includes(selected[0])) {
      throw new HandshakeError(
        'UNOFFERED_PROTOCOL',
        'server selected a subprotocol that was not offered',
      );
    }
    protocol = selected[0];
  }
  return { protocol, extensions };
}
