/**
 * Checklist F1-F5 (framing), U1-U3 (UTF-8), C1-C4 (control frames) and X1-X5 (close): a raw
 * client that completed a valid handshake writes exact frames to an ironsock echo server
 * (RFC 6455 §5, §7, §8), with the control-connection invariant of support.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WebSocket } from '../../src/node/websocket.js';
import {
  arena,
  assertMemoryBelow,
  closePayload,
  delay,
  frame,
  memoryNow,
  Op,
  waitFor,
} from './support.js';
import type { Arena, Attacker, WireFrame } from './support.js';

/**
 * Opens a raw client, writes `bytes`, expects a Close frame with `code` and no echoed data frame
 * before it, then the server closing TCP promptly (§7.1.7). Returns the attacker.
 */
async function expectClose(a: Arena, bytes: Buffer | Buffer[], code: number): Promise<Attacker> {
  const attacker = await a.attackOpen();
  for (const chunk of Array.isArray(bytes) ? bytes : [bytes]) attacker.write(chunk);
  const close = await attacker.closeFrame(3000);
  assert.equal(
    close.code,
    code,
    `close code for ${Buffer.concat([bytes].flat()).toString('hex').slice(0, 60)}`,
  );
  const data = close.before.filter((f) => f.opcode !== Op.Pong);
  assert.deepEqual(data, [], 'nothing was delivered (echoed) before the close');
  await attacker.waitClosed(3000);
  return attacker;
}

/** The text/binary messages echoed so far, reassembled from frames. */
function echoed(frames: WireFrame[]): Array<{ opcode: number; payload: Buffer }> {
  const out: Array<{ opcode: number; payload: Buffer }> = [];
  let current: { opcode: number; parts: Buffer[] } | null = null;
  for (const f of frames) {
    if (f.opcode >= 0x8) continue;
    if (f.opcode !== Op.Cont) current = { opcode: f.opcode, parts: [] };
    current?.parts.push(f.payload);
    if (f.fin && current !== null) {
      out.push({ opcode: current.opcode, payload: Buffer.concat(current.parts) });
      current = null;
    }
  }
  return out;
}

async function waitEchoes(
  attacker: Attacker,
  n: number,
  ms = 5000,
): Promise<Array<{ opcode: number; payload: Buffer }>> {
  await waitFor(() => echoed(attacker.frames()).length >= n || attacker.closed, ms, `${n} echoes`);
  return echoed(attacker.frames());
}

test('F1: unmasked data or control frame from a client -> Close 1002, not delivered (§5.1)', async () => {
  await arena({}, async (a) => {
    await expectClose(a, frame(Op.Text, 'unmasked', { mask: false }), 1002);
    await a.check();
    await expectClose(a, frame(Op.Ping, 'p', { mask: false }), 1002);
  });
});

test('F2: RSV1/RSV2/RSV3 without an extension and reserved opcodes 0x3-0x7, 0xB-0xF -> Close 1002', async () => {
  await arena({}, async (a) => {
    for (const rsv of [0b100, 0b010, 0b001])
      await expectClose(a, frame(Op.Text, 'x', { rsv }), 1002);
    await a.check();
    for (const opcode of [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      await expectClose(a, frame(opcode, 'x'), 1002);
    }
  });
});

test('F3: continuation with no message in progress, or a new data frame inside a fragmented message -> Close 1002', async () => {
  await arena({}, async (a) => {
    await expectClose(a, frame(Op.Cont, 'orphan'), 1002);
    await expectClose(a, [frame(Op.Text, 'first', { fin: false }), frame(Op.Text, 'second')], 1002);
    await expectClose(
      a,
      [frame(Op.Binary, 'first', { fin: false }), frame(Op.Binary, 'second', { fin: false })],
      1002,
    );
  });
});

test('F4: a valid frame stream in 1-byte writes and in random splits yields exactly the unsplit messages (property)', async () => {
  await arena({}, async (a) => {
    const message = fc.record({
      binary: fc.boolean(),
      text: fc.string({ unit: 'binary', maxLength: 300 }),
      cuts: fc.array(fc.nat(), { maxLength: 3 }),
      ping: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }),
        async (messages, splits) => {
          const parts: Buffer[] = [];
          const expected: Array<{ opcode: number; payload: Buffer }> = [];
          for (const m of messages) {
            const payload = Buffer.from(m.text, 'utf8');
            const opcode = m.binary ? Op.Binary : Op.Text;
            expected.push({ opcode, payload });
            const cuts = [...new Set(m.cuts.map((c) => c % (payload.length + 1)))].sort(
              (x, y) => x - y,
            );
            let start = 0;
            const pieces: Buffer[] = [];
            for (const cut of cuts) {
              pieces.push(payload.subarray(start, cut));
              start = cut;
            }
            pieces.push(payload.subarray(start));
            pieces.forEach((piece, i) => {
              parts.push(
                frame(i === 0 ? opcode : Op.Cont, piece, { fin: i === pieces.length - 1 }),
              );
              if (m.ping && i === 0) parts.push(frame(Op.Ping, 'pp'));
            });
          }
          const stream = Buffer.concat(parts);
          const attacker = await a.attackOpen();
          let offset = 0;
          for (let i = 0; offset < stream.length; i++) {
            const size = splits[i % splits.length];
            await new Promise<void>((resolve) =>
              attacker.socket.write(stream.subarray(offset, offset + size), () => resolve()),
            );
            offset += size;
          }
          const got = await waitEchoes(attacker, expected.length);
          attacker.destroy();
          assert.deepEqual(
            got.map((g) => [g.opcode, g.payload.toString('hex')]),
            expected.map((e) => [e.opcode, e.payload.toString('hex')]),
          );
        },
      ),
      { numRuns: 15, interruptAfterTimeLimit: 20_000 },
    );
    // And one byte per TCP write.
    const attacker = await a.attackOpen();
    const stream = Buffer.concat([
      frame(Op.Text, 'héllo', { fin: false }),
      frame(Op.Cont, ' wörld'),
      frame(Op.Binary, Buffer.from([0, 1, 2])),
    ]);
    await attacker.writeSlowly(stream, 1);
    const got = await waitEchoes(attacker, 2);
    assert.deepEqual(
      got.map((g) => g.payload.toString('hex')),
      [Buffer.from('héllo wörld').toString('hex'), '000102'],
    );
  });
});

