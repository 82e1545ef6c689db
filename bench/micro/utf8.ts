/**
 * UTF-8 validation throughput (§8.1) on ASCII and on mixed text (2-, 3- and 4-byte code points):
 * the incremental `Utf8Validator` (pure JavaScript DFA), `isValidUtf8` with the native check the
 * Node platform injects, and `buffer.isUtf8` alone as a reference.
 */
import { isUtf8 } from 'node:buffer';
import { Utf8Validator, isValidUtf8 } from '../../src/protocol/utf8.js';
import { nodePlatform } from '../../src/node/platform.js';
import { batchCount, measure, SIZES, type MicroRow } from './timer.js';

function text(size: number, mixed: boolean): Buffer {
  const unit = Buffer.from(mixed ? 'aé€𝄞 ' : 'abcdefgh');
  const out = Buffer.alloc(size, 0x61);
  // Whole code points only: stop before one would be cut at the end.
  for (let offset = 0; offset + unit.length <= size; offset += unit.length) unit.copy(out, offset);
  return out;
}

/** Runs the UTF-8 benchmark for every size; `ms` is the measured time per case. */
export function benchUtf8(ms: number): MicroRow[] {
  const rows: MicroRow[] = [];
  for (const mixed of [false, true]) {
    const kind = mixed ? 'mixed' : 'ASCII';
    for (const size of SIZES) {
      const count = batchCount(size);
      const data = text(size, mixed);
      if (!isUtf8(data)) throw new Error('utf8 benchmark input is not valid UTF-8');
      const validator = new Utf8Validator();
      rows.push(
        measure(`utf8 ${kind} (Utf8Validator, JS)`, size, ms, count, count * size, () => {
          for (let i = 0; i < count; i++) {
            validator.reset();
            if (!validator.push(data)) throw new Error('rejected valid UTF-8');
          }
        }),
      );
      rows.push(
        measure(`utf8 ${kind} (isValidUtf8 + native)`, size, ms, count, count * size, () => {
          for (let i = 0; i < count; i++)
            if (!isValidUtf8(data, nodePlatform.isUtf8)) throw new Error('rejected');
        }),
      );
      rows.push(
        measure(`utf8 ${kind} (buffer.isUtf8, reference)`, size, ms, count, count * size, () => {
          for (let i = 0; i < count; i++) if (!isUtf8(data)) throw new Error('rejected');
        }),
      );
    }
  }
  return rows;
}
