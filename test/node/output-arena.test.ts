/**
 * The driver's shared output arena (`arena` in socket-driver.ts): small frames are encoded by the engine
 * straight into one process-wide buffer, and a region is reused as soon as a plain TCP socket
 * has written it synchronously. These tests hold it to the two promises that makes: frames leave
 * in call order whatever path each one takes, and no connection ever sees another's bytes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import {
  once,
  parseFrames,
  rawUpgrade,
  startServer,
  stopServer,
  waitFor,
  wsClient,
} from './util.js';

describe('output arena', () => {
  test('frames leave in call order across the arena, the batch, large writes and callbacks', async () => {
    const { wss, port } = await startServer();
    const connected = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const raw = await rawUpgrade(port);
    const ws = await connected;
    const big = Buffer.alloc(20 * 1024, 7); // past the batch limit: written on its own
    const mid = Buffer.alloc(8 * 1024, 5); // arena-sized
    ws.send('a');
    ws.send(mid);
    ws.ping(Buffer.from('p1'));
    ws.send(big);
    ws.send('b', () => {}); // a callback takes the general path
    ws.send('c');
    ws.pong(Buffer.from('p2'));
    ws.send('d');
    wss.broadcast('e'); // joins the open batch the general way
    ws.send('f'); // so this one must follow it, not jump ahead in the arena
    const frames = () => parseFrames(raw.frames);
    await waitFor(() => frames().length === 10);
    const seen = frames().map((f) =>
      f.payload.length > 100
        ? `${f.opcode}:${f.payload.length}:${f.payload[0]}`
        : `${f.opcode}:${f.payload}`,
    );
    assert.deepEqual(seen, [
      '1:a',
      '2:8192:5',
      '9:p1',
      '2:20480:7',
      '1:b',
      '1:c',
      '10:p2',
      '1:d',
      '1:e',
      '1:f',
    ]);
    raw.destroy();
    await stopServer(wss);
  });

  test('echoes over many connections at once come back byte-identical (R9)', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    const clients = 12;
    const perClient = 150;
    const runs = Array.from({ length: clients }, async (_, index) => {
      const client = await wsClient(url);
      const sent: Buffer[] = [];
      for (let i = 0; i < perClient; i++) {
        // Sizes around the arena's limits: tiny, 125/126 boundaries, just under/over 16 KiB.
        const sizes = [1, 16, 125, 126, 1000, 4096, 16 * 1024 - 4, 16 * 1024 + 1];
        const payload = randomBytes(sizes[(i + index) % sizes.length]);
        payload[0] = index; // whose bytes these are
        sent.push(payload);
      }
      const received: Buffer[] = [];
      const done = new Promise<void>((resolve) => {
        client.on('message', (data: Buffer) => {
          received.push(Buffer.from(data));
          if (received.length === perClient) resolve();
        });
      });
      // A slow reader part of the time: its writes back up, so the kernel does not take them
      // synchronously and the arena must not reuse those regions.
      if (index % 3 === 0) (client as unknown as { _socket: Duplex })._socket.pause();
      for (const payload of sent) client.send(payload);
      if (index % 3 === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        (client as unknown as { _socket: Duplex })._socket.resume();
      }
      await done;
      for (let i = 0; i < perClient; i++) {
        assert.ok(received[i].equals(sent[i]), `client ${index}, message ${i} differs`);
      }
      client.close();
      await once(client, 'close');
    });
    await Promise.all(runs);
    await stopServer(wss);
  });

  test('a stream that keeps written chunks (not a TCP socket) never sees them overwritten', async () => {
    // Worst case for reuse: _write completes synchronously but keeps a reference to the chunk.
    class Keeper extends Duplex {
      readonly chunks: Buffer[] = [];
      override _write(chunk: Buffer, _encoding: string, cb: () => void): void {
        this.chunks.push(chunk);
        cb();
      }
      override _read(): void {}
    }
    const streams: Keeper[] = [];
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 4; i++) {
      const stream = new Keeper();
      const ws = new WebSocket(null);
      ws.setSocket(stream, undefined);
      streams.push(stream);
      sockets.push(ws);
    }
    // Interleave sends across the streams, over several ticks, so arena regions would be
    // handed from one stream to the next if reuse ignored the stream type.
    for (let round = 0; round < 50; round++) {
      sockets.forEach((ws, index) => ws.send(Buffer.alloc(300, index * 50 + (round % 50))));
      await new Promise((resolve) => setImmediate(resolve));
    }
    streams.forEach((stream, index) => {
      const frames = parseFrames(Buffer.concat(stream.chunks));
      assert.equal(frames.length, 50);
      frames.forEach((frame, round) => {
        assert.ok(
          frame.payload.every((byte) => byte === index * 50 + round),
          `stream ${index}, frame ${round} was overwritten`,
        );
      });
    });
    for (const ws of sockets) ws.terminate();
  });
});
