/**
 * Encode throughput: `Connection.send` in both roles (server frames are unmasked and may pass
 * large payloads through uncopied; client frames are always masked into a new buffer).
 */
import { Connection, type Role } from '../../src/protocol/connection.js';
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
  return rows;
}
