/**
 * Property test of an engine pair (RFC 6455 §5, §7): a client and a server `Connection` wired
 * back to back through two byte pipes. fast-check picks any sequence of sends (whole or
 * fragmented), pings and closes from both sides, and moves the bytes across in arbitrary pieces
 * at arbitrary moments. Whatever it picks:
 * - both sides reach `closed`, cleanly, with `onClose` called once;
 * - each side reports the code of the Close frame the other side sent (§7.1.5), so both report
 *   the same code unless the two Close frames crossed on the wire;
 * - every message a side completed before its Close is delivered to the other once, in order,
 *   and nothing else; a message abandoned by a Close is reported as `incompleteMessage`;
 * - every ping is answered with its own payload, in order, also after the answering side sent
 *   its Close (§5.5.2); the pongs a side receives are a prefix of its pings.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Connection, type CloseInfo } from '../../src/protocol/index.js';
import { concat, testPlatform } from '../helpers/engine.js';

type Who = 'client' | 'server';

type Action =
  | { op: 'send'; who: Who; bytes: Uint8Array; text: string; binary: boolean; fin: boolean }
  | { op: 'ping'; who: Who; data: Uint8Array }
  | { op: 'close'; who: Who; code: number | undefined; reason: string }
  | { op: 'move'; from: Who; bytes: number; pieces: number[] };

const who = fc.constantFrom<Who>('client', 'server');
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('send' as const),
      who,
      bytes: fc.uint8Array({ maxLength: 300 }),
      text: fc.string({ unit: 'grapheme', maxLength: 60 }),
      binary: fc.boolean(),
      fin: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('ping' as const),
      who,
      data: fc.uint8Array({ maxLength: 125 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('close' as const),
      who,
      code: fc.constantFrom(undefined, 1000, 1001, 1011, 3000, 4000, 4999),
      reason: fc.constantFrom('', 'bye', 'é'.repeat(40)),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('move' as const),
      from: who,
      bytes: fc.integer({ min: 0, max: 2000 }),
      pieces: fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }),
    }),
  },
);

/** One side: its engine, the bytes it wrote and not yet delivered, and what it saw. */
interface Side {
  conn: Connection;
  pipe: Uint8Array[];
  received: { data: Uint8Array; binary: boolean }[];
  pongs: Uint8Array[];
  closes: CloseInfo[];
  /** Messages completed before our Close, as the peer must receive them. */
  sent: { data: Uint8Array; binary: boolean }[];
  /** The fragments of a message in progress (send with fin false). */
  partial: Uint8Array[] | null;
  partialBinary: boolean;
  pings: Uint8Array[];
  /** Payload of the Close frame this side put on the wire first (its own or its answer). */
  closeFrame: Uint8Array | null;
  /** Everything this side wrote, in order. */
  wire: Uint8Array[];
}

function side(role: Who): Side {
  const s = {} as Side;
  Object.assign(s, {
    pipe: [],
    received: [],
    pongs: [],
    closes: [],
    sent: [],
    partial: null,
    partialBinary: false,
    pings: [],
    closeFrame: null,
    wire: [],
  });
  s.conn = new Connection(
    { role, platform: testPlatform() },
    {
      onMessage(data, binary) {
        s.received.push({ data: Array.isArray(data) ? concat(data) : data.slice(), binary });
      },
      onPing() {},
      onPong: (payload) => s.pongs.push(payload.slice()),
      onWrite: (bytes) => {
        const copy = bytes.slice();
        s.pipe.push(copy);
        s.wire.push(copy);
        if (s.closeFrame === null) s.closeFrame = closePayload(copy, role === 'client');
      },
      onClose: (info) => s.closes.push(info),
    },
  );
  return s;
}

/** The payload of `bytes` when they are one Close frame (written whole by the engine), else null. */
function closePayload(bytes: Uint8Array, masked: boolean): Uint8Array | null {
  if ((bytes[0] & 0x0f) !== 0x8) return null;
  const length = bytes[1] & 0x7f;
  const start = 2 + (masked ? 4 : 0);
  const payload = bytes.slice(start, start + length);
  if (masked) for (let i = 0; i < length; i++) payload[i] ^= bytes[2 + (i & 3)];
  return payload;
}

