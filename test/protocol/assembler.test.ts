import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageAssembler } from '../../src/protocol/assembler.js';

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i + seed) & 0xff);

describe('MessageAssembler', () => {
  test('take() returns kept views and accumulated small pieces in order', () => {
    const a = new MessageAssembler((n) => new Uint8Array(n));
    const pieces = [bytes(10, 1), bytes(8192, 2), bytes(20, 3), bytes(30, 4)];
    for (const p of pieces) a.add(p, 1 << 20);
    const out = a.take();
    assert.ok(Array.isArray(out));
    assert.equal(out[1], pieces[1], 'a large piece filling its buffer is kept as a view');
    assert.deepEqual(Buffer.concat(out), Buffer.concat(pieces));
    assert.equal(a.bytes, 0);
  });

  test('moveTo() copies views and the open accumulator, in order, and resets', () => {
    const a = new MessageAssembler((n) => new Uint8Array(n));
    const pieces = [bytes(100, 1), bytes(8192, 2), bytes(5000, 3), bytes(7, 4)];
    for (const p of pieces) a.add(p, 1 << 20);
    const total = pieces.reduce((n, p) => n + p.length, 0);
    const target = new Uint8Array(total + 3).fill(0xee);
    assert.equal(a.moveTo(target), total);
    assert.deepEqual(Buffer.from(target.subarray(0, total)), Buffer.concat(pieces));
    assert.deepEqual([...target.subarray(total)], [0xee, 0xee, 0xee]);
    assert.equal(a.bytes, 0);
    assert.equal(a.take().length, 0, 'nothing left after the move');
  });

  test('moveTo() of an empty assembler copies nothing', () => {
    const a = new MessageAssembler((n) => new Uint8Array(n));
    assert.equal(a.moveTo(new Uint8Array(4)), 0);
  });
});
