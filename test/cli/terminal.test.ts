import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { escapeUntrusted, stylesFor } from '../../src/cli/terminal.js';
import { fakeIo } from './harness.js';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('escapeUntrusted (peer text on a terminal)', () => {
  test('escapes terminal escape sequences, BEL, CR and newlines visibly', () => {
    assert.equal(escapeUntrusted('\u001b[2Jhi\u0007'), '\\x1b[2Jhi\\x07');
    assert.equal(escapeUntrusted('a\r\nb\tc'), 'a\\r\\nb\\tc');
    assert.equal(escapeUntrusted('\u009b31m'), '\\x9b31m');
    assert.equal(escapeUntrusted('abc\u202edef'), 'abc\\u202edef');
  });

  test('leaves printable text, including non-ASCII, unchanged', () => {
    assert.equal(escapeUntrusted('héllo wörld ✓ 日本'), 'héllo wörld ✓ 日本');
  });

  test('property: output never contains an unsafe character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        assert.doesNotMatch(escapeUntrusted(text), UNSAFE);
      }),
    );
  });
});

describe('colors', () => {
  test('only on a TTY and only without NO_COLOR', () => {
    assert.equal(stylesFor(fakeIo({ isTTY: false }).io).red('x'), 'x');
    assert.equal(stylesFor(fakeIo({ isTTY: true, env: { NO_COLOR: '1' } }).io).red('x'), 'x');
    assert.notEqual(stylesFor(fakeIo({ isTTY: true }).io).red('x'), 'x');
  });
});
