/**
 * The input side of the socket driver on a scripted in-memory socket (every read and every
 * write completion under the test's control): pause() between messages. The same promises are
 * checked over a real socket at the end. The delayed automatic pong under backpressure (RFC 6455
 * §5.5.2) is in send-gate.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PauseReason } from '../../src/node/socket-driver.js';
import { clientFrame, concat } from '../helpers/engine.js';
import { drivenServer, tick, writtenFrames } from '../helpers/scripted-socket.js';
import { WebSocket } from '../../src/node/websocket.js';
import { delay, once, rawUpgrade, startServer, stopServer, waitFor } from './util.js';

describe('pause(): a real pause between messages', () => {
  test('three messages in one read, pause() in the first handler: one delivered until resume(), then the rest in order', async () => {
    const d = await drivenServer((driver, data) => {
      if (new TextDecoder().decode(data) === 'one') driver.setPaused(PauseReason.User, true);
    });
    d.driver.handleData(
      concat([clientFrame(1, 'one'), clientFrame(1, 'two'), clientFrame(1, 'three')]),
    );
    assert.deepEqual(d.messages, ['one']);
    assert.equal(d.socket.isPaused(), true, 'the socket is not read while a message is held');
    await delay(20);
    assert.deepEqual(d.messages, ['one']);
    d.driver.setPaused(PauseReason.User, false);
    assert.deepEqual(d.messages, ['one'], 'resume() never delivers synchronously');
    await tick();
    assert.deepEqual(d.messages, ['one', 'two', 'three']);
    assert.equal(d.socket.isPaused(), false);
  });

  test('input that arrives while a message is held waits behind it, in order', async () => {
    const d = await drivenServer((driver, data) => {
      if (new TextDecoder().decode(data) === 'a') driver.setPaused(PauseReason.User, true);
    });
    d.driver.handleData(concat([clientFrame(1, 'a'), clientFrame(1, 'b')]));
    d.driver.handleData(concat([clientFrame(9, 'ping'), clientFrame(1, 'c')]));
    assert.deepEqual(d.messages, ['a']);
    assert.equal(d.pings.length, 0, 'the ping is behind a held message');
    d.driver.setPaused(PauseReason.User, false);
    await tick();
    assert.deepEqual(d.messages, ['a', 'b', 'c']);
    assert.equal(d.pings.length, 1);
  });

  test('while paused with nothing held, pings are answered and a Close completes the handshake', async () => {
    const d = await drivenServer();
    d.driver.setPaused(PauseReason.User, true);
    assert.equal(d.socket.isPaused(), false, 'nothing held: control frames are still read');
    d.driver.handleData(clientFrame(9, 'are you there'));
    await tick();
    assert.deepEqual(writtenFrames(d.writes), [[0xa, 'are you there']]);
    d.driver.handleData(concat([clientFrame(1, 'held'), clientFrame(8, Buffer.from([3, 0xe8]))]));
    assert.deepEqual(d.messages, []);
    assert.equal(d.closing(), undefined, 'the Close is behind a held message');
    d.driver.setPaused(PauseReason.User, false);
    await tick();
    assert.deepEqual(d.messages, ['held']);
    assert.equal(d.closing()?.code, 1000);
    d.driver.handleData(clientFrame(8, Buffer.from([3, 0xe8])));
  });

  test('a Close right behind the message that paused is processed while paused', async () => {
    const d = await drivenServer((driver) => driver.setPaused(PauseReason.User, true));
    d.driver.handleData(concat([clientFrame(1, 'last'), clientFrame(8, Buffer.from([3, 0xe8]))]));
    assert.deepEqual(d.messages, ['last']);
    assert.deepEqual(d.closing(), { code: 1000, reason: '', wasClean: true });
  });
});

describe('over a real socket', () => {
  test('pause() in a message handler holds the rest of the read until resume()', async () => {
    const { wss, port } = await startServer();
    const connected = once<[WebSocket]>(wss, 'connection');
    const raw = await rawUpgrade(port);
    const [ws] = await connected;
    const got: string[] = [];
    ws.on('message', (data: Buffer) => {
      got.push(data.toString());
      if (got.length === 1) ws.pause();
    });
    // Three frames in one write: one read on loopback.
    raw.socket.write(
      Buffer.from(concat([clientFrame(1, 'one'), clientFrame(1, 'two'), clientFrame(1, 'three')])),
    );
    await waitFor(() => got.length > 0);
    await delay(50);
    assert.deepEqual(got, ['one']);
    ws.resume();
    await waitFor(() => got.length === 3);
    assert.deepEqual(got, ['one', 'two', 'three']);
    raw.destroy();
    await stopServer(wss);
  });
});
