/**
 * Frames for probes. Crafting reuses the project's raw encoder (`encodeFrame`/`writeHeader`, which
 * do not validate, so probes can send bad frames on purpose). Reading is an observe-only scan of
 * what the server sends through the project's `FrameParser` with an observing sink, so that a
 * misbehaving server (masked frames, bad close codes) is described rather than refused.
 */
import { randomFillSync } from 'node:crypto';
import { encodeFrame, writeHeader, headerSize } from '../../protocol/frame.js';
import { Opcode, isControlOpcode } from '../../protocol/codes.js';
import { FrameParser, Next, type FrameSink } from '../../protocol/frame-parser.js';

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

/** Why a {@link ServerFrameReader} stopped reading. */
export type ReaderStop = 'oversized' | 'control-too-long' | 'length-msb';

/**
 * Reads what the server sends with the project's incremental `FrameParser` (§5.2), as an
 * observer: nothing is rejected except what cannot be read safely (a frame larger than
 * `maxFrame`, a control frame over 125 bytes, a 64-bit length with its top bit set), which stops
 * the reader and is reported in `stopped`. Masked server frames (a §5.1 violation) are unmasked
 * and kept, so a faulty server is described rather than refused.
 */
export class ServerFrameReader implements FrameSink {
  private readonly parser: FrameParser;
  private current: Omit<InFrame, 'payload'> = { fin: true, rsv: 0, opcode: 0, masked: false };
  private pieces: Buffer[] = [];
  /** Complete frames not yet taken by {@link take}. */
  private ready: InFrame[] = [];
  /** Set when reading stopped. */
  stopped: ReaderStop | null = null;

  /** @param maxFrame largest payload, in bytes, the reader will buffer for one frame */
  constructor(private readonly maxFrame: number) {
    this.parser = new FrameParser(this);
  }

  /** Feeds received bytes (copied first: the parser unmasks in place). */
  push(bytes: Uint8Array): void {
    if (this.stopped === null && bytes.length > 0) this.parser.push(Buffer.from(bytes), 0);
  }

  /** Returns and forgets the frames completed so far. */
  take(): InFrame[] {
    const frames = this.ready;
    this.ready = [];
    return frames;
  }

  /** @internal FrameSink */
  onHeader(fin: boolean, rsv: number, opcode: number, masked: boolean, length: number): Next {
    if (length > this.maxFrame) {
      this.stopped = 'oversized';
      return Next.Stop;
    }
    if (isControlOpcode(opcode) && length > 125) {
      this.stopped = 'control-too-long';
      return Next.Stop;
    }
    this.current = { fin, rsv, opcode, masked };
    this.pieces = [];
    return Next.Continue;
  }

  /** @internal FrameSink */
  onData(piece: Uint8Array, last: boolean): Next {
    this.pieces.push(Buffer.from(piece));
    if (last) this.ready.push({ ...this.current, payload: Buffer.concat(this.pieces) });
    return Next.Continue;
  }

  /** @internal FrameSink */
  onControl(_opcode: number, payload: Uint8Array): Next {
    this.ready.push({ ...this.current, payload: Buffer.from(payload) });
    return Next.Continue;
  }

  /** @internal FrameSink */
  onLengthOverflow(): void {
    this.stopped = 'length-msb';
  }
}

/** Decodes a close frame's payload without judging it. */
export function readClose(payload: Buffer): InClose {
  if (payload.length < 2) return { code: null, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.toString('utf8', 2) };
}

export { Opcode };