test('F5: 64-bit length with the MSB set (after a 1-byte fragment) -> Close 1002; non-minimal lengths and 125/126/65,535/65,536 boundaries delivered or 1002 promptly', async () => {
  await arena({}, async (a) => {
    // The checklist bytes, followed by the 4-byte masking key the header still needs.
    await expectClose(a, Buffer.from('0281000000004100ff800000000000000000000000', 'hex'), 1002);
    await expectClose(a, Buffer.from('81ff80000000000000000000000041', 'hex'), 1002);
    await a.check();
    // Non-minimal encodings of a 5-byte payload: 16-bit and 64-bit lengths (zero mask key).
    for (const header of ['81fe0005', '81ff0000000000000005']) {
      const attacker = await a.attackOpen();
      const started = Date.now();
      attacker.write(
        Buffer.concat([Buffer.from(header, 'hex'), Buffer.alloc(4), Buffer.from('hello')]),
      );
      await waitFor(
        () =>
          echoed(attacker.frames()).length > 0 ||
          attacker.frames().some((f) => f.opcode === Op.Close),
        3000,
        'an answer',
      );
      const took = Date.now() - started;
      const frames = attacker.frames();
      const close = frames.find((f) => f.opcode === Op.Close);
      if (close !== undefined) assert.equal(close.payload.readUInt16BE(0), 1002);
      else assert.equal(echoed(frames)[0].payload.toString(), 'hello');
      assert.ok(took < 1000, `answered in ${took} ms (checklist: 100 ms on an idle machine)`);
      attacker.destroy();
    }
    for (const size of [125, 126, 65_535, 65_536]) {
      const attacker = await a.attackOpen();
      const payload = Buffer.alloc(size, size & 0xff);
      attacker.write(frame(Op.Binary, payload));
      const got = await waitEchoes(attacker, 1);
      assert.equal(got[0].payload.length, size);
      assert.ok(got[0].payload.equals(payload));
      attacker.destroy();
    }
  });
});

test('F5: the exact checklist bytes (64-bit length with the MSB set, no masking key yet) -> Close 1002 as soon as the length is read', async () => {
  await arena({}, async (a) => {
    await expectClose(a, Buffer.from('0281000000004100ff8000000000000000', 'hex'), 1002);
    await expectClose(a, Buffer.from('81ff8000000000000000', 'hex'), 1002);
  });
});

test('U1: invalid UTF-8 in text (overlong C0 80, surrogate ED A0 80, F4 90 80 80, FF, truncated E2 82) -> Close 1007', async () => {
  await arena({}, async (a) => {
    for (const hex of ['c080', 'eda080', 'f4908080', 'ff', '41e282']) {
      await expectClose(a, frame(Op.Text, Buffer.from(hex, 'hex')), 1007);
    }
  });
});

