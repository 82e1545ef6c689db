/**
 * Reads the body of a non-101 handshake response, capped (checklist K4). The body is only kept to
 * show it to an `unexpected-response` listener; the connection is never reused, so reading stops
 * at the cap and the socket is destroyed.
 */

/** Default cap of a non-101 response body: 1 MiB (python websockets uses the same). */
export const DEFAULT_MAX_RESPONSE_BODY = 1024 * 1024;

/** How a body is delimited (RFC 9112 §6.3), decided from the response head. */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'until-close' };

/**
 * Decides the framing of a response body from its status and headers (RFC 9112 §6.3):
 * 1xx/204/304 have none, `Transfer-Encoding` ending in `chunked` is chunked, a valid
 * `Content-Length` gives the length, anything else runs until the server closes.
 * `headers` are lower-cased names with raw values.
 */
export function bodyFraming(
  statusCode: number,
  headers: ReadonlyArray<readonly [string, string]>,
): BodyFraming {
  if ((statusCode >= 100 && statusCode < 200) || statusCode === 204 || statusCode === 304)
    return { kind: 'none' };
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  for (const [name, value] of headers) {
    if (name === 'transfer-encoding')
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
    else if (name === 'content-length')
      contentLength = contentLength === undefined ? value.trim() : 'conflict';
  }
  if (transferEncoding !== undefined) {
    const codings = transferEncoding.split(',').map((coding) => coding.trim().toLowerCase());
    return codings[codings.length - 1] === 'chunked'
      ? { kind: 'chunked' }
      : { kind: 'until-close' };
  }
  if (contentLength !== undefined && /^\d{1,15}$/.test(contentLength)) {
    return { kind: 'length', length: Number(contentLength) };
  }
  return { kind: 'until-close' };
}

const CR = 0x0d;
const LF = 0x0a;
/** Longest chunk-size line we accept (size, extensions and CRLF). */
const MAX_CHUNK_LINE = 4096;

/**
 * Incremental, capped body collector. Feed it the bytes after the response head with
 * {@link BodyCollector.push}; it reports `true` once the body is complete or the cap is reached
 * (then `truncated` tells which). Chunked bodies are decoded; trailers are skipped.
 * Malformed chunked framing ends the body (what arrived so far is kept).
 */
export class BodyCollector {
  /** True when the body was longer than the cap (or the chunked framing was malformed). */
  truncated = false;
  private readonly parts: Buffer[] = [];
  private size = 0;
  private done: boolean;
  // chunked state
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' = 'size';
  private line = '';
  private chunkLeft = 0;
  private remaining: number;

  /**
   * @param framing from {@link bodyFraming}
   * @param maxBytes cap on kept body bytes (default 1 MiB)
   */
  constructor(
    private readonly framing: BodyFraming,
    private readonly maxBytes: number = DEFAULT_MAX_RESPONSE_BODY,
  ) {
    this.done = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
    this.remaining = framing.kind === 'length' ? framing.length : Infinity;
  }

  /** Whether the body is complete (or capped). */
  get complete(): boolean {
    return this.done;
  }

  /** The body bytes collected so far (at most `maxBytes`). */
  body(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }

  /** Adds received bytes; returns true when no more are needed. */
  push(bytes: Buffer): boolean {
    if (this.done) return true;
    if (this.framing.kind === 'chunked') this.pushChunked(bytes);
    else this.keep(bytes.subarray(0, Math.min(bytes.length, this.remaining)));
    return this.done;
  }

  /** The server closed the connection: whatever arrived is the body. */
  end(): void {
    if (!this.done && this.framing.kind !== 'until-close') this.truncated = true;
    this.done = true;
  }

  private keep(bytes: Buffer): void {
    if (this.framing.kind === 'length') {
      this.remaining -= bytes.length;
      if (this.remaining === 0) this.done = true;
    }
    const room = this.maxBytes - this.size;
    if (bytes.length > room) {
      if (room > 0) this.parts.push(Buffer.from(bytes.subarray(0, room)));
      this.size = this.maxBytes;
      this.truncated = true;
      this.done = true;
      return;
    }
    if (bytes.length > 0) {
      this.parts.push(Buffer.from(bytes));
      this.size += bytes.length;
    }
  }

  private pushChunked(bytes: Buffer): void {
    let i = 0;
    while (i < bytes.length && !this.done) {
      if (this.state === 'data') {
        const take = Math.min(this.chunkLeft, bytes.length - i);
        this.keep(bytes.subarray(i, i + take));
        i += take;
        this.chunkLeft -= take;
        if (this.chunkLeft === 0) {
          this.state = 'data-crlf';
          this.line = '';
        }
        continue;
      }
      const byte = bytes[i++];
      if (byte !== LF) {
        if (byte !== CR) this.line += String.fromCharCode(byte);
        if (this.line.length > MAX_CHUNK_LINE) this.fail();
        continue;
      }
      const line = this.line;
      this.line = '';
      if (this.state === 'data-crlf') {
        if (line !== '') this.fail();
        this.state = 'size';
      } else if (this.state === 'size') {
        const size = line.split(';')[0].trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(size)) {
          this.fail();
        } else if (Number.parseInt(size, 16) === 0) {
          this.state = 'trailer';
        } else {
          this.chunkLeft = Number.parseInt(size, 16);
          this.state = 'data';
        }
      } else if (line === '') {
        // End of the trailer section: the body is complete.
        this.done = true;
      }
    }
  }

  private fail(): void {
    this.truncated = true;
    this.done = true;
  }
}
