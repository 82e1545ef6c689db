/**
 * Property tests for the engine: chunking invariance, round trips, and robustness on random
 * input (STYLE.md §10, checklist F4).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Connection, ProtocolError, Utf8Validator } from '../../src/protocol/index.js';
import { concat, harness, testPlatform } from '../helpers/engine.js';

/** Splits `bytes` at random cut points given as fractions. */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))]
    .filter((p) => p > 0 && p < bytes.length)
    .sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.slice(start, p));
    start = p;
  }
  return out;
}

const messageArb = fc.record({
  binary: fc.boolean(),
  text: fc.string({ unit: 'grapheme', maxLength: 300 }),
  bytes: fc.uint8Array({ maxLength: 70000 }),
  fragments: fc.integer({ min: 1, max: 5 }),
  pingBetween: fc.boolean(),
});

describe('property: encode -> parse round trip under random chunking (§5.2, §5.4)', () => {
  for (const role of ['client', 'server'] as const) {
    test(`${role} frames are parsed back by the other side, split anywhere`, () => {
      fc.assert(
        fc.property(
          fc.array(messageArb, { minLength: 1, maxLength: 6 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
          (messages, cuts) => {
            const sender = harness({ role });
            const expected: Uint8Array[] = [];
            for (const m of messages) {
              const data = m.binary ? m.bytes : new TextEncoder().encode(m.text);
              expected.push(data);
              const size = Math.ceil(data.length / m.fragments) || 1;
              for (let i = 0; i < m.fragments; i++) {
                const last = i === m.fragments - 1;
                sender.conn.send(
                  data.subarray(i * size, last ? data.length : (i + 1) * size),
                  m.binary,
                  last,
                );
                if (m.pingBetween && !last) sender.conn.ping(Uint8Array.of(i));
              }
            }
            const wire = sender.takeWritten();
            const receiver = harness({
              role: role === 'client' ? 'server' : 'client',
              limits: { maxPayload: 1 << 20 },
            });
            for (const piece of chunk(wire, cuts)) receiver.conn.receiveData(piece);
            const got = receiver.events.filter((e) => e.type === 'message');
            assert.equal(got.length, expected.length);
            got.forEach((e, i) => {
              assert.ok(e.type === 'message');
              assert.deepEqual(e.data, expected[i]);
              assert.equal(e.isBinary, messages[i].binary);
            });
            assert.equal(receiver.closeEvent(), undefined);
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});

describe('property: random byte streams', () => {
  test('never throw, report only ProtocolErrors, and never deliver more than maxPayload', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }),
        fc.constantFrom('client', 'server'),
        (bytes, cuts, role) => {
          const maxPayload = 256;
          let biggest = 0;
          let closes = 0;
          const conn = new Connection(
            { role: role as 'client' | 'server', platform: testPlatform(), limits: { maxPayload } },
            {
              onMessage(data) {
                const size = Array.isArray(data)
                  ? data.reduce((n, p) => n + p.length, 0)
                  : data.length;
                biggest = Math.max(biggest, size);
              },
              onPing() {},
              onPong() {},
              onWrite() {},
              onClose(info) {
                closes++;
                if (info.error !== undefined) assert.ok(info.error instanceof ProtocolError);
              },
            },
          );
          for (const piece of chunk(bytes, cuts)) conn.receiveData(piece);
          conn.receiveEof();
          assert.ok(biggest <= maxPayload);
          assert.equal(closes, 1, 'onClose exactly once');
        },
      ),
      { numRuns: 500 },
    );
  });

  test('the same stream gives the same events however it is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }),
        (payloads, cuts) => {
          const sender = harness({ role: 'client' });
          for (const p of payloads) sender.conn.send(p, true);
          sender.conn.close(1000, 'done');
          const wire = sender.takeWritten();
          const whole = harness({ role: 'server' });
          whole.conn.receiveData(wire.slice());
          const split = harness({ role: 'server' });
          for (const piece of chunk(wire, cuts)) split.conn.receiveData(piece);
          assert.deepEqual(split.events, whole.events);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('property: incremental UTF-8 validation agrees with TextDecoder({ fatal: true })', () => {
  const oracle = (bytes: Uint8Array) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  const utf8ish = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 100 }).map((s) => new TextEncoder().encode(s)),
    fc
      .tuple(
        fc.string({ unit: 'binary', maxLength: 100 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
      )
      .map(([s, at, b]) => {
        const bytes = new TextEncoder().encode(s);
        if (bytes.length > 0) bytes[at % bytes.length] = b;
        return bytes;
      }),
  );
  for (const native of [false, true]) {
    test(`with${native ? '' : 'out'} the native fast path, for any chunking`, async () => {
      const { isUtf8 } = await import('node:buffer');
      fc.assert(
        fc.property(
          utf8ish,
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }),
          (bytes, cuts) => {
            const validator = new Utf8Validator(native ? (b) => isUtf8(b) : undefined);
            let ok = true;
            for (const piece of chunk(bytes, cuts)) ok = ok && validator.push(piece);
            assert.equal(ok && validator.complete, oracle(bytes));
          },
        ),
        { numRuns: 2000 },
      );
    });
  }
});

test('large text through the engine with native UTF-8 checks matches the oracle', async () => {
  const { nodePlatform } = await import('../../src/node/platform.js');
  const text = 'ascii and ünïcödé 😀 '.repeat(5000);
  const data = new TextEncoder().encode(text);
  const sender = harness({ role: 'client' });
  sender.conn.send(data, false);
  const wire = sender.takeWritten();
  const got: string[] = [];
  const server = new Connection(
    { role: 'server', platform: nodePlatform },
    {
      onMessage: (d) => got.push(new TextDecoder().decode(Array.isArray(d) ? concat(d) : d)),
      onPing() {},
      onPong() {},
      onWrite() {},
      onClose() {},
    },
  );
  for (let i = 0; i < wire.length; i += 777) server.receiveData(wire.slice(i, i + 777));
  assert.deepEqual(got, [text]);
});

describe('property: an injected native unmask gives the same payloads (§5.3)', () => {
  test('large masked frames split at any byte, with a recording unmask accelerator', () => {
    let calls = 0;
    const unmask = (data: Uint8Array, key: Uint8Array) => {
      calls++;
      for (let i = 0; i < data.length; i++) data[i] ^= key[i & 3];
    };
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1024, maxLength: 20000 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        (payload, cuts) => {
          const sender = harness({ role: 'client' });
          sender.conn.send(payload, true);
          const wire = sender.takeWritten();
          const got: Uint8Array[] = [];
          const server = new Connection(
            { role: 'server', platform: { ...testPlatform(), unmask } },
            {
              onMessage: (d) => got.push(Array.isArray(d) ? concat(d) : new Uint8Array(d)),
              onPing() {},
              onPong() {},
              onWrite() {},
              onClose() {},
            },
          );
          for (const piece of chunk(wire, cuts)) server.receiveData(piece);
          assert.deepEqual(got, [payload]);
        },
      ),
      { numRuns: 100 },
    );
    assert.ok(calls > 0, 'the accelerator was used');
  });

  test('the Node platform (bufferutil when installed) round-trips a 1 MiB message in odd pieces', async () => {
    const { nodePlatform } = await import('../../src/node/platform.js');
    const payload = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    const sender = harness({ role: 'client' });
    sender.conn.send(payload, true);
    const wire = sender.takeWritten();
    const got: Uint8Array[] = [];
    const server = new Connection(
      { role: 'server', platform: nodePlatform },
      {
        onMessage: (d) => got.push(Array.isArray(d) ? concat(d) : new Uint8Array(d)),
        onPing() {},
        onPong() {},
        onWrite() {},
        onClose() {},
      },
    );
    for (let i = 0; i < wire.length; i += 65_537)
      server.receiveData(Buffer.from(wire.subarray(i, i + 65_537)));
    assert.deepEqual(got, [payload]);
  });
});