/** The payloads of the Pong frames in `wire` (a whole, valid frame stream), unmasked. */
function pongsIn(wire: Uint8Array): Uint8Array[] {
  const pongs: Uint8Array[] = [];
  let at = 0;
  while (at < wire.length) {
    const masked = (wire[at + 1] & 0x80) !== 0;
    let length = wire[at + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      length = (wire[at + 2] << 8) | wire[at + 3];
      header = 4;
    } else if (length === 127) {
      length = new DataView(wire.buffer, wire.byteOffset + at + 2, 8).getUint32(4);
      header = 10;
    }
    const key = wire.subarray(at + header, at + header + (masked ? 4 : 0));
    const start = at + header + key.length;
    if ((wire[at] & 0x0f) === 0xa) {
      const payload = wire.slice(start, start + length);
      if (masked) for (let i = 0; i < length; i++) payload[i] ^= key[i & 3];
      pongs.push(payload);
    }
    at = start + length;
  }
  return pongs;
}

/** Moves up to `count` bytes from `from`'s pipe to `to`, cut into `pieces` sizes in turn. */
function move(from: Side, to: Side, count: number, pieces: number[]): void {
  const all = concat(from.pipe);
  const taken = Math.min(count, all.length);
  from.pipe = taken < all.length ? [all.slice(taken)] : [];
  let at = 0;
  for (let i = 0; at < taken; i++) {
    const size = Math.min(pieces[i % pieces.length], taken - at);
    to.conn.receiveData(all.slice(at, at + size));
    at += size;
  }
}

function apply(a: Action, sides: Record<Who, Side>): void {
  if (a.op === 'move') {
    move(sides[a.from], sides[a.from === 'client' ? 'server' : 'client'], a.bytes, a.pieces);
    return;
  }
  const s = sides[a.who];
  if (s.conn.state !== 'open') return; // a user only sends while the connection is open
  if (a.op === 'send') {
    // A continuation keeps the type of its message; text is valid UTF-8 (§8.1).
    const binary = s.partial === null ? a.binary : s.partialBinary;
    const data = binary ? a.bytes : new TextEncoder().encode(a.text);
    s.conn.send(data, binary, a.fin);
    if (s.partial === null) s.partialBinary = binary;
    const parts = [...(s.partial ?? []), data.slice()];
    if (a.fin) {
      s.sent.push({ data: concat(parts), binary });
      s.partial = null;
    } else {
      s.partial = parts;
    }
  } else if (a.op === 'ping') {
    s.conn.ping(a.data);
    s.pings.push(a.data.slice());
  } else {
    s.conn.close(a.code, a.code === undefined ? undefined : a.reason);
  }
}

function codeOf(closeFrame: Uint8Array | null): number {
  assert.ok(closeFrame !== null, 'a Close frame was sent');
  return closeFrame.length === 0 ? 1005 : (closeFrame[0] << 8) | closeFrame[1];
}

describe('property: an engine pair always ends cleanly, with every message delivered once', () => {
  test('any sends, pings and closes from both sides, through any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(action, { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }),
        (actions, finalPieces) => {
          const sides = { client: side('client'), server: side('server') };
          const { client, server } = sides;
          for (const a of actions) apply(a, sides);
          // If nobody closed, the client does; then the pipes are drained in the given pieces.
          if (client.conn.state === 'open' && server.conn.state === 'open') client.conn.close();
          for (let round = 0; client.pipe.length + server.pipe.length > 0; round++) {
            assert.ok(round < 10, 'the exchange settles');
            move(client, server, Infinity, finalPieces);
            move(server, client, Infinity, finalPieces);
          }
          for (const s of [client, server]) {
            assert.equal(s.conn.state, 'closed');
            assert.equal(s.closes.length, 1, 'onClose exactly once');
            assert.equal(s.closes[0].wasClean, true, s.closes[0].error?.message);
          }
          // §7.1.5: the close code is the one in the Close frame received.
          const clientCode = client.closes[0].code;
          const serverCode = server.closes[0].code;
          assert.equal(clientCode, codeOf(server.closeFrame));
          assert.equal(serverCode, codeOf(client.closeFrame));
          const crossed =
            client.closes[0].code !== serverCode ||
            (client.closeFrame !== null &&
              server.closeFrame !== null &&
              !sameBytes(client.closeFrame, server.closeFrame));
          if (!crossed) assert.equal(clientCode, serverCode);
          for (const [me, peer] of [
            [client, server],
            [server, client],
          ] as const) {
            // Every message completed before the Close, once, in order, and nothing else.
            assert.deepEqual(peer.received, me.sent);
            // A message abandoned by our Close is dropped and reported as such.
            assert.equal(peer.closes[0].incompleteMessage ?? false, me.partial !== null);
            // §5.5.2: the peer answers every ping of ours, in order, with its payload: all of
            // them arrive before our Close, and it answers until it has our Close (also after
            // sending its own). We see the pongs that came before its Close: a prefix.
            assert.deepEqual(pongsIn(concat(peer.wire)), me.pings);
            assert.deepEqual(me.pongs, me.pings.slice(0, me.pongs.length));
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
