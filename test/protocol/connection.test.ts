import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkingOracle, clientFrame, harness, concat, testPlatform } from '../helpers/engine.js';
import { ExtensionError, type Extension } from '../../src/protocol/index.js';

// Every input of this file is re-fed whole, byte by byte and in random pieces (helpers/engine.ts).
chunkingOracle();

const enc = (s: string) => new TextEncoder().encode(s);

interface AllocRecording {
  h: ReturnType<typeof harness>;
  /** Every allocation of the engine, with the payload bytes arrived at that moment. */
  allocs: { size: number; arrived: number }[];
  /** Set by the test as it feeds (`arrived`). */
  state: { arrived: number };
}

/** A server engine whose platform records every allocation it makes. */
function allocRecordingHarness(limits?: { maxPayload: number }): AllocRecording {
  const allocs: AllocRecording['allocs'] = [];
  const state = { arrived: 0 };
  const base = testPlatform();
  const platform = {
    ...base,
    alloc: (n: number) => {
      allocs.push({ size: n, arrived: state.arrived });
      return base.alloc(n);
    },
  };
  return { h: harness({ role: 'server', limits, platform }), allocs, state };
}

describe('§5.1 masking', () => {
  test('a server fails the connection on an unmasked frame with 1002', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(1, 'hi', { masked: false }));
    assert.equal(h.messages().length, 0);
    assert.equal(h.closeEvent()?.code, 1002);
    assert.equal(h.closeEvent()?.error?.code, 'UNMASKED_CLIENT_FRAME');
    // The Close frame sent carries 1002 and no reason.
    assert.deepEqual([...h.takeWritten()], [0x88, 0x02, 0x03, 0xea]);
  });
  test('a client fails the connection on a masked frame with 1002', () => {
    const h = harness({ role: 'client' });
    h.feed(clientFrame(1, 'hi'));
    assert.equal(h.closeEvent()?.error?.code, 'MASKED_SERVER_FRAME');
  });
  test("a client masks every frame with a fresh key and never changes the caller's buffer", () => {
    const h = harness({ role: 'client' });
    const data = enc('same payload');
    h.conn.send(data, false);
    h.conn.send(data, false);
    assert.deepEqual(data, enc('same payload'));
    const [a, b] = h.written;
    assert.equal(a[1] & 0x80, 0x80);
    assert.notDeepEqual(a.subarray(2, 6), b.subarray(2, 6));
    const server = harness({ role: 'server' });
    server.feed(concat([a, b]));
    assert.deepEqual(server.messages(), ['same payload', 'same payload']);
  });
});

describe('§5.2 base framing', () => {
  for (const rsv of [1, 2, 4, 6, 7]) {
    test(`RSV bits ${rsv.toString(2).padStart(3, '0')} without an extension fail with 1002`, () => {
      const h = harness({ role: 'server' });
      h.feed(clientFrame(1, 'x', { rsv }));
      assert.equal(h.closeEvent()?.code, 1002);
      assert.equal(h.closeEvent()?.error?.code, 'RESERVED_BITS');
    });
  }
  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    test(`reserved opcode 0x${opcode.toString(16)} fails with 1002`, () => {
      const h = harness({ role: 'server' });
      h.feed(clientFrame(opcode, ''));
      assert.equal(h.closeEvent()?.error?.code, 'RESERVED_OPCODE');
    });
  }
  test('a 64-bit length with its most significant bit set fails with 1002', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(2, 'A', { fin: false }));
    h.feed([0x00, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    assert.equal(h.closeEvent()?.error?.code, 'LENGTH_MSB_SET');
  });
  test('the most significant bit is refused as soon as it arrives, before the masking key', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(2, 'A', { fin: false }));
    h.feed([0x00, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(h.closeEvent()?.error?.code, 'LENGTH_MSB_SET');
    const split = harness({ role: 'server' });
    split.feed([0x82, 0xff]);
    split.feed([0x80]);
    assert.equal(split.closeEvent()?.error?.code, 'LENGTH_MSB_SET');
  });
  test('frames delivered one byte at a time give the same messages', () => {
    const h = harness({ role: 'server' });
    const bytes = concat([
      clientFrame(1, 'héllo wörld'),
      clientFrame(2, new Uint8Array(300).fill(5)),
    ]);
    h.feed(
      bytes,
      Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
    );
    assert.equal(h.messages()[0], 'héllo wörld');
    assert.equal(h.events.length, 2);
  });
});

