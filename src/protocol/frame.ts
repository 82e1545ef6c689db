/**
 * Frame layout and the frame encoder (RFC 6455 §5.2).
 *
 *  0                   1                   2                   3
 *  |F|R|R|R| opcode|M| len(7) | extended len (0/16/64) | mask key (0/32) | payload ...
 */
import { maskInto } from './mask.js';

/** Largest payload that fits the 7-bit length field. */
export const MAX_SHORT_LENGTH = 125;
/** Largest control-frame payload (§5.5). */
export const MAX_CONTROL_PAYLOAD = 125;
/** Payloads up to this size are copied behind their header into one buffer (one write). */
export const COPY_THRESHOLD = 4096;

/** What the encoder needs to know about a frame. The encoder does not validate: see `Connection`. */
export interface FrameHeader {
  fin: boolean;
  /** RSV1..RSV3 as a 3-bit number (RSV1 = 0b100). */
  rsv: number;
  opcode: number;
  /** Payload length; any non-negative safe integer (lengths above 2^53 cannot be expressed). */
  length: number;
  /** 4-byte masking key, or null for an unmasked (server) frame. */
  mask: Uint8Array | null;
}

/** Number of header bytes for a payload of `length` bytes (§5.2). */
export function headerSize(length: number, masked: boolean): number {
  return (length <= 125 ? 2 : length <= 0xffff ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Writes a frame header into `target` at `offset` and returns the offset after it.
 * Uses the minimal length encoding (§5.2: "the minimal number of bytes MUST be used").
 */
export function writeHeader(target: Uint8Array, offset: number, header: FrameHeader): number {
  return writeHeaderFields(
    target,
    offset,
    header.fin,
    header.rsv,
    header.opcode,
    header.length,
    header.mask,
  );
}

/** `writeHeader` with the fields as arguments (no header object on the hot path). */
export function writeHeaderFields(
  target: Uint8Array,
  offset: number,
  fin: boolean,
  rsv: number,
  opcode: number,
  length: number,
  mask: Uint8Array | null,
): number {
  target[offset] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  const maskBit = mask === null ? 0 : 0x80;
  if (length <= 125) {
    target[offset + 1] = maskBit | length;
    offset += 2;
  } else if (length <= 0xffff) {
    target[offset + 1] = maskBit | 126;
    target[offset + 2] = length >>> 8;
    target[offset + 3] = length & 0xff;
    offset += 4;
  } else {
    target[offset + 1] = maskBit | 127;
    const high = Math.floor(length / 0x100000000);
    const low = length >>> 0;
    target[offset + 2] = high >>> 24;
    target[offset + 3] = (high >>> 16) & 0xff;
    target[offset + 4] = (high >>> 8) & 0xff;
    target[offset + 5] = high & 0xff;
    target[offset + 6] = low >>> 24;
    target[offset + 7] = (low >>> 16) & 0xff;
    target[offset + 8] = (low >>> 8) & 0xff;
    target[offset + 9] = low & 0xff;
    offset += 10;
  }
  if (mask !== null) {
    target[offset] = mask[0];
    target[offset + 1] = mask[1];
    target[offset + 2] = mask[2];
    target[offset + 3] = mask[3];
    offset += 4;
  }
  return offset;
}

/**
 * Encodes a whole frame (header, then the payload copied, masked when `mask` is given) into
 * `target` at `offset` and returns the offset after it. The caller guarantees the room
 * (`headerSize(length, masked) + length` bytes). `payload` is only read.
 */
export function encodeFrameInto(
  target: Uint8Array,
  offset: number,
  fin: boolean,
  rsv: number,
  opcode: number,
  payload: Uint8Array,
  mask: Uint8Array | null,
): number {
  const length = payload.length;
  offset = writeHeaderFields(target, offset, fin, rsv, opcode, length, mask);
  if (mask !== null) maskInto(payload, 0, target, offset, length, mask, 0);
  else if (length > 0) target.set(payload, offset);
  return offset + length;
}

/**
 * Encodes one frame and returns the bytes to write, in order: one buffer when the payload was
 * copied behind the header (always when masking, since the caller's memory is never mutated;
 * and for payloads up to `COPY_THRESHOLD`), otherwise `[header, payload]` with the payload
 * passed through uncopied. `alloc` may return uninitialised memory: every byte is written.
 */
export function encodeFrame(
  fin: boolean,
  rsv: number,
  opcode: number,
  payload: Uint8Array,
  mask: Uint8Array | null,
  alloc: (size: number) => Uint8Array,
): Uint8Array | [Uint8Array, Uint8Array] {
  const length = payload.length;
  const size = headerSize(length, mask !== null);
  if (mask !== null || length <= COPY_THRESHOLD) {
    const out = alloc(size + length);
    encodeFrameInto(out, 0, fin, rsv, opcode, payload, mask);
    return out;
  }
  const header = alloc(size);
  writeHeaderFields(header, 0, fin, rsv, opcode, length, null);
  return [header, payload];
}
