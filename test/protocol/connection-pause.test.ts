/**
 * Connection.pause()/resume(): a pause between messages in the engine. No message is delivered
 * while paused; control frames ahead of the next data frame are still processed; the input from
 * that data frame on is held (and the adapter told to stop reading) until resume().
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, type Extension } from '../../src/protocol/index.js';
import { chunkingOracle, clientFrame, concat, harness, testPlatform } from '../helpers/engine.js';

// Every input of this file is re-fed whole, byte by byte and in random pieces (helpers/engine.ts).
chunkingOracle();

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A server engine recording messages, pings and read-pause signals; `onText` runs per message. */
function engine(onText?: (conn: Connection, text: string) => void, extension?: Extension) {
  const log: string[] = [];
  const conn: Connection = new Connection(
    { role: 'server', platform: testPlatform(), extension: extension ?? null },
    {
      onMessage(data) {
        const text = dec(Array.isArray(data) ? concat(data) : data);
        log.push(`message ${text}`);
        onText?.(conn, text);
      },
      onPing: (p) => log.push(`ping ${dec(p)}`),
      onPong: (p) => log.push(`pong ${dec(p)}`),
      onWrite: (bytes) => log.push(`write ${bytes[0].toString(16)}`),
      onClose: (info) => log.push(`close ${info.code}`),
      onReadPause: (paused) => log.push(paused ? 'read-pause' : 'read-resume'),
    },
  );
  return { conn, log };
}

/** An extension whose decoder calls back only when the test runs the queued jobs. */
function laterDecoder() {
  let pending: (() => void)[] = [];
  let started = 0;
  const extension: Extension = {
    name: 'identity',
    decode: (piece, _fin, _max, cb) => {
      started++;
      const copy = new Uint8Array(piece);
      pending.push(() => cb(null, [copy]));
    },
    encode: (data, _fin, cb) => cb(null, [data]),
    dispose() {},
  };
  const run = () => {
    while (pending.length > 0) {
      const jobs = pending;
      pending = [];
      for (const job of jobs) job();
    }
  };
  /** Decodes the engine has started so far (run or waiting). */
  const decodes = () => started;
  return { extension, run, decodes };
}

