/**
 * An incremental, strict HTTP/1.x head parser (RFC 7230 §3) for the opening handshake: the
 * request on the server side, the response on the client side. Bytes are fed as they arrive;
 * each byte is examined once and each completed line parsed once, so the total cost is linear
 * in the head size however it is split (1-byte writes included, checklist H7). Strictness
 * closes request-smuggling doors (checklist H4): CRLF line ends only, no obs-fold, no
 * whitespace before the colon, token field names, limits on size and header count (H6).
 * Unlike RFC 7230 §3.5's optional leniency, an empty line before the start line is refused too.
 */
import { HandshakeError } from './errors.js';
import { isToken, isTokenChar } from './header-tokens.js';

/** A parsed request head (server side). */
export interface RequestHead {
  /** Request method as sent (case-sensitive token), e.g. `GET`. */
  method: string;
  /** Request target as sent, e.g. `/chat?room=1`. */
  target: string;
  /** `major.minor` from `HTTP/x.y`, e.g. `1.1`. */
  httpVersion: string;
  /** Header fields in order, names lower-cased, values with surrounding OWS removed; duplicates kept. */
  headers: Array<[name: string, value: string]>;
  /**
   * Only with the `rawHeaders` option: names as sent (case kept) and values, flat
   * (`[name, value, name, value, ...]`), as Node's `IncomingMessage.rawHeaders`.
   */
  rawHeaders?: string[];
}

/** A parsed response head (client side). */
export interface ResponseHead {
  /** `major.minor` from `HTTP/x.y`. */
  httpVersion: string;
  /** Three-digit status code. */
  status: number;
  /** Reason phrase as sent (may be empty). */
  reason: string;
  /** Header fields in order, names lower-cased, values with surrounding OWS removed; duplicates kept. */
  headers: Array<[name: string, value: string]>;
}

/** Which head a parser reads. */
export type HeadKind = 'request' | 'response';
/** The head type produced for a kind. */
export type HeadFor<K extends HeadKind> = K extends 'request' ? RequestHead : ResponseHead;

/** Limits of {@link HttpHeadParser}. */
export interface HttpHeadParserOptions {
  /**
   * Most bytes the head may take, start line and final empty line included. Default 16 KiB
   * (16,384). Past it: `HEAD_TOO_LARGE`, status 431. Bounds memory per connection (H6, K4).
   */
  maxHeadBytes?: number;
  /** Most header fields. Default 100. Past it: `TOO_MANY_HEADERS`, status 431 (H6). */
  maxHeaders?: number;
  /** Also keep the names as sent, in `RequestHead.rawHeaders` (requests only). Default false. */
  rawHeaders?: boolean;
}

/** Default of {@link HttpHeadParserOptions.maxHeadBytes}: 16 KiB. */
export const DEFAULT_MAX_HEAD_BYTES = 16 * 1024;
/** Default of {@link HttpHeadParserOptions.maxHeaders}: 100. */
export const DEFAULT_MAX_HEADERS = 100;

/** Result of {@link HttpHeadParser.feed}. `rest` is a view of the bytes after the head (not a copy). */
export type HeadParseResult<H> = { done: false } | { done: true; head: H; rest: Uint8Array };

const CR = 0x0d;
const LF = 0x0a;

/**
 * Incremental head parser. Feed chunks until the result has `done: true`; it then carries the
 * parsed head and the bytes that followed it in the last chunk (for a server, frames the client
 * pipelined; they are only meaningful if the handshake is accepted).
 *
 * Every malformed input throws {@link HandshakeError} with `status` 400 (431 for the limits);
 * once it has thrown, later calls throw the same error. Feeding after completion throws
 * `PARSER_DONE`. Chunks are only read, never kept or modified.
 *
 * @example
 * const parser = new HttpHeadParser('request');
 * const result = parser.feed(bytes);
 * if (result.done) handle(result.head, result.rest);
 */
export class HttpHeadParser<K extends HeadKind = HeadKind> {
  /** Which head this parser reads. */
  readonly kind: K;
  private readonly maxHeadBytes: number;
  private readonly maxHeaders: number;
  private headBytes = 0;
  private partial = '';
  private pendingCR = false;
  private startLine: { a: string; b: string; c: string } | undefined;
  private readonly headers: Array<[string, string]> = [];
  private readonly raw: string[] | undefined;
  private finished = false;
  private failure: HandshakeError | undefined;

