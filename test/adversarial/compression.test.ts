/**
 * Checklist Z1-Z4: permessage-deflate (RFC 7692) under attack, over real sockets: RSV1 misuse,
 * corrupt data, decompression bombs, many compressing connections at once, and the defaults.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { sharedZlibLimiter } from '../../src/node/zlib-limiter.js';
import { computeAccept, HttpHeadParser } from '../../src/protocol/handshake/index.js';
import { nodePlatform } from '../../src/node/platform.js';
import {
  arena,
  assertEchoes,
  assertMemoryBelow,
  Attacker,
  delay,
  frame,
  memoryNow,
  once,
  Op,
  waitFor,
} from './support.js';
import type { Arena } from './support.js';

const MiB = 1024 * 1024;
const OFFER = 'Sec-WebSocket-Extensions: permessage-deflate';
const deflateRaw = promisify(zlib.deflateRaw);

/** RFC 7692 §7.2.1: compress, then drop the trailing 00 00 FF FF. */
async function compress(data: Buffer): Promise<Buffer> {
  const out = (await deflateRaw(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH })) as Buffer;
  return out.subarray(0, out.length - 4);
}

async function negotiated(a: Arena): Promise<Attacker> {
  const attacker = await a.attackOpen([OFFER]);
  const response = await attacker.response();
  assert.match(response.header('sec-websocket-extensions') ?? '', /^permessage-deflate/);
  return attacker;
}

test('Z1: RSV1 without negotiation, RSV1 on a continuation or control frame -> 1002; corrupt deflate data -> 1007/1002', async () => {
  await arena({}, async (a) => {
    const attacker = await a.attackOpen();
    attacker.write(frame(Op.Text, await compress(Buffer.from('hello')), { rsv: 0b100 }));
    assert.equal((await attacker.closeFrame(3000)).code, 1002);
  });
  await arena({ perMessageDeflate: true }, async (a) => {
    const cases: Array<[Buffer[], number[]]> = [
      [[frame(Op.Text, 'he', { fin: false }), frame(Op.Cont, 'llo', { rsv: 0b100 })], [1002]],
      [[frame(Op.Ping, 'p', { rsv: 0b100 })], [1002]],
      [[frame(Op.Binary, Buffer.from('ffffffffffff', 'hex'), { rsv: 0b100 })], [1002, 1007]],
    ];
    for (const [wire, codes] of cases) {
      const attacker = await negotiated(a);
      for (const part of wire) attacker.write(part);
      const close = await attacker.closeFrame(3000);
      assert.ok(codes.includes(close.code), `close ${close.code}`);
      assert.deepEqual(close.before, []);
      await attacker.waitClosed(3000);
      await a.check();
    }
    // A valid compressed message still works on a fresh connection.
    const ok = await negotiated(a);
    ok.write(frame(Op.Text, await compress(Buffer.from('fine')), { rsv: 0b100 }));
    const echo = await ok.nextFrame(3000);
    assert.equal(echo.opcode, Op.Text);
  });
});

test('Z2: a decompression bomb (64 MiB of zeros in ~64 KiB, scaled down from 1 GiB), in one frame and across 1,000 fragments -> Close 1009, memory bounded', async () => {
  const bomb = await compress(Buffer.alloc(64 * MiB));
  assert.ok(bomb.length < 128 * 1024, `bomb is ${bomb.length} bytes`);
  await arena({ perMessageDeflate: true }, async (a) => {
    const whole = await negotiated(a);
    const before = memoryNow();
    whole.write(frame(Op.Binary, bomb, { rsv: 0b100 }));
    await a.check();
    assert.equal((await whole.closeFrame(5000)).code, 1009);
    assertMemoryBelow(before, 2 * MiB + 16 * MiB, 'one-frame bomb');
    const split = await negotiated(a);
    const size = Math.ceil(bomb.length / 1000);
    const parts: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      const piece = bomb.subarray(i * size, Math.min(bomb.length, (i + 1) * size));
      parts.push(
        frame(i === 0 ? Op.Binary : Op.Cont, piece, { fin: i === 999, rsv: i === 0 ? 0b100 : 0 }),
      );
    }
    split.write(Buffer.concat(parts));
    assert.equal((await split.closeFrame(5000)).code, 1009);
    assertMemoryBelow(before, 2 * MiB + 16 * MiB, 'fragmented bomb');
  });
});

test('Z3: 300 connections sending compressed messages at once (scaled down from 1,000): zlib jobs within the concurrency limit, control echoes within 1 s', async () => {
  const LIMIT = 4; // a limit no other test uses, so the shared limiter is this server's alone
  const limiter = sharedZlibLimiter(LIMIT);
  await arena({ perMessageDeflate: { concurrencyLimit: LIMIT } }, async (a) => {
    const attackers = await Promise.all(
      Array.from({ length: 300 }, () => Attacker.open(a.port, [OFFER])),
    );
    a.attackers.push(...attackers);
    const message = await compress(Buffer.alloc(64 * 1024, 'compressible text '));
    let maxRunning = 0;
    const sampler = setInterval(() => (maxRunning = Math.max(maxRunning, limiter.running)), 1);
    try {
      for (const attacker of attackers) attacker.write(frame(Op.Text, message, { rsv: 0b100 }));
      await assertEchoes(a.control);
      await waitFor(() => attackers.every((x) => x.frames().length > 0), 30_000, 'every echo');
      await assertEchoes(a.control);
    } finally {
      clearInterval(sampler);
    }
    assert.ok(maxRunning <= LIMIT, `zlib jobs running at once: ${maxRunning}`);
    for (const attacker of attackers) assert.equal(attacker.frames()[0].opcode, Op.Text);
  });
});

test('Z4: a server with no options never negotiates permessage-deflate; a client with no options offers it, bounded by its maxPayload (1009 on a bomb)', async () => {
  await arena({}, async (a) => {
    const attacker = await a.attackOpen([OFFER + '; client_max_window_bits']);
    const response = await attacker.response();
    assert.equal(response.header('sec-websocket-extensions'), undefined);
  });
  // A raw server that accepts the client's offer and sends a bomb.
  const bomb = await compress(Buffer.alloc(16 * MiB));
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const parser = new HttpHeadParser('request');
    socket.on('data', (chunk: Buffer) => {
      if (offers.length > 0) return; // frames from the client after the 101
      const result = parser.feed(chunk);
      if (!result.done) return;
      const offer = result.head.headers.find(([n]) => n === 'sec-websocket-extensions')?.[1] ?? '';
      const key = result.head.headers.find(([n]) => n === 'sec-websocket-key')?.[1] ?? '';
      offers.push(offer);
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${computeAccept(key, nodePlatform)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
      );
      socket.write(frame(Op.Binary, bomb, { rsv: 0b100, mask: false }));
    });
  });
  const offers: string[] = [];
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as AddressInfo).port;
    const before = memoryNow();
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    ws.on('error', () => {});
    let messages = 0;
    ws.on('message', () => messages++);
    const [code] = await once<[number]>(ws, 'close', 10_000);
    assert.match(offers[0] ?? '', /permessage-deflate/);
    assert.equal(messages, 0);
    assert.equal(code, 1009);
    assertMemoryBelow(before, 1 * MiB + 16 * MiB, 'client bomb');
  } finally {
    server.close();
    await delay(10);
  }
});
