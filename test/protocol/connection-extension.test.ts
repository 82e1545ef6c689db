/**
 * The engine's output queue behind an extension's encoder (RFC 6455 §9, RFC 7692 §6): frames
 * leave in the order they were sent even while a compressed message is still being encoded,
 * `pendingBytes` counts what waits, encoder errors fail the connection, and `onClose` comes
 * only after the queued output (our Close included) was written.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Extension, TransformCallback } from '../../src/protocol/index.js';
import { ExtensionError } from '../../src/protocol/index.js';
import { clientFrame, harness } from '../helpers/engine.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * An extension whose encoder calls back only when the test says so; its output is the input
 * upper-cased, in `parts` pieces. `failNext` makes the next encode report an error.
 */
function manualEncoder(parts = 1) {
  const jobs: (() => void)[] = [];
  const state = { failNext: false, disposed: 0 };
  const extension: Extension = {
    name: 'manual',
    decode: (payload, _fin, _max, cb) => cb(null, [payload.slice()]),
    encode(data: Uint8Array, _fin: boolean, cb: TransformCallback) {
      const fail = state.failNext;
      state.failNext = false;
      const upper = enc(dec(data).toUpperCase());
      const size = Math.ceil(upper.length / parts);
      const out: Uint8Array[] = [];
      for (let i = 0; i < upper.length; i += size) out.push(upper.slice(i, i + size));
      jobs.push(() => cb(fail ? new ExtensionError('invalid', 'encoder broke') : null, out));
    },
    dispose() {
      state.disposed++;
    },
  };
  /** Runs the encoder jobs queued so far (each may queue the next). */
  const run = () => {
    while (jobs.length > 0) jobs.shift()!();
  };
  return { extension, run, state, pending: () => jobs.length };
}

/** Frames written so far as [first header byte, payload text] (server frames, unmasked). */
function frames(written: Uint8Array[]): [number, string][] {
  const all = Buffer.concat(written);
  const out: [number, string][] = [];
  let at = 0;
  while (at < all.length) {
    let length = all[at + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      length = all.readUInt16BE(at + 2);
      header = 4;
    }
    out.push([all[at], all.subarray(at + header, at + header + length).toString('latin1')]);
    at += header + length;
  }
  return out;
}

describe('output queue behind an asynchronous encoder', () => {
  test('frames sent while a message is encoded wait behind it, in order; pendingBytes counts them', () => {
    const m = manualEncoder();
    const h = harness({ role: 'server', extension: m.extension });
    assert.equal(h.conn.negotiatedExtension, m.extension);
    h.conn.send(enc('first'), false);
    h.conn.ping(enc('p'));
    h.conn.send(enc('plain'), false, true, false);
    h.conn.send(enc('second'), false);
    assert.equal(h.written.length, 0, 'nothing leaves before the first message is encoded');
    assert.equal(h.conn.pendingBytes, 5 + 1 + 5 + 6);
    m.run();
    assert.deepEqual(frames(h.written), [
      [0xc1, 'FIRST'],
      [0x89, 'p'],
      [0x81, 'plain'],
      [0xc1, 'SECOND'],
    ]);
    assert.equal(h.conn.pendingBytes, 0);
  });

  test("the caller's buffer may change right after send(): the queued copy is sent (checklist K8)", () => {
    const m = manualEncoder();
    const h = harness({ role: 'server', extension: m.extension });
    const data = enc('abc');
    h.conn.send(data, false);
    h.conn.send(data, false, true, false);
    data.fill(0x7a);
    m.run();
    assert.deepEqual(frames(h.written), [
      [0xc1, 'ABC'],
      [0x81, 'abc'],
    ]);
  });

  test('encoder output in several parts is joined into one frame', () => {
    const m = manualEncoder(3);
    const h = harness({ role: 'server', extension: m.extension });
    h.conn.send(enc('split in parts'), false);
    m.run();
    assert.deepEqual(frames(h.written), [[0xc1, 'SPLIT IN PARTS']]);
  });

  test('an encoder error is ours, not the peer’s: the connection fails with 1011 and the queue is dropped', () => {
    const m = manualEncoder();
    const h = harness({ role: 'server', extension: m.extension });
    m.state.failNext = true;
    h.conn.send(enc('doomed'), false);
    h.conn.send(enc('never'), false, true, false);
    m.run();
    const close = h.closeEvent();
    assert.equal(close?.error?.code, 'ENCODER_ERROR');
    assert.equal(close?.code, 1011);
    assert.deepEqual(frames(h.written), [[0x88, '\x03\xf3']]);
    assert.equal(h.conn.pendingBytes, 0);
    assert.equal(m.state.disposed, 1);
  });

  test('onClose waits for the queued output: our Close is written before it is reported', () => {
    const m = manualEncoder();
    const h = harness({ role: 'server', extension: m.extension });
    h.conn.send(enc('last words'), false);
    h.conn.close(1000);
    h.feed(clientFrame(8, Uint8Array.of(3, 0xe8)));
    assert.equal(h.conn.state, 'closed');
    assert.equal(h.closeEvent(), undefined, 'not reported while output waits');
    m.run();
    assert.deepEqual(h.closeEvent(), { code: 1000, reason: '', wasClean: true });
    assert.deepEqual(frames(h.written), [
      [0xc1, 'LAST WORDS'],
      [0x88, '\x03\xe8'],
    ]);
  });

  test('abort() while output waits reports 1006 at once and drops it', () => {
    const m = manualEncoder();
    const h = harness({ role: 'server', extension: m.extension });
    h.conn.send(enc('lost'), false);
    h.conn.abort();
    assert.deepEqual(h.closeEvent(), { code: 1006, reason: '', wasClean: false });
    m.run();
    assert.deepEqual(h.written, []);
  });
});

describe('output without the adapter fast path', () => {
  test('a large server frame is written as header and payload, the payload not copied', () => {
    const h = harness({ role: 'server' });
    const payload = new Uint8Array(70_000).fill(0x61);
    h.conn.send(payload, true);
    assert.equal(h.written.length, 2);
    assert.deepEqual([...h.written[0]], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    assert.equal(h.written[1].length, 70_000);
  });
});
