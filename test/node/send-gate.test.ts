/**
 * The send gate (src/node/send-gate.ts): refusals when not open, the outgoing-buffer cap and
 * its two policies, broadcast frames (`writeEncoded`) and the held automatic pong. First on a
 * scripted in-memory socket whose write completions the test holds back (exact byte counts, no
 * network), then the same promises over real sockets with a peer that stops reading (R4).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SendBufferFullError } from '../../src/node/socket-driver.js';
import { sendControl, sendMessage, writeEncoded } from '../../src/node/send-gate.js';
import { encodeServerFrame } from '../../src/node/server.js';
import { WebSocket } from '../../src/node/websocket.js';
import { UsageError } from '../../src/protocol/errors.js';
import { clientFrame } from '../helpers/engine.js';
import { drivenServer, tick, writtenFrames } from '../helpers/scripted-socket.js';
import { delay, once, parseFrames, rawUpgrade, startServer, stopServer, waitFor } from './util.js';

/** A server whose first connection is handed to `onConnection`. */
async function serverWith(options: Parameters<typeof startServer>[0] = {}) {
  const started = await startServer(options);
  const connected = new Promise<WebSocket>((resolve) => started.wss.once('connection', resolve));
  return { ...started, connected };
}

/** The error a send's callback gets (on the next tick), or undefined if it was not called. */
async function callbackError(send: (cb: (error?: Error | null) => void) => void) {
  let result: Error | null | undefined;
  send((error) => (result = error ?? null));
  await new Promise((resolve) => process.nextTick(resolve));
  return result;
}

describe('refusals when the connection is not open', () => {
  test('send, ping and pong after the close write nothing and call back with NOT_OPEN', async () => {
    const d = await drivenServer();
    d.driver.close(1000);
    const before = d.writes.length;
    for (const send of [
      (cb: () => void) => sendMessage(d.driver, Buffer.from('late'), false, true, false, cb),
      (cb: () => void) => sendControl(d.driver, true, Buffer.from('p'), cb),
      (cb: () => void) => sendControl(d.driver, false, Buffer.from('p'), cb),
    ]) {
      const error = await callbackError(send);
      assert.ok(error instanceof UsageError);
      assert.equal(error.code, 'NOT_OPEN');
    }
    assert.equal(d.writes.length, before);
  });
});

describe('the cap (maxBufferedAmount)', () => {
  test("'reject': sends are accepted below the cap and refused once at it, nothing queued, still open", async () => {
    const d = await drivenServer(undefined, {
      maxBufferedAmount: 124,
      bufferedAmountPolicy: 'reject',
    });
    d.hold();
    const payload = Buffer.alloc(60, 0x61); // 62 bytes on the wire
    sendMessage(d.driver, payload, true, true, false);
    assert.equal(d.driver.bufferedAmount, 62);
    sendMessage(d.driver, payload, true, true, false); // 62 < 124: accepted, at the cap after
    assert.equal(d.driver.bufferedAmount, 124);
    const error = await callbackError((cb) =>
      sendMessage(d.driver, payload, true, true, false, cb),
    );
    assert.ok(error instanceof SendBufferFullError);
    assert.equal(error.code, 'SEND_BUFFER_FULL');
    assert.equal(d.driver.bufferedAmount, 124, 'the refused send queued nothing');
    assert.throws(() => sendMessage(d.driver, payload, true, true, false), SendBufferFullError);
    assert.throws(() => sendControl(d.driver, true, Buffer.from('p')), SendBufferFullError);
    assert.equal(d.driver.conn.state, 'open');
    d.release();
    await tick();
    assert.equal(d.driver.bufferedAmount, 0);
    sendMessage(d.driver, payload, true, true, false); // below the cap again: accepted
    await tick();
    assert.equal(writtenFrames(d.writes).length, 3);
  });

  test('one message larger than the cap goes out onto a backlog below it; the next is refused', async () => {
    const d = await drivenServer(undefined, {
      maxBufferedAmount: 100,
      bufferedAmountPolicy: 'reject',
    });
    d.hold();
    const big = Buffer.alloc(1000, 0x62);
    sendMessage(d.driver, big, true, true, false);
    assert.equal(d.driver.bufferedAmount, 1004);
    assert.throws(() => sendMessage(d.driver, Buffer.from('x'), false, true, false));
    d.release();
    await tick();
    const frames = parseFrames(Buffer.concat(d.writes));
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0].payload, big);
  });

  test("'close' (default): a send at the cap fails the connection with 1008 SEND_BUFFER_FULL and destroys the socket", async () => {
    const d = await drivenServer(undefined, { maxBufferedAmount: 100 });
    d.hold();
    sendMessage(d.driver, Buffer.alloc(200), true, true, false);
    await tick();
    const writes = d.writes.length;
    const error = await callbackError((cb) =>
      sendMessage(d.driver, Buffer.from('x'), false, true, false, cb),
    );
    assert.ok(error instanceof SendBufferFullError);
    assert.equal(d.closing()?.code, 1008);
    assert.equal((d.closing()?.error as { code?: string } | undefined)?.code, 'SEND_BUFFER_FULL');
    assert.equal(d.socket.destroyed, true);
    await tick();
    assert.equal(
      d.writes.length,
      writes,
      'the Close frame is dropped, not queued behind the backlog',
    );
  });
});

