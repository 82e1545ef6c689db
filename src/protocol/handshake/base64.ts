/**
 * Minimal standard base64 (RFC 4648 §4, with `=` padding) for the handshake keys. Written out
 * rather than using `btoa` so that the core handles bytes, not binary strings, on every runtime.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Encodes `bytes` as padded standard base64. Never throws. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out +=
      ALPHABET[(n >> 18) & 63] +
      ALPHABET[(n >> 12) & 63] +
      ALPHABET[(n >> 6) & 63] +
      ALPHABET[n & 63];
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63] + '==';
  } else if (left === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + '=';
  }
  return out;
}

/** Value (0-63) of one base64 alphabet character code, or -1 if it is not in the alphabet. */
export function base64Value(charCode: number): number {
  if (charCode >= 0x41 && charCode <= 0x5a) return charCode - 0x41; // A-Z
  if (charCode >= 0x61 && charCode <= 0x7a) return charCode - 0x61 + 26; // a-z
  if (charCode >= 0x30 && charCode <= 0x39) return charCode - 0x30 + 52; // 0-9
  if (charCode === 0x2b) return 62; // +
  if (charCode === 0x2f) return 63; // /
  return -1;
}