test('U2: valid multi-byte text split inside a code point across fragments and across 1-byte TCP writes is delivered intact', async () => {
  await arena({}, async (a) => {
    const text = Buffer.from('€𝄞 ü ✓', 'utf8');
    const attacker = await a.attackOpen();
    // Cut inside the 3-byte euro sign and inside the 4-byte G clef.
    const stream = Buffer.concat([
      frame(Op.Text, text.subarray(0, 1), { fin: false }),
      frame(Op.Cont, text.subarray(1, 5), { fin: false }),
      frame(Op.Cont, text.subarray(5)),
    ]);
    await attacker.writeSlowly(stream, 1);
    const got = await waitEchoes(attacker, 1);
    assert.equal(got[0].opcode, Op.Text);
    assert.equal(got[0].payload.toString('utf8'), '€𝄞 ü ✓');
  });
});

test('U3: the first fragment of a 3-fragment text message already invalid -> Close 1007 before the final fragment is sent', async () => {
  await arena({}, async (a) => {
    await expectClose(a, frame(Op.Text, Buffer.from('41ff', 'hex'), { fin: false }), 1007);
    await expectClose(a, frame(Op.Text, Buffer.from('c0', 'hex'), { fin: false }), 1007);
  });
});

test('C1: ping with a 126-byte payload or with FIN=0 -> Close 1002', async () => {
  await arena({}, async (a) => {
    await expectClose(a, frame(Op.Ping, Buffer.alloc(126, 1)), 1002);
    await expectClose(a, frame(Op.Ping, 'x', { fin: false }), 1002);
  });
});

test('C2: a ping between fragments of a text message is answered (identical payload) before the message completes; message intact', async () => {
  await arena({}, async (a) => {
    const attacker = await a.attackOpen();
    attacker.write(frame(Op.Text, 'hel', { fin: false }));
    attacker.write(frame(Op.Ping, 'ping-payload'));
    const pong = await attacker.nextFrame(3000);
    assert.equal(pong.opcode, Op.Pong);
    assert.equal(pong.payload.toString(), 'ping-payload');
    attacker.write(frame(Op.Cont, 'lo'));
    const got = await waitEchoes(attacker, 1);
    assert.equal(got[0].payload.toString(), 'hello');
  });
});

test('C3: an unsolicited pong is ignored; 1,000 duplicate pongs for one ping: no crash, one pong event each, connection intact (flood cap raised for the case)', async () => {
  await arena({ maxControlFramesPerSecond: 100_000 }, async (a) => {
    const attacker = await a.attackOpen();
    attacker.write(frame(Op.Pong, 'unsolicited'));
    attacker.write(frame(Op.Text, 'still here'));
    assert.equal((await waitEchoes(attacker, 1))[0].payload.toString(), 'still here');
    const server = a.serverSockets[1];
    let pongs = 0;
    server.on('pong', () => pongs++);
    server.ping('once');
    const ping =
      attacker.frames().find((f) => f.opcode === Op.Ping) ?? (await attacker.nextFrame());
    assert.ok(ping.opcode === Op.Ping || ping.opcode === Op.Text);
    attacker.write(Buffer.concat(Array.from({ length: 1000 }, () => frame(Op.Pong, 'once'))));
    await waitFor(() => pongs === 1000, 5000, '1000 pong events');
    attacker.write(frame(Op.Text, 'after'));
    assert.equal((await waitEchoes(attacker, 2))[1].payload.toString(), 'after');
    await a.check();
  });
  // With the default flood cap (256 control frames/s) the same burst is a policy violation.
  await arena({}, async (a) => {
    await expectClose(
      a,
      Buffer.concat(Array.from({ length: 1000 }, () => frame(Op.Pong, 'x'))),
      1008,
    );
  });
});

test('C4: 100,000 pings while never reading -> Close 1008 at the control-frame cap, few pongs queued, memory bounded', async () => {
  await arena({}, async (a) => {
    const attacker = await a.attackOpen();
    attacker.socket.pause();
    const burst = Buffer.concat(Array.from({ length: 100_000 }, () => frame(Op.Ping, 'ping')));
    const before = memoryNow();
    attacker.write(burst);
    await a.check();
    await delay(300);
    await a.check();
    attacker.socket.resume();
    const close = await attacker.closeFrame(5000);
    assert.equal(close.code, 1008);
    const pongs = close.before.filter((f) => f.opcode === Op.Pong).length;
    assert.ok(pongs <= 257, `${pongs} pongs written before the close`);
    await attacker.waitClosed(3000);
    assertMemoryBelow(before, 16 * 1024 * 1024, 'ping flood');
  });
});

