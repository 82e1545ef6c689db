/**
 * The one error type of the opening handshake (RFC 6455 §4). Every failure carries a stable
 * machine-readable `code`; failures that a server answers with an HTTP status also carry
 * `status` (and, when the RFC asks for one, the header to send with it, e.g. `Allow: GET`).
 */
export class HandshakeError extends Error {
  /** Stable code, e.g. `INVALID_KEY`, `BAD_ACCEPT`, `HEAD_TOO_LARGE`. Never localised, safe to match on. */
  readonly code: string;
  /** HTTP status a server should answer with (400, 403, 405, 426, 431, 500, 505, ...), if any. */
  readonly status: number | undefined;
  /** Extra response headers that go with `status` (e.g. `['Sec-WebSocket-Version', '13']`). */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;

  /**
   * @param code stable code
   * @param message human-readable description naming what was wrong (no peer-controlled bytes
   *   beyond header names, so it is safe to log and to put in a response body)
   * @param status HTTP status for server-side rejections
   * @param headers headers to send with that status
   */
  constructor(
    code: string,
    message: string,
    status?: number,
    headers: ReadonlyArray<readonly [string, string]> = [],
  ) {
    super(message);
    this.name = 'HandshakeError';
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

/** A server-side refusal: `status` with the stable `code`, the `reason` and any headers the RFC
 * asks for. Shared by the HTTP/1.1 upgrade (RFC 6455 §4.2.1) and extended CONNECT (RFC 8441). */
export function refuse(
  status: number,
  code: string,
  reason: string,
  headers: Array<[string, string]> = [],
): HandshakeError {
  return new HandshakeError(code, reason, status, headers);
}