describe('§5.4 fragmentation', () => {
  test('control frames may be interleaved within a fragmented message; the pong is sent first', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(1, 'Hel', { fin: false }));
    h.feed(clientFrame(9, 'ping!'));
    assert.equal(h.messages().length, 0);
    // The pong goes out before the message completes (§5.5.2, checklist C2).
    assert.deepEqual([...h.takeWritten()], [0x8a, 0x05, ...enc('ping!')]);
    h.feed(clientFrame(0, 'lo'));
    assert.deepEqual(h.messages(), ['Hello']);
  });
  test('a continuation with no message in progress fails with 1002', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(0, 'x'));
    assert.equal(h.closeEvent()?.error?.code, 'UNEXPECTED_CONTINUATION');
  });
  test('a new data frame inside a fragmented message fails with 1002', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(1, 'a', { fin: false }));
    h.feed(clientFrame(2, 'b'));
    assert.equal(h.closeEvent()?.error?.code, 'EXPECTED_CONTINUATION');
  });
  test('sending with fin=false produces continuation frames', () => {
    const h = harness({ role: 'server' });
    h.conn.send(enc('ab'), true, false);
    h.conn.send(enc('cd'), true, false);
    h.conn.send(enc('ef'), true, true);
    const w = h.written.map((f) => f[0]);
    assert.deepEqual(w, [0x02, 0x00, 0x80]);
  });
  test('a 4 MiB message in 64-byte fragments passes when maxPayload is 4 MiB', () => {
    const h = harness({ role: 'server', limits: { maxPayload: 4 * 1024 * 1024 } });
    const piece = new Uint8Array(64).fill(1);
    const count = (4 * 1024 * 1024) / 64;
    const frames: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      frames.push(clientFrame(i === 0 ? 2 : 0, piece, { fin: i === count - 1 }));
    }
    h.feed(concat(frames));
    const msg = h.events[0];
    assert.equal(msg.type, 'message');
    assert.equal(msg.type === 'message' && msg.data.length, 4 * 1024 * 1024);
    // Tiny fragments are coalesced: far fewer parts than frames are retained.
    assert.ok(
      msg.type === 'message' && msg.parts < 300,
      `parts: ${msg.type === 'message' && msg.parts}`,
    );
  });
});

describe('§5.5 control frames', () => {
  test('a ping with a 126-byte payload fails with 1002', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(9, new Uint8Array(126)));
    assert.equal(h.closeEvent()?.error?.code, 'CONTROL_TOO_LONG');
  });
  test('a fragmented ping fails with 1002', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(9, 'x', { fin: false }));
    assert.equal(h.closeEvent()?.error?.code, 'CONTROL_FRAGMENTED');
  });
  test('§5.5.2 a pong echoes the ping payload, even when the ping arrives in pieces', () => {
    const h = harness({ role: 'server' });
    const ping = clientFrame(9, new Uint8Array(125).fill(3));
    h.feed(ping, [1, 3, 7, 50, 100]);
    const out = h.takeWritten();
    assert.deepEqual([...out.subarray(0, 2)], [0x8a, 125]);
    assert.deepEqual([...out.subarray(2)], [...new Uint8Array(125).fill(3)]);
  });
  test('§5.5.3 unsolicited pongs are accepted and reported', () => {
    const h = harness({ role: 'server' });
    for (let i = 0; i < 1000; i++) h.feed(clientFrame(10, 'x'));
    assert.equal(h.events.filter((e) => e.type === 'pong').length, 1000);
    assert.equal(h.closeEvent(), undefined);
  });
  test('ping payloads over 125 bytes are refused by the API', () => {
    const h = harness({ role: 'client' });
    assert.throws(() => h.conn.ping(new Uint8Array(126)), { code: 'CONTROL_PAYLOAD_TOO_LONG' });
  });
});

