/**
 * `await ws.send(data)`: the modern form of ws's send callback (issue: modern layer on the same
 * object). The value `send` returns is a lazy thenable, so ws-style callers that ignore it are
 * unaffected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from '../../src/node/websocket.js';
import type { WebSocket as ServerSocket } from '../../src/node/websocket.js';
import { once, startServer, stopServer } from './util.js';

test('await send() resolves once the bytes reached the kernel; the peer receives them in order', async () => {
  const { wss, url } = await startServer();
  const received: string[] = [];
  wss.on('connection', (ws: ServerSocket) =>
    ws.on('message', (d: Buffer) => received.push(d.toString())),
  );
  const client = await WebSocket.connect(`${url}/`);
  for (let i = 0; i < 50; i++) await client.send(`m${i}`);
  await client.send(Buffer.alloc(256 * 1024, 1), { binary: true });
  assert.equal(client.bufferedAmount, 0, 'nothing is left buffered once the send resolved');
  while (received.length < 51) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(
    received.slice(0, 50),
    Array.from({ length: 50 }, (_, i) => `m${i}`),
  );
  client.close();
  await once(client, 'close');
  await stopServer(wss);
});

test('await send() rejects when the connection is not open; ignoring the result never rejects', async () => {
  const { wss, url } = await startServer();
  const client = await WebSocket.connect(`${url}/`);
  const closed = once(client, 'close');
  client.close(1000);
  await assert.rejects(async () => {
    await client.send('too late');
  }, /not open/);
  // A ws-style call whose result is ignored: no unhandled rejection may follow.
  let unhandled = false;
  const onUnhandled = (): void => {
    unhandled = true;
  };
  process.on('unhandledRejection', onUnhandled);
  client.send('ignored');
  await new Promise((r) => setTimeout(r, 50));
  process.off('unhandledRejection', onUnhandled);
  assert.equal(unhandled, false);
  await closed;
  await stopServer(wss);
});
