/**
 * Collects the pieces of one message (RFC 6455 §5.4) with bounded memory.
 *
 * Large pieces that fill most of their underlying buffer are kept as views (no copy). Small
 * pieces, and views that would pin a much larger buffer, are copied into an accumulation buffer,
 * so thousands of tiny fragments or 1-byte reads cost their bytes and not an object each
 * (the tiny-fragment amplification class), and retained memory stays within about twice the
 * message size.
 */

/** Pieces at least this long may be kept as views. */
const RETAIN_MIN = 4096;
/** Smallest accumulation buffer. */
const ACCUMULATOR_SIZE = 16 * 1024;

export class MessageAssembler {
  private parts: Uint8Array[] = [];
  private accumulator: Uint8Array | null = null;
  private used = 0;
  /** Payload bytes collected so far. */
  bytes = 0;

  constructor(private readonly alloc: (size: number) => Uint8Array) {}

  /**
   * Adds a piece. `limit` is the largest total the message may reach (the caller has already
   * checked that this piece fits), used to size the accumulation buffer.
   */
  add(piece: Uint8Array, limit: number): void {
    const length = piece.length;
    if (length === 0) return;
    this.bytes += length;
    if (length >= RETAIN_MIN && length * 2 >= piece.buffer.byteLength) {
      this.sealAccumulator();
      this.parts.push(piece);
      return;
    }
    let accumulator = this.accumulator;
    if (accumulator === null || accumulator.length - this.used < length) {
      this.sealAccumulator();
      const room = Math.max(limit - (this.bytes - length), length);
      const size = Math.min(Math.max(ACCUMULATOR_SIZE, length), room);
      accumulator = this.alloc(size);
      this.accumulator = accumulator;
      this.used = 0;
    }
    accumulator.set(piece, this.used);
    this.used += length;
  }

  /** Returns the message (one view, or the list of views in order) and resets. */
  take(): Uint8Array | Uint8Array[] {
    this.sealAccumulator();
    const parts = this.parts;
    this.parts = [];
    this.bytes = 0;
    if (parts.length === 1) return parts[0];
    if (parts.length === 0) return EMPTY;
    return parts;
  }

  /**
   * Copies everything collected, in order, to the start of `target` (which must have room for
   * `bytes`), resets, and returns the number of bytes copied.
   */
  moveTo(target: Uint8Array): number {
    let at = 0;
    const parts = this.parts;
    for (let i = 0; i < parts.length; i++) {
      target.set(parts[i], at);
      at += parts[i].length;
    }
    const accumulator = this.accumulator;
    if (accumulator !== null && this.used > 0) {
      target.set(accumulator.subarray(0, this.used), at);
      at += this.used;
    }
    this.reset();
    return at;
  }

  /** Drops everything collected. */
  reset(): void {
    this.parts = [];
    this.accumulator = null;
    this.used = 0;
    this.bytes = 0;
  }

  private sealAccumulator(): void {
    const accumulator = this.accumulator;
    if (accumulator !== null && this.used > 0) {
      if (this.used * 2 >= accumulator.length) {
        this.parts.push(accumulator.subarray(0, this.used));
      } else {
        // Mostly empty: keep an exact copy rather than pin the whole buffer.
        const exact = this.alloc(this.used);
        exact.set(accumulator.subarray(0, this.used));
        this.parts.push(exact);
      }
    }
    this.accumulator = null;
    this.used = 0;
  }
}

const EMPTY = new Uint8Array(0);