describe('§5.5.1 / §7 closing', () => {
  test("the peer's close is answered with the same code and reason, and the connection is closed cleanly", () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(8, Uint8Array.from([0x03, 0xe8, ...enc('bye')])));
    assert.deepEqual(h.closeEvent(), { code: 1000, reason: 'bye', wasClean: true });
    assert.deepEqual([...h.takeWritten()], [0x88, 0x05, 0x03, 0xe8, ...enc('bye')]);
    assert.equal(h.conn.state, 'closed');
  });
  test('an empty close is reported as 1005 and answered with an empty close', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(8, new Uint8Array(0)));
    assert.equal(h.closeEvent()?.code, 1005);
    assert.deepEqual([...h.takeWritten()], [0x88, 0x00]);
  });
  test('a 1-byte close payload fails with 1002', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(8, Uint8Array.from([3])));
    assert.equal(h.closeEvent()?.code, 1002);
  });
  test('a close reason that is not UTF-8 fails with 1007', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(8, Uint8Array.from([0x03, 0xe8, 0xff])));
    assert.equal(h.closeEvent()?.code, 1007);
  });
  const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
  const valid = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
  ];
  for (const code of invalid) {
    test(`§7.4 received close code ${code} is invalid: 1002`, () => {
      const h = harness({ role: 'server' });
      h.feed(clientFrame(8, Uint8Array.from([code >> 8, code & 0xff])));
      assert.equal(h.closeEvent()?.code, 1002);
      assert.equal(h.closeEvent()?.wasClean, false);
    });
  }
  for (const code of valid) {
    test(`§7.4 received close code ${code} is echoed and closes cleanly`, () => {
      const h = harness({ role: 'server' });
      h.feed(clientFrame(8, Uint8Array.from([code >> 8, code & 0xff])));
      assert.deepEqual(h.closeEvent(), { code, reason: '', wasClean: true });
    });
  }
  test("our close moves to closing; the peer's answer closes; data arriving in between is still delivered", () => {
    const h = harness({ role: 'server' });
    h.conn.close(1001, 'going');
    assert.equal(h.conn.state, 'closing');
    assert.deepEqual([...h.takeWritten()], [0x88, 0x07, 0x03, 0xe9, ...enc('going')]);
    h.feed(clientFrame(1, 'late'));
    assert.deepEqual(h.messages(), ['late']);
    h.feed(clientFrame(8, Uint8Array.from([0x03, 0xe9])));
    assert.deepEqual(h.closeEvent(), { code: 1001, reason: '', wasClean: true });
    assert.equal(h.written.length, 0, 'no second close is sent');
  });
  test('frames after the closing handshake are ignored', () => {
    const h = harness({ role: 'server' });
    h.feed(concat([clientFrame(8, Uint8Array.from([0x03, 0xe8])), clientFrame(1, 'after')]));
    assert.deepEqual(h.messages(), []);
    h.feed(clientFrame(1, 'later'));
    assert.deepEqual(h.messages(), []);
  });
  test('sending after close throws NOT_OPEN; invalid codes and long reasons throw', () => {
    const h = harness({ role: 'client' });
    assert.throws(() => h.conn.close(1005), { code: 'INVALID_CLOSE_CODE' });
    assert.throws(() => h.conn.close(1006), { code: 'INVALID_CLOSE_CODE' });
    assert.throws(() => h.conn.close(1015), { code: 'INVALID_CLOSE_CODE' });
    assert.throws(() => h.conn.close(1000, 'x'.repeat(124)), { code: 'REASON_TOO_LONG' });
    h.conn.close(1000, 'x'.repeat(123));
    assert.throws(() => h.conn.send(enc('no'), false), { code: 'NOT_OPEN' });
    assert.throws(() => h.conn.ping(), { code: 'NOT_OPEN' });
  });
  test('EOF without a close frame is reported as 1006, never sent', () => {
    const h = harness({ role: 'server' });
    h.conn.receiveEof();
    assert.deepEqual(h.closeEvent(), { code: 1006, reason: '', wasClean: false });
    assert.equal(h.written.length, 0);
  });
});

