/**
 * The bus envelope and the receiving rules of the bus: round trip (property), malformed input,
 * duplicates dropped, a restarted numbering taken as a new baseline, own messages ignored.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BatchWriter,
  EnvelopeKind,
  encodeProbe,
  forEachMessage,
  readHeader,
} from '../../src/pubsub/envelope.js';
import { Bus, type GapInfo } from '../../src/pubsub/bus.js';
import type { BusAdapter, BusSink } from '../../src/pubsub/adapter.js';

const node = Buffer.from('node-a', 'latin1');

describe('envelope', () => {
  test('batches round-trip: topics (repeated, alternating, non-ASCII), payloads, binary flag', () => {
    const message = fc.record({
      topic: fc.constantFrom('a', 'b', 'ab', 'ba', 'room:é', 'x'.repeat(256)),
      payload: fc.uint8Array({ maxLength: 300 }),
      binary: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 40 }),
        fc.nat(2 ** 40),
        (list, seq) => {
          const writer = new BatchWriter(node, 16);
          for (const m of list) writer.add(Buffer.from(m.topic, 'utf8'), m.payload, m.binary);
          const bytes = Buffer.from(writer.finish(seq + 1));
          const header = readHeader(bytes);
          assert.ok(header !== null);
          assert.equal(header.kind, EnvelopeKind.Data);
          assert.equal(header.nodeId, 'node-a');
          assert.equal(header.seq, seq + 1);
          assert.equal(header.count, list.length);
          const out: Array<{ topic: string; payload: Uint8Array; binary: boolean }> = [];
          const ok = forEachMessage(bytes, header, (topic, payload, binary) =>
            out.push({ topic, payload: new Uint8Array(payload), binary }),
          );
          assert.equal(ok, true);
          assert.deepEqual(
            out,
            list.map((m) => ({ ...m, payload: new Uint8Array(m.payload) })),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('malformed envelopes are refused, truncated ones stop at the last whole message', () => {
    assert.equal(readHeader(Buffer.from('hello world')), null);
    assert.equal(readHeader(Buffer.alloc(0)), null);
    const probe = encodeProbe(node, 7);
    assert.deepEqual(readHeader(probe), {
      kind: 1,
      nodeId: 'node-a',
      seq: 7,
      count: 0,
      at: probe.length,
    });
    const bad = Buffer.from(probe);
    bad[2] = 9;
    assert.equal(readHeader(bad), null, 'unknown kind');
    const writer = new BatchWriter(node);
    writer.add(Buffer.from('t'), Buffer.from('one'), false);
    writer.add(Buffer.from('t'), Buffer.from('two'), false);
    const whole = Buffer.from(writer.finish(1));
    const cut = whole.subarray(0, whole.length - 1);
    const seen: string[] = [];
    assert.equal(
      forEachMessage(cut, readHeader(cut)!, (_t, payload) => seen.push(payload.toString())),
      false,
    );
    assert.deepEqual(seen, ['one']);
  });
});

/** A bus on a hand-driven adapter: the test plays the network. */
function drivenBus(options: { nodeExpiry?: number } = {}): {
  bus: Bus;
  deliver(message: Uint8Array): void;
  delivered: string[];
  gaps: GapInfo[];
} {
  let sink: BusSink | null = null;
  const adapter: BusAdapter = {
    name: 'driven',
    open(s) {
      sink = s;
      return Promise.resolve();
    },
    subscribe: () => Promise.resolve(),
    unsubscribe: () => Promise.resolve(),
    publish: () => undefined,
    close: () => Promise.resolve(),
  };
  const delivered: string[] = [];
  const gaps: GapInfo[] = [];
  const bus = new Bus(
    adapter,
    {
      deliver: (_topic, payload) => delivered.push(payload.toString()),
      batchStart: () => undefined,
      batchEnd: () => undefined,
      gap: (info) => gaps.push(info),
      state: () => undefined,
      error: (error) => {
        throw error;
      },
    },
    { nodeId: 'me', probeInterval: 0, ...options },
  );
  bus.addTopic('t');
  return { bus, deliver: (m) => sink!.message(bus.channelOf('t'), m), delivered, gaps };
}

