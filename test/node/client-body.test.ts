import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyCollector, bodyFraming } from '../../src/node/client-body.js';

describe('non-101 response body framing (RFC 9112 §6.3) and cap (checklist K4)', () => {
  test('framing decisions', () => {
    assert.deepEqual(bodyFraming(204, [['content-length', '5']]), { kind: 'none' });
    assert.deepEqual(bodyFraming(304, []), { kind: 'none' });
    assert.deepEqual(bodyFraming(404, [['content-length', '5']]), { kind: 'length', length: 5 });
    assert.deepEqual(
      bodyFraming(404, [
        ['transfer-encoding', 'gzip, chunked'],
        ['content-length', '5'],
      ]),
      {
        kind: 'chunked',
      },
    );
    assert.deepEqual(bodyFraming(404, [['transfer-encoding', 'gzip']]), { kind: 'until-close' });
    assert.deepEqual(bodyFraming(404, [['content-length', '-1']]), { kind: 'until-close' });
    assert.deepEqual(
      bodyFraming(404, [
        ['content-length', '5'],
        ['content-length', '6'],
      ]),
      { kind: 'until-close' },
    );
    assert.deepEqual(bodyFraming(500, []), { kind: 'until-close' });
  });

  test('Content-Length body, split across pushes, stops at the length', () => {
    const body = new BodyCollector({ kind: 'length', length: 5 });
    assert.equal(body.push(Buffer.from('he')), false);
    assert.equal(body.push(Buffer.from('lloEXTRA')), true);
    assert.equal(body.body().toString(), 'hello');
    assert.equal(body.truncated, false);
  });

  test('a body longer than the cap is cut at the cap', () => {
    const body = new BodyCollector({ kind: 'length', length: 100_000_000 }, 10);
    assert.equal(body.push(Buffer.alloc(6, 0x61)), false);
    assert.equal(body.push(Buffer.alloc(6, 0x62)), true);
    assert.equal(body.body().toString(), 'aaaaaabbbb');
    assert.equal(body.truncated, true);
  });

  test('until-close body ends with the connection', () => {
    const body = new BodyCollector({ kind: 'until-close' });
    body.push(Buffer.from('abc'));
    assert.equal(body.complete, false);
    body.end();
    assert.equal(body.complete, true);
    assert.equal(body.truncated, false);
    assert.equal(body.body().toString(), 'abc');
  });

  test('a Content-Length body cut short by the close is marked truncated', () => {
    const body = new BodyCollector({ kind: 'length', length: 10 });
    body.push(Buffer.from('abc'));
    body.end();
    assert.equal(body.truncated, true);
  });

  test('chunked body decoded in any split, trailers skipped', () => {
    const wire = Buffer.from(
      '5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\nGARBAGE',
    );
    for (let split = 1; split <= wire.length; split++) {
      const body = new BodyCollector({ kind: 'chunked' });
      let done = false;
      for (let i = 0; i < wire.length && !done; i += split)
        done = body.push(wire.subarray(i, i + split));
      assert.equal(done, true, `split ${split}`);
      assert.equal(body.body().toString(), 'hello world');
      assert.equal(body.truncated, false);
    }
  });

  test('chunked body over the cap and malformed chunk sizes end the body', () => {
    const capped = new BodyCollector({ kind: 'chunked' }, 4);
    assert.equal(capped.push(Buffer.from('a\r\n0123456789\r\n')), true);
    assert.equal(capped.body().toString(), '0123');
    assert.equal(capped.truncated, true);
    const bad = new BodyCollector({ kind: 'chunked' });
    assert.equal(bad.push(Buffer.from('zz\r\n')), true);
    assert.equal(bad.truncated, true);
    const longLine = new BodyCollector({ kind: 'chunked' });
    assert.equal(longLine.push(Buffer.alloc(5000, 0x31)), true);
    assert.equal(longLine.truncated, true);
  });
});
