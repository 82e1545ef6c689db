import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { nodePlatform } from '../../../src/node/platform.js';
import type { Platform } from '../../../src/protocol/platform.js';
import {
  GUID,
  computeAccept,
  generateKey,
  isValidKey,
} from '../../../src/protocol/handshake/index.js';
import { encodeBase64 } from '../../../src/protocol/handshake/base64.js';

describe('§1.3 Sec-WebSocket-Accept', () => {
  test('§1.3 GUID is the one of the RFC', () => {
    assert.equal(GUID, '258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
  });

  test('§1.3 the example key gives the example accept value', () => {
    assert.equal(
      computeAccept('dGhlIHNhbXBsZSBub25jZQ==', nodePlatform),
      's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
    );
  });

  test('§4.2.2 accept values match node:crypto for generated keys', async () => {
    const { createHash } = await import('node:crypto');
    for (let i = 0; i < 50; i++) {
      const key = generateKey(nodePlatform);
      const expected = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      assert.equal(computeAccept(key, nodePlatform), expected);
    }
  });
});

describe('§4.2.2 Sec-WebSocket-Accept: the one-call sha1Base64 shortcut', () => {
  test('a platform without sha1Base64 gives the same values through sha1', () => {
    const { sha1Base64, ...plain } = nodePlatform;
    assert.equal(typeof sha1Base64, 'function');
    const keys = [
      'dGhlIHNhbXBsZSBub25jZQ==',
      ...Array.from({ length: 20 }, () => generateKey(nodePlatform)),
    ];
    for (const key of keys) {
      assert.equal(computeAccept(key, plain), computeAccept(key, nodePlatform));
    }
    assert.equal(computeAccept('dGhlIHNhbXBsZSBub25jZQ==', plain), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('the shortcut is used when present (one call, the key and GUID as its input)', () => {
    const seen: string[] = [];
    const platform: Platform = {
      ...nodePlatform,
      sha1: () => {
        throw new Error('sha1 must not be called when sha1Base64 exists');
      },
      sha1Base64: (text) => {
        seen.push(text);
        return 'accept';
      },
    };
    assert.equal(computeAccept('dGhlIHNhbXBsZSBub25jZQ==', platform), 'accept');
    assert.deepEqual(seen, [`dGhlIHNhbXBsZSBub25jZQ==${GUID}`]);
  });
});

describe('§4.1 Sec-WebSocket-Key generation', () => {
  test('§4.1 a key is 16 random bytes, base64 (24 chars) and valid', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const key = generateKey(nodePlatform);
      assert.equal(key.length, 24);
      assert.ok(isValidKey(key), key);
      seen.add(key);
    }
    assert.equal(seen.size, 200);
  });

  test('§4.1 key bytes come from the injected platform', () => {
    const platform: Platform = {
      ...nodePlatform,
      randomFill: (bytes) => bytes.fill(0xab),
    };
    assert.equal(generateKey(platform), encodeBase64(new Uint8Array(16).fill(0xab)));
  });
});

describe('§4.2.1 item 5 key validity', () => {
  test('accepts canonical base64 of 16 bytes', () => {
    assert.ok(isValidKey('dGhlIHNhbXBsZSBub25jZQ=='));
    assert.ok(isValidKey('AAAAAAAAAAAAAAAAAAAAAA=='));
    assert.ok(isValidKey('/////////////////////w=='));
  });

  for (const [label, key] of [
    ['23 chars', 'dGhlIHNhbXBsZSBub25jZQ='],
    ['25 chars', 'dGhlIHNhbXBsZSBub25jZQ==='],
    ['empty', ''],
    ['no padding', 'dGhlIHNhbXBsZSBub25jZQAA'],
    ['non-base64 char', 'dGhlIHNhbXBsZSBub25jZ!=='],
    ['url-safe alphabet', 'dGhlIHNhbXBsZSBub25jZ-=='],
    ['non-canonical trailing bits', 'dGhlIHNhbXBsZSBub25jZR=='],
    ['decodes to 17 bytes', 'dGhlIHNhbXBsZSBub25jZWE='],
    ['inner whitespace', 'dGhlIHNhbXBsZSBub25j ZQ=='],
    ['leading whitespace', ' dGhlIHNhbXBsZSBub25jZQ='],
  ] as const) {
    test(`refuses ${label}`, () => {
      assert.equal(isValidKey(key), false);
    });
  }

  test('agrees with Buffer decoding on every last character', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    for (const ch of alphabet) {
      const key = `AAAAAAAAAAAAAAAAAAAAA${ch}==`;
      const canonical = Buffer.from(Buffer.from(key, 'base64')).toString('base64') === key;
      assert.equal(isValidKey(key), canonical, key);
    }
  });
});

describe('base64', () => {
  test('matches Buffer for lengths 0..40', () => {
    for (let len = 0; len <= 40; len++) {
      const bytes = new Uint8Array(len);
      nodePlatform.randomFill(bytes);
      assert.equal(encodeBase64(bytes), Buffer.from(bytes).toString('base64'));
    }
  });
});
