/**
 * resolveLimits(): the engine's limits and their derived defaults (src/protocol/limits.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_PAYLOAD, resolveLimits } from '../../src/protocol/index.js';

test('defaults: 1 MiB messages, frames up to the message limit, twice the limit as budget', () => {
  assert.deepEqual(resolveLimits(), {
    maxPayload: DEFAULT_MAX_PAYLOAD,
    maxFrameSize: DEFAULT_MAX_PAYLOAD,
    maxMessageCost: 2 * DEFAULT_MAX_PAYLOAD + 4096,
    fragmentOverhead: 32,
  });
  assert.equal(DEFAULT_MAX_PAYLOAD, 1024 * 1024);
});

test('derived limits follow maxPayload unless given', () => {
  assert.deepEqual(resolveLimits({ maxPayload: 1000 }), {
    maxPayload: 1000,
    maxFrameSize: 1000,
    maxMessageCost: 6096,
    fragmentOverhead: 32,
  });
  assert.equal(resolveLimits({ maxPayload: 1000, maxFrameSize: 10 }).maxFrameSize, 10);
  // 0 is ws's "no limit": an explicit opt-out.
  assert.equal(resolveLimits({ maxPayload: 0 }).maxPayload, Number.MAX_SAFE_INTEGER);
});

test('maxPayload must be a non-negative safe integer', () => {
  for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
    assert.throws(() => resolveLimits({ maxPayload: bad }), RangeError, String(bad));
  }
});
