/**
 * Header-value grammar of the opening handshake: RFC 7230 §3.2.6 tokens and quoted-strings,
 * the `#rule` list syntax of RFC 7230 §7, and the `Sec-WebSocket-Extensions` grammar of
 * RFC 6455 §9.1. Every parser here is a single left-to-right pass over the string (no regular
 * expressions, no backtracking), so the cost is linear in the header length whatever the input
 * (checklist H5). Parsed names are returned in arrays, never used as object keys, so names such
 * as `__proto__` or `constructor` are inert.
 */
import type { ExtensionOffer } from '../extensions/extension.js';
import { HandshakeError } from './errors.js';

/** `tchar` of RFC 7230 §3.2.6 as a 128-entry lookup table (1 = allowed in a token). */
const TCHAR = /* @__PURE__ */ (() => {
  const table = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1; // DIGIT
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1; // upper ALPHA
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1; // lower ALPHA
  for (const ch of "!#$%&'*+-.^_`|~") table[ch.charCodeAt(0)] = 1;
  return table;
})();

/** True if the character code is a `tchar` (RFC 7230 §3.2.6). */
export function isTokenChar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/** True if `value` is a non-empty RFC 7230 token (`1*tchar`). */
export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (!isTokenChar(value.charCodeAt(i))) return false;
  return true;
}

/**
 * True if `value` may be sent as a header field value (RFC 7230 §3.2: VCHAR, obs-text, SP,
 * HTAB; in particular no CR, LF or NUL, which would allow response splitting, checklist H10).
 * Characters above U+00FF are refused because the head is written as latin1 bytes.
 */
export function isValidFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x09) continue;
    if (c < 0x20 || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09; // SP / HTAB (RFC 7230 §3.2.3)
}

/**
 * Splits a `#element` list (RFC 7230 §7) on commas and trims OWS, dropping empty elements, but
 * does not check the elements' syntax. For headers whose elements are compared, not parsed
 * (`Upgrade`, `Connection`). Commas inside quoted strings are not special here. Never throws.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c) {
      let a = start;
      let b = i;
      while (a < b && isOws(value.charCodeAt(a))) a++;
      while (b > a && isOws(value.charCodeAt(b - 1))) b--;
      if (b > a) out.push(value.slice(a, b));
      start = i + 1;
    }
  }
  return out;
}

/**
 * True if some element of the `#element` lists `values` equals `token` case-insensitively
 * (`token` given in lower-case ASCII), with the element boundaries of {@link splitList}: for
 * header values (latin1 strings) the same answer as
 * `values.flatMap(splitList).some((t) => t.toLowerCase() === token)`, without allocating; only
 * ASCII letters fold. For `Upgrade: websocket` and `Connection: upgrade`. Never throws.
 */
export function listHasToken(values: readonly string[], token: string): boolean {
  for (let i = 0; i < values.length; i++) if (valueHasToken(values[i], token)) return true;
  return false;
}

/** {@link listHasToken} for one header value (no array needed). Never throws. */
export function valueHasToken(value: string, token: string): boolean {
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i !== value.length && value.charCodeAt(i) !== 0x2c) continue;
    let a = start;
    let b = i;
    start = i + 1;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    if (b - a !== token.length) continue;
    let j = 0;
    while (j < token.length) {
      let c = value.charCodeAt(a + j);
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      else if (c > 0x7f) break;
      if (c !== token.charCodeAt(j)) break;
      j++;
    }
    if (j === token.length) return true;
  }
  return false;
}

/**
 * Parses a `1#token` list such as `Sec-WebSocket-Protocol` (RFC 6455 §4.1, §11.3.4):
 * comma-separated tokens with optional whitespace; empty elements are tolerated
 * (RFC 7230 §7) but at least one token is required. Tokens keep their case (subprotocol names
 * are case-sensitive) and their order; duplicates are kept.
 *
 * @throws HandshakeError `MALFORMED_PROTOCOLS` (status 400) if an element is not a token or the
 *   list is empty.
 */
export function parseProtocolHeader(value: string): string[] {
  const out: string[] = [];
  const n = value.length;
  let i = 0;
  while (i < n) {
    while (i < n && isOws(value.charCodeAt(i))) i++;
    const start = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    const end = i;
    while (i < n && isOws(value.charCodeAt(i))) i++;
    if (i < n && value.charCodeAt(i) !== 0x2c) {
      throw malformedProtocols(`invalid character at offset ${i} of Sec-WebSocket-Protocol`);
    }
    if (end > start) out.push(value.slice(start, end));
    i++; // skip the comma (or step past the end)
  }
  if (out.length === 0) throw malformedProtocols('Sec-WebSocket-Protocol lists no protocol');
  return out;
}

function malformedProtocols(message: string): HandshakeError {
  return new HandshakeError('MALFORMED_PROTOCOLS', message, 400);
}

function malformedExtensions(message: string): HandshakeError {
  return new HandshakeError('MALFORMED_EXTENSIONS', message, 400);
}