describe('§8.1 UTF-8 handling', () => {
  for (const [name, bytes] of [
    ['overlong C0 80', [0xc0, 0x80]],
    ['surrogate ED A0 80', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF F4 90 80 80', [0xf4, 0x90, 0x80, 0x80]],
    ['FF', [0xff]],
    ['truncated E2 82 at the end', [0x61, 0xe2, 0x82]],
  ] as const) {
    test(`invalid text (${name}) fails with 1007`, () => {
      const h = harness({ role: 'server' });
      h.feed(clientFrame(1, Uint8Array.from(bytes)));
      assert.equal(h.closeEvent()?.code, 1007);
      assert.equal(h.messages().length, 0);
    });
  }
  test('valid text split inside a code point across fragments and single-byte reads is delivered', () => {
    const text = 'κόσμε 😀 ok';
    const bytes = enc(text);
    const h = harness({ role: 'server' });
    const frames = concat([
      clientFrame(1, bytes.subarray(0, 3), { fin: false }),
      clientFrame(0, bytes.subarray(3, 13), { fin: false }),
      clientFrame(0, bytes.subarray(13)),
    ]);
    h.feed(
      frames,
      Array.from({ length: frames.length - 1 }, (_, i) => i + 1),
    );
    assert.deepEqual(h.messages(), [text]);
  });
  test('fail fast: invalid first fragment of a 3-fragment message closes before the rest arrives', () => {
    const h = harness({ role: 'server' });
    h.feed(clientFrame(1, Uint8Array.from([0x61, 0xff]), { fin: false }));
    assert.equal(h.closeEvent()?.code, 1007);
  });
  test('fail fast inside a single frame whose payload is still arriving', () => {
    const h = harness({ role: 'server' });
    const payload = new Uint8Array(1000).fill(0x61);
    payload[10] = 0xff;
    const frame = clientFrame(1, payload);
    h.feed(frame.subarray(0, 40));
    assert.equal(h.closeEvent()?.code, 1007, 'failed after the first read, not at the end');
  });
});

describe('limits', () => {
  test('a frame declaring more than maxPayload fails with 1009 before any payload arrives', () => {
    const h = harness({ role: 'server', limits: { maxPayload: 1024 } });
    h.feed([0x82, 0xfe, 0x04, 0x01, 1, 2, 3, 4]); // 1025 bytes declared, masked header only
    assert.equal(h.closeEvent()?.code, 1009);
  });
  test('a header announcing 2^53-1 bytes fails with 1009 without allocating', () => {
    const h = harness({ role: 'server' });
    h.feed([0x82, 0xff, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
    assert.equal(h.closeEvent()?.code, 1009);
  });
  test('exactly maxPayload is accepted; one more byte across fragments is refused', () => {
    const ok = harness({ role: 'server', limits: { maxPayload: 1000 } });
    ok.feed(
      concat([
        clientFrame(2, new Uint8Array(600), { fin: false }),
        clientFrame(0, new Uint8Array(400)),
      ]),
    );
    assert.equal(ok.events[0].type, 'message');
    const tooBig = harness({ role: 'server', limits: { maxPayload: 1000 } });
    tooBig.feed(
      concat([
        clientFrame(2, new Uint8Array(600), { fin: false }),
        clientFrame(0, new Uint8Array(401)),
      ]),
    );
    assert.equal(tooBig.closeEvent()?.code, 1009);
  });
  test('endless empty continuation frames are counted and closed at the budget', () => {
    const h = harness({ role: 'server', limits: { maxPayload: 1024 } });
    h.feed(clientFrame(1, 'a', { fin: false }));
    const empty = clientFrame(0, new Uint8Array(0), { fin: false });
    let i = 0;
    while (h.closeEvent() === undefined && i < 100000) {
      h.feed(empty);
      i++;
    }
    assert.equal(h.closeEvent()?.code, 1009);
    assert.equal(h.closeEvent()?.error?.code, 'MESSAGE_TOO_COSTLY');
    assert.ok(i < 200, `closed after ${i} empty frames`);
  });
});

/** A fake extension that "compresses" by reversing bytes, synchronously or asynchronously. */
/**
 * Lets the asynchronous codec finish: each of its steps takes one setImmediate, so a number of
 * event-loop turns (not a wall-clock wait, which a slow or instrumented run can outlast).
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Turns the event loop until `done()` holds (bounded: 2,000 turns), so the async codec's
 * steps finish however the machine schedules them. */
async function settleUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
}

function reversingExtension(async: boolean, maxOut = Infinity): Extension & { disposed: boolean } {
  const run = (fn: () => void) => (async ? setImmediate(fn) : fn());
  return {
    name: 'x-reverse',
    disposed: false,
    decode(payload, _fin, maxOutput, cb) {
      const out = Uint8Array.from(payload).reverse();
      run(() =>
        out.length > Math.min(maxOutput, maxOut)
          ? cb(new ExtensionError('too-big', 'too big'), [])
          : cb(null, [out]),
      );
    },
    encode(data, _fin, cb) {
      const out = Uint8Array.from(data).reverse();
      run(() => cb(null, [out]));
    },
    dispose() {
      this.disposed = true;
    },
  };
}

describe('§9 extension interface', () => {
  for (const async of [false, true]) {
    test(`RSV1 messages go through the extension in order (${async ? 'async' : 'sync'} codec)`, async () => {
      const ext = reversingExtension(async);
      const h = harness({ role: 'server', extension: ext });
      h.feed(
        concat([
          clientFrame(1, 'olleh', { rsv: 4 }),
          clientFrame(1, 'plain'),
          clientFrame(1, 'cba', { rsv: 4, fin: false }),
          clientFrame(9, 'p'),
          clientFrame(0, 'fed'),
        ]),
      );
      await settleUntil(() => h.messages().length >= 3);
      assert.deepEqual(h.messages(), ['hello', 'plain', 'abcdef']);
      h.conn.send(enc('abc'), false);
      h.conn.send(enc('raw'), false, true, false);
      await settleUntil(() => h.written.length >= 3);
      const frames = h.written.slice(1); // after the pong
      assert.equal(frames[0][0], 0xc1, 'RSV1 set on the compressed message');
      assert.deepEqual([...frames[0].subarray(2)], [...enc('cba')]);
      assert.equal(frames[1][0], 0x81, 'no RSV1 when compression is declined');
    });
  }
  test('RSV1 on a continuation frame fails with 1002', () => {
    const h = harness({ role: 'server', extension: reversingExtension(false) });
    h.feed(concat([clientFrame(1, 'a', { rsv: 4, fin: false }), clientFrame(0, 'b', { rsv: 4 })]));
    assert.equal(h.closeEvent()?.error?.code, 'RESERVED_BITS');
  });
  test('RSV1 on a control frame fails with 1002', () => {
    const h = harness({ role: 'server', extension: reversingExtension(false) });
    h.feed(clientFrame(9, 'a', { rsv: 4 }));
    assert.equal(h.closeEvent()?.code, 1002);
  });
  test('a decoder reporting too-big closes with 1009 and the extension is disposed', async () => {
    const ext = reversingExtension(true, 2);
    const h = harness({ role: 'server', extension: ext });
    h.feed(clientFrame(2, 'abcdef', { rsv: 4 }));
    await settle();
    assert.equal(h.closeEvent()?.code, 1009);
    assert.ok(ext.disposed);
  });
});

describe('memory: split single-frame messages', () => {
  test('a 64 KiB frame split over two reads is delivered as one buffer of its exact size', () => {
    const h = harness({ role: 'server' });
    const payload = new Uint8Array(65536).map((_, i) => i & 0xff);
    const frame = clientFrame(2, payload);
    h.feed(frame, [40000]);
    const msg = h.events[0];
    assert.ok(msg.type === 'message');
    assert.equal(msg.parts, 1);
    assert.deepEqual(msg.data, payload);
  });
  test('a declared length alone never makes the engine allocate it: 1 MiB declared, 1 byte sent', () => {
    const { h, allocs } = allocRecordingHarness();
    const frame = clientFrame(2, new Uint8Array(1024 * 1024));
    h.feed(frame.subarray(0, 15)); // header (14 bytes) + 1 payload byte
    const largest = Math.max(0, ...allocs.map((a) => a.size));
    assert.ok(largest <= 64 * 1024, `allocated ${largest} bytes`);
    h.feed(frame.subarray(15));
    const msg = h.events[0];
    assert.ok(msg.type === 'message' && msg.data.length === 1024 * 1024);
  });
});

describe('memory: a large frame gets its own buffer once half of it has arrived', () => {
  const MiB = 1024 * 1024;
  const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + 5) & 0xff);
  /** Feeds `frame` to `r.h` in reads of `size` bytes, keeping `r.state.arrived` (payload bytes) current. */
  function feedInReads(r: AllocRecording, frame: Uint8Array, size: number, header: number) {
    for (let at = 0; at < frame.length; at += size) {
      const end = Math.min(at + size, frame.length);
      r.state.arrived = Math.max(0, end - header);
      r.h.conn.receiveData(frame.slice(at, end));
    }
    return r.allocs;
  }

  for (const read of [65536, 1000]) {
    test(`a 1 MiB binary frame in ${read}-byte reads arrives as one buffer, allocated after half arrived`, () => {
      const r = allocRecordingHarness({ maxPayload: 4 * MiB });
      const h = r.h;
      const data = payload(MiB);
      const allocs = feedInReads(r, clientFrame(2, data, { mask: [9, 8, 7, 6] }), read, 14);
      const [event] = h.events;
      assert.ok(event?.type === 'message');
      assert.equal(event.parts, 1);
      assert.deepEqual(event.data, data);
      const frameBuffer = allocs.find((a) => a.size === MiB);
      assert.ok(frameBuffer !== undefined, 'the frame got one buffer of its exact size');
      assert.ok(frameBuffer.arrived >= MiB / 2 - 16 * 1024, `allocated at ${frameBuffer.arrived}`);
      // R1: no allocation is ever much larger than what has arrived.
      for (const a of allocs) {
        assert.ok(a.size <= 2 * (a.arrived + 16 * 1024), `${a.size} bytes at ${a.arrived}`);
      }
    });
  }

  test('R1: 1 MiB declared, 400 KiB sent in 64 KiB reads: nothing near the declared size is allocated', () => {
    const r = allocRecordingHarness({ maxPayload: 4 * MiB });
    const h = r.h;
    const frame = clientFrame(2, payload(MiB));
    const allocs = feedInReads(r, frame.subarray(0, 14 + 400 * 1024), 65536, 14);
    assert.ok(
      allocs.every((a) => a.size < MiB / 2),
      JSON.stringify(allocs),
    );
    assert.equal(h.events.length, 0);
  });

  test('a text frame collected in small reads, then unmasked into place, is validated and delivered whole', () => {
    const text = 'aé€𝄞'.repeat(20000); // 1-, 2-, 3- and 4-byte sequences, 200 KB
    const bytes = new TextEncoder().encode(text);
    const h = harness({ role: 'server' });
    // 50 reads of 1001 bytes (copied into the accumulator), then reads of 9001 bytes.
    const cuts = Array.from({ length: 50 }, (_, i) => 10 + (i + 1) * 1001);
    for (let at = cuts[cuts.length - 1] + 9001; at < bytes.length; at += 9001) cuts.push(at);
    h.feed(clientFrame(1, bytes), cuts);
    assert.deepEqual(h.messages(), [text]);
    const [event] = h.events;
    assert.ok(event?.type === 'message' && event.parts === 1);
  });

  test('invalid UTF-8 early in a large text frame fails with 1007 before the frame buffer is allocated', () => {
    const bytes = new TextEncoder().encode('a'.repeat(200000));
    bytes[1000] = 0xc3; // a lead byte followed by 'a'
    const { h, allocs } = allocRecordingHarness();
    const frame = clientFrame(1, bytes);
    h.feed(frame.subarray(0, 10 + 5000));
    assert.equal(h.closeEvent()?.code, 1007);
    assert.ok(
      allocs.every((a) => a.size < 200000),
      'the 200 KB frame buffer was never allocated',
    );
  });
});