describe('writeEncoded (broadcast frames)', () => {
  test('writes the encoded frame as is; refuses mid-fragment, at the cap and when not open', async () => {
    const d = await drivenServer(undefined, {
      maxBufferedAmount: 100,
      bufferedAmountPolicy: 'reject',
    });
    const payload = Buffer.from('to all');
    const frame = encodeServerFrame(payload, false);
    assert.equal(writeEncoded(d.driver, frame, payload, false), true);
    sendMessage(d.driver, Buffer.from('frag-'), false, false, false);
    assert.equal(writeEncoded(d.driver, frame, payload, false), false, 'between fragments');
    sendMessage(d.driver, Buffer.from('end'), false, true, false);
    assert.equal(writeEncoded(d.driver, frame, payload, false), true, 'after the last fragment');
    await tick();
    assert.deepEqual(writtenFrames(d.writes), [
      [1, 'to all'],
      [1, 'frag-'],
      [0, 'end'],
      [1, 'to all'],
    ]);
    d.hold();
    sendMessage(d.driver, Buffer.alloc(120), true, true, false);
    assert.equal(writeEncoded(d.driver, frame, payload, false), false, 'at the cap');
    assert.equal(d.driver.conn.state, 'open', "'reject' keeps the connection");
    d.release();
    d.driver.close(1000);
    assert.equal(writeEncoded(d.driver, frame, payload, false), false, 'not open');
  });

  test("'close': a broadcast frame at the cap fails the connection", async () => {
    const d = await drivenServer(undefined, { maxBufferedAmount: 100 });
    d.hold();
    sendMessage(d.driver, Buffer.alloc(200), true, true, false);
    const payload = Buffer.from('x');
    assert.equal(writeEncoded(d.driver, encodeServerFrame(payload, false), payload, false), false);
    assert.equal(d.closing()?.code, 1008);
    assert.equal(d.socket.destroyed, true);
  });
});

describe('the held automatic pong', () => {
  test('while the socket needs drain only the newest pong is kept; it leaves on drain', async () => {
    const d = await drivenServer();
    d.hold();
    sendMessage(d.driver, Buffer.alloc(1024), true, true, false);
    await tick();
    assert.equal(d.socket.writableNeedDrain, true);
    const before = d.driver.bufferedAmount;
    const writes = d.writes.length;
    for (const text of ['first', 'second', 'third']) d.driver.handleData(clientFrame(9, text));
    assert.equal(d.writes.length, writes, 'no pong is written while the socket is backed up');
    assert.equal(d.driver.bufferedAmount - before, 2 + 'third'.length, 'one pong is kept');
    assert.equal(d.pings.length, 3, 'every ping is reported');
    d.release();
    await tick();
    assert.deepEqual(writtenFrames(d.writes.slice(writes)), [[0xa, 'third']]);
    assert.equal(d.driver.bufferedAmount, 0);
  });

  test('§5.5.2: carries the bytes of its own ping, whatever split control frames came after it', async () => {
    const d = await drivenServer();
    d.hold();
    sendMessage(d.driver, Buffer.alloc(1024, 0x61), true, true, false);
    await tick();
    assert.equal(d.socket.writableNeedDrain, true);
    const before = d.writes.length;
    // A ping split over two reads, then a pong split over two reads.
    const ping = clientFrame(9, 'PING-PAYLOAD-1');
    d.driver.handleData(ping.slice(0, 9));
    d.driver.handleData(ping.slice(9));
    const pong = clientFrame(10, 'pong-from-peer');
    d.driver.handleData(pong.slice(0, 9));
    d.driver.handleData(pong.slice(9));
    assert.equal(d.writes.length, before, 'the answer waits for drain');
    d.release();
    await tick();
    const frames = writtenFrames(d.writes.slice(before));
    assert.deepEqual(frames, [[0xa, 'PING-PAYLOAD-1']]);
    assert.deepEqual(
      [
        d.pings.map((p) => Buffer.from(p).toString()),
        d.pongs.map((p) => Buffer.from(p).toString()),
      ],
      [['PING-PAYLOAD-1'], ['pong-from-peer']],
      'payloads kept by the user are unchanged',
    );
  });

  test('over a real socket: at most one unflushed automatic pong while the socket is backed up', async () => {
    const { wss, port, connected } = await serverWith({ maxBufferedAmount: Infinity });
    const raw = await rawUpgrade(port);
    raw.socket.pause();
    const ws = await connected;
    const chunk = Buffer.alloc(64 * 1024);
    while (!ws._driver!.socket.writableNeedDrain) {
      ws.send(chunk);
      await delay(1);
    }
    await delay(50);
    const before = ws.bufferedAmount;
    let pings = 0;
    ws.on('ping', () => pings++);
    for (let i = 0; i < 100; i++) raw.frame(0x9, 'abc');
    await waitFor(() => pings === 100);
    const growth = ws.bufferedAmount - before;
    assert.ok(growth <= 5, `bufferedAmount grew by ${growth} bytes for 100 pings`);
    raw.destroy();
    await once(ws, 'close');
    await stopServer(wss);
  });
});

