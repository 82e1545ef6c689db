/**
 * Control frames and the closing handshake at the edges (RFC 6455 §5.4, §5.5, §7): payload
 * lifetime of split control frames, Pongs after our own Close, and a Close in the middle of a
 * fragmented message. The handler here keeps the views the engine hands out (no copies), so a
 * view that is later overwritten shows up.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, type CloseInfo } from '../../src/protocol/index.js';
import { chunkingOracle, clientFrame, concat, harness, testPlatform } from '../helpers/engine.js';

// Every input of this file is re-fed whole, byte by byte and in random pieces (helpers/engine.ts).
chunkingOracle();

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A server engine whose handler keeps every view it is given, as a user may. */
function keeping() {
  const kept: { type: string; view: Uint8Array; copy: Uint8Array }[] = [];
  const written: Uint8Array[] = [];
  let closed: CloseInfo | undefined;
  const keep = (type: string) => (view: Uint8Array) =>
    kept.push({ type, view, copy: new Uint8Array(view) });
  const conn = new Connection(
    { role: 'server', platform: testPlatform() },
    {
      onMessage: (data) => {
        for (const view of Array.isArray(data) ? data : [data]) keep('message')(view);
      },
      onPing: keep('ping'),
      onPong: keep('pong'),
      onWrite: (bytes) => written.push(new Uint8Array(bytes)),
      onClose: (info) => (closed = info),
    },
  );
  /** Feeds `bytes` in two reads split at `at` (each read a buffer of its own). */
  const feedSplit = (bytes: Uint8Array, at: number) => {
    conn.receiveData(bytes.slice(0, at));
    conn.receiveData(bytes.slice(at));
  };
  return { conn, kept, written, feedSplit, closed: () => closed };
}

describe('§5.5 control payloads split across reads', () => {
  test('each split control frame gets bytes of its own: a kept payload never changes', () => {
    const e = keeping();
    e.feedSplit(clientFrame(9, 'first ping payload'), 9);
    e.feedSplit(clientFrame(10, 'SECOND pong, longer payload'), 11);
    e.feedSplit(clientFrame(9, 'third'), 7);
    assert.deepEqual(
      e.kept.map((k) => [k.type, dec(k.view)]),
      [
        ['ping', 'first ping payload'],
        ['pong', 'SECOND pong, longer payload'],
        ['ping', 'third'],
      ],
    );
    for (const k of e.kept) assert.deepEqual(k.view, k.copy, `${k.type} payload was overwritten`);
    // The answers carry each ping's own bytes (§5.5.2 "the same Application data").
    const pongs = e.written.filter((w) => w[0] === 0x8a).map((w) => dec(w.subarray(2)));
    assert.deepEqual(pongs, ['first ping payload', 'third']);
  });

  test('split and whole control frames interleaved with data: every view stays intact', () => {
    const e = keeping();
    const stream = concat([
      clientFrame(1, 'part one, ', { fin: false }),
      clientFrame(9, 'ping in the middle'),
      clientFrame(0, 'part two'),
      clientFrame(10, 'a pong'),
      clientFrame(2, new Uint8Array(200).fill(7)),
      clientFrame(9, 'ping at the end'),
    ]);
    // One byte per read: every control frame is split.
    for (let i = 0; i < stream.length; i++) e.conn.receiveData(stream.slice(i, i + 1));
    assert.equal(e.kept.length, 4 + 1); // message parts are counted per view
    for (const k of e.kept) assert.deepEqual(k.view, k.copy, `${k.type} view was overwritten`);
    assert.deepEqual(
      e.kept.filter((k) => k.type !== 'message').map((k) => dec(k.view)),
      ['ping in the middle', 'a pong', 'ping at the end'],
    );
  });
});

