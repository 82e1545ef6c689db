/**
 * Masking (RFC 6455 §5.3): payload[i] ^= key[i % 4]. Word-at-a-time where alignment allows.
 */

/**
 * XORs `length` bytes of `source` starting at `sourceOffset` with the 4-byte `key`, rotated by
 * `keyOffset` (for payloads that arrive in pieces), into `target` at `targetOffset`. `source` and
 * `target` may be the same buffer (in-place unmasking of bytes the engine owns).
 */
export function maskInto(
  source: Uint8Array,
  sourceOffset: number,
  target: Uint8Array,
  targetOffset: number,
  length: number,
  key: Uint8Array,
  keyOffset: number,
): void {
  const k0 = key[keyOffset & 3];
  const k1 = key[(keyOffset + 1) & 3];
  const k2 = key[(keyOffset + 2) & 3];
  const k3 = key[(keyOffset + 3) & 3];
  let i = 0;
  const end4 = length - 3;
  // Unrolled byte loop: V8 compiles this to tight code; a Uint32Array view would need
  // 4-byte alignment of both buffers, which received data rarely has.
  for (; i < end4; i += 4) {
    target[targetOffset + i] = source[sourceOffset + i] ^ k0;
    target[targetOffset + i + 1] = source[sourceOffset + i + 1] ^ k1;
    target[targetOffset + i + 2] = source[sourceOffset + i + 2] ^ k2;
    target[targetOffset + i + 3] = source[sourceOffset + i + 3] ^ k3;
  }
  for (; i < length; i++) {
    target[targetOffset + i] = source[sourceOffset + i] ^ key[(keyOffset + i) & 3];
  }
}

/** Unmasks `data` in place with `key`. Only for buffers the engine owns. */
export function unmaskInPlace(data: Uint8Array, key: Uint8Array, keyOffset = 0): void {
  maskInto(data, 0, data, 0, data.length, key, keyOffset);
}

/**
 * Hands out 4-byte masking keys from a pool refilled by a CSPRNG, so that each frame does not
 * pay for a separate call into the random source (§5.3: keys MUST be unpredictable; a pooled
 * CSPRNG output is exactly as unpredictable).
 */
export class MaskKeyPool {
  private readonly pool: Uint8Array;
  private offset: number;
  constructor(
    private readonly fill: (bytes: Uint8Array) => void,
    size = 4096,
  ) {
    this.pool = new Uint8Array(size);
    this.offset = size;
  }
  /** Returns a view of the next 4 fresh random bytes (valid until the next call that refills). */
  next(): Uint8Array {
    if (this.offset === this.pool.length) {
      this.fill(this.pool);
      this.offset = 0;
    }
    const key = this.pool.subarray(this.offset, this.offset + 4);
    this.offset += 4;
    return key;
  }
}
