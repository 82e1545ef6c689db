/**
 * Typed errors of the client side of the opening handshake (RFC 6455 §4.1). Each carries a stable
 * machine-readable `code` (never localised, safe to match on) and the close code the `WebSocket`
 * reports locally (1006, or 1015 for a TLS failure; neither is ever sent on the wire, §7.4.1).
 */
import { CloseCode } from '../protocol/codes.js';

/** The codes a {@link ClientHandshakeError} can carry. */
export const ClientErrorCode = {
  /** `handshakeTimeout` elapsed before the server completed the opening handshake. */
  HANDSHAKE_TIMEOUT: 'HANDSHAKE_TIMEOUT',
  /** The server answered with a status other than 101 (and it was not a followed redirect). */
  UNEXPECTED_RESPONSE: 'UNEXPECTED_RESPONSE',
  /** The TLS handshake failed (bad certificate, wrong name, protocol mismatch...). Local close 1015. */
  TLS_FAILED: 'TLS_FAILED',
  /** The server closed the connection before a complete response head arrived. */
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  /** A redirect from `wss:` (or `https:`) to a non-TLS URL; never followed. */
  REDIRECT_DOWNGRADE: 'REDIRECT_DOWNGRADE',
  /** A redirect to a scheme other than ws, wss, http or https, or to an invalid URL. */
  REDIRECT_INVALID: 'REDIRECT_INVALID',
  /** More than `maxRedirects` redirects. */
  TOO_MANY_REDIRECTS: 'TOO_MANY_REDIRECTS',
  /** `close()`/`terminate()` was called on the WebSocket while it was still connecting. */
  ABORTED: 'ABORTED',
  /** The proxy answered the CONNECT with 407 (or 401): credentials missing or refused. */
  PROXY_AUTH_REQUIRED: 'PROXY_AUTH_REQUIRED',
  /** The proxy answered the CONNECT with a status other than 2xx and 407 (`statusCode`). */
  PROXY_REFUSED: 'PROXY_REFUSED',
  /** The proxy could not be reached, answered garbage, or closed before answering (`cause`). */
  PROXY_FAILED: 'PROXY_FAILED',
  /** `http2: true` and the server does not offer WebSockets over HTTP/2 (RFC 8441). */
  HTTP2_UNSUPPORTED: 'HTTP2_UNSUPPORTED',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * Why the client could not open the connection. `closeCode` is what the WebSocket reports
 * locally in its `close` event: 1015 for TLS failures, 1006 otherwise (both reserved, never sent).
 * `statusCode` is set for `UNEXPECTED_RESPONSE`; `cause` holds the underlying error, if any.
 */
export class ClientHandshakeError extends Error {
  /** Stable code, one of {@link ClientErrorCode}. */
  readonly code: ClientErrorCode;
  /** Local close code: 1015 (TLS handshake failure) or 1006. */
  readonly closeCode: number;
  /** HTTP status of the server's response, when one was received. */
  readonly statusCode: number | undefined;
  /**
   * ironsock's own, longer description. `message` is `ws`'s text where `ws` fails for the same
   * reason (`Opening handshake has timed out`, `Maximum redirects exceeded`, `socket hang up`),
   * so code written for ws keeps matching; otherwise the two are the same.
   */
  readonly explanation: string;

  /**
   * @param code stable code
   * @param message human-readable text (peer-controlled bytes are never included beyond the status)
   * @param options the underlying error, the HTTP status when known, and ironsock's explanation
   *   when `message` is ws's shorter text
   */
  constructor(
    code: ClientErrorCode,
    message: string,
    options: { cause?: unknown; statusCode?: number; explanation?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClientHandshakeError';
    this.code = code;
    this.closeCode =
      code === ClientErrorCode.TLS_FAILED ? CloseCode.TlsHandshake : CloseCode.Abnormal;
    this.statusCode = options.statusCode;
    this.explanation = options.explanation ?? message;
  }
}

/** The codes a {@link ClientSyntaxError} can carry. */
export type ClientSyntaxErrorCode =
  'INVALID_URL' | 'INVALID_SUBPROTOCOL' | 'INVALID_PROXY' | 'REDIRECT_INVALID';

/**
 * A URL or subprotocol list that can never work. A `SyntaxError`, as WHATWG WebSocket and `ws`
 * throw, with a stable `code`:
 * - thrown synchronously by the `WebSocket` constructor (§3, §4.1 step 1 "fail the WebSocket
 *   connection" before any network activity): `INVALID_URL`, `INVALID_SUBPROTOCOL` or
 *   `INVALID_PROXY` (the `proxy` option or the proxy environment variable it reads);
 * - emitted as `'error'` when a followed redirect's `Location` is not a valid URL or has a scheme
 *   other than ws/wss/http/https (as `ws` does): `REDIRECT_INVALID`.
 *
 * `message` is `ws`'s text (`Invalid URL: foo`, `The URL's protocol must be one of ...`);
 * `explanation` is ironsock's.
 */
export class ClientSyntaxError extends SyntaxError {
  /** `INVALID_URL`, `INVALID_SUBPROTOCOL`, `INVALID_PROXY` or `REDIRECT_INVALID`. */
  readonly code: ClientSyntaxErrorCode;
  /** ironsock's own description (same as `message` when ws has no text of its own). */
  readonly explanation: string;
  constructor(code: ClientSyntaxErrorCode, message: string, explanation: string = message) {
    super(message);
    this.name = 'SyntaxError';
    this.code = code;
    this.explanation = explanation;
  }
}
