import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as zc, createDeflateRaw } from 'node:zlib';
import { createDeflateExtension, type DeflateExtension } from '../../src/node/deflate-codec.js';
import { ExtensionError } from '../../src/protocol/extensions/extension.js';
import type { DeflateParams } from '../../src/protocol/extensions/permessage-deflate.js';

const MiB = 1 << 20;
const GiB = 1 << 30;
const PARAMS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

/**
 * A permessage-deflate payload (sync-flushed raw DEFLATE without the 00 00 ff ff tail) that
 * inflates to `total` zero bytes, made by streaming one reused 1 MiB zero buffer through zlib.
 */
async function zeroBomb(total: number): Promise<Buffer> {
  const deflater = createDeflateRaw({ level: 9, memLevel: 9 });
  const chunks: Buffer[] = [];
  deflater.on('data', (c: Buffer) => chunks.push(c));
  const zero = Buffer.alloc(MiB);
  for (let written = 0; written < total; written += MiB) {
    if (!deflater.write(zero)) await new Promise((r) => deflater.once('drain', r));
  }
  await new Promise<void>((resolve) => deflater.flush(zc.Z_SYNC_FLUSH, () => resolve()));
  deflater.close();
  const all = Buffer.concat(chunks);
  assert.deepEqual(all.subarray(-4), Buffer.from([0, 0, 0xff, 0xff]));
  return all.subarray(0, -4);
}

function decode(
  ext: DeflateExtension,
  payload: Uint8Array,
  fin: boolean,
  max: number,
): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) =>
    ext.decode(payload, fin, max, (error, output) => (error ? reject(error) : resolve(output))),
  );
}

/** RSS while `run` executes, sampled every 5 ms; returns the peak growth over `baseline`. */
async function peakRss<T>(run: () => Promise<T>): Promise<{ result: T; peak: number; ms: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const t0 = performance.now();
  try {
    const result = await run();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, peak, ms: performance.now() - t0 };
  } finally {
    clearInterval(timer);
  }
}

const isTooBig = (e: unknown): boolean => e instanceof ExtensionError && e.kind === 'too-big';

describe('RFC 7692 §8.1 decompression bomb at codec level', { timeout: 120_000 }, () => {
  let bomb: Buffer;

  test('setup: 1 GiB of zeros compresses to about 1 MiB', async () => {
    bomb = await zeroBomb(GiB);
    assert.ok(bomb.length > 512 * 1024 && bomb.length < 2 * MiB, `bomb is ${bomb.length} bytes`);
  });

  test('one frame: too-big after ~1 MiB of output, RSS growth well under 100 MiB', async () => {
    const ext = createDeflateExtension(PARAMS, 'server');
    const baseline = process.memoryUsage().rss;
    const { result, peak, ms } = await peakRss(() =>
      decode(ext, bomb, true, MiB).then(
        () => 'decoded',
        (e: unknown) => (isTooBig(e) ? 'too-big' : e),
      ),
    );
    ext.dispose();
    const growth = (peak - baseline) / MiB;
    console.log(
      `# bomb ${bomb.length} B -> 1 GiB, one frame: ${ms.toFixed(1)} ms, peak RSS +${growth.toFixed(1)} MiB`,
    );
    assert.equal(result, 'too-big');
    assert.ok(growth < 100, `RSS grew by ${growth.toFixed(1)} MiB`);
    assert.ok(ms < 30_000, `took ${ms} ms`); // a bound against inflating the whole GiB, not a speed claim
  });

  test('split across 1,000 fragments: too-big as soon as the message passes 1 MiB', async () => {
    const ext = createDeflateExtension(PARAMS, 'server');
    const baseline = process.memoryUsage().rss;
    const parts = 1000;
    const size = Math.ceil(bomb.length / parts);
    let fragmentsFed = 0;
    const { result, peak, ms } = await peakRss(async () => {
      let left = MiB;
      for (let i = 0; i < parts; i++) {
        const fin = i === parts - 1;
        fragmentsFed++;
        try {
          const out = await decode(ext, bomb.subarray(i * size, (i + 1) * size), fin, left);
          for (const c of out) left -= c.length;
        } catch (e) {
          return isTooBig(e) ? 'too-big' : e;
        }
      }
      return 'decoded';
    });
    ext.dispose();
    const growth = (peak - baseline) / MiB;
    console.log(
      `# bomb in ${parts} fragments: too-big after ${fragmentsFed} fragments, ${ms.toFixed(1)} ms, peak RSS +${growth.toFixed(1)} MiB`,
    );
    assert.equal(result, 'too-big');
    assert.ok(fragmentsFed <= 3, `fed ${fragmentsFed} fragments`); // each fragment inflates to ~1 MiB
    assert.ok(growth < 100, `RSS grew by ${growth.toFixed(1)} MiB`);
  });
});
