/**
 * Masking throughput (§5.3): ironsock's `maskInto` next to the native `bufferutil` addon that
 * `ws` uses, as a reference.
 */
import { createRequire } from 'node:module';
import { maskInto } from '../../src/protocol/mask.js';
import { batchCount, measure, SIZES, type MicroRow } from './timer.js';

const require = createRequire(import.meta.url);
const bufferUtil = require('bufferutil') as {
  mask(source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number): void;
};

/** Runs the mask benchmark for every size; `ms` is the measured time per case. */
export function benchMask(ms: number): MicroRow[] {
  const rows: MicroRow[] = [];
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  for (const size of SIZES) {
    const count = batchCount(size);
    const source = Buffer.alloc(size, 9);
    const target = Buffer.alloc(size);
    rows.push(
      measure('mask (maskInto)', size, ms, count, count * size, () => {
        for (let i = 0; i < count; i++) maskInto(source, 0, target, 0, size, key, 0);
      }),
    );
    rows.push(
      measure('mask (bufferutil native, reference)', size, ms, count, count * size, () => {
        for (let i = 0; i < count; i++) bufferUtil.mask(source, key, target, 0, size);
      }),
    );
  }
  return rows;
}
