/**
 * A tiny timing loop for the micro-benchmarks: runs `body` repeatedly for a warm-up period, then
 * for the measured period, and reports operations and bytes per second.
 */

/** One micro-benchmark row. */
export interface MicroRow {
  name: string;
  size: number;
  /** Operations (messages, frames or buffers) per second. */
  opsPerSec: number;
  /** Payload megabytes (10^6 bytes) per second. */
  mbPerSec: number;
}

/**
 * Times `body`, which performs `opsPerCall` operations over `bytesPerCall` payload bytes per
 * call. `ms` is the measured period in milliseconds (a third of it again is spent warming up).
 */
export function measure(
  name: string,
  size: number,
  ms: number,
  opsPerCall: number,
  bytesPerCall: number,
  body: () => void,
): MicroRow {
  const warmEnd = performance.now() + ms / 3;
  while (performance.now() < warmEnd) body();
  let calls = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  while (now < end) {
    body();
    calls++;
    if ((calls & 7) === 0 || bytesPerCall > 65536) now = performance.now();
  }
  now = performance.now();
  const seconds = (now - start) / 1000;
  return {
    name,
    size,
    opsPerSec: (calls * opsPerCall) / seconds,
    mbPerSec: (calls * bytesPerCall) / seconds / 1e6,
  };
}

/** The payload sizes every micro-benchmark covers. */
export const SIZES = [16, 1024, 65536, 1048576] as const;

/** About 256 KiB of work per call, so small payloads are batched and large ones stand alone. */
export function batchCount(size: number): number {
  return Math.max(1, Math.floor((256 * 1024) / size));
}
