/**
 * The outbox (src/node/outbox.ts) under real backpressure: peers stop reading until the
 * kernel's buffers are full, so every write below completes asynchronously, and the arena
 * regions of many connections interleave. Every write path is used (arena frames, large
 * payloads by reference, barriers, fragments, broadcast, messages behind the compressor, the
 * pong slot); the peer must receive exactly the expected bytes in order, and every callback
 * must run once, without error, in order. Poisoning is on for the whole file, so a region
 * reused too early shows up as garbage instead of as plausible bytes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { constants, inflateRawSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { POISON_BYTE, setArenaPoisoning } from '../../src/node/outbox.js';
import { delay, once, rawUpgrade, startServer, stopServer, waitFor } from './util.js';
import type { RawClient } from './util.js';

interface Frame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** Parses the whole unmasked frames (any length encoding) at the start of `bytes`. */
function frames(bytes: Buffer): Frame[] {
  const out: Frame[] = [];
  let i = 0;
  while (i + 2 <= bytes.length) {
    let length = bytes[i + 1] & 0x7f;
    let at = i + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at));
      at += 8;
    }
    if (at + length > bytes.length) break;
    out.push({
      fin: (bytes[i] & 0x80) !== 0,
      rsv1: (bytes[i] & 0x40) !== 0,
      opcode: bytes[i] & 0x0f,
      payload: bytes.subarray(at, at + length),
    });
    i = at + length;
  }
  return out;
}

/** Bytes after the HTTP head of a raw client, collected as chunks (no quadratic concat). */
function collect(raw: RawClient): () => Buffer {
  const head = raw.frames;
  const chunks: Buffer[] = [Buffer.from(head)];
  raw.socket.removeAllListeners('data');
  raw.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks);
}

/** A frame description as the test expects it: `opcode:fin:digest-or-text`. */
function describeFrame(frame: Frame): string {
  let payload = frame.payload;
  if (frame.rsv1) {
    payload = inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), {
      finishFlush: constants.Z_SYNC_FLUSH,
    });
  }
  const body =
    payload.length <= 64
      ? payload.toString('latin1')
      : createHash('sha1').update(payload).digest('hex');
  return `${frame.opcode}:${frame.fin ? 1 : 0}:${frame.rsv1 ? 'z' : ''}${body}`;
}

function expectFrame(
  opcode: number,
  fin: boolean,
  payload: Buffer | string,
  compressed = false,
): string {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const body =
    bytes.length <= 64 ? bytes.toString('latin1') : createHash('sha1').update(bytes).digest('hex');
  return `${opcode}:${fin ? 1 : 0}:${compressed ? 'z' : ''}${body}`;
}

/** Distinct bytes per connection and step, so a frame of the wrong connection is noticed. */
function pattern(size: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = (seed * 31 + i * 7) & 0xff;
  return bytes;
}

/** Sends until the socket keeps bytes in user space: the kernel's buffers are full. */
async function fillKernel(ws: WebSocket, expected: string[]): Promise<void> {
  const filler = Buffer.alloc(256 * 1024, 0x2e);
  const socket = ws._driver!.socket;
  for (let round = 0; round < 400 && socket.writableLength === 0; round++) {
    ws.send(filler, { compress: false });
    expected.push(expectFrame(2, true, filler));
    await delay(1);
  }
  assert.ok(socket.writableLength > 0, 'the kernel buffer filled up');
}

before(() => setArenaPoisoning(true));
after(() => setArenaPoisoning(process.env.IRONSOCK_POISON_ARENA === '1'));

