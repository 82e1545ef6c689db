/**
 * Incremental frame parser (RFC 6455 §5.2). Accepts input split at any byte. Headers split
 * across reads are gathered in a 14-byte scratch buffer; payload bytes are never gathered
 * here: each arriving piece is unmasked in place and handed on as a view, so the parser never
 * copies a data payload. Only control payloads (at most 125 bytes, §5.5) are gathered when split,
 * each into a buffer of its own.
 *
 * Lifetime of the views given to the sink: a payload view (`onData`, `onControl`) covers bytes
 * the parser never writes again: a range of the input chunk it has just unmasked, the sink's own
 * `payloadTarget`, or the buffer of one split control frame. The sink may keep them for as long
 * as it likes, provided the caller of `push` does not reuse the chunk (see `push`).
 */
import { isControlOpcode } from './codes.js';
import { maskInto, unmaskWithKey32 } from './mask.js';

/** What the sink tells the parser after each callback. */
export const Next = {
  /** Keep parsing. */
  Continue: 0,
  /** Stop now and drop the rest: the connection failed or was closed. */
  Stop: 1,
  /** Stop now and keep the rest: an asynchronous transform is running. */
  Pause: 2,
} as const;
export type Next = (typeof Next)[keyof typeof Next];

/** Receives parsed frames. Implemented by `Connection`. */
export interface FrameSink {
  /**
   * A header was parsed. `length` is exact up to 2^53 (the 64-bit MSB is rejected before this is
   * called). The sink validates opcode, RSV bits, masking and limits before any payload is kept.
   */
  onHeader(fin: boolean, rsv: number, opcode: number, masked: boolean, length: number): Next;
  /**
   * A piece of a data frame's payload, already unmasked; `last` marks the frame's final piece
   * (a zero-length frame gives one empty piece). `whole` is true when this piece is the complete
   * payload of the frame (it arrived in one read). The piece may be kept: the parser never
   * writes to its bytes again.
   */
  onData(piece: Uint8Array, last: boolean, whole: boolean): Next;
  /**
   * A complete control frame (payload unmasked, at most 125 bytes). The payload may be kept:
   * it is a view of the input chunk, or bytes of its own when the frame was split across reads.
   */
  onControl(opcode: number, payload: Uint8Array): Next;
  /** The 64-bit length had its most significant bit set (§5.2). */
  onLengthOverflow(): void;
  /**
   * Optional: where the next `length` payload bytes of the current data frame belong, when the
   * sink collects the frame in a buffer of its own. The parser then unmasks them straight from
   * the input into that view (one pass instead of unmasking in place and copying) and passes
   * the same view to `onData`. Only asked for masked pieces of at least 4 KiB that are not a
   * whole frame. Return null to get an ordinary piece.
   */
  payloadTarget?(length: number): Uint8Array | null;
}

const HEADER = 0;
const PAYLOAD = 1;

export class FrameParser {
  private state = HEADER;
  /** Scratch for a header split across reads; allocated the first time that happens. */
  private header: Uint8Array | null = null;
  private headerHave = 0;
  private fin = false;
  private opcode = 0;
  private masked = false;
  /** The masking key as a 32-bit number, first key byte in the high bits. */
  private maskKey = 0;
  /** Payload bytes still to come for the current frame. */
  private remaining = 0;
  private received = 0;
  /** The payload of a control frame being gathered across reads (a new buffer per frame). */
  private control: Uint8Array | null = null;

  /**
   * @param nativeUnmask optional accelerator that unmasks a whole view in place with a 4-byte key
   *   (Node: bufferutil's `unmask` when installed); used for pieces of 1 KiB or more.
   */
  constructor(
    private readonly sink: FrameSink,
    private readonly nativeUnmask?: (data: Uint8Array, key: Uint8Array) => void,
    private readonly nativeMask?: (
      source: Uint8Array,
      key: Uint8Array,
      target: Uint8Array,
      offset: number,
      length: number,
    ) => void,
  ) {}

  /**
   * When true, `push` stops before the next data frame (and inside one whose payload is still
   * arriving) and returns where it stopped; control frames are still parsed. The sink's pause
   * between messages (`Connection.pause`).
   */
  holdData = false;

  /** True when the parser stands between frames (no partial frame buffered). */
  get idle(): boolean {
    return this.state === HEADER && this.headerHave === 0;
  }

