/**
 * UTF-8 validation (RFC 3629 §4, as required for text frames by RFC 6455 §5.6 and §8.1).
 *
 * `Utf8Validator` is incremental: it carries a partial code point across calls, so a text
 * message can be checked piece by piece as it arrives and rejected at the first invalid byte
 * ("fail fast", §8.1), without waiting for the rest of the message.
 */

/** Below this length the JavaScript loop beats the call into a native validator. */
const NATIVE_THRESHOLD = 64;

export class Utf8Validator {
  /** Continuation bytes still needed by the current code point. */
  private need = 0;
  /** Allowed range of the next continuation byte (tightened after E0, ED, F0, F4). */
  private lo = 0x80;
  private hi = 0xbf;

  constructor(private readonly nativeIsUtf8?: (bytes: Uint8Array) => boolean) {}

  /** True when no code point is left unfinished (a message may end here). */
  get complete(): boolean {
    return this.need === 0;
  }

  reset(): void {
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
  }

  /**
   * Validates the next piece. Returns false at the first byte that can never be part of valid
   * UTF-8 (including a prefix that can no longer be completed validly).
   */
  push(bytes: Uint8Array): boolean {
    const length = bytes.length;
    let start = 0;
    // Finish a code point left open by the previous piece (at most 3 bytes).
    while (this.need !== 0 && start < length) {
      const byte = bytes[start++];
      if (byte < this.lo || byte > this.hi) return false;
      this.need--;
      this.lo = 0x80;
      this.hi = 0xbf;
    }
    if (start === length) return true;
    const native = this.nativeIsUtf8;
    if (native === undefined || length - start < NATIVE_THRESHOLD) {
      return this.scan(bytes, start, length);
    }
    // Hand the longest prefix that ends on a code-point boundary to the native validator and
    // keep the unfinished tail (at most 3 bytes) for the next piece.
    const boundary = lastBoundary(bytes, start, length);
    if (
      boundary > start &&
      !native(boundary === length && start === 0 ? bytes : bytes.subarray(start, boundary))
    ) {
      return false;
    }
    return this.scan(bytes, boundary, length);
  }

  private scan(bytes: Uint8Array, start: number, end: number): boolean {
    let need = this.need;
    let lo = this.lo;
    let hi = this.hi;
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      if (need === 0) {
        if (byte < 0x80) continue;
        if (byte < 0xc2) return false; // continuation byte or overlong 2-byte lead (C0, C1)
        if (byte < 0xe0) {
          need = 1;
        } else if (byte < 0xf0) {
          need = 2;
          if (byte === 0xe0)
            lo = 0xa0; // overlong 3-byte forms
          else if (byte === 0xed) hi = 0x9f; // UTF-16 surrogates D800-DFFF
        } else if (byte < 0xf5) {
          need = 3;
          if (byte === 0xf0)
            lo = 0x90; // overlong 4-byte forms
          else if (byte === 0xf4) hi = 0x8f; // above U+10FFFF
        } else {
          return false; // F5-FF never appear in UTF-8
        }
      } else {
        if (byte < lo || byte > hi) return false;
        need--;
        lo = 0x80;
        hi = 0xbf;
      }
    }
    this.need = need;
    this.lo = lo;
    this.hi = hi;
    return true;
  }
}

/**
 * Index just past the last complete code point in bytes[start, end): the position of a trailing
 * lead byte whose sequence does not fit, else `end`. Invalid bytes are left for the validator.
 */
function lastBoundary(bytes: Uint8Array, start: number, end: number): number {
  for (let i = end - 1; i >= start && i >= end - 3; i--) {
    const byte = bytes[i];
    if ((byte & 0xc0) !== 0x80) {
      const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
      return i + size > end ? i : end;
    }
  }
  return end;
}

/** Validates one whole text payload (a complete message). */
export function isValidUtf8(
  bytes: Uint8Array,
  nativeIsUtf8?: (bytes: Uint8Array) => boolean,
): boolean {
  if (nativeIsUtf8 !== undefined && bytes.length >= NATIVE_THRESHOLD) return nativeIsUtf8(bytes);
  const validator = new Utf8Validator();
  return validator.push(bytes) && validator.complete;
}

/** A fast check for the common short ASCII payload; falls back to the full validator. */
export function isValidUtf8Short(
  bytes: Uint8Array,
  nativeIsUtf8?: (b: Uint8Array) => boolean,
): boolean {
  const length = bytes.length;
  if (length < NATIVE_THRESHOLD) {
    let i = 0;
    while (i < length && bytes[i] < 0x80) i++;
    if (i === length) return true;
  }
  return isValidUtf8(bytes, nativeIsUtf8);
}