describe('maxBufferedAmount over real sockets (R4: slow reader)', () => {
  test('one message larger than the cap is accepted onto an empty backlog', async () => {
    const { wss, url, connected } = await serverWith({ maxBufferedAmount: 1024 });
    const { wsClient } = await import('./util.js');
    const client = await wsClient(url);
    const ws = await connected;
    const received = once<[Buffer]>(client, 'message');
    ws.send(Buffer.alloc(64 * 1024, 1));
    const [data] = await received;
    assert.equal(data.length, 64 * 1024);
    client.close();
    await once(client, 'close');
    await stopServer(wss);
  });

  test("policy 'close' (default): a client that never reads is failed with 1008 and memory stays bounded", async () => {
    const cap = 256 * 1024;
    const { wss, port, connected } = await serverWith({ maxBufferedAmount: cap });
    const raw = await rawUpgrade(port);
    raw.socket.pause(); // never reads again
    const ws = await connected;
    let error: unknown;
    ws.on('error', (e: unknown) => (error = e));
    const closed = once<[number]>(ws, 'close', 10000);
    const chunk = Buffer.alloc(16 * 1024);
    let maxSeen = 0;
    let sends = 0;
    while (ws.readyState === WebSocket.OPEN && sends < 100000) {
      ws.send(chunk);
      sends++;
      maxSeen = Math.max(maxSeen, ws.bufferedAmount);
      if (sends % 16 === 0) await delay(1);
    }
    const [code] = await closed;
    assert.equal(code, 1008);
    assert.equal((error as { code: string }).code, 'SEND_BUFFER_FULL');
    assert.ok(maxSeen <= cap + chunk.length + 4, `bufferedAmount peaked at ${maxSeen}`);
    raw.destroy();
    await stopServer(wss);
  });

  test("policy 'reject': the send's callback gets SendBufferFullError, nothing queued, connection stays open", async () => {
    const cap = 128 * 1024;
    const { wss, port, connected } = await serverWith({
      maxBufferedAmount: cap,
      bufferedAmountPolicy: 'reject',
    });
    const raw = await rawUpgrade(port);
    raw.socket.pause();
    const ws = await connected;
    const chunk = Buffer.alloc(16 * 1024);
    let rejected: Error | null = null;
    for (let i = 0; i < 10000 && rejected === null; i++) {
      const before = ws.bufferedAmount;
      const result = await new Promise<Error | null | undefined>((resolve) => {
        ws.send(chunk, resolve);
        // a completed write resolves later; a refusal resolves on the next tick
        setTimeout(() => resolve(undefined), 5);
      });
      if (result instanceof SendBufferFullError) {
        rejected = result;
        assert.equal(ws.bufferedAmount, before, 'nothing was queued');
      }
    }
    assert.ok(rejected instanceof SendBufferFullError);
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.ok(ws.bufferedAmount <= cap + chunk.length + 4);
    assert.throws(
      () => ws.send(chunk),
      SendBufferFullError,
      'without a callback the refusal throws',
    );
    await assert.rejects(ws.sendAsync(chunk), SendBufferFullError);
    raw.destroy();
    await once(ws, 'close');
    await stopServer(wss);
  });
});
