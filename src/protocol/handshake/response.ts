/**
 * The server's handshake responses as text: the 101 that completes the handshake
 * (RFC 6455 §4.2.2 step 5) and the refusals (§4.2.2 step 4, §4.4). Every header name and value
 * is checked before it is written, so application-supplied strings cannot split the response
 * (checklist H10). The text is ASCII/latin1: write it with the `latin1` encoding.
 */
import type { Platform } from '../platform.js';
import { computeAccept } from './accept.js';
import { HandshakeError } from './errors.js';
import { isToken, isValidFieldValue } from './header-tokens.js';

/** Reason phrases (RFC 9110 §15) for the statuses a WebSocket server sends. */
export const STATUS_REASONS = {
  101: 'Switching Protocols',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  421: 'Misdirected Request',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
} as const satisfies Record<number, string>;

/** Reason phrase for `status`: the table entry, else a generic phrase for its class. */
export function reasonPhrase(status: number): string {
  const known = (STATUS_REASONS as Record<number, string>)[status];
  if (known !== undefined) return known;
  if (status >= 500) return 'Server Error';
  if (status >= 400) return 'Client Error';
  if (status >= 300) return 'Redirection';
  if (status >= 200) return 'Success';
  return 'Informational';
}

/** Header names the builders write themselves; extra headers may not repeat them. */
const ACCEPT_OWNED = [
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
];
const REJECT_OWNED = ['connection', 'content-type', 'content-length', 'transfer-encoding'];

function checkHeaders(
  headers: ReadonlyArray<readonly [string, string]>,
  owned: readonly string[],
): string {
  let out = '';
  for (const [name, value] of headers) {
    if (typeof name !== 'string' || !isToken(name)) {
      throw new HandshakeError(
        'INVALID_RESPONSE_HEADER',
        'response header name is not a token',
        500,
      );
    }
    if (typeof value !== 'string' || !isValidFieldValue(value)) {
      throw new HandshakeError(
        'INVALID_RESPONSE_HEADER',
        `value of response header ${name} contains CR, LF, NUL or another invalid character`,
        500,
      );
    }
    if (owned.includes(name.toLowerCase())) {
      throw new HandshakeError(
        'RESERVED_RESPONSE_HEADER',
        `response header ${name} is set by the handshake itself`,
        500,
      );
    }
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

/** Input of {@link buildAcceptResponse}. */
export interface AcceptResponseOptions {
  /** The client's `Sec-WebSocket-Key` (from the accepted decision). */
  key: string;
  /** The selected subprotocol, if any; must be a token. */
  protocol?: string;
  /**
   * The protocols the client offered. When given, `protocol` must be one of them (§4.2.2 step
   * 5.3: the server selects one of the client's values), else `UNOFFERED_PROTOCOL` is thrown.
   */
  offeredProtocols?: readonly string[];
  /** The `Sec-WebSocket-Extensions` response value (e.g. from `serializeExtensions`), if any. */
  extensions?: string;
  /** Extra headers (e.g. `Set-Cookie`), checked like the rest. */
  headers?: ReadonlyArray<readonly [name: string, value: string]>;
}

/**
 * Builds the `101 Switching Protocols` response (§4.2.2 step 5): `Upgrade: websocket`,
 * `Connection: Upgrade`, `Sec-WebSocket-Accept`, then `Sec-WebSocket-Protocol` and
 * `Sec-WebSocket-Extensions` when given, then the extra headers, then the empty line.
 *
 * @throws HandshakeError (status 500) `INVALID_PROTOCOL` / `UNOFFERED_PROTOCOL` for a bad
 *   subprotocol, `INVALID_RESPONSE_HEADER` if a name is not a token or a value contains CR, LF,
 *   NUL or other controls, `RESERVED_RESPONSE_HEADER` if an extra header repeats one above.
 */
export function buildAcceptResponse(options: AcceptResponseOptions, platform: Platform): string {
  let text =
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${computeAccept(options.key, platform)}\r\n`;
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
    text += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  }
  if (options.extensions !== undefined && options.extensions !== '') {
    if (typeof options.extensions !== 'string' || !isValidFieldValue(options.extensions)) {
      throw new HandshakeError(
        'INVALID_RESPONSE_HEADER',
        'Sec-WebSocket-Extensions value contains CR, LF or NUL',
        500,
      );
    }
    text += `Sec-WebSocket-Extensions: ${options.extensions}\r\n`;
  }
  return text + checkHeaders(options.headers ?? [], ACCEPT_OWNED) + '\r\n';
}

/** Input of {@link buildRejectResponse}; an `UpgradeRejection` fits. */
export interface RejectResponseOptions {
  /** HTTP status, 100-599 (not 101). */
  status: number;
  /** A short sentence naming the problem; sent as the body (non-printable characters become `?`). */
  reason: string;
  /** Headers the status calls for (e.g. `Sec-WebSocket-Version: 13`), checked like the rest. */
  headers?: ReadonlyArray<readonly [name: string, value: string]>;
  /**
   * End the body with a newline (default true). False sends `reason` exactly, e.g. another
   * library's refusal text that clients compare byte for byte.
   */
  newline?: boolean;
}

/**
 * Builds a refusal: status line with the standard phrase, `Connection: close` (the adapter
 * must close the connection after writing it: no second request is read, checklist H8),
 * `Content-Type: text/plain; charset=utf-8`, `Content-Length`, the given headers, and a body
 * of `reason` plus a newline.
 *
 * @throws HandshakeError `INVALID_STATUS` (500) for a status outside 200-599 (1xx would not end
 *   the exchange), `INVALID_RESPONSE_HEADER` / `RESERVED_RESPONSE_HEADER` as for the 101.
 */
export function buildRejectResponse(rejection: RejectResponseOptions): string {
  const status = rejection.status;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new HandshakeError(
      'INVALID_STATUS',
      'rejection status must be an integer in 200-599',
      500,
    );
  }
  let body = '';
  for (const ch of String(rejection.reason).slice(0, 512)) {
    const c = ch.charCodeAt(0);
    body += ch.length === 1 && c >= 0x20 && c < 0x7f ? ch : '?';
  }
  if (rejection.newline !== false) body += '\n';
  return (
    `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n` +
    'Connection: close\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\n` +
    checkHeaders(rejection.headers ?? [], REJECT_OWNED) +
    '\r\n' +
    body
  );
}
