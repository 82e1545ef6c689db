import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, headerSize, writeHeader } from '../../src/protocol/frame.js';
import { chunkingOracle, harness } from '../helpers/engine.js';

// Every input of this file is re-fed whole, byte by byte and in random pieces (helpers/engine.ts).
chunkingOracle();

const alloc = (n: number) => new Uint8Array(n);
const hello = new TextEncoder().encode('Hello');
const flat = (out: Uint8Array | Uint8Array[]) =>
  out instanceof Uint8Array ? [...out] : out.flatMap((p) => [...p]);

describe('RFC 6455 §5.7 examples, encoding', () => {
  test('a single-frame unmasked text message', () => {
    assert.deepEqual(
      flat(encodeFrame(true, 0, 1, hello, null, alloc)),
      [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
    );
  });
  test('a single-frame masked text message', () => {
    const mask = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);
    assert.deepEqual(
      flat(encodeFrame(true, 0, 1, hello, mask, alloc)),
      [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
    );
  });
  test('a fragmented unmasked text message', () => {
    const first = encodeFrame(false, 0, 1, hello.subarray(0, 3), null, alloc);
    const second = encodeFrame(true, 0, 0, hello.subarray(3), null, alloc);
    assert.deepEqual(flat(first), [0x01, 0x03, 0x48, 0x65, 0x6c]);
    assert.deepEqual(flat(second), [0x80, 0x02, 0x6c, 0x6f]);
  });
  test('unmasked ping and masked pong', () => {
    assert.deepEqual(
      flat(encodeFrame(true, 0, 9, hello, null, alloc)),
      [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
    );
    const mask = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);
    assert.deepEqual(
      flat(encodeFrame(true, 0, 10, hello, mask, alloc)),
      [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
    );
  });
  test('256 bytes binary uses the 16-bit length; 64 KiB uses the 64-bit length', () => {
    const b256 = flat(encodeFrame(true, 0, 2, new Uint8Array(256), null, alloc));
    assert.deepEqual(b256.slice(0, 4), [0x82, 0x7e, 0x01, 0x00]);
    assert.equal(b256.length, 4 + 256);
    const big = encodeFrame(true, 0, 2, new Uint8Array(65536), null, alloc);
    assert.ok(Array.isArray(big), 'large payloads are passed through uncopied');
    assert.deepEqual([...big[0]], [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.equal(big[1].length, 65536);
  });
});

describe('RFC 6455 §5.2 length encoding boundaries', () => {
  for (const [length, size] of [
    [0, 2],
    [125, 2],
    [126, 4],
    [65535, 4],
    [65536, 10],
    [2 ** 40, 10],
  ] as const) {
    test(`length ${length} takes a ${size}-byte header (minimal encoding)`, () => {
      assert.equal(headerSize(length, false), size);
      assert.equal(headerSize(length, true), size + 4);
      const header = new Uint8Array(14);
      assert.equal(
        writeHeader(header, 0, { fin: true, rsv: 0, opcode: 2, length, mask: null }),
        size,
      );
    });
  }
  test('2^40 is written big-endian in 64 bits', () => {
    const header = new Uint8Array(10);
    writeHeader(header, 0, { fin: true, rsv: 0, opcode: 2, length: 2 ** 40, mask: null });
    assert.deepEqual([...header], [0x82, 0x7f, 0, 0, 0x01, 0, 0, 0, 0, 0]);
  });
});

describe('RFC 6455 §5.7 examples, parsing (client side receives unmasked frames)', () => {
  test('single-frame and fragmented text, ping, 256-byte and 64 KiB binary', () => {
    const h = harness({ role: 'client' });
    h.feed([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    h.feed([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    h.feed([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    h.feed([0x82, 0x7e, 0x01, 0x00, ...new Uint8Array(256).fill(7)]);
    h.feed([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0, ...new Uint8Array(65536).fill(9)]);
    assert.deepEqual(h.messages().slice(0, 2), ['Hello', 'Hello']);
    const ping = h.events.find((e) => e.type === 'ping');
    assert.equal(ping?.type === 'ping' && new TextDecoder().decode(ping.data), 'Hello');
    const binaries = h.events.filter((e) => e.type === 'message' && e.isBinary);
    assert.equal(binaries.length, 2);
    assert.equal(binaries[0].type === 'message' && binaries[0].data.length, 256);
    assert.equal(binaries[1].type === 'message' && binaries[1].data.length, 65536);
  });
  test('the masked "Hello" example is unmasked by a server', () => {
    const h = harness({ role: 'server' });
    h.feed([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    assert.deepEqual(h.messages(), ['Hello']);
  });
  test('non-minimal length encodings are accepted on input (§5.2 MUST is for senders)', () => {
    const h = harness({ role: 'client' });
    h.feed([0x81, 0x7e, 0x00, 0x02, 0x68, 0x69]);
    h.feed([0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x68, 0x69]);
    assert.deepEqual(h.messages(), ['hi', 'hi']);
  });
});

describe('§5.3 masking helpers', () => {
  test('word-at-a-time masking equals the byte definition at every alignment and key offset', async () => {
    const { maskInto } = await import('../../src/protocol/mask.js');
    const key = Uint8Array.from([0x12, 0x34, 0x56, 0x78]);
    for (const length of [0, 1, 63, 64, 65, 100, 1027]) {
      for (let align = 0; align < 4; align++) {
        for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
          const source = new Uint8Array(length + 8).map((_, i) => (i * 7) & 0xff);
          const expected = source
            .slice(align, align + length)
            .map((b, i) => b ^ key[(keyOffset + i) & 3]);
          const inPlace = source.slice();
          maskInto(inPlace, align, inPlace, align, length, key, keyOffset);
          assert.deepEqual(inPlace.subarray(align, align + length), expected);
          const target = new Uint8Array(length + 5);
          maskInto(source, align, target, 1, length, key, keyOffset);
          assert.deepEqual(target.subarray(1, 1 + length), expected);
        }
      }
    }
  });
});
