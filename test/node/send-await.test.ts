/**
 * `await ws.send(data)`: the modern form of ws's send callback (issue: modern layer on the same
 * object). The value `send` returns is a lazy per-socket promise-like, so ws-style callers that
 * ignore it are unaffected; on a closing connection it resolves (issue #13: the README loop must
 * not crash the process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import type { WebSocket as ServerSocket } from '../../src/node/websocket.js';
import WS from 'ws';
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

test('await send() on a closing or closed connection resolves without sending; ignoring the result never rejects', async () => {
  const { wss, url } = await startServer();
  const client = await WebSocket.connect(`${url}/`);
  const closed = once(client, 'close');
  client.close(1000);
  // CLOSING: nothing is sent; the promise-like resolves (the closing handshake reports the end).
  await client.send('too late');
  // Who needs to know that this message was dropped has the callback and sendAsync.
  await assert.rejects(client.sendAsync('dropped'), /WebSocket is not open: readyState 2/);
  let unhandled = false;
  const onUnhandled = (): void => {
    unhandled = true;
  };
  process.on('unhandledRejection', onUnhandled);
  client.send('ignored'); // a ws-style call whose result is ignored
  await closed;
  await client.send('after close'); // CLOSED: same
  await new Promise((r) => setTimeout(r, 20));
  process.off('unhandledRejection', onUnhandled);
  assert.equal(unhandled, false);
  await stopServer(wss);
});

test('the value send returns is a full promise-like: then, catch and finally, one object per socket', async () => {
  const { wss, url } = await startServer();
  const client = await WebSocket.connect(`${url}/`);
  const first = client.send('a');
  const second = client.send('b');
  assert.equal(first, second, 'no allocation per send: the same object is returned');
  assert.equal(typeof first.then, 'function');
  assert.equal(typeof first.catch, 'function');
  assert.equal(typeof first.finally, 'function');
  let finallyRan = false;
  const caught = await first.catch(() => 'rejected');
  assert.equal(caught, undefined, 'catch passes the resolution through');
  await second.finally(() => {
    finallyRan = true;
  });
  assert.equal(finallyRan, true);
  assert.equal(await Promise.resolve(client.send('c')).then(() => 'done'), 'done');
  client.close();
  await once(client, 'close');
  await stopServer(wss);
});

test('the README loop `for await (const { data } of ws) await ws.send(data)` survives a client that sends and closes at once', async () => {
  const { wss, url } = await startServer();
  let unhandled: unknown = null;
  const onUnhandled = (reason: unknown): void => {
    unhandled = reason;
  };
  process.on('unhandledRejection', onUnhandled);
  const loops: Promise<number>[] = [];
  wss.on('connection', (ws: ServerSocket) => {
    // An async listener, as in the README: a rejection here would be unhandled and crash.
    loops.push(
      (async () => {
        let echoed = 0;
        for await (const { data } of ws) {
          await ws.send(data);
          echoed++;
        }
        return echoed;
      })(),
    );
  });
  for (let i = 0; i < 20; i++) {
    // Raw ws client: three messages and a Close in one burst, then it goes away.
    const peer = new WS(`${url}/`);
    await once(peer, 'open');
    peer.send('one');
    peer.send('two');
    peer.send('three');
    peer.close(1000);
    await once(peer, 'close');
  }
  const counts = await Promise.all(loops);
  await new Promise((r) => setTimeout(r, 20));
  process.off('unhandledRejection', onUnhandled);
  assert.equal(unhandled, null, `no unhandled rejection (got ${String(unhandled)})`);
  assert.equal(counts.length, 20);
  for (const count of counts) assert.ok(count >= 0 && count <= 3);
  await stopServer(wss);
});
