/**
 * The few things the sans-I/O core needs from its host, injected so that the core
 * stays free of `node:*` imports and its tests can be deterministic (STYLE.md §1).
 */
export interface Platform {
  /** Fills `bytes` with cryptographically strong random bytes (masking keys §5.3, handshake keys §4.1). */
  randomFill(bytes: Uint8Array): void;
  /** SHA-1 of `data`, 20 bytes; only used for `Sec-WebSocket-Accept` (§4.2.2). */
  sha1(data: Uint8Array): Uint8Array;
  /**
   * Optional shortcut: base64(SHA-1(UTF-8 bytes of `text`)), the whole `Sec-WebSocket-Accept`
   * computation in one call (Node: `crypto.hash`, no hash object per handshake). Must equal
   * `encodeBase64(sha1(utf8(text)))`; without it the core uses `sha1`.
   */
  sha1Base64?(text: string): string;
  /**
   * Returns a new buffer of `size` bytes whose contents may be uninitialised; the core
   * always overwrites every byte it allocates. Node maps this to `Buffer.allocUnsafe`
   * (pooled, much cheaper than a zeroed allocation for small frames).
   */
  alloc(size: number): Uint8Array;
  /** Optional fast whole-buffer UTF-8 check (Node: `buffer.isUtf8`); the core falls back to its own DFA. */
  isUtf8?(bytes: Uint8Array): boolean;
  /**
   * Optional accelerator: XORs `data` in place with the 4-byte `key` repeated (§5.3). The core
   * has its own word-at-a-time loop; Node uses the `bufferutil` add-on when it is installed.
   */
  unmask?(data: Uint8Array, key: Uint8Array): void;
  /**
   * Optional accelerator: writes `source` XOR the 4-byte `key` repeated into `target` at
   * `offset` (`length` bytes), one pass instead of a copy and an in-place unmask. Node: the
   * `bufferutil` add-on's `mask` when it is installed.
   */
  mask?(
    source: Uint8Array,
    key: Uint8Array,
    target: Uint8Array,
    offset: number,
    length: number,
  ): void;
}

/**
 * A platform built only from web-standard APIs (`crypto.getRandomValues`); SHA-1 must still be
 * supplied by the caller because WebCrypto's digest is asynchronous.
 */
export function webPlatform(sha1: (data: Uint8Array) => Uint8Array): Platform {
  const cryptoObject = (globalThis as { crypto?: { getRandomValues(a: Uint8Array): Uint8Array } })
    .crypto;
  if (cryptoObject === undefined) throw new Error('globalThis.crypto.getRandomValues is required');
  return {
    randomFill(bytes) {
      // getRandomValues takes at most 65,536 bytes per call.
      for (let offset = 0; offset < bytes.length; offset += 65536) {
        cryptoObject.getRandomValues(
          bytes.subarray(offset, Math.min(offset + 65536, bytes.length)),
        );
      }
    },
    sha1,
    alloc: (size) => new Uint8Array(size),
  };
}