/**
 * Parses `Sec-WebSocket-Extensions` (RFC 6455 §9.1):
 *
 * ```
 * extension-list = 1#extension
 * extension      = extension-token *( OWS ";" OWS extension-param )
 * extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
 * ```
 *
 * Extension and parameter names are lower-cased; values keep their case. A quoted-string value
 * is unescaped (backslash quoted-pairs, RFC 7230 §3.2.6) and, as §9.1 requires, the unescaped
 * value must itself be a token. A parameter without a value is `true`. Empty list elements are
 * tolerated; at least one extension is required. Duplicated extensions or parameters are
 * returned as they came: judging them is the negotiating extension's job.
 *
 * @throws HandshakeError `MALFORMED_EXTENSIONS` (status 400) on any syntax error.
 */
export function parseExtensionHeader(value: string): ExtensionOffer[] {
  const offers: ExtensionOffer[] = [];
  const n = value.length;
  let i = 0;
  const skipOws = (): void => {
    while (i < n && isOws(value.charCodeAt(i))) i++;
  };
  const readToken = (what: string): string => {
    const start = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    if (i === start) throw malformedExtensions(`expected ${what} at offset ${start}`);
    return value.slice(start, i);
  };
  const readQuoted = (): string => {
    // At the opening DQUOTE. quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
    const start = i;
    i++;
    let out = '';
    let chunkStart = i;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c === 0x22) {
        out += value.slice(chunkStart, i);
        i++;
        return out;
      }
      if (c === 0x5c) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        out += value.slice(chunkStart, i);
        if (i + 1 >= n) break;
        const escaped = value.charCodeAt(i + 1);
        if (!isQuotedPairChar(escaped)) {
          throw malformedExtensions(`invalid escaped character at offset ${i + 1}`);
        }
        out += value[i + 1];
        i += 2;
        chunkStart = i;
        continue;
      }
      if (!isQdtext(c))
        throw malformedExtensions(`invalid character in quoted string at offset ${i}`);
      i++;
    }
    throw malformedExtensions(`unterminated quoted string starting at offset ${start}`);
  };

  while (i < n) {
    skipOws();
    if (i < n && value.charCodeAt(i) === 0x2c) {
      i++; // empty list element
      continue;
    }
    if (i >= n) break;
    const name = readToken('an extension name').toLowerCase();
    const params: Array<readonly [string, string | true]> = [];
    skipOws();
    while (i < n && value.charCodeAt(i) === 0x3b) {
      i++;
      skipOws();
      const paramName = readToken('a parameter name').toLowerCase();
      skipOws();
      let paramValue: string | true = true;
      if (i < n && value.charCodeAt(i) === 0x3d) {
        i++;
        skipOws();
        if (i < n && value.charCodeAt(i) === 0x22) {
          const valueStart = i;
          paramValue = readQuoted();
          // §9.1: "the value after quoted-string unescaping MUST conform to the 'token' ABNF".
          if (!isToken(paramValue)) {
            throw malformedExtensions(`quoted value at offset ${valueStart} is not a token`);
          }
        } else {
          paramValue = readToken('a parameter value');
        }
        skipOws();
      }
      params.push([paramName, paramValue]);
    }
    if (i < n && value.charCodeAt(i) !== 0x2c) {
      throw malformedExtensions(`unexpected character at offset ${i}`);
    }
    offers.push({ name, params });
    i++; // the comma
  }
  if (offers.length === 0) throw malformedExtensions('Sec-WebSocket-Extensions lists no extension');
  return offers;
}

function isQdtext(c: number): boolean {
  // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
  return (
    c === 0x09 ||
    c === 0x20 ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x7e && c !== 0x5c) ||
    (c >= 0x80 && c <= 0xff)
  );
}

function isQuotedPairChar(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

/**
 * Serialises extension offers or responses as a `Sec-WebSocket-Extensions` value, e.g.
 * `permessage-deflate; client_max_window_bits=10, x-foo`. Parameters without a value (`true`)
 * are written bare. The inverse of {@link parseExtensionHeader} for lower-case names.
 *
 * @throws HandshakeError `INVALID_EXTENSION` (status 500) if a name or value is not a token
 *   (§9.1 allows only token values, so nothing is ever quoted and no CR/LF can be written).
 */
export function serializeExtensions(offers: readonly ExtensionOffer[]): string {
  const parts: string[] = [];
  for (const offer of offers) {
    if (!isToken(offer.name)) {
      throw new HandshakeError('INVALID_EXTENSION', 'extension name is not a token', 500);
    }
    let part = offer.name;
    for (const [name, value] of offer.params) {
      if (!isToken(name)) {
        throw new HandshakeError(
          'INVALID_EXTENSION',
          `parameter name of ${offer.name} is not a token`,
          500,
        );
      }
      if (value === true) {
        part += `; ${name}`;
      } else {
        if (typeof value !== 'string' || !isToken(value)) {
          throw new HandshakeError(
            'INVALID_EXTENSION',
            `value of ${offer.name}; ${name} is not a token`,
            500,
          );
        }
        part += `; ${name}=${value}`;
      }
    }
    parts.push(part);
  }
  return parts.join(', ');
}