function batch(from: string, first: number, texts: string[]): Buffer {
  const writer = new BatchWriter(Buffer.from(from, 'latin1'));
  for (const text of texts) writer.add(Buffer.from('t'), Buffer.from(text), false);
  return Buffer.from(writer.finish(first));
}

describe('bus receiving rules', () => {
  test('duplicates are dropped, overlaps delivered once, gaps counted exactly', async () => {
    const { bus, deliver, delivered, gaps } = drivenBus();
    await bus.ready();
    deliver(batch('other', 5, ['5', '6']));
    deliver(batch('other', 5, ['5', '6']));
    deliver(batch('other', 6, ['6', '7']));
    deliver(batch('other', 11, ['11']));
    deliver(batch('me', 12, ['mine']));
    assert.deepEqual(delivered, ['5', '6', '7', '11']);
    assert.deepEqual(gaps, [{ node: 'other', channel: bus.channelOf('t'), lost: 3 }]);
    assert.equal(bus.stats.duplicates, 3);
    assert.equal(bus.stats.lost, 3);
    deliver(batch('other', 1, ['restarted']));
    deliver(batch('other', 2, ['next']));
    assert.deepEqual(delivered.slice(-2), ['restarted', 'next'], 'numbering restarted');
    deliver(Buffer.from('not an envelope'));
    assert.equal(bus.stats.malformed, 1);
    assert.equal(bus.footprint.received, 1, 'one (node, channel) numbering kept');
    await bus.close();
  });
});

test('numbering state of a silent node is forgotten after nodeExpiry', async () => {
  const { bus, deliver, delivered, gaps } = drivenBus({ nodeExpiry: 20 });
  await bus.ready();
  deliver(batch('other', 1, ['1']));
  assert.equal(bus.footprint.received, 1);
  await new Promise((resolve) => setTimeout(resolve, 40));
  bus.sweepNow();
  assert.equal(bus.footprint.received, 0);
  deliver(batch('other', 9, ['9']));
  assert.deepEqual(delivered, ['1', '9']);
  assert.deepEqual(gaps, [], 'after expiry a node starts a new baseline');
  await bus.close();
});

test('publishes wait for an opening adapter up to one batch; a failed adapter holds nothing', async () => {
  let release: () => void = () => undefined;
  const published: number[] = [];
  const slow: BusAdapter = {
    name: 'slow',
    open: () => new Promise<void>((resolve) => (release = resolve)),
    subscribe: () => Promise.resolve(),
    unsubscribe: () => Promise.resolve(),
    publish: (_channel, message) => published.push(readHeader(message)?.count ?? -1),
    close: () => Promise.resolve(),
  };
  const owner = {
    deliver: () => undefined,
    batchStart: () => undefined,
    batchEnd: () => undefined,
    gap: () => undefined,
    state: () => undefined,
    error: () => undefined,
  };
  const bus = new Bus(slow, owner, { probeInterval: 0, maxBatchMessages: 10 });
  for (let i = 0; i < 25; i++) bus.send('t', Buffer.from('x'), false);
  assert.equal(bus.stats.unsent, 15);
  release();
  await bus.ready();
  assert.deepEqual(published, [10], 'the waiting batch leaves once open');
  await bus.close();

  const errors: Error[] = [];
  const broken: BusAdapter = { ...slow, open: () => Promise.reject(new Error('no bus')) };
  const failed = new Bus(
    broken,
    { ...owner, error: (e: Error) => errors.push(e) },
    { probeInterval: 0 },
  );
  failed.send('t', Buffer.from('x'), false);
  await assert.rejects(failed.ready(), /no bus/);
  failed.send('t', Buffer.from('y'), false);
  assert.equal(failed.stats.unsent, 2);
  assert.equal(failed.footprint.batches, 0);
  assert.equal(errors[0]?.message, 'no bus');
});