describe('Connection.pause()', () => {
  test('paused in a handler: the rest of the read is held, and delivered in order by resume()', () => {
    const e = engine((conn, text) => {
      if (text === '1') conn.pause();
    });
    e.conn.receiveData(concat(['1', '2', '3'].map((t) => clientFrame(1, t))));
    assert.deepEqual(e.log, ['message 1', 'read-pause']);
    assert.equal(e.conn.paused, true);
    e.conn.receiveData(clientFrame(1, '4')); // the adapter may still have had a read in flight
    assert.deepEqual(e.log, ['message 1', 'read-pause']);
    e.conn.resume();
    assert.equal(e.conn.paused, false);
    assert.deepEqual(e.log, [
      'message 1',
      'read-pause',
      'message 2',
      'message 3',
      'message 4',
      'read-resume',
    ]);
  });

  test('control frames ahead of the next data frame are processed while paused; the ones behind it wait', () => {
    const e = engine();
    e.conn.pause();
    e.conn.receiveData(concat([clientFrame(9, 'a'), clientFrame(10, 'b')]));
    assert.deepEqual(e.log, ['write 8a', 'ping a', 'pong b'], 'no read pause: nothing is held');
    e.conn.receiveData(concat([clientFrame(9, 'c'), clientFrame(1, 'm'), clientFrame(9, 'd')]));
    assert.deepEqual(e.log.slice(3), ['write 8a', 'ping c', 'read-pause']);
    e.conn.resume();
    assert.deepEqual(e.log.slice(6), ['message m', 'write 8a', 'ping d', 'read-resume']);
  });

  test('a Close right after the last message is processed while paused', () => {
    const e = engine((conn) => conn.pause());
    e.conn.receiveData(concat([clientFrame(1, 'bye'), clientFrame(8, Uint8Array.of(3, 0xe8))]));
    assert.deepEqual(e.log, ['message bye', 'write 88', 'close 1000']);
    assert.equal(e.conn.state, 'closed');
  });

  test('pause() in the middle of a fragmented message: interleaved pings still answered, the message waits', () => {
    const e = engine();
    e.conn.receiveData(clientFrame(1, 'frag', { fin: false }));
    e.conn.pause();
    e.conn.receiveData(concat([clientFrame(9, 'p'), clientFrame(0, 'ment')]));
    assert.deepEqual(e.log, ['write 8a', 'ping p', 'read-pause']);
    e.conn.resume();
    assert.deepEqual(e.log.slice(3), ['message fragment', 'read-resume']);
  });

  test('pause() between reads of one frame: its payload is held at once, even split at any byte', () => {
    const frame = clientFrame(1, 'x'.repeat(300));
    for (const at of [1, 2, 5, 8, 9, 100, frame.length - 1]) {
      const e = engine();
      e.conn.receiveData(frame.slice(0, at));
      e.conn.pause();
      e.conn.receiveData(frame.slice(at));
      assert.deepEqual(e.log, ['read-pause'], `split at ${at}`);
      e.conn.resume();
      assert.deepEqual(e.log, ['read-pause', `message ${'x'.repeat(300)}`, 'read-resume']);
    }
  });

  test('resume() from inside a handler continues the same read without re-entering the parser', () => {
    const e = engine((conn, text) => {
      if (text === 'a') {
        conn.pause();
        conn.resume();
      }
    });
    e.conn.receiveData(concat(['a', 'b', 'c'].map((t) => clientFrame(1, t))));
    assert.deepEqual(e.log, ['message a', 'message b', 'message c']);
  });

  test('pause and resume are no-ops when repeated, and after the connection closed', () => {
    const e = engine();
    e.conn.resume();
    e.conn.pause();
    e.conn.pause();
    e.conn.receiveData(clientFrame(1, 'x'));
    e.conn.resume();
    e.conn.resume();
    assert.deepEqual(e.log, ['read-pause', 'message x', 'read-resume']);
    e.conn.receiveData(clientFrame(8, new Uint8Array(0)));
    e.conn.pause();
    e.conn.receiveData(clientFrame(1, 'after'));
    e.conn.resume();
    assert.deepEqual(e.log.slice(3), ['write 88', 'close 1005']);
  });

  test('with an asynchronous decoder: a pause from a decoded message holds the rest', async () => {
    const { extension: later, run, decodes } = laterDecoder();
    const e = engine((conn, text) => {
      if (text === 'z1') conn.pause();
    }, later);
    e.conn.receiveData(
      concat([
        clientFrame(1, 'z1', { rsv: 4 }),
        clientFrame(1, 'z2', { rsv: 4 }),
        clientFrame(1, 'p'),
      ]),
    );
    assert.deepEqual(e.log, ['read-pause']);
    run(); // z1 decoded and delivered; its handler pauses
    assert.deepEqual(e.log, ['read-pause', 'message z1']);
    assert.equal(decodes(), 1, 'z2 is not decoded while paused');
    e.conn.resume();
    run();
    assert.deepEqual(e.log, ['read-pause', 'message z1', 'message z2', 'message p', 'read-resume']);
    // resume() while a decode is running: the held input continues when it calls back.
    e.conn.receiveData(concat([clientFrame(1, 'z3', { rsv: 4 }), clientFrame(1, 'q')]));
    e.conn.pause();
    e.conn.resume();
    run();
    assert.deepEqual(e.log.slice(5), ['read-pause', 'message z3', 'message q', 'read-resume']);
  });

  test('a failure in held input after resume() still closes with the right code', () => {
    const e = engine((conn) => conn.pause());
    e.conn.receiveData(concat([clientFrame(1, 'ok'), clientFrame(1, Uint8Array.of(0xff))]));
    e.conn.resume();
    assert.deepEqual(e.log, ['message ok', 'read-pause', 'write 88', 'close 1007']);
  });

  test('the harness view: no message events while paused', () => {
    const h = harness({ role: 'server' });
    h.conn.pause();
    h.feed(concat([clientFrame(1, 'a'), clientFrame(1, 'b')]));
    assert.deepEqual(h.messages(), []);
    h.conn.resume();
    assert.deepEqual(h.messages(), ['a', 'b']);
  });
});

describe('the transport ends while a message is being decoded', () => {
  test('what arrived before the end is decoded and delivered first, then 1006', () => {
    const { extension, run } = laterDecoder();
    const e = engine(undefined, extension);
    e.conn.receiveData(
      concat([
        clientFrame(1, 'z1', { rsv: 4 }),
        clientFrame(1, 'p'),
        clientFrame(1, 'z2', { rsv: 4 }),
      ]),
    );
    e.conn.receiveEof();
    assert.equal(e.conn.endPending, true);
    assert.deepEqual(e.log, ['read-pause']);
    run();
    assert.deepEqual(e.log, ['read-pause', 'message z1', 'message p', 'message z2', 'close 1006']);
    assert.equal(e.conn.endPending, false);
  });

  test("a Close behind the decoded message is the peer's: its code is reported", () => {
    const { extension, run } = laterDecoder();
    const e = engine(undefined, extension);
    e.conn.receiveData(
      concat([clientFrame(1, 'z1', { rsv: 4 }), clientFrame(8, Uint8Array.of(0x03, 0xe8))]),
    );
    e.conn.receiveEof();
    run();
    assert.deepEqual(e.log.filter((line) => !line.startsWith('write')).slice(1), [
      'message z1',
      'close 1000',
    ]);
  });

  test('held behind pause(): the end drops it once the decoder is through (as any end)', () => {
    const { extension, run } = laterDecoder();
    const e = engine((conn, text) => {
      if (text === 'z1') conn.pause();
    }, extension);
    e.conn.receiveData(concat([clientFrame(1, 'z1', { rsv: 4 }), clientFrame(1, 'p')]));
    e.conn.receiveEof();
    run();
    assert.deepEqual(e.log, ['read-pause', 'message z1', 'close 1006']);
  });
});