  /**
   * Parses `chunk` from `offset`. Returns the offset where parsing stopped: `chunk.length` when
   * everything was consumed, less when the sink answered `Pause` (the caller keeps the rest) or
   * `-1` when it answered `Stop`. The chunk's bytes may be modified (unmasked in place) and
   * views of them handed to the sink, so the caller must not reuse the chunk afterwards.
   */
  push(chunk: Uint8Array, offset: number): number {
    const sink = this.sink;
    const length = chunk.length;
    if (this.holdData && this.state === PAYLOAD && !isControlOpcode(this.opcode)) return offset;
    while (offset < length) {
      if (this.state === HEADER) {
        if (
          this.holdData &&
          !isControlOpcode(this.headerHave === 0 ? chunk[offset] : (this.header as Uint8Array)[0])
        ) {
          return offset;
        }
        let header: Uint8Array;
        let at: number;
        if (this.headerHave === 0 && length - offset >= 2) {
          // Fast path: the whole header is usually in this read.
          const size = headerSizeOf(chunk[offset + 1]);
          if (length - offset >= size) {
            header = chunk;
            at = offset;
            offset += size;
          } else {
            const scratch = (this.header ??= new Uint8Array(14));
            for (let i = offset; i < length; i++) scratch[i - offset] = chunk[i];
            this.headerHave = length - offset;
            return this.lengthOverflowed() ? -1 : length;
          }
        } else {
          // Gather a split header byte by byte (at most 14 bytes).
          const scratch = (this.header ??= new Uint8Array(14));
          while (
            offset < length &&
            (this.headerHave < 2 || this.headerHave < headerSizeOf(scratch[1]))
          ) {
            scratch[this.headerHave++] = chunk[offset++];
          }
          if (this.headerHave < 2 || this.headerHave < headerSizeOf(scratch[1])) {
            return this.lengthOverflowed() ? -1 : length;
          }
          header = scratch;
          at = 0;
          this.headerHave = 0;
        }
        const next = this.readHeader(header, at);
        if (next !== Next.Continue) {
          if (next === Next.Stop) return -1;
          return offset;
        }
        if (this.remaining === 0) {
          const done = this.finishEmpty();
          if (done !== Next.Continue) return done === Next.Stop ? -1 : offset;
        }
        continue;
      }
      // PAYLOAD
      const available = length - offset;
      const take = available < this.remaining ? available : this.remaining;
      const keyOffset = this.received & 3;
      const whole = this.received === 0 && take === this.remaining;
      let piece: Uint8Array | null = null;
      if (this.masked && !whole && take >= DIRECT_MIN && !isControlOpcode(this.opcode)) {
        const target = sink.payloadTarget?.(take) ?? null;
        if (target !== null) {
          this.unmaskInto(chunk, offset, take, keyOffset, target);
          piece = target;
        }
      }
      if (piece === null) {
        // A read that is all payload (most reads of a large message) is passed on as it is: a
        // view per read is an object per 64 KiB that the young generation has to collect.
        piece = offset === 0 && take === length ? chunk : chunk.subarray(offset, offset + take);
        if (this.masked) this.unmask(piece, take, keyOffset);
      }
      offset += take;
      this.received += take;
      this.remaining -= take;
      const last = this.remaining === 0;
      if (last) this.state = HEADER;
      let next: Next;
      if (isControlOpcode(this.opcode)) {
        if (whole) {
          next = sink.onControl(this.opcode, piece);
        } else {
          // Split across reads: gathered into bytes of its own (at most 125, §5.5; a rare
          // path), never reused, so the sink may keep the payload (as a delayed pong does).
          let control = this.control;
          if (control === null)
            control = this.control = new Uint8Array(this.received + this.remaining);
          control.set(piece, this.received - take);
          if (last) {
            this.control = null;
            next = sink.onControl(this.opcode, control);
          } else {
            next = Next.Continue;
          }
        }
      } else {
        next = sink.onData(piece, last, whole);
      }
      if (next !== Next.Continue) return next === Next.Stop ? -1 : offset;
    }
    return offset;
  }

  /**
   * For a header still incomplete: fails at once when a 64-bit length with its most significant
   * bit set has already arrived, rather than waiting for the masking key that follows (§5.2).
   */
  private lengthOverflowed(): boolean {
    const h = this.header as Uint8Array;
    if (this.headerHave >= 3 && (h[1] & 0x7f) === 127 && (h[2] & 0x80) !== 0) {
      this.headerHave = 0;
      this.sink.onLengthOverflow();
      return true;
    }
    return false;
  }

