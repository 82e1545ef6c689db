import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { constants as zc, createDeflateRaw } from 'node:zlib';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { encodeFrame } from '../../src/protocol/frame.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

/** Sync-flushed raw DEFLATE of `total` zero bytes without the 00 00 ff ff tail (RFC 7692 §7.2.1). */
async function zeroBomb(total: number): Promise<Buffer> {
  const deflater = createDeflateRaw({ level: 9, memLevel: 9 });
  const chunks: Buffer[] = [];
  deflater.on('data', (c: Buffer) => chunks.push(c));
  const zero = Buffer.alloc(MiB);
  for (let written = 0; written < total; written += MiB) {
    if (!deflater.write(zero)) await new Promise((r) => deflater.once('drain', r));
  }
  await new Promise<void>((resolve) => deflater.flush(zc.Z_SYNC_FLUSH, () => resolve()));
  deflater.close();
  return Buffer.concat(chunks).subarray(0, -4);
}

/** Reads from `socket` until `done(buffer)` returns a value, or rejects after `ms`. */
function readUntil<T>(
  socket: Socket,
  done: (data: Buffer) => T | undefined,
  ms = 20_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`timed out; got ${data.length} bytes`)), ms);
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk]);
      const value = done(data);
      if (value !== undefined) finish(null, value);
    };
    const onEnd = (): void =>
      finish(new Error(`socket ended; got ${data.toString('latin1', 0, 200)}`));
    function finish(error: Error | null, value?: T): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (error) reject(error);
      else resolve(value as T);
    }
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}

function echo(ws: WebSocket, text: string, ms = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no echo in time')), ms);
    ws.once('message', (data: unknown) => {
      clearTimeout(timer);
      resolve(String(data));
    });
    ws.send(text);
  });
}

describe(
  'RFC 7692 §8.1 decompression bomb over a socket (checklist Z2)',
  { timeout: 180_000 },
  () => {
    let wss: WebSocketServer;
    let port: number;
    let bomb: Buffer;
    const serverCloses: number[] = [];

    before(async () => {
      bomb = await zeroBomb(GiB);
      wss = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        perMessageDeflate: true,
        maxPayload: MiB,
      });
      await once(wss, 'listening');
      port = (wss.address() as AddressInfo).port;
      wss.on('connection', (ws: WebSocket) => {
        ws.on('message', (data: unknown, isBinary: boolean) =>
          ws.send(data as Buffer, { binary: isBinary }),
        );
        ws.on('close', (code: number) => serverCloses.push(code));
        ws.on('error', () => {});
      });
    });

    after(async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    });

    /** Upgrades a raw TCP connection with a permessage-deflate offer. */
    async function rawClient(): Promise<Socket> {
      const attacker = connect(port, '127.0.0.1');
      attacker.on('error', () => {});
      await once(attacker, 'connect');
      attacker.write(
        [
          'GET / HTTP/1.1',
          `Host: 127.0.0.1:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
          '',
          '',
        ].join('\r\n'),
      );
      const response = await readUntil(attacker, (d) => {
        const end = d.indexOf('\r\n\r\n');
        return end < 0 ? undefined : d.toString('latin1', 0, end);
      });
      assert.match(response, /^HTTP\/1\.1 101/);
      assert.match(response, /sec-websocket-extensions: permessage-deflate/i);
      return attacker;
    }

    /** A masked client frame (RSV1 = `rsv` 4). */
    function clientFrame(fin: boolean, rsv: number, opcode: number, payload: Uint8Array): Buffer {
      const frame = encodeFrame(fin, rsv, opcode, payload, randomBytes(4), (n) =>
        Buffer.allocUnsafe(n),
      );
      return Buffer.concat(frame instanceof Uint8Array ? [frame] : frame);
    }

    async function attack(label: string, wire: Buffer): Promise<void> {
      const closesBefore = serverCloses.filter((c) => c === 1009).length;
      const control = new WebSocket(`ws://127.0.0.1:${port}`);
      control.on('error', () => {});
      await once(control, 'open');
      assert.match(control.extensions, /permessage-deflate/);
      assert.equal(await echo(control, 'before'), 'before');

      // The attacker speaks raw TCP so it can send a pre-compressed frame.
      const attacker = await rawClient();
      global.gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const t0 = performance.now();
      const closeFrame = readUntil(attacker, (d) => (d.length >= 4 ? d : undefined));
      attacker.write(wire);
      // The control connection keeps working while the bomb is being handled.
      const during = echo(control, 'during');
      const bytes = await closeFrame;
      const ms = performance.now() - t0;
      assert.equal(await during, 'during');
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);

      // A Close frame (opcode 8, FIN) with status 1009 Message Too Big (RFC 6455 §7.4.1).
      assert.equal(bytes[0], 0x88);
      assert.equal(bytes.readUInt16BE(2), 1009);
      if (attacker.readyState !== 'closed') await once(attacker, 'close');
      const growth = (peak - baseline) / MiB;
      console.log(
        `# socket bomb (${label}) ${bomb.length} B -> 1 GiB: close 1009 after ${ms.toFixed(1)} ms, peak RSS +${growth.toFixed(1)} MiB`,
      );
      assert.ok(growth < 100, `RSS grew by ${growth.toFixed(1)} MiB`);

      assert.equal(await echo(control, 'after'), 'after');
      // The server-side 'close' event follows the TCP close; give it a moment.
      for (
        let i = 0;
        i < 100 && serverCloses.filter((c) => c === 1009).length === closesBefore;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(
        serverCloses.filter((c) => c === 1009).length,
        closesBefore + 1,
        `server closes: ${serverCloses.join(', ')}`,
      );
      control.close();
      await once(control, 'close');
    }

    test('1 GiB of zeros in ~1 MiB, one frame: server closes 1009, RSS bounded, others keep echoing', async () => {
      assert.ok(bomb.length < MiB, `bomb of ${bomb.length} bytes must fit maxPayload`);
      await attack('one frame', clientFrame(true, 4, 0x2, bomb));
    });

    test('the same bomb split across 1,000 fragments: close 1009, RSS bounded', async () => {
      const parts = 1000;
      const size = Math.ceil(bomb.length / parts);
      const frames: Buffer[] = [];
      for (let i = 0; i < parts; i++) {
        const piece = bomb.subarray(i * size, Math.min(bomb.length, (i + 1) * size));
        // RFC 7692 §6: RSV1 on the first frame only.
        frames.push(clientFrame(i === parts - 1, i === 0 ? 4 : 0, i === 0 ? 0x2 : 0x0, piece));
      }
      await attack('1,000 fragments', Buffer.concat(frames));
    });
  },
);
