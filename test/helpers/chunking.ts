/**
 * Re-cutting a byte stream into reads, for the chunking-equivalence oracles (STYLE.md §10,
 * checklist F4): the engine harness (engine.ts) and the HTTP head parser tests use it.
 */

/** The ways an input is re-cut: one read, one byte per read, or seeded random pieces. */
export type Chunking = 'whole' | 'bytes' | 'random';

export const CHUNKINGS: readonly Chunking[] = ['whole', 'bytes', 'random'];

/** Inputs above this are fed byte by byte only for their first 64 KiB (keeps the suite fast). */
const BYTEWISE_MAX = 256 * 1024;

/**
 * Cuts `pieces` (the reads a test made, in order) another way: `whole` joins them into one read,
 * `bytes` feeds one byte per read, `random` cuts at seeded random points (mostly small pieces,
 * sometimes up to 2 KiB). Every piece is a fresh copy.
 */
export function recut(pieces: Uint8Array[], how: Chunking, seed: number): Uint8Array[] {
  const all = join(pieces);
  if (how === 'whole') return all.length === 0 ? [] : [all];
  const out: Uint8Array[] = [];
  const next = mulberry32(seed);
  let at = 0;
  while (at < all.length) {
    let size: number;
    if (how === 'bytes') size = all.length > BYTEWISE_MAX && at >= 65536 ? 4096 : 1;
    else size = 1 + Math.floor(next() * (next() < 0.5 ? 8 : 2048));
    out.push(all.slice(at, Math.min(at + size, all.length)));
    at += size;
  }
  return out;
}

function join(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A small seeded PRNG (mulberry32), so a failing cut can be reproduced from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