  /** Decodes a complete header at `header[at]` and reports it to the sink. */
  private readHeader(header: Uint8Array, at: number): Next {
    const b0 = header[at];
    const b1 = header[at + 1];
    this.fin = (b0 & 0x80) !== 0;
    this.opcode = b0 & 0x0f;
    this.masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let pos = at + 2;
    if (length === 126) {
      length = (header[pos] << 8) | header[pos + 1];
      pos += 2;
    } else if (length === 127) {
      const high =
        ((header[pos] << 24) |
          (header[pos + 1] << 16) |
          (header[pos + 2] << 8) |
          header[pos + 3]) >>>
        0;
      if (high > 0x7fffffff) {
        // §5.2: "the most significant bit MUST be 0".
        this.sink.onLengthOverflow();
        return Next.Stop;
      }
      const low =
        ((header[pos + 4] << 24) |
          (header[pos + 5] << 16) |
          (header[pos + 6] << 8) |
          header[pos + 7]) >>>
        0;
      length = high * 0x100000000 + low;
      pos += 8;
    }
    if (this.masked) {
      this.maskKey =
        (header[pos] << 24) | (header[pos + 1] << 16) | (header[pos + 2] << 8) | header[pos + 3];
    }
    this.remaining = length;
    this.received = 0;
    const next = this.sink.onHeader(this.fin, (b0 >>> 4) & 7, this.opcode, this.masked, length);
    if (next !== Next.Continue) return next;
    if (length > 0) this.state = PAYLOAD;
    return Next.Continue;
  }

  /** Unmasks `piece` (the whole view, `length` bytes) in place; `keyOffset` rotates the key. */
  private unmask(piece: Uint8Array, length: number, keyOffset: number): void {
    const native = this.nativeUnmask;
    if (native !== undefined && length >= NATIVE_UNMASK_MIN) {
      native(piece, this.keyBytes(keyOffset));
      return;
    }
    unmaskWithKey32(piece, 0, length, this.maskKey, keyOffset);
  }

  /** Unmasks `length` bytes of `chunk` at `offset` into `target` (from its start). */
  private unmaskInto(
    chunk: Uint8Array,
    offset: number,
    length: number,
    keyOffset: number,
    target: Uint8Array,
  ): void {
    const key = this.keyBytes(keyOffset);
    const native = this.nativeMask;
    if (native !== undefined) {
      native(chunk.subarray(offset, offset + length), key, target, 0, length);
      return;
    }
    maskInto(chunk, offset, target, 0, length, key, 0);
  }

  /** The masking key as 4 bytes (a shared scratch, valid until the next call), rotated by `keyOffset`. */
  private keyBytes(keyOffset: number): Uint8Array {
    const shift = (keyOffset & 3) * 8;
    const k =
      shift === 0 ? this.maskKey : (this.maskKey << shift) | (this.maskKey >>> (32 - shift));
    KEY_SCRATCH[0] = k >>> 24;
    KEY_SCRATCH[1] = (k >>> 16) & 0xff;
    KEY_SCRATCH[2] = (k >>> 8) & 0xff;
    KEY_SCRATCH[3] = k & 0xff;
    return KEY_SCRATCH;
  }

  private finishEmpty(): Next {
    this.state = HEADER;
    if (isControlOpcode(this.opcode)) return this.sink.onControl(this.opcode, EMPTY);
    return this.sink.onData(EMPTY, true, true);
  }
}

const EMPTY = new Uint8Array(0);
/** Shared key buffer for the native unmask call (used synchronously, never retained). */
const KEY_SCRATCH = new Uint8Array(4);
/** Below this the JavaScript loop beats a call into native code. */
const NATIVE_UNMASK_MIN = 1024;
/** Pieces at least this long may be unmasked straight into the sink's buffer. */
const DIRECT_MIN = 4096;

/** Header size implied by the second header byte (mask bit and 7-bit length). */
function headerSizeOf(b1: number): number {
  const len = b1 & 0x7f;
  return (len < 126 ? 2 : len === 126 ? 4 : 10) + ((b1 & 0x80) !== 0 ? 4 : 0);
}
