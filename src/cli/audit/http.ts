import { HandshakeError, HttpHeadParser } from '../../protocol/handshake/index.js';

/**
 * The HTTP side of the probes: building exact (possibly malformed) upgrade requests and reading
 * the server's response head. The reader is tolerant on purpose: it reports what the server sent,
 * it does not judge it (the checks do).
 */

/** One header line to send, exactly as written (duplicates and odd spellings allowed). */
export type HeaderLine = readonly [name: string, value: string];

/** A request to send byte for byte. */
export interface RawRequest {
  method: string;
  target: string;
  /** e.g. `HTTP/1.1`, `HTTP/1.0`. */
  version: string;
  headers: readonly HeaderLine[];
  /** Bytes after the blank line (a body the request should not have). */
  body?: Uint8Array;
}

/** Serialises a request head (CRLF line ends, §4.1 / RFC 9112) followed by the body, if any. */
export function serializeRequest(request: RawRequest): Buffer {
  let head = `${request.method} ${request.target} ${request.version}\r\n`;
  for (const [name, value] of request.headers) head += `${name}: ${value}\r\n`;
  head += '\r\n';
  const headBytes = Buffer.from(head, 'latin1');
  return request.body === undefined ? headBytes : Buffer.concat([headBytes, request.body]);
}

/** What came back for a request. */
export interface ResponseHead {
  /** The status line as received (for reports). */
  statusLine: string;
  /** Status code, or 0 when the status line could not be parsed. */
  status: number;
  /** Header names lowercased, values trimmed, duplicates kept, in order. */
  headers: Array<[name: string, value: string]>;
  /** Offset of the first byte after the head (frames start there after a 101). */
  bodyOffset: number;
  /**
   * Why the project's strict parser (`HttpHeadParser`, RFC 7230 §3) rejects this head, e.g.
   * `BARE_LF: ...`; undefined when it is well-formed. Strict clients would fail the handshake.
   */
  strictError?: string;
}

/** Largest response head the audit reads before giving up (bounds memory). */
export const MAX_RESPONSE_HEAD = 64 * 1024;

/**
 * Parses a response head from the start of `bytes`. Returns `null` while the head is incomplete
 * (no blank line yet and fewer than `MAX_RESPONSE_HEAD` bytes); otherwise the parsed head. Never
 * throws: an unparsable status line gives `status: 0`. Accepts bare-LF line ends so that a sloppy
 * server is still described, not just rejected.
 */
export function parseResponseHead(bytes: Uint8Array): ResponseHead | null {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = buffer.indexOf('\r\n\r\n', 0, 'latin1');
  let skip = 4;
  const lfEnd = buffer.indexOf('\n\n', 0, 'latin1');
  if (lfEnd !== -1 && (end === -1 || lfEnd < end)) {
    end = lfEnd;
    skip = 2;
  }
  if (end === -1) {
    if (buffer.length < MAX_RESPONSE_HEAD) return null;
    end = MAX_RESPONSE_HEAD;
    skip = 0;
  }
  const lines = buffer.toString('latin1', 0, end).split(/\r?\n/);
  const statusLine = lines[0] ?? '';
  const match = /^HTTP\/\d(?:\.\d)? (\d{3})(?: |$)/.exec(statusLine);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const head: ResponseHead = {
    statusLine,
    status: match ? Number(match[1]) : 0,
    headers,
    bodyOffset: end + skip,
  };
  // Second opinion from the strict parser the project's own client uses; its parse wins when valid.
  try {
    const strict = new HttpHeadParser('response', {
      maxHeadBytes: MAX_RESPONSE_HEAD,
      maxHeaders: 1000,
    }).feed(buffer.subarray(0, end + skip));
    if (strict.done) {
      head.status = strict.head.status;
      head.headers = strict.head.headers;
    } else head.strictError = 'INCOMPLETE: no CRLF CRLF at the end of the head';
  } catch (error) {
    head.strictError =
      error instanceof HandshakeError ? `${error.code}: ${error.message}` : 'MALFORMED_HEAD';
  }
  return head;
}

/** All values of a header (lowercase `name`), in order. */
export function headerValues(head: ResponseHead, name: string): string[] {
  return head.headers.filter(([n]) => n === name).map(([, v]) => v);
}

/** Whether a comma-separated header contains `token` (case-insensitive). */
export function headerHasToken(head: ResponseHead, name: string, token: string): boolean {
  return headerValues(head, name).some((value) =>
    value
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .includes(token.toLowerCase()),
  );
}