describe('outbox under a full kernel buffer', () => {
  test('server: every write path, 12 connections, exact bytes in order, callbacks in order', async () => {
    const { wss, port } = await startServer({
      maxBufferedAmount: Infinity,
      perMessageDeflate: { threshold: 1024 },
    });
    const count = 12;
    const servers: WebSocket[] = [];
    const clients: RawClient[] = [];
    const received: Array<() => Buffer> = [];
    const expected: string[][] = [];
    for (let i = 0; i < count; i++) {
      const connected = once<[WebSocket]>(wss, 'connection');
      // Half of them negotiate permessage-deflate (no context takeover: each message
      // decompresses on its own in the test).
      const extra =
        i % 2 === 0
          ? ['Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover']
          : [];
      const raw = await rawUpgrade(port, extra);
      const [ws] = await connected;
      raw.socket.pause(); // stop reading: the kernel buffers fill up
      clients.push(raw);
      servers.push(ws);
      received.push(collect(raw));
      expected.push([]);
    }
    for (let i = 0; i < count; i++) await fillKernel(servers[i], expected[i]);

    const calls: string[][] = servers.map(() => []);
    const callback = (i: number, name: string) => (error?: Error | null) =>
      calls[i].push(error ? `${name}:${error.message}` : name);
    const broadcastPayload = pattern(3000, 999);
    // Round-robin over the connections, step by step, so arena regions of different
    // connections interleave in the shared arena.
    for (let step = 0; step < 6; step++) {
      for (let i = 0; i < count; i++) {
        const ws = servers[i];
        const want = expected[i];
        const deflate = i % 2 === 0;
        const tag = `c${i}s${step}`;
        ws.send(`${tag}-small`);
        want.push(expectFrame(1, true, `${tag}-small`));
        const large = pattern(40 * 1024, i * 100 + step);
        ws.send(large, { compress: false }, callback(i, `${tag}-large`));
        want.push(expectFrame(2, true, large));
        ws.ping(`${tag}-ping`);
        want.push(expectFrame(9, true, `${tag}-ping`));
        ws.send(`${tag}-cb`, callback(i, `${tag}-cb`));
        want.push(expectFrame(1, true, `${tag}-cb`));
        ws.send(`${tag}-frag1`, { fin: false });
        ws.pong(`${tag}-pong`, callback(i, `${tag}-pong`));
        ws.send(`${tag}-frag2`, { fin: true });
        want.push(expectFrame(1, false, `${tag}-frag1`));
        want.push(expectFrame(10, true, `${tag}-pong`));
        want.push(expectFrame(0, true, `${tag}-frag2`));
        const mid = pattern(9000, i * 100 + step + 50); // arena-sized, not small
        ws.send(mid, { compress: false });
        want.push(expectFrame(2, true, mid));
        if (deflate) {
          // Compressed: the message waits in the compressor, later frames queue behind it,
          // and the callback is a barrier parked until it is written.
          const text = `${tag}-compressed `.repeat(200);
          ws.send(text, callback(i, `${tag}-z`));
          want.push(expectFrame(1, true, text, true));
          ws.send(`${tag}-after-z`, { compress: false });
          want.push(expectFrame(1, true, `${tag}-after-z`));
        }
        ws.send(`${tag}-awaited`).then(
          () => calls[i].push(`${tag}-await`),
          (error: Error) => calls[i].push(`${tag}-await:${error.message}`),
        );
        want.push(expectFrame(1, true, `${tag}-awaited`));
      }
      // One broadcast per step: written by reference to every socket.
      assert.equal(wss.broadcast(broadcastPayload, { binary: true }), count);
      for (let i = 0; i < count; i++) expected[i].push(expectFrame(2, true, broadcastPayload));
      await delay(step % 2 === 0 ? 0 : 5);
    }
    // Small frames only, one tick: each connection's frames leave as one arena region.
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < 20; k++) {
        servers[i].send(`c${i}-tail-${k}`);
        expected[i].push(expectFrame(1, true, `c${i}-tail-${k}`));
      }
    }
    await delay(1);
    // Pings while backed up: one pong slot, holding the newest payload, sent after the drain.
    let pings = 0;
    for (const ws of servers) ws.on('ping', () => pings++);
    for (let i = 0; i < count; i++) for (let k = 0; k < 5; k++) clients[i].frame(0x9, `p${i}-${k}`);
    await waitFor(() => pings === count * 5, 5000, 'the pings');
    for (let i = 0; i < count; i++) {
      assert.ok(servers[i]._driver!.socket.writableLength > 0, `connection ${i} still backed up`);
      assert.equal(calls[i].length, 0, 'no callback before its bytes were written');
      expected[i].push(expectFrame(10, true, `p${i}-4`));
    }
    for (const raw of clients) raw.socket.resume();
    for (let i = 0; i < count; i++) {
      await waitFor(() => calls[i].length === 6 * (i % 2 === 0 ? 5 : 4), 10000, 'the callbacks');
      await waitFor(() => servers[i].bufferedAmount === 0, 10000, 'the flush');
    }
    for (let i = 0; i < count; i++) {
      await waitFor(
        () => frames(received[i]()).length >= expected[i].length,
        10000,
        `the frames of connection ${i}`,
      );
      await delay(10); // anything unexpected after them arrives too
      const stream = received[i]();
      const parsed = frames(stream);
      const last = parsed[parsed.length - 1].payload;
      assert.equal(
        last.byteOffset - stream.byteOffset + last.length,
        stream.length,
        'no trailing bytes',
      );
      const seen = parsed.map(describeFrame);
      assert.equal(seen.length, expected[i].length, `connection ${i}: frame count`);
      for (let k = 0; k < seen.length; k++) {
        assert.equal(seen[k], expected[i][k], `connection ${i}, frame ${k}`);
      }
      // Callbacks run in order; an awaited send resolves through promise jobs, so awaits are
      // in order among themselves.
      const order: string[] = [];
      const awaits: string[] = [];
      for (let step = 0; step < 6; step++) {
        const tag = `c${i}s${step}`;
        order.push(`${tag}-large`, `${tag}-cb`, `${tag}-pong`);
        if (i % 2 === 0) order.push(`${tag}-z`);
        awaits.push(`${tag}-await`);
      }
      assert.deepEqual(
        calls[i].filter((name) => name.endsWith('-await')),
        awaits,
        `connection ${i}: awaits`,
      );
      calls[i] = calls[i].filter((name) => !name.endsWith('-await'));
      assert.deepEqual(calls[i], order, `connection ${i}: callbacks`);
    }
    for (const raw of clients) raw.destroy();
    await stopServer(wss);
  });

  test('client: masked frames of every size leave in order while the server does not read', async () => {
    const { wss, url } = await startServer({ maxPayload: 1 << 24 });
    const count = 6;
    const perClient = 60;
    const got: Buffer[][] = Array.from({ length: count }, () => []);
    const serverSide: WebSocket[] = [];
    wss.on('connection', (ws: WebSocket, req: { url?: string }) => {
      const index = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('i'));
      serverSide.push(ws);
      ws.pause(); // stop reading: the client's writes back up
      ws.on('message', (data: Buffer) => got[index].push(Buffer.from(data)));
    });
    const clients: WebSocket[] = [];
    for (let i = 0; i < count; i++) {
      const client = new WebSocket(`${url}/?i=${i}`, { maxBufferedAmount: Infinity });
      await once(client, 'open');
      clients.push(client);
    }
    await waitFor(() => serverSide.length === count);
    const sent: Buffer[][] = clients.map(() => []);
    const filler = Buffer.alloc(1024 * 1024, 0x2e);
    for (let i = 0; i < count; i++) {
      const socket = clients[i]._driver!.socket;
      for (let round = 0; round < 100 && socket.writableLength === 0; round++) {
        clients[i].send(filler);
        sent[i].push(filler);
        await delay(1);
      }
      assert.ok(socket.writableLength > 0, 'the kernel buffer filled up');
    }
    const sizes = [3, 125, 126, 5000, 16 * 1024, 16 * 1024 + 1, 300 * 1024];
    const callbacks: number[][] = clients.map(() => []);
    for (let k = 0; k < perClient; k++) {
      clients.forEach((client, i) => {
        const payload = pattern(sizes[(k + i) % sizes.length], i * 1000 + k);
        sent[i].push(payload);
        client.send(payload, () => callbacks[i].push(k));
      });
      if (k % 10 === 9) await delay(2);
    }
    for (const client of clients) {
      assert.ok(client.bufferedAmount > 0, 'the client is backed up');
    }
    for (const ws of serverSide) ws.resume();
    for (let i = 0; i < count; i++) {
      await waitFor(() => got[i].length === sent[i].length, 15000, `messages of client ${i}`);
      got[i].forEach((data, k) => assert.ok(data.equals(sent[i][k]), `client ${i}, message ${k}`));
    }
    for (let i = 0; i < count; i++) {
      await waitFor(() => callbacks[i].length === perClient, 5000, 'the callbacks');
      assert.deepEqual(
        callbacks[i],
        Array.from({ length: perClient }, (_, k) => k),
      );
    }
    for (const client of clients) client.terminate();
    await stopServer(wss);
  });
});