test('X1: Close with a 1-byte payload -> 1002; Close reason that is invalid UTF-8 -> 1007', async () => {
  await arena({}, async (a) => {
    await expectClose(a, frame(Op.Close, Buffer.from([0x03])), 1002);
    await expectClose(
      a,
      frame(Op.Close, Buffer.concat([closePayload(1000), Buffer.from('c0af', 'hex')])),
      1007,
    );
  });
});

test('X2: invalid received close codes -> 1002; valid ones echoed in a clean close', async () => {
  await arena({}, async (a) => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
      await expectClose(a, frame(Op.Close, closePayload(code)), 1002);
    }
    await a.check();
    for (const code of [
      1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
      4999,
    ]) {
      const attacker = await a.attackOpen();
      attacker.write(frame(Op.Close, closePayload(code, 'bye')));
      const close = await attacker.closeFrame(3000);
      assert.equal(close.code, code, `echoed ${code}`);
      await attacker.waitClosed(3000);
    }
    await waitFor(() => a.serverCloses.length >= 12 + 16, 3000, 'server close events');
    const valid = a.serverCloses.slice(-16);
    assert.deepEqual(
      valid.map((c) => c.code),
      [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
        4999,
      ],
    );
  });
});

test('X3: a peer that never answers our Close: TCP destroyed at the close timeout (shortened to 1 s), local code 1006', async () => {
  await arena({ closeTimeout: 1000 }, async (a) => {
    const attacker = await a.attackOpen();
    const server = a.serverSockets[1];
    const started = Date.now();
    const closed = new Promise<number>((resolve) =>
      server.once('close', (code: number) => resolve(code)),
    );
    server.close(1000, 'bye');
    const close = await attacker.closeFrame(3000);
    assert.equal(close.code, 1000);
    assert.equal(await closed, 1006);
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 4000, `closed after ${took} ms`);
    await attacker.waitClosed(2000);
  });
});

test("X4: data frames after the peer's Close are ignored; after Close/Close the server closes TCP at once even if the client keeps it open", async () => {
  await arena({}, async (a) => {
    let messages = 0;
    const attacker = await a.attackOpen();
    a.serverSockets[1].on('message', () => messages++);
    const started = Date.now();
    attacker.write(
      Buffer.concat([
        frame(Op.Close, closePayload(1000)),
        frame(Op.Text, 'after close'),
        frame(Op.Ping, 'p'),
      ]),
    );
    const close = await attacker.closeFrame(3000);
    assert.equal(close.code, 1000);
    await attacker.waitClosed(3000);
    assert.ok(Date.now() - started < 3000, 'closed long before the 10 s close timeout');
    assert.equal(messages, 0);
    assert.deepEqual(
      attacker.frames().filter((f) => f.opcode !== Op.Close),
      [],
      'no frame after the close',
    );
  });
});

test('X5: API misuse: close(1005/1006/1015), a reason over 123 bytes, a Float32Array reason, send/ping of a plain object throw; a number is sent as its decimal text and a DataView as exactly its bytes (never other memory)', async () => {
  await arena({}, async (a) => {
    const attacker = await a.attackOpen();
    const server = a.serverSockets[1];
    for (const ws of [server, a.control]) {
      for (const code of [1005, 1006, 1015]) assert.throws(() => ws.close(code), `close(${code})`);
      assert.throws(() => ws.close(1000, 'x'.repeat(124)));
      assert.throws(() => ws.close(1000, new Float32Array([1, 2]) as unknown as Buffer));
      assert.throws(() => ws.send({ a: 1 } as unknown as string), TypeError);
      assert.throws(() => ws.ping({ a: 1 } as unknown as string), TypeError);
      assert.equal(ws.readyState, WebSocket.OPEN);
    }
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    server.send(new DataView(backing.buffer, 2, 3));
    server.ping(new DataView(backing.buffer, 3, 2));
    server.send(4096);
    await waitFor(() => attacker.frames().length >= 3, 3000, 'three frames');
    const [data, ping, number] = attacker.frames();
    // Old ws allocated `new Buffer(4096)` here (uninitialised memory); the decimal text is sent.
    assert.equal(number.opcode, Op.Text);
    assert.equal(number.payload.toString(), '4096');
    assert.equal(data.opcode, Op.Binary);
    assert.equal(data.payload.toString('hex'), '010203');
    assert.equal(ping.opcode, Op.Ping);
    assert.equal(ping.payload.toString('hex'), '0203');
    server.close(1000);
    const close = await attacker.closeFrame();
    assert.equal(close.code, 1000);
  });
});
