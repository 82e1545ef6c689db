import type { Platform } from '../platform.js';
import { base64Value, encodeBase64 } from './base64.js';

/** The globally unique identifier appended to the client's key (RFC 6455 §1.3, §4.2.2 step 5.4). */
export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const encoder = new TextEncoder();

/**
 * Computes `Sec-WebSocket-Accept` for a client key: base64(SHA-1(key + GUID)) (§1.3, §4.2.2).
 * The key is used as sent (no trimming); validate it first with {@link isValidKey}.
 * Never throws (SHA-1 comes from the injected platform).
 *
 * @example computeAccept('dGhlIHNhbXBsZSBub25jZQ==', nodePlatform) // 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
 */
export function computeAccept(key: string, platform: Platform): string {
  // The shortcut hashes the same UTF-8 bytes in one native call.
  if (platform.sha1Base64 !== undefined) return platform.sha1Base64(key + GUID);
  return encodeBase64(platform.sha1(encoder.encode(key + GUID)));
}

/**
 * A fresh `Sec-WebSocket-Key`: 16 bytes from the platform's CSPRNG, base64-encoded (24 chars)
 * (§4.1: "a randomly selected 16-byte value ... base64-encoded", chosen anew per connection).
 */
export function generateKey(platform: Platform): string {
  const bytes = new Uint8Array(16);
  platform.randomFill(bytes);
  return encodeBase64(bytes);
}

/**
 * True when `key` is exactly the canonical base64 encoding of 16 bytes (§4.2.1 item 5): 24
 * characters, 22 from the base64 alphabet, then `==`, with the unused low 4 bits of the 22nd
 * character zero (so every 16-byte value has exactly one valid spelling). No whitespace allowed:
 * callers strip optional whitespace (OWS) around header values before calling.
 */
export function isValidKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d || key.charCodeAt(23) !== 0x3d) return false;
  for (let i = 0; i < 22; i++) {
    const value = base64Value(key.charCodeAt(i));
    if (value < 0) return false;
    // 22 chars carry 132 bits; only 128 are used, the last 4 must be zero (canonical form).
    if (i === 21 && (value & 0x0f) !== 0) return false;
  }
  return true;
}
