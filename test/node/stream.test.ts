import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { WebSocket } from '../../src/node/websocket.js';
import { createWebSocketStream } from '../../src/node/stream.js';
import { once, startServer, stopServer } from './util.js';

test('createWebSocketStream: a Duplex echoing through the server with backpressure both ways', async () => {
  const { wss, url } = await startServer();
  wss.on('connection', (ws: WebSocket) => {
    const duplex = createWebSocketStream(ws);
    duplex.pipe(duplex); // server echoes through its own stream
    duplex.on('error', () => {});
  });
  const client = await WebSocket.connect(url);
  const stream = createWebSocketStream(client);
  const chunks: Buffer[] = [];
  const total = 300;
  const source = Readable.from(
    (function* () {
      for (let i = 0; i < total; i++) yield Buffer.alloc(4096, i & 0xff);
    })(),
  );
  const sink = new Writable({
    highWaterMark: 4096,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      if (chunks.length === total) stream.end();
      setImmediate(cb); // a slow consumer
    },
  });
  await Promise.all([pipeline(source, stream, { end: false }), pipeline(stream, sink)]);
  assert.equal(chunks.length, total);
  assert.equal(chunks[total - 1][0], (total - 1) & 0xff);
  if (client.readyState !== WebSocket.CLOSED) await once(client, 'close');
  await stopServer(wss);
});

test('createWebSocketStream: text in object mode arrives as strings; destroy terminates', async () => {
  const { wss, url } = await startServer();
  const serverClosed = new Promise<number>((resolve) =>
    wss.on('connection', (ws: WebSocket) => {
      ws.send('hello');
      ws.on('close', (code: number) => resolve(code));
    }),
  );
  const client = await WebSocket.connect(url);
  const stream = createWebSocketStream(client, { readableObjectMode: true });
  const [chunk] = await once<[unknown]>(stream, 'data');
  assert.equal(chunk, 'hello');
  stream.destroy();
  assert.equal(await serverClosed, 1006);
  await stopServer(wss);
});
