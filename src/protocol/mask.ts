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
  if (length >= WORD_THRESHOLD) {
    if (source !== target || sourceOffset !== targetOffset) {
      target.set(source.subarray(sourceOffset, sourceOffset + length), targetOffset);
    }
    xorWords(target, targetOffset, length, key, keyOffset);
    return;
  }
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

/** Payloads at least this long are masked 32 bits at a time. */
const WORD_THRESHOLD = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** XORs in place, 32-bit words over the 4-byte-aligned middle of the range. */
function xorWords(
  buf: Uint8Array,
  offset: number,
  length: number,
  key: Uint8Array,
  keyOffset: number,
): void {
  let i = 0;
  const absolute = buf.byteOffset + offset;
  while (((absolute + i) & 3) !== 0) {
    buf[offset + i] ^= key[(keyOffset + i) & 3];
    i++;
  }
  const words = (length - i) >>> 2;
  const k = keyOffset + i;
  const b0 = key[k & 3];
  const b1 = key[(k + 1) & 3];
  const b2 = key[(k + 2) & 3];
  const b3 = key[(k + 3) & 3];
  // Int32Array keeps every value a small integer in V8 (Uint32 values above 2^31 are not),
  // and four XORs per iteration help the loop; about 1.5x the plain Uint32Array loop.
  const word = LITTLE_ENDIAN
    ? b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
    : (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
  const view = new Int32Array(buf.buffer, absolute + i, words);
  let w = 0;
  for (; w + 3 < words; w += 4) {
    view[w] ^= word;
    view[w + 1] ^= word;
    view[w + 2] ^= word;
    view[w + 3] ^= word;
  }
  for (; w < words; w++) view[w] ^= word;
  i += words * 4;
  for (; i < length; i++) buf[offset + i] ^= key[(keyOffset + i) & 3];
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
