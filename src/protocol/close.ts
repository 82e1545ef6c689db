/**
 * Close frame payloads (RFC 6455 §5.5.1, §7.4): a 2-byte status code followed by a UTF-8 reason.
 */
import { CloseCode, isValidWireCloseCode } from './codes.js';
import { UsageError } from './errors.js';
import { isValidUtf8 } from './utf8.js';

/** A Close payload carries at most 125 bytes, 2 of them the code (§5.5). */
export const MAX_CLOSE_REASON_BYTES = 123;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** A parsed Close payload, or why it is invalid. */
export type ParsedClose =
  | { ok: true; code: number; reason: string }
  | {
      ok: false;
      violation: 'INVALID_CLOSE_PAYLOAD' | 'INVALID_CLOSE_CODE' | 'INVALID_CLOSE_REASON';
    };

/**
 * Parses a received Close payload. An empty payload means "no status" (reported as 1005,
 * §7.1.5); a 1-byte payload, a code not allowed on the wire, or a reason that is not UTF-8 is
 * a protocol violation.
 */
export function parseClosePayload(
  payload: Uint8Array,
  nativeIsUtf8?: (bytes: Uint8Array) => boolean,
  skipUtf8 = false,
): ParsedClose {
  if (payload.length === 0) return { ok: true, code: CloseCode.NoStatus, reason: '' };
  if (payload.length === 1) return { ok: false, violation: 'INVALID_CLOSE_PAYLOAD' };
  const code = (payload[0] << 8) | payload[1];
  if (!isValidWireCloseCode(code)) return { ok: false, violation: 'INVALID_CLOSE_CODE' };
  const reasonBytes = payload.subarray(2);
  if (!skipUtf8 && !isValidUtf8(reasonBytes, nativeIsUtf8)) {
    return { ok: false, violation: 'INVALID_CLOSE_REASON' };
  }
  return { ok: true, code, reason: reasonBytes.length === 0 ? '' : decoder.decode(reasonBytes) };
}

/**
 * Builds a Close payload to send. `code` undefined sends an empty payload (the peer reports
 * 1005). Throws `UsageError` for a code that may not be sent (1005, 1006, 1015, unassigned
 * ranges) or a reason longer than 123 bytes in UTF-8.
 */
export function buildClosePayload(
  code: number | undefined,
  reason: string | Uint8Array | undefined,
  alloc: (size: number) => Uint8Array,
): Uint8Array {
  const reasonBytes =
    reason === undefined
      ? new Uint8Array(0)
      : typeof reason === 'string'
        ? encoder.encode(reason)
        : reason;
  if (code === undefined) {
    if (reasonBytes.length !== 0) {
      throw new UsageError('INVALID_CLOSE_CODE', 'a close reason requires a close code');
    }
    return new Uint8Array(0);
  }
  if (!Number.isInteger(code) || !isValidWireCloseCode(code)) {
    throw new UsageError(
      'INVALID_CLOSE_CODE',
      `close code ${code} may not be sent (RFC 6455 §7.4)`,
    );
  }
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw new UsageError(
      'REASON_TOO_LONG',
      `close reason is ${reasonBytes.length} bytes; at most 123 are allowed`,
    );
  }
  const payload = alloc(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}
