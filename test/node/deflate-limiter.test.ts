import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ZlibLimiter, sharedZlibLimiter, type LimitedJob } from '../../src/node/zlib-limiter.js';
import { createDeflateExtension } from '../../src/node/deflate-codec.js';
import type { DeflateParams } from '../../src/protocol/extensions/permessage-deflate.js';

const PARAMS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

/** A limiter that records how many of its jobs ran at once. */
class CountingLimiter extends ZlibLimiter {
  active = 0;
  maxActive = 0;
  override run(job: LimitedJob): void {
    super.run((done) => {
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      let once = false;
      job(() => {
        if (once) return;
        once = true;
        this.active--;
        done();
      });
    });
  }
}

describe('ZlibLimiter', () => {
  test('rejects a limit below 1 or not an integer', () => {
    assert.throws(() => new ZlibLimiter(0), RangeError);
    assert.throws(() => new ZlibLimiter(1.5), RangeError);
  });

  test('never runs more than `limit` jobs; starts them in FIFO order', async () => {
    const limiter = new ZlibLimiter(3);
    let active = 0;
    let maxActive = 0;
    const started: number[] = [];
    await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) =>
          new Promise<void>((resolve) =>
            limiter.run((done) => {
              started.push(i);
              active++;
              maxActive = Math.max(maxActive, active);
              assert.ok(limiter.running <= 3);
              setTimeout(
                () => {
                  active--;
                  done();
                  resolve();
                },
                (i * 7) % 5,
              );
            }),
          ),
      ),
    );
    assert.equal(maxActive, 3);
    assert.deepEqual(
      started,
      [...started].sort((a, b) => a - b),
    );
    assert.equal(limiter.running, 0);
    assert.equal(limiter.queued, 0);
  });

  test('a second done() is ignored', async () => {
    const limiter = new ZlibLimiter(1);
    let ran = 0;
    limiter.run((done) => {
      done();
      done();
    });
    limiter.run((done) => {
      ran++;
      setTimeout(done, 1);
    });
    limiter.run((done) => {
      ran++;
      done();
    });
    assert.equal(ran, 1);
    assert.equal(limiter.running, 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(ran, 2);
    assert.equal(limiter.running, 0);
  });

  test('100,000 jobs finishing synchronously do not grow the stack', () => {
    const limiter = new ZlibLimiter(2);
    let ran = 0;
    const gate: Array<() => void> = [];
    limiter.run((done) => gate.push(done)); // hold one slot
    limiter.run((done) => gate.push(done)); // and the other
    for (let i = 0; i < 100_000; i++) {
      limiter.run((done) => {
        ran++;
        done();
      });
    }
    assert.equal(limiter.queued, 100_000);
    gate[0]!();
    assert.equal(ran, 100_000);
    assert.equal(limiter.queued, 0);
    gate[1]!();
    assert.equal(limiter.running, 0);
  });

  test('a job that throws releases its slot and the error reaches the caller', () => {
    const limiter = new ZlibLimiter(1);
    assert.throws(
      () =>
        limiter.run(() => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(limiter.running, 0);
    let ran = false;
    limiter.run((done) => {
      ran = true;
      done();
    });
    assert.ok(ran);
  });

  test('sharedZlibLimiter returns one limiter per limit', () => {
    assert.equal(sharedZlibLimiter(10), sharedZlibLimiter(10));
    assert.notEqual(sharedZlibLimiter(10), sharedZlibLimiter(4));
    assert.equal(sharedZlibLimiter(4).limit, 4);
  });
});

describe('codecs share the limiter (checklist Z3)', { timeout: 60_000 }, () => {
  test('300 connections compressing at once: at most 4 zlib jobs, per-connection order kept', async () => {
    const limiter = new CountingLimiter(4);
    const connections = 300;
    const perConnection = 4;
    const servers = Array.from({ length: connections }, () =>
      createDeflateExtension(PARAMS, 'server', {}, { limiter }),
    );
    const clients = Array.from({ length: connections }, () =>
      createDeflateExtension(PARAMS, 'client', {}, { limiter }),
    );
    const message = (c: number, m: number): Buffer =>
      Buffer.from(`connection ${c} message ${m} `.repeat(60));
    try {
      const wires = await Promise.all(
        servers.map(
          (ext, c) =>
            new Promise<Buffer[]>((resolve, reject) => {
              const out: Buffer[] = [];
              for (let m = 0; m < perConnection; m++) {
                ext.encode(message(c, m), true, (error, parts) => {
                  if (error) return reject(error);
                  // Callbacks arrive in call order.
                  assert.equal(out.length, m);
                  out.push(Buffer.concat(parts));
                  if (out.length === perConnection) resolve(out);
                });
              }
            }),
        ),
      );
      // The compressed streams only decode in the order they were produced (context takeover).
      await Promise.all(
        clients.map(
          (ext, c) =>
            new Promise<void>((resolve, reject) => {
              let seen = 0;
              for (let m = 0; m < perConnection; m++) {
                ext.decode(wires[c]![m]!, true, 1 << 20, (error, parts) => {
                  if (error) return reject(error);
                  assert.deepEqual(Buffer.concat(parts), message(c, seen));
                  if (++seen === perConnection) resolve();
                });
              }
            }),
        ),
      );
      assert.equal(limiter.maxActive, 4);
      assert.equal(limiter.running, 0);
      assert.equal(limiter.queued, 0);
    } finally {
      for (const ext of [...servers, ...clients]) ext.dispose();
    }
  });
});