describe('arena poisoning', () => {
  test('a region reused while a stream still holds it reads as poison, not as other bytes', async () => {
    // A TCP socket whose write completes synchronously but keeps the chunk: what a change in
    // Node's write accounting would look like. The arena treats it as a plain socket.
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const peer = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const kept: Buffer[] = [];
    socket._write = (
      chunk: Buffer,
      _encoding: BufferEncoding,
      cb: (error?: Error | null) => void,
    ) => {
      kept.push(chunk);
      cb();
    };
    const ws = new WebSocket(null);
    ws.setSocket(socket, undefined);
    ws.send('first');
    await delay(5); // flushed at the end of the tick: "written" at once, region released
    assert.equal(kept.length, 1);
    assert.ok(
      kept[0].every((byte) => byte === POISON_BYTE),
      'the released region was poisoned',
    );
    ws.terminate();
    (await peer).destroy();
    server.close();
  });
});

describe('ownership of a sent buffer (WebSocket.send doc comment)', () => {
  test('small, compressed and client payloads are copied before send returns; large server payloads are not', async () => {
    const { wss, url } = await startServer({ perMessageDeflate: { threshold: 1024 } });
    const serverSide = once<[WebSocket]>(wss, 'connection');
    const client = new WebSocket(url, { perMessageDeflate: true });
    await once(client, 'open');
    const [ws] = await serverSide;
    const got: Buffer[] = [];
    client.on('message', (data: Buffer) => got.push(Buffer.from(data)));
    const toServer: Buffer[] = [];
    ws.on('message', (data: Buffer) => toServer.push(Buffer.from(data)));

    const large = Buffer.alloc(20 * 1024, 3);
    ws.send(large, { compress: false });
    large.fill(4); // before the flush at the end of the tick: the peer sees this
    const small = Buffer.alloc(1000, 1);
    ws.send(small, { compress: false });
    small.fill(9); // reused at once: the copy was taken
    const compressed = Buffer.alloc(50 * 1024, 2);
    ws.send(compressed);
    compressed.fill(9);
    const behind = Buffer.alloc(20 * 1024, 6); // behind the compressor: copied into its queue
    ws.send(behind, { compress: false });
    behind.fill(9);
    const fromClient = Buffer.alloc(40 * 1024, 5);
    client.send(fromClient, { compress: false });
    fromClient.fill(9);

    await waitFor(() => got.length === 4 && toServer.length === 1);
    assert.ok(got[0].equals(Buffer.alloc(20 * 1024, 4)), 'written by reference, without a copy');
    assert.ok(got[1].equals(Buffer.alloc(1000, 1)));
    assert.ok(got[2].equals(Buffer.alloc(50 * 1024, 2)));
    assert.ok(got[3].equals(Buffer.alloc(20 * 1024, 6)));
    assert.ok(toServer[0].equals(Buffer.alloc(40 * 1024, 5)));
    client.terminate();
    await stopServer(wss);
  });
});
