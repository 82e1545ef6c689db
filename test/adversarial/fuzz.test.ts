/**
 * Fuzzing a live ironsock server (fast-check, bounded runs and time): random and mutated bytes
 * on the handshake path and on the frame path (with permessage-deflate negotiated), in random
 * TCP splits. Each run must end with the server answering or closing (no hang), never crash
 * the process, and leave the control connection echoing within 1 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arena, Attacker, delay, frame, Op, upgradeRequest, waitFor } from './support.js';

/** A mutation of a byte string: flip, insert, delete, truncate, or duplicate a slice. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 40 }),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(input);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    switch (m.kind) {
      case 'flip':
        if (out.length > 0) out[at] ^= 1 << m.bit;
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)]);
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
      case 'repeat':
        out = Buffer.concat([out.subarray(0, at + m.count), out.subarray(at)]);
        break;
    }
  }
  return out;
}

async function writeSplit(attacker: Attacker, bytes: Buffer, splits: number[]): Promise<void> {
  let offset = 0;
  for (let i = 0; offset < bytes.length && !attacker.socket.destroyed; i++) {
    const size = splits.length === 0 ? bytes.length : splits[i % splits.length];
    attacker.write(bytes.subarray(offset, offset + size));
    offset += size;
    if (i % 8 === 7) await delay(0);
  }
}

const OPTIONS = { handshakeTimeout: 500, closeTimeout: 1000, perMessageDeflate: true };

test('fuzz (handshake path): mutated and random request heads never crash or hang the server; the control keeps echoing', async () => {
  await arena(OPTIONS, async (a) => {
    const seed = [
      upgradeRequest(a.port),
      upgradeRequest(a.port, {
        extra: [
          'Origin: http://127.0.0.1:' + a.port,
          'Sec-WebSocket-Protocol: chat, superchat',
          'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; server_no_context_takeover',
        ],
      }),
    ].map((s) => Buffer.from(s, 'latin1'));
    const input = fc.oneof(
      fc
        .record({
          base: fc.integer({ min: 0, max: seed.length - 1 }),
          mutations: fc.array(mutation, { minLength: 1, maxLength: 6 }),
        })
        .map(({ base, mutations }) => mutate(seed[base], mutations)),
      fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        input,
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 4 }),
        fc.boolean(),
        async (bytes, splits, halfClose) => {
          runs++;
          const attacker = await Attacker.connect(a.port);
          await writeSplit(attacker, bytes, splits);
          if (halfClose) attacker.socket.end();
          // Whatever it was, the server answers or closes by the handshake deadline (shortened to 500 ms, + margin),
          // or has upgraded the connection.
          await waitFor(
            () => attacker.closed || attacker.ended || attacker.text.startsWith('HTTP/1.1 101'),
            4000,
            `the server to answer ${JSON.stringify(bytes.toString('latin1').slice(0, 120))}`,
          );
          attacker.destroy();
          await a.check();
        },
      ),
      { numRuns: 100, interruptAfterTimeLimit: 15_000 },
    );
    assert.ok(runs > 10, `${runs} runs`);
  });
});

test('fuzz (frame path, permessage-deflate negotiated): mutated and random frames never crash or hang; the control keeps echoing', async () => {
  await arena(OPTIONS, async (a) => {
    const valid = Buffer.concat([
      frame(Op.Text, 'hello', { fin: false }),
      frame(Op.Ping, 'ping'),
      frame(Op.Cont, ' world'),
      frame(Op.Binary, Buffer.from([0, 1, 2, 3, 255])),
      frame(Op.Text, Buffer.from('7ca6f0f7030300', 'hex'), { rsv: 0b100 }),
      frame(Op.Close, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])),
    ]);
    const input = fc.oneof(
      fc.array(mutation, { minLength: 1, maxLength: 8 }).map((m) => mutate(valid, m)),
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        input,
        fc.array(fc.integer({ min: 1, max: 32 }), { maxLength: 4 }),
        async (bytes, splits) => {
          runs++;
          const attacker = await Attacker.open(a.port, [
            'Sec-WebSocket-Extensions: permessage-deflate',
          ]);
          await writeSplit(attacker, bytes, splits);
          // The connection may be waiting for the rest of a declared frame: that is fine, but the
          // server must stay responsive meanwhile.
          await delay(20);
          await a.check();
          attacker.destroy();
        },
      ),
      { numRuns: 120, interruptAfterTimeLimit: 25_000 },
    );
    assert.ok(runs > 10, `${runs} runs`);
    await waitFor(() => a.wss.clients.size === 1, 5000, 'every fuzzed connection gone');
  });
});
