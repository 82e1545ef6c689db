/**
 * Parse throughput: `Connection.receiveData` in the server role on masked client frames, fed in
 * 64 KiB reads like a socket delivers them, until each message reaches `onMessage`.
 */
import { Connection } from '../../src/protocol/connection.js';
import { encodeFrame } from '../../src/protocol/frame.js';
import { nodePlatform } from '../../src/node/platform.js';
import { batchCount, measure, SIZES, type MicroRow } from './timer.js';

const READ_SIZE = 65536;

/** Runs the parse benchmark for every size; `ms` is the measured time per size. */
export function benchParse(ms: number): MicroRow[] {
  const rows: MicroRow[] = [];
  const mask = new Uint8Array([1, 2, 3, 4]);
  for (const size of SIZES) {
    const count = batchCount(size);
    const payload = Buffer.alloc(size, 7);
    const frame = encodeFrame(true, 0, 2, payload, mask, (n) =>
      Buffer.allocUnsafe(n),
    ) as Uint8Array;
    const stream = Buffer.concat(Array.from({ length: count }, () => frame));
    // Binary payloads are not validated, so unmasking the same bytes again (in place) keeps the
    // frames well-formed: the stream can be reused without copying it per iteration.
    const reads: Buffer[] = [];
    for (let offset = 0; offset < stream.length; offset += READ_SIZE) {
      reads.push(stream.subarray(offset, Math.min(offset + READ_SIZE, stream.length)));
    }
    let messages = 0;
    const connection = new Connection(
      { role: 'server', platform: nodePlatform },
      {
        onMessage: () => {
          messages++;
        },
        onPing: () => {},
        onPong: () => {},
        onWrite: () => {},
        onClose: (info) => {
          throw new Error(
            `parse benchmark connection closed: ${info.code} ${info.error?.message ?? ''}`,
          );
        },
      },
    );
    rows.push(
      measure('parse (Connection.receiveData, server)', size, ms, count, count * size, () => {
        for (const read of reads) connection.receiveData(read);
      }),
    );
    if (messages === 0) throw new Error('parse benchmark received no messages');
  }
  return rows;
}
