/**
 * Encode throughput: `Connection.send` in both roles (server frames are unmasked and may pass
 * large payloads through uncopied; client frames are always masked into a new buffer), and the
 * bare `encodeFrame` of src/protocol/frame.ts. MB/s counts payload bytes; a server frame above
 * `COPY_THRESHOLD` is not copied at all, so its MB/s only says that the cost is per frame.
 */
import { Connection, type Role } from '../../src/protocol/connection.js';
import { encodeFrame } from '../../src/protocol/frame.js';
import { nodePlatform } from '../../src/node/platform.js';
import { batchCount, measure, SIZES, type MicroRow } from './timer.js';

/** Runs the encode benchmark for every size and both roles; `ms` is the measured time per case. */
export function benchEncode(ms: number): MicroRow[] {
  const rows: MicroRow[] = [];
  for (const role of ['server', 'client'] as Role[]) {
    for (const size of SIZES) {
      const count = batchCount(size);
      const payload = Buffer.alloc(size, 7);
      let written = 0;
      const connection = new Connection(
        { role, platform: nodePlatform },
        {
          onMessage: () => {},
          onPing: () => {},
          onPong: () => {},
          onWrite: (bytes) => {
            written += bytes.length;
          },
          onClose: () => {},
        },
      );
      rows.push(
        measure(`encode (Connection.send, ${role})`, size, ms, count, count * size, () => {
          for (let i = 0; i < count; i++) connection.send(payload, true);
        }),
      );
      if (written === 0) throw new Error('encode benchmark wrote nothing');
    }
  }
  // The bare frame encoder (src/protocol/frame.ts), without the engine's state checks.
  const alloc = nodePlatform.alloc;
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  for (const masked of [false, true]) {
    for (const size of SIZES) {
      const count = batchCount(size);
      const payload = Buffer.alloc(size, 7);
      const mask = masked ? key : null;
      rows.push(
        measure(
          `encodeFrame (${masked ? 'masked' : 'unmasked'})`,
          size,
          ms,
          count,
          count * size,
          () => {
            for (let i = 0; i < count; i++) encodeFrame(true, 0, 2, payload, mask, alloc);
          },
        ),
      );
    }
  }
  return rows;
}