describe('§5.3 split frames unmasked straight into their own buffer', () => {
  const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
  // A JavaScript stand-in for the native out-of-place mask (bufferutil's `mask`).
  const withMask = (calls: number[]) => ({
    ...testPlatform(),
    mask(source: Uint8Array, key: Uint8Array, target: Uint8Array, offset: number, length: number) {
      calls.push(length);
      for (let i = 0; i < length; i++) target[offset + i] = source[i] ^ key[i & 3];
    },
  });

  for (const native of [false, true]) {
    test(`a 64 KiB binary frame split at odd offsets arrives whole, in one buffer (${native ? 'platform mask' : 'JavaScript'})`, () => {
      const calls: number[] = [];
      const h = harness({ role: 'server', ...(native ? { platform: withMask(calls) } : {}) });
      const data = payload(65536);
      const frame = clientFrame(2, data, { mask: [0x11, 0x22, 0x33, 0x44] });
      // 14-byte header; pieces of 40001, 5003 (key offset 1, then 0) and the rest.
      h.feed(frame, [14 + 40001, 14 + 45004]);
      const [event] = h.events;
      assert.equal(event.type, 'message');
      if (event.type !== 'message') return;
      assert.equal(event.parts, 1);
      assert.deepEqual(event.data, data);
      if (native) assert.deepEqual(calls, [40001, 5003, 65536 - 45004]);
    });
  }

  test('a text frame split inside a multi-byte character is validated and delivered whole', () => {
    const text = 'é€𝄞'.repeat(3000); // 2-, 3- and 4-byte sequences
    const bytes = new TextEncoder().encode(text);
    const h = harness({ role: 'server' });
    const frame = clientFrame(1, bytes);
    h.feed(frame, [10 + 14001, 10 + 19003]);
    assert.deepEqual(h.messages(), [text]);
  });

  test('invalid UTF-8 in a piece unmasked into place still fails with 1007', () => {
    const bytes = new TextEncoder().encode('a'.repeat(20000));
    bytes[15000] = 0xff;
    const h = harness({ role: 'server' });
    h.feed(clientFrame(1, bytes), [10 + 12000]);
    assert.equal(h.closeEvent()?.code, 1007);
    assert.equal(h.messages().length, 0);
  });
});
