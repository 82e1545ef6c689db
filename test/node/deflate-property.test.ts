/**
 * Codec laws of RFC 7692 §7.2, checked with fast-check:
 * - decode(encode(m)) = m for every agreement, message sequence and fragmentation;
 * - decoding is invariant under how a compressed message is split into pieces (the engine
 *   hands the codec whatever the frame parser has: frames, parts of frames);
 * - every message sent without context takeover decodes on its own.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as zc, inflateRawSync } from 'node:zlib';
import { createDeflateExtension, type DeflateExtension } from '../../src/node/deflate-codec.js';
import type {
  DeflateParams,
  WindowBits,
} from '../../src/protocol/extensions/permessage-deflate.js';

function decode(
  ext: DeflateExtension,
  payload: Uint8Array,
  fin: boolean,
  max = 1 << 22,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    ext.decode(payload, fin, max, (error, output) =>
      error ? reject(error) : resolve(Buffer.concat(output)),
    ),
  );
}

function encode(ext: DeflateExtension, data: Uint8Array, fin: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    ext.encode(data, fin, (error, output) =>
      error ? reject(error) : resolve(Buffer.concat(output)),
    ),
  );
}

const bits = fc.integer({ min: 9, max: 15 }) as fc.Arbitrary<WindowBits>;
const params: fc.Arbitrary<DeflateParams> = fc.record({
  serverNoContextTakeover: fc.boolean(),
  clientNoContextTakeover: fc.boolean(),
  serverMaxWindowBits: bits,
  clientMaxWindowBits: bits,
});

/** Messages that compress (repeated words) or not (random bytes), split into fragments. */
const message = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc
    .array(fc.constantFrom('ab', 'websocket ', 'x', 'deflate ', '\u00e9\u00e9 ', '0123456789'), {
      maxLength: 800,
    })
    .map((words) => Buffer.from(words.join(''))),
);
const fragmented = fc
  .tuple(message, fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 4 }))
  .map(([m, cuts]) => {
    const points = [...new Set(cuts.map((c) => c % (m.length + 1)))].sort((a, b) => a - b);
    const parts: Uint8Array[] = [];
    let prev = 0;
    for (const p of points) {
      parts.push(m.subarray(prev, p));
      prev = p;
    }
    parts.push(m.subarray(prev));
    return { whole: Buffer.from(m), parts };
  });

/** Splits `bytes` at the given points (pieces may be empty). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

describe('RFC 7692 §7.2 codec properties', { timeout: 120_000 }, () => {
  test('round trip for any agreement, fragmentation and re-chunking of the wire', async () => {
    await fc.assert(
      fc.asyncProperty(
        params,
        fc.constantFrom<'server' | 'client'>('server', 'client'),
        fc.array(fc.tuple(fragmented, fc.array(fc.nat(), { maxLength: 5 })), {
          minLength: 1,
          maxLength: 5,
        }),
        async (agreed, sender, messages) => {
          const from = createDeflateExtension(agreed, sender);
          const to = createDeflateExtension(agreed, sender === 'server' ? 'client' : 'server');
          const window =
            sender === 'server' ? agreed.serverMaxWindowBits : agreed.clientMaxWindowBits;
          const fresh =
            sender === 'server' ? agreed.serverNoContextTakeover : agreed.clientNoContextTakeover;
          try {
            for (const [{ whole, parts }, cuts] of messages) {
              const wire: Buffer[] = [];
              for (let i = 0; i < parts.length; i++)
                wire.push(await encode(from, parts[i]!, i === parts.length - 1));
              const all = Buffer.concat(wire);
              // Re-chunk the whole compressed message arbitrarily; only the last piece is `fin`.
              const pieces = split(all, cuts);
              const out: Buffer[] = [];
              for (let i = 0; i < pieces.length; i++)
                out.push(await decode(to, pieces[i]!, i === pieces.length - 1));
              assert.deepEqual(Buffer.concat(out), whole);
              if (fresh) {
                // §7.1.1: without context takeover each message stands alone under the window.
                const alone = inflateRawSync(
                  Buffer.concat([all, Buffer.from([0, 0, 0xff, 0xff])]),
                  {
                    windowBits: window,
                    finishFlush: zc.Z_SYNC_FLUSH,
                  },
                );
                assert.deepEqual(alone, whole);
              }
            }
          } finally {
            from.dispose();
            to.dispose();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('maxOutput: too-big exactly when the message is longer than the limit', async () => {
    await fc.assert(
      fc.asyncProperty(message, fc.integer({ min: 0, max: 4000 }), async (m, limit) => {
        const from = createDeflateExtension(
          {
            serverNoContextTakeover: false,
            clientNoContextTakeover: false,
            serverMaxWindowBits: 15,
            clientMaxWindowBits: 15,
          },
          'server',
        );
        const to = createDeflateExtension(
          {
            serverNoContextTakeover: false,
            clientNoContextTakeover: false,
            serverMaxWindowBits: 15,
            clientMaxWindowBits: 15,
          },
          'client',
          { zlibInflateOptions: { chunkSize: 64 } },
        );
        try {
          const wire = await encode(from, m, true);
          const result = await decode(to, wire, true, limit).then(
            (out) => out.length,
            (e: { kind?: string }) => e.kind,
          );
          assert.equal(result, m.length > limit ? 'too-big' : m.length);
        } finally {
          from.dispose();
          to.dispose();
        }
      }),
      { numRuns: 100 },
    );
  });
});
