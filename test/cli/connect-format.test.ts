import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHex, parseInputLine, safeJson } from '../../src/cli/connect-format.js';

describe('connect input lines', () => {
  test('plain lines are text; // escapes a leading slash', () => {
    assert.deepEqual(parseInputLine('hello'), { kind: 'text', text: 'hello' });
    assert.deepEqual(parseInputLine('//ping'), { kind: 'text', text: '/ping' });
    assert.deepEqual(parseInputLine(''), { kind: 'text', text: '' });
  });

  test('commands', () => {
    assert.deepEqual(parseInputLine('/ping'), { kind: 'ping', payload: '' });
    assert.deepEqual(parseInputLine('/ping are you there'), {
      kind: 'ping',
      payload: 'are you there',
    });
    assert.deepEqual(parseInputLine('/close'), { kind: 'close' });
    assert.deepEqual(parseInputLine('/close 4000'), { kind: 'close', code: 4000 });
    assert.deepEqual(parseInputLine('/close 1001 going away'), {
      kind: 'close',
      code: 1001,
      reason: 'going away',
    });
    assert.equal(parseInputLine('/close abc').kind, 'invalid');
    assert.deepEqual(parseInputLine('/binary 00 ff'), {
      kind: 'binary',
      data: Buffer.from([0, 255]),
    });
    assert.equal(parseInputLine('/binary 0').kind, 'invalid');
    assert.deepEqual(parseInputLine('/quit'), { kind: 'quit' });
    assert.equal(parseInputLine('/nope').kind, 'invalid');
  });

  test('parseHex accepts separators and rejects odd or non-hex input', () => {
    assert.deepEqual(parseHex('de:ad be-ef'.replace('-', '')), Buffer.from('deadbeef', 'hex'));
    assert.equal(parseHex('abc'), null);
    assert.equal(parseHex('zz'), null);
  });

  test('safeJson escapes C1 controls and bidi overrides but stays valid JSON', () => {
    const value = { data: '\u001b[31m\u009b\u202e' };
    const text = safeJson(value);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(text, /[\u0000-\u001f\u007f-\u009f\u202e]/);
    assert.deepEqual(JSON.parse(text), value);
  });
});