  /**
   * @param kind `'request'` (server side) or `'response'` (client side)
   * @param options limits; defaults 16 KiB and 100 headers
   */
  constructor(kind: K, options: HttpHeadParserOptions = {}) {
    this.kind = kind;
    this.maxHeadBytes = options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
    this.maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
    this.raw = options.rawHeaders === true ? [] : undefined;
  }

  /** Bytes of the head consumed so far. */
  get bytesRead(): number {
    return this.headBytes;
  }

  /**
   * Consumes the next chunk of bytes.
   * @throws HandshakeError on malformed input (400) or a limit (431); `PARSER_DONE` after completion.
   */
  feed(chunk: Uint8Array): HeadParseResult<HeadFor<K>> {
    if (this.failure !== undefined) throw this.failure;
    if (this.finished) throw new HandshakeError('PARSER_DONE', 'the head was already parsed');
    try {
      return this.consume(chunk);
    } catch (error) {
      throw this.fail(error);
    }
  }

  /**
   * Parses a whole head in one call, the fast path of a server that found the end of the head
   * (`CRLF CRLF`) in the bytes it read: `text` holds exactly those bytes as ISO-8859-1
   * characters (one character per byte, e.g. Node's `buffer.latin1Slice`), from the start line
   * through the empty line. Same grammar and limits as {@link feed}; only on a fresh parser.
   * @throws HandshakeError as `feed` does; `INCOMPLETE_HEAD` (400) when `text` does not end
   *   with the empty line or continues after it; `PARSER_DONE` when the parser was used.
   */
  parseText(text: string): HeadFor<K> {
    if (this.failure !== undefined) throw this.failure;
    if (this.finished || this.headBytes > 0) {
      throw new HandshakeError('PARSER_DONE', 'the parser was already used');
    }
    try {
      if (text.length > this.maxHeadBytes) {
        throw headTooLarge(this.maxHeadBytes);
      }
      this.headBytes = text.length;
      let start = 0;
      for (;;) {
        // The first bad line end wins, as in `feed`. RFC 7230 §3.5 allows lenient line ends;
        // we do not (smuggling, checklist H4).
        const cr = text.indexOf('\r', start);
        const lf = text.indexOf('\n', start);
        if (lf >= 0 && (cr < 0 || lf < cr)) throw bad('BARE_LF', 'LF without CR in the HTTP head');
        if (cr < 0) throw bad('INCOMPLETE_HEAD', 'the HTTP head does not end with an empty line');
        if (text.charCodeAt(cr + 1) !== LF) {
          throw bad('BARE_CR', 'CR not followed by LF in the HTTP head');
        }
        const end = this.lineAt(text, start, cr);
        start = cr + 2;
        if (end) {
          if (start !== text.length) {
            throw bad('INCOMPLETE_HEAD', 'bytes after the end of the HTTP head');
          }
          this.finished = true;
          return this.result();
        }
      }
    } catch (error) {
      throw this.fail(error);
    }
  }

  /** Keeps the first failure (anything not a HandshakeError is a malformed head) and returns it. */
  private fail(error: unknown): HandshakeError {
    return (this.failure =
      error instanceof HandshakeError
        ? error
        : new HandshakeError('MALFORMED_HEAD', 'malformed HTTP head', 400));
  }

