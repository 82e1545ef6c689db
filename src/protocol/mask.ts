/**
 * Masking (RFC 6455 §5.3): payload[i] ^= key[i % 4]. Word-at-a-time where alignment allows.
 */

/** Payloads at least this long are masked 32 bits at a time. */
const WORD_THRESHOLD = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

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
  maskBytes(
    source,
    sourceOffset,
    target,
    targetOffset,
    length,
    key[keyOffset & 3],
    key[(keyOffset + 1) & 3],
    key[(keyOffset + 2) & 3],
    key[(keyOffset + 3) & 3],
  );
}

/**
 * Unmasks in place with a key held as a 32-bit number (first key byte in the high bits), so a
 * parser can keep its key without a buffer per connection.
 */
export function unmaskWithKey32(
  buf: Uint8Array,
  offset: number,
  length: number,
  key32: number,
  keyOffset: number,
): void {
  const shift = (keyOffset & 3) * 8;
  const k = shift === 0 ? key32 : (key32 << shift) | (key32 >>> (32 - shift));
  maskBytes(
    buf,
    offset,
    buf,
    offset,
    length,
    (k >>> 24) & 0xff,
    (k >>> 16) & 0xff,
    (k >>> 8) & 0xff,
    k & 0xff,
  );
}

/** Unmasks `data` in place with `key`. Only for buffers the engine owns. */
export function unmaskInPlace(data: Uint8Array, key: Uint8Array, keyOffset = 0): void {
  maskInto(data, 0, data, 0, data.length, key, keyOffset);
}

function maskBytes(
  source: Uint8Array,
  sourceOffset: number,
  target: Uint8Array,
  targetOffset: number,
  length: number,
  k0: number,
  k1: number,
  k2: number,
  k3: number,
): void {
  if (length >= WORD_THRESHOLD) {
    if (source !== target || sourceOffset !== targetOffset) {
      target.set(source.subarray(sourceOffset, sourceOffset + length), targetOffset);
    }
    xorWords(target, targetOffset, length, k0, k1, k2, k3);
    return;
  }
  let i = 0;
  // Unrolled byte loop: short payloads do not pay for a typed-array view.
  for (; i + 3 < length; i += 4) {
    target[targetOffset + i] = source[sourceOffset + i] ^ k0;
    target[targetOffset + i + 1] = source[sourceOffset + i + 1] ^ k1;
    target[targetOffset + i + 2] = source[sourceOffset + i + 2] ^ k2;
    target[targetOffset + i + 3] = source[sourceOffset + i + 3] ^ k3;
  }
  if (i < length) target[targetOffset + i] = source[sourceOffset + i] ^ k0;
  if (i + 1 < length) target[targetOffset + i + 1] = source[sourceOffset + i + 1] ^ k1;
  if (i + 2 < length) target[targetOffset + i + 2] = source[sourceOffset + i + 2] ^ k2;
}

/** XORs in place, 32-bit words over the 4-byte-aligned middle of the range (length >= 4). */
function xorWords(
  buf: Uint8Array,
  offset: number,
  length: number,
  k0: number,
  k1: number,
  k2: number,
  k3: number,
): void {
  // Bytes before the first aligned address; rotate the key by as many.
  const absolute = buf.byteOffset + offset;
  const head = (4 - (absolute & 3)) & 3;
  for (let i = 0; i < head; i++) {
    buf[offset + i] ^= i === 0 ? k0 : i === 1 ? k1 : k2;
  }
  for (let r = 0; r < head; r++) {
    const t = k0;
    k0 = k1;
    k1 = k2;
    k2 = k3;
    k3 = t;
  }
  const words = (length - head) >>> 2;
  // Int32Array keeps every value a small integer in V8 (Uint32 values above 2^31 are not),
  // and four XORs per iteration help the loop; about 1.5x the plain Uint32Array loop.
  const word = LITTLE_ENDIAN
    ? k0 | (k1 << 8) | (k2 << 16) | (k3 << 24)
    : (k0 << 24) | (k1 << 16) | (k2 << 8) | k3;
  const view = new Int32Array(buf.buffer, absolute + head, words);
  let w = 0;
  for (; w + 3 < words; w += 4) {
    view[w] ^= word;
    view[w + 1] ^= word;
    view[w + 2] ^= word;
    view[w + 3] ^= word;
  }
  for (; w < words; w++) view[w] ^= word;
  const tail = offset + head + words * 4;
  const end = offset + length;
  if (tail < end) buf[tail] ^= k0;
  if (tail + 1 < end) buf[tail + 1] ^= k1;
  if (tail + 2 < end) buf[tail + 2] ^= k2;
}

/**
 * Hands out 4-byte masking keys from a pool refilled by a CSPRNG, so that each frame does not
 * pay for a separate call into the random source (§5.3: keys MUST be unpredictable; a pooled
 * CSPRNG output is exactly as unpredictable). One pool serves every connection of a platform.
 */
export class MaskKeyPool {
  private readonly pool: Uint8Array;
  private offset: number;
  /** The key handed out last: one 4-byte array reused, so a frame costs no allocation. */
  private readonly key = new Uint8Array(4);
  constructor(
    private readonly fill: (bytes: Uint8Array) => void,
    size = 4096,
  ) {
    this.pool = new Uint8Array(size);
    this.offset = size;
  }
  /**
   * Returns the next 4 fresh random bytes in an array that the next call overwrites: use it
   * at once (the encoder copies it into the frame header and masks with it synchronously).
   */
  next(): Uint8Array {
    if (this.offset === this.pool.length) {
      this.fill(this.pool);
      this.offset = 0;
    }
    const pool = this.pool;
    const key = this.key;
    const at = this.offset;
    key[0] = pool[at];
    key[1] = pool[at + 1];
    key[2] = pool[at + 2];
    key[3] = pool[at + 3];
    this.offset = at + 4;
    return key;
  }
}