describe('§5.5.2 Pong after our own Close', () => {
  test('a ping that arrives after we sent Close is answered until the peer closes', () => {
    const h = harness({ role: 'server' });
    h.conn.close(1000, 'done');
    h.takeWritten();
    h.feed(clientFrame(9, 'still there?'));
    assert.deepEqual([...h.takeWritten()], [0x8a, 12, ...enc('still there?')]);
    assert.equal(h.conn.state, 'closing');
    h.feed(clientFrame(8, Uint8Array.from([0x03, 0xe8])));
    assert.equal(h.conn.state, 'closed');
    assert.equal(h.written.length, 0, 'nothing is answered to the peer’s Close: ours was sent');
  });

  test('a client answers too (masked), and not after the peer’s Close', () => {
    const h = harness({ role: 'client' });
    h.conn.close();
    h.takeWritten();
    h.feed(clientFrame(9, 'p', { masked: false }));
    const pong = h.takeWritten();
    assert.equal(pong[0], 0x8a);
    assert.equal(pong[1], 0x80 | 1, 'masked, 1 byte');
    assert.equal(pong[6] ^ pong[2], 'p'.charCodeAt(0));
    // Close then ping in one read: the ping after the Close is not processed (§5.5.1).
    h.feed(
      concat([
        clientFrame(8, new Uint8Array(0), { masked: false }),
        clientFrame(9, 'late', { masked: false }),
      ]),
    );
    assert.equal(h.conn.state, 'closed');
    assert.equal(h.written.length, 0);
  });

  test('answerPing() is the adapter’s way to answer (autoPong off): legal while closing, a no-op once closed', () => {
    const h = harness({ role: 'server', autoPong: false });
    h.feed(clientFrame(9, 'x'));
    assert.equal(h.written.length, 0, 'autoPong off: no automatic answer');
    h.conn.close();
    h.takeWritten();
    h.conn.answerPing(enc('x'));
    assert.deepEqual([...h.takeWritten()], [0x8a, 1, 0x78]);
    assert.throws(() => h.conn.answerPing(new Uint8Array(126)), {
      code: 'CONTROL_PAYLOAD_TOO_LONG',
    });
    assert.throws(() => h.conn.pong(enc('x')), { code: 'NOT_OPEN' }, 'pong() stays open-only');
    h.feed(clientFrame(8, new Uint8Array(0)));
    h.conn.answerPing(enc('x'));
    assert.equal(h.written.length, 0);
  });
});

describe('§5.4 / §5.5.1 a Close in the middle of a fragmented message', () => {
  test('the partial message is dropped, the close is clean and echoes the peer’s code', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(1, 'never ', { fin: false }));
    h.feed(clientFrame(0, 'finished', { fin: false }));
    h.feed(clientFrame(8, Uint8Array.from([0x0f, 0xa0, ...enc('abandon')])));
    assert.deepEqual(h.messages(), []);
    assert.deepEqual(h.closeEvent(), {
      code: 4000,
      reason: 'abandon',
      wasClean: true,
      incompleteMessage: true,
    });
    assert.deepEqual([...h.takeWritten()], [0x88, 9, 0x0f, 0xa0, ...enc('abandon')]);
  });

  test('a Close between messages does not report an incomplete message', () => {
    const h = harness({ role: 'server' });
    h.feed(concat([clientFrame(1, 'whole'), clientFrame(8, Uint8Array.from([0x03, 0xe8]))]));
    assert.deepEqual(h.messages(), ['whole']);
    assert.deepEqual(h.closeEvent(), { code: 1000, reason: '', wasClean: true });
  });

  test('after our own Close: the peer’s Close mid-message completes the handshake the same way', () => {
    const h = harness({ role: 'client' });
    h.conn.close(1001);
    h.feed(clientFrame(2, Uint8Array.from([1, 2, 3]), { fin: false, masked: false }));
    h.feed(clientFrame(8, Uint8Array.from([0x03, 0xe9]), { masked: false }));
    assert.deepEqual(h.closeEvent(), {
      code: 1001,
      reason: '',
      wasClean: true,
      incompleteMessage: true,
    });
  });

  test('a compressed partial message is dropped and the extension disposed', () => {
    let disposed = 0;
    const h = harness({
      role: 'server',
      extension: {
        name: 'identity',
        decode: (piece, _fin, _limit, cb) => cb(null, [new Uint8Array(piece)]),
        encode: (data, _fin, cb) => cb(null, [data]),
        dispose: () => disposed++,
      },
    });
    h.feed(clientFrame(1, 'half', { fin: false, rsv: 4 }));
    h.feed(clientFrame(8, Uint8Array.from([0x03, 0xe8])));
    assert.deepEqual(h.messages(), []);
    assert.equal(h.closeEvent()?.incompleteMessage, true);
    assert.equal(h.closeEvent()?.code, 1000);
    assert.equal(disposed, 1);
  });
});