  private consume(chunk: Uint8Array): HeadParseResult<HeadFor<K>> {
    let lineStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (++this.headBytes > this.maxHeadBytes) {
        throw headTooLarge(this.maxHeadBytes);
      }
      const c = chunk[i];
      if (this.pendingCR) {
        // RFC 7230 §3.5 allows lenient line ends; we do not (smuggling, checklist H4).
        if (c !== LF) throw bad('BARE_CR', 'CR not followed by LF in the HTTP head');
        this.pendingCR = false;
        lineStart = i + 1;
        const line = this.partial;
        this.partial = '';
        if (this.lineAt(line, 0, line.length)) {
          this.finished = true;
          return { done: true, head: this.result(), rest: chunk.subarray(i + 1) };
        }
      } else if (c === CR) {
        this.partial += latin1(chunk, lineStart, i);
        this.pendingCR = true;
      } else if (c === LF) {
        throw bad('BARE_LF', 'LF without CR in the HTTP head');
      }
    }
    if (!this.pendingCR) this.partial += latin1(chunk, lineStart, chunk.length);
    return { done: false };
  }

  /**
   * Handles the line `text[start, end)` (without CRLF), read in place: no copy of the line,
   * one slice for the name and one for the value. Returns true at the empty line.
   */
  private lineAt(text: string, start: number, end: number): boolean {
    if (this.startLine === undefined) {
      const line = text.slice(start, end);
      this.startLine = this.kind === 'request' ? parseRequestLine(line) : parseStatusLine(line);
      return false;
    }
    if (end === start) return true;
    const first = text.charCodeAt(start);
    // §3.2.4: obs-fold (a line starting with SP/HTAB) is refused.
    if (first === 0x20 || first === 0x09) throw bad('OBS_FOLD', 'folded header line (obs-fold)');
    const colon = text.indexOf(':', start);
    if (colon < 0 || colon >= end) throw bad('INVALID_HEADER', 'header line without a colon');
    // §3.2.4: "No whitespace is allowed between the header field-name and colon"; the
    // field-name is a token (this also refuses an empty name).
    if (colon === start) throw bad('INVALID_HEADER_NAME', 'header field name is not a token');
    const known = knownName(text, start, colon);
    if (known < 0) {
      for (let i = start; i < colon; i++) {
        if (!isTokenChar(text.charCodeAt(i))) {
          throw bad('INVALID_HEADER_NAME', 'header field name is not a token');
        }
      }
    }
    let a = colon + 1;
    let b = end;
    while (a < b && isOws(text.charCodeAt(a))) a++;
    while (b > a && isOws(text.charCodeAt(b - 1))) b--;
    for (let i = a; i < b; i++) {
      const c = text.charCodeAt(i);
      // field-content: VCHAR / obs-text / SP / HTAB; no NUL or other controls.
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
        throw bad(
          'INVALID_HEADER_VALUE',
          `control character in the value of ${text.slice(start, colon).toLowerCase()}`,
        );
      }
    }
    if (this.headers.length >= this.maxHeaders) {
      throw new HandshakeError(
        'TOO_MANY_HEADERS',
        `more than ${this.maxHeaders} header fields`,
        431,
      );
    }
    const value = text.slice(a, b);
    if (known < 0) {
      const name = text.slice(start, colon);
      this.headers.push([name.toLowerCase(), value]);
      this.raw?.push(name, value);
    } else {
      // A handshake header: its lower-case name and, when spelt as usual, its spelling are
      // shared constants (no slice, no lower-casing per request).
      this.headers.push([KNOWN_LOWER[known >> 1], value]);
      if (this.raw !== undefined) {
        this.raw.push(
          (known & 1) === 1 ? KNOWN_USUAL[known >> 1] : text.slice(start, colon),
          value,
        );
      }
    }
    return false;
  }

  private result(): HeadFor<K> {
    const start = this.startLine!;
    if (this.kind === 'request') {
      const head: RequestHead = {
        method: start.a,
        target: start.b,
        httpVersion: start.c,
        headers: this.headers,
      };
      if (this.raw !== undefined) head.rawHeaders = this.raw;
      return head as HeadFor<K>;
    }
    const head: ResponseHead = {
      httpVersion: start.a,
      status: Number(start.b),
      reason: start.c,
      headers: this.headers,
    };
    return head as HeadFor<K>;
  }
}

/**
 * The header names of a handshake (and the ones browsers add): lower-cased (the header list's
 * names, shared literals rather than a copy per request) and as clients usually spell them.
 * Only letters and `-`: all tchars.
 */
const KNOWN: ReadonlyArray<readonly [lower: string, usual: string]> = [
  ['host', 'Host'],
  ['upgrade', 'Upgrade'],
  ['connection', 'Connection'],
  ['sec-websocket-key', 'Sec-WebSocket-Key'],
  ['sec-websocket-version', 'Sec-WebSocket-Version'],
  ['sec-websocket-extensions', 'Sec-WebSocket-Extensions'],
  ['sec-websocket-protocol', 'Sec-WebSocket-Protocol'],
  ['origin', 'Origin'],
  ['user-agent', 'User-Agent'],
  ['pragma', 'Pragma'],
  ['cache-control', 'Cache-Control'],
  ['accept-encoding', 'Accept-Encoding'],
  ['accept-language', 'Accept-Language'],
];
const KNOWN_LOWER: readonly string[] = /* @__PURE__ */ KNOWN.map((names) => names[0]);
const KNOWN_USUAL: readonly string[] = /* @__PURE__ */ KNOWN.map((names) => names[1]);
/** The longest known name: longer names are never compared. */
const KNOWN_MAX_LENGTH = /* @__PURE__ */ Math.max(...KNOWN_LOWER.map((name) => name.length));
/** Indexes into KNOWN_LOWER by name length. */
const KNOWN_BY_LENGTH: number[][] = /* @__PURE__ */ (() => {
  const table: number[][] = [];
  for (let i = 0; i <= KNOWN_MAX_LENGTH; i++) table.push([]);
  KNOWN_LOWER.forEach((name, index) => table[name.length].push(index));
  return table;
})();

