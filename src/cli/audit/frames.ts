/**
 * Frames for probes. Crafting reuses the project's raw encoder (`encodeFrame`/`writeHeader`, which
 * do not validate, so probes can send bad frames on purpose). Reading is an observe-only scan of
 * what the server sends: header fields and payload, nothing rejected, so that a misbehaving
 * server (masked frames, bad close codes) is described rather than refused.
 */
import { randomFillSync } from 'node:crypto';
import { encodeFrame, writeHeader, headerSize } from '../../protocol/frame.js';
import { Opcode } from '../../protocol/codes.js';

/** A frame to send. `masked` defaults to true (clients MUST mask, §5.3). */
export interface OutFrame {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Uint8Array;
  masked?: boolean;
}

const alloc = (size: number): Uint8Array => Buffer.allocUnsafe(size);

/** A fresh random 4-byte masking key (§5.3). */
export function maskKey(): Uint8Array {
  return randomFillSync(new Uint8Array(4));
}

/** Encodes one client frame as a single buffer (or header + payload for large unmasked ones). */
export function craftFrame(frame: OutFrame): Uint8Array[] {
  const out = encodeFrame(
    frame.fin ?? true,
    frame.rsv ?? 0,
    frame.opcode,
    frame.payload ?? new Uint8Array(0),
    frame.masked === false ? null : maskKey(),
    alloc,
  );
  return out instanceof Uint8Array ? [out] : out;
}

/**
 * Only a frame header declaring `length` payload bytes (masked), with no payload after it:
 * probes the server's size limit without sending the bytes.
 */
export function craftHeaderOnly(opcode: number, length: number, fin = true): Uint8Array {
  const out = new Uint8Array(headerSize(length, true));
  writeHeader(out, 0, { fin, rsv: 0, opcode, length, mask: maskKey() });
  return out;
}

/** Close frame payload: 2-byte code (big-endian) then the reason bytes (§5.5.1). */
export function closePayload(code: number, reason: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(2 + reason.length);
  out[0] = (code >>> 8) & 0xff;
  out[1] = code & 0xff;
  out.set(reason, 2);
  return out;
}

/** A frame as the server sent it. */
export interface InFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Payload bytes (unmasked if the server masked them). */
  payload: Buffer;
}

/** A complete data message assembled from server frames. */
export interface InMessage {
  binary: boolean;
  data: Buffer;
}

/** The close frame the server sent: code null when its payload was empty. */
export interface InClose {
  code: number | null;
  reason: string;
}

/**
 * Scans server frames out of `bytes` from `offset` on. Stops at the first incomplete frame.
 * A declared length above `maxFrame` stops the scan (`oversized` set) instead of waiting.
 */
export function scanFrames(
  bytes: Buffer,
  offset: number,
  maxFrame: number,
): { frames: InFrame[]; offset: number; oversized: boolean } {
  const frames: InFrame[] = [];
  for (;;) {
    if (bytes.length - offset < 2) break;
    const b0 = bytes[offset];
    const b1 = bytes[offset + 1];
    let length = b1 & 0x7f;
    let pos = offset + 2;
    if (length === 126) {
      if (bytes.length - pos < 2) break;
      length = bytes.readUInt16BE(pos);
      pos += 2;
    } else if (length === 127) {
      if (bytes.length - pos < 8) break;
      length = bytes.readUInt32BE(pos) * 0x100000000 + bytes.readUInt32BE(pos + 4);
      pos += 8;
    }
    if (length > maxFrame) return { frames, offset, oversized: true };
    const masked = (b1 & 0x80) !== 0;
    let key: Buffer | null = null;
    if (masked) {
      if (bytes.length - pos < 4) break;
      key = bytes.subarray(pos, pos + 4);
      pos += 4;
    }
    if (bytes.length - pos < length) break;
    const payload = Buffer.from(bytes.subarray(pos, pos + length));
    if (key !== null) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
    offset = pos + length;
  }
  return { frames, offset, oversized: false };
}

/** Decodes a close frame's payload without judging it. */
export function readClose(payload: Buffer): InClose {
  if (payload.length < 2) return { code: null, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.toString('utf8', 2) };
}

export { Opcode };
