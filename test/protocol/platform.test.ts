/**
 * webPlatform(): the platform made of web-standard APIs only (for runtimes other than Node).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Connection, webPlatform } from '../../src/protocol/index.js';

const sha1 = (data: Uint8Array) => new Uint8Array(createHash('sha1').update(data).digest());

test('randomFill fills buffers past the 65,536-byte getRandomValues limit, every part', () => {
  const platform = webPlatform(sha1);
  const bytes = new Uint8Array(65536 * 2 + 100);
  platform.randomFill(bytes);
  // Each 64 KiB part (and the tail) got random bytes: none is left all zero.
  for (const [start, end] of [
    [0, 65536],
    [65536, 131072],
    [131072, bytes.length],
  ]) {
    assert.ok(
      bytes.subarray(start, end).some((b) => b !== 0),
      `bytes ${start}-${end} were filled`,
    );
  }
  assert.equal(platform.sha1, sha1, 'the given SHA-1 is used as is');
  const buffer = platform.alloc(10);
  assert.ok(buffer instanceof Uint8Array && buffer.length === 10);
});

test('a client engine on the web platform masks its frames with random keys', () => {
  const written: Uint8Array[] = [];
  const conn = new Connection(
    { role: 'client', platform: webPlatform(sha1) },
    {
      onMessage() {},
      onPing() {},
      onPong() {},
      onWrite: (bytes) => written.push(bytes.slice()),
      onClose() {},
    },
  );
  conn.send(new TextEncoder().encode('abc'), false);
  conn.send(new TextEncoder().encode('abc'), false);
  const [a, b] = written;
  assert.equal(a[1] & 0x80, 0x80);
  assert.notDeepEqual(a.subarray(2, 6), b.subarray(2, 6));
});

test('without globalThis.crypto, webPlatform says what it needs', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
  try {
    assert.throws(() => webPlatform(sha1), /globalThis\.crypto\.getRandomValues is required/);
  } finally {
    Object.defineProperty(globalThis, 'crypto', saved!);
  }
});