/**
 * The name `text[start, end)` compared without case with KNOWN_LOWER: -1 when it is none of
 * them, else its index times 2, plus 1 when it is spelt exactly as KNOWN_USUAL says. A
 * character matches a lower-case letter of the table only if it is that letter in either case
 * (`| 0x20`), and `-` only if it is `-` (the other code it could be, CR, never is in a line).
 */
function knownName(text: string, start: number, end: number): number {
  const length = end - start;
  if (length > KNOWN_MAX_LENGTH) return -1;
  const candidates = KNOWN_BY_LENGTH[length];
  for (let k = 0; k < candidates.length; k++) {
    const index = candidates[k];
    const lower = KNOWN_LOWER[index];
    const usual = KNOWN_USUAL[index];
    let exact = 1;
    let i = 0;
    for (; i < length; i++) {
      const c = text.charCodeAt(start + i);
      if ((c | 0x20) !== lower.charCodeAt(i)) break;
      if (c !== usual.charCodeAt(i)) exact = 0;
    }
    if (i === length) return (index << 1) | exact;
  }
  return -1;
}

function headTooLarge(maxHeadBytes: number): HandshakeError {
  return new HandshakeError('HEAD_TOO_LARGE', `HTTP head larger than ${maxHeadBytes} bytes`, 431);
}

function bad(code: string, message: string): HandshakeError {
  return new HandshakeError(code, message, 400);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Decodes bytes [start, end) one byte per character (ISO-8859-1), in bounded slices. */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i += 4096) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(i + 4096, end)) as unknown as number[],
    );
  }
  return out;
}

/** `HTTP/` DIGIT `.` DIGIT (RFC 7230 §2.6) -> `x.y`, or undefined. */
function parseVersion(s: string): string | undefined {
  if (s.length !== 8 || !s.startsWith('HTTP/') || s[6] !== '.') return undefined;
  if (!isDigit(s.charCodeAt(5)) || !isDigit(s.charCodeAt(7))) return undefined;
  return s.slice(5);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** request-line = method SP request-target SP HTTP-version (RFC 7230 §3.1.1), single spaces. */
function parseRequestLine(line: string): { a: string; b: string; c: string } {
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp1 < 0 || sp2 < 0 || line.indexOf(' ', sp2 + 1) >= 0) {
    throw bad('INVALID_REQUEST_LINE', 'request line is not `METHOD SP target SP HTTP/x.y`');
  }
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = parseVersion(line.slice(sp2 + 1));
  if (!isToken(method)) throw bad('INVALID_REQUEST_LINE', 'request method is not a token');
  if (target.length === 0) throw bad('INVALID_REQUEST_LINE', 'empty request target');
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f)
      throw bad('INVALID_REQUEST_LINE', 'invalid character in request target');
  }
  if (version === undefined)
    throw bad('INVALID_REQUEST_LINE', 'invalid HTTP version in request line');
  return { a: method, b: target, c: version };
}

/**
 * status-line = HTTP-version SP status-code SP reason-phrase (RFC 7230 §3.1.2). A missing
 * ` reason` after the code is tolerated (some servers omit it); the code is three digits.
 */
function parseStatusLine(line: string): { a: string; b: string; c: string } {
  const version = parseVersion(line.slice(0, 8));
  if (version === undefined || line.charCodeAt(8) !== 0x20) {
    throw bad('INVALID_STATUS_LINE', 'status line does not start with `HTTP/x.y SP`');
  }
  const code = line.slice(9, 12);
  if (
    code.length !== 3 ||
    !isDigit(code.charCodeAt(0)) ||
    !isDigit(code.charCodeAt(1)) ||
    !isDigit(code.charCodeAt(2))
  ) {
    throw bad('INVALID_STATUS_LINE', 'status code is not three digits');
  }
  if (line.length > 12 && line.charCodeAt(12) !== 0x20) {
    throw bad('INVALID_STATUS_LINE', 'status code not followed by SP');
  }
  const reason = line.slice(13);
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f)
      throw bad('INVALID_STATUS_LINE', 'control character in reason phrase');
  }
  return { a: version, b: code, c: reason };
}
