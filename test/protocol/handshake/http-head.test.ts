import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HandshakeError,
  HttpHeadParser,
  type HttpHeadParserOptions,
  type RequestHead,
  type ResponseHead,
} from '../../../src/protocol/handshake/index.js';
import { CHUNKINGS, recut } from '../../helpers/chunking.js';

const enc = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

const REQUEST =
  'GET /chat?x=1 HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Origin: http://example.com\r\n' +
  'Sec-WebSocket-Protocol: chat, superchat\r\n' +
  'Sec-WebSocket-Protocol: more\r\n' +
  'Sec-WebSocket-Version: 13\r\n' +
  'X-Empty:\r\n' +
  'X-Spaces: \t a  b \t\r\n' +
  '\r\n';

/**
 * What the parser makes of `bytes` fed in `pieces`: the head and everything after it, or the
 * error's code and status. Must not depend on the chunking.
 */
function outcome(kind: 'request' | 'response', pieces: Uint8Array[]): unknown {
  const parser = new HttpHeadParser(kind);
  try {
    for (let i = 0; i < pieces.length; i++) {
      const result = parser.feed(pieces[i]);
      if (result.done) {
        const rest = [result.rest, ...pieces.slice(i + 1)].flatMap((p) => [...p]);
        return { head: result.head, rest };
      }
    }
    return { done: false };
  } catch (error) {
    const e = error as HandshakeError;
    return { code: e.code, status: e.status };
  }
}

/**
 * The whole-head path (`parseText`, what a server's front calls once it found `CRLF CRLF` in a
 * read of at most the size limit): for the bytes up to and including the first `CRLF CRLF`,
 * the same head or the same error as `feed`. Undefined when there is no such end.
 */
function textOutcome(bytes: Uint8Array, options: HttpHeadParserOptions = {}): unknown {
  const text = String.fromCharCode(...bytes);
  const end = text.indexOf('\r\n\r\n');
  if (end < 0 || end + 4 > (options.maxHeadBytes ?? 16 * 1024)) return undefined;
  try {
    return { head: new HttpHeadParser('request', options).parseText(text.slice(0, end + 4)) };
  } catch (error) {
    const e = error as HandshakeError;
    return { code: e.code, status: e.status };
  }
}

/** What `feed` gave, in the shape of `textOutcome` (the head without the bytes after it). */
function feedOutcome(result: unknown): unknown {
  const r = result as { head?: unknown; code?: string; status?: number; done?: boolean };
  return r.head !== undefined ? { head: r.head } : r.done === false ? undefined : r;
}

/** Chunking equivalence: `bytes` fed whole, byte by byte and in random pieces, same outcome. */
function assertChunkingInvariant(kind: 'request' | 'response', bytes: Uint8Array): void {
  const expected = outcome(kind, [bytes.slice()]);
  for (const how of CHUNKINGS) {
    assert.deepEqual(outcome(kind, recut([bytes], how, bytes.length)), expected, `fed ${how}`);
  }
  const whole = textOutcome(bytes);
  if (kind === 'request' && whole !== undefined) {
    assert.deepEqual(whole, feedOutcome(expected), 'parseText');
  }
}

function parseAll<K extends 'request' | 'response'>(kind: K, text: string | Uint8Array) {
  assertChunkingInvariant(kind, typeof text === 'string' ? enc(text) : text);
  const parser = new HttpHeadParser(kind);
  const result = parser.feed(typeof text === 'string' ? enc(text) : text);
  assert.equal(result.done, true);
  return result as {
    done: true;
    head: K extends 'request' ? RequestHead : ResponseHead;
    rest: Uint8Array;
  };
}

function expectError(kind: 'request' | 'response', text: string, code: string, status = 400): void {
  assertChunkingInvariant(kind, enc(text));
  const parser = new HttpHeadParser(kind);
  assert.throws(
    () => parser.feed(enc(text)),
    (e: unknown) => {
      assert.ok(e instanceof HandshakeError, String(e));
      assert.equal(e.code, code, e.message);
      assert.equal(e.status, status);
      return true;
    },
  );
}

describe('§4.2.1 request head parsing (RFC 7230 §3)', () => {
  test('parses the §1.3 example request, lower-casing names and keeping duplicates', () => {
    const { head, rest } = parseAll('request', REQUEST + 'tail');
    assert.equal(head.method, 'GET');
    assert.equal(head.target, '/chat?x=1');
    assert.equal(head.httpVersion, '1.1');
    assert.deepEqual(head.headers, [
      ['host', 'server.example.com'],
      ['upgrade', 'websocket'],
      ['connection', 'Upgrade'],
      ['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['origin', 'http://example.com'],
      ['sec-websocket-protocol', 'chat, superchat'],
      ['sec-websocket-protocol', 'more'],
      ['sec-websocket-version', '13'],
      ['x-empty', ''],
      ['x-spaces', 'a  b'],
    ]);
    assert.equal(Buffer.from(rest).toString('latin1'), 'tail');
  });

  test('rest is empty when the chunk ends with the head; obs-text survives as latin1', () => {
    const { head, rest } = parseAll('request', 'GET / HTTP/1.0\r\nX: caf\u00e9\r\n\r\n');
    assert.equal(rest.length, 0);
    assert.equal(head.httpVersion, '1.0');
    assert.deepEqual(head.headers, [['x', 'caf\u00e9']]);
  });

  test('returns done: false until the empty line, then refuses more input', () => {
    const parser = new HttpHeadParser('request');
    assert.deepEqual(parser.feed(enc('GET / HTTP/1.1\r\nHost: a\r\n')), { done: false });
    assert.deepEqual(parser.feed(enc('\r')), { done: false });
    const result = parser.feed(enc('\nabc'));
    assert.equal(result.done, true);
    assert.throws(() => parser.feed(enc('x')), { code: 'PARSER_DONE' });
  });

  test('H4: smuggling-shaped heads are refused with 400', () => {
    expectError('request', 'GET / HTTP/1.1\nHost: a\r\n\r\n', 'BARE_LF');
    expectError('request', 'GET / HTTP/1.1\r\nHost: a\n\r\n', 'BARE_LF');
    expectError('request', 'GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n', 'BARE_CR');
    expectError('request', 'GET / HTTP/1.1\r\nHost: a\r\n\r\r\n', 'BARE_CR');
    expectError('request', 'GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n', 'INVALID_HEADER_NAME');
    expectError('request', 'GET / HTTP/1.1\r\nHost: a\r\n Content-Length: 5\r\n\r\n', 'OBS_FOLD');
    expectError('request', 'GET / HTTP/1.1\r\n\tX: 5\r\n\r\n', 'OBS_FOLD');
    expectError('request', 'GET / HTTP/1.1\r\nHost a\r\n\r\n', 'INVALID_HEADER');
    expectError('request', 'GET / HTTP/1.1\r\n: a\r\n\r\n', 'INVALID_HEADER_NAME');
    expectError('request', 'GET / HTTP/1.1\r\nX(: a\r\n\r\n', 'INVALID_HEADER_NAME');
    expectError('request', 'GET / HTTP/1.1\r\nX: a\u0000b\r\n\r\n', 'INVALID_HEADER_VALUE');
    expectError('request', 'GET / HTTP/1.1\r\nX: a\u007fb\r\n\r\n', 'INVALID_HEADER_VALUE');
  });

  for (const line of [
    '',
    'GET',
    'GET /',
    'GET  / HTTP/1.1',
    'GET / HTTP/1.1 ',
    'GET /  HTTP/1.1',
    'GET / HTTP/1',
    'GET / HTTP/11.1',
    'GET / http/1.1',
    'GET / HTTP/1.x',
    'G(T / HTTP/1.1',
    'GET /\u0001 HTTP/1.1',
    'GET /\u00e9 HTTP/1.1',
    ' GET / HTTP/1.1',
  ]) {
    test(`refuses request line ${JSON.stringify(line)} with 400`, () => {
      expectError('request', `${line}\r\nHost: a\r\n\r\n`, 'INVALID_REQUEST_LINE');
    });
  }

  test('H6: more than 16 KiB of head -> 431', () => {
    expectError(
      'request',
      'GET / HTTP/1.1\r\nX: ' + 'a'.repeat(16 * 1024) + '\r\n\r\n',
      'HEAD_TOO_LARGE',
      431,
    );
    // Exactly at the limit is fine.
    const head = 'GET / HTTP/1.1\r\nX: \r\n\r\n';
    const filler = 'a'.repeat(16 * 1024 - head.length);
    const exact = `GET / HTTP/1.1\r\nX: ${filler}\r\n\r\n`;
    assert.equal(exact.length, 16 * 1024);
    assert.equal(parseAll('request', exact).head.headers[0][1], filler);
  });

  test('H6: the 101st header -> 431; custom limits apply', () => {
    const many = (n: number) =>
      'GET / HTTP/1.1\r\n' + Array.from({ length: n }, (_, i) => `h${i}: v\r\n`).join('') + '\r\n';
    assert.equal(parseAll('request', many(100)).head.headers.length, 100);
    expectError('request', many(101), 'TOO_MANY_HEADERS', 431);
    expectError('request', many(2500), 'TOO_MANY_HEADERS', 431);
    const parser = new HttpHeadParser('request', { maxHeaders: 2, maxHeadBytes: 64 });
    assert.throws(() => parser.feed(enc(many(3))), { code: 'TOO_MANY_HEADERS', status: 431 });
    const small = new HttpHeadParser('request', { maxHeadBytes: 20 });
    assert.throws(() => small.feed(enc(many(1))), { code: 'HEAD_TOO_LARGE', status: 431 });
  });

  test('after an error every later feed throws the same error', () => {
    const parser = new HttpHeadParser('request');
    let first: unknown;
    try {
      parser.feed(enc('GET / HTTP/1.1\nX'));
    } catch (e) {
      first = e;
    }
    assert.ok(first instanceof HandshakeError);
    assert.throws(
      () => parser.feed(enc('\r\n\r\n')),
      (e) => e === first,
    );
  });

  test('H7: 64 KiB fed one byte at a time is refused at the limit, linearly', () => {
    const parser = new HttpHeadParser('request');
    const bytes = enc('GET / HTTP/1.1\r\n' + ('X: ' + 'a'.repeat(1000) + '\r\n').repeat(64));
    const started = performance.now();
    let error: unknown;
    let fed = 0;
    for (; fed < bytes.length; fed++) {
      try {
        parser.feed(bytes.subarray(fed, fed + 1));
      } catch (e) {
        error = e;
        break;
      }
    }
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.code, 'HEAD_TOO_LARGE');
    assert.equal(fed, 16 * 1024);
    assert.ok(performance.now() - started < 2000);
  });

  test('a 16 KiB valid head fed one byte at a time parses the same', () => {
    const text = 'GET / HTTP/1.1\r\n' + 'X: ' + 'b'.repeat(16000) + '\r\n\r\n';
    const parser = new HttpHeadParser('request');
    const bytes = enc(text);
    let result;
    for (let i = 0; i < bytes.length; i++) result = parser.feed(bytes.subarray(i, i + 1));
    assert.ok(result?.done);
    assert.deepEqual(result.head, parseAll('request', text).head);
  });
});

describe('parseText: a whole head at once (the server front)', () => {
  test('same head as feed; rawHeaders keeps names as sent; limits and misuse', () => {
    const parser = new HttpHeadParser('request', { rawHeaders: true });
    const head = parser.parseText(REQUEST);
    const fed = new HttpHeadParser('request').feed(enc(REQUEST));
    assert.ok(fed.done);
    assert.deepEqual(head.headers, fed.head.headers);
    assert.equal(head.target, '/chat?x=1');
    assert.deepEqual(head.rawHeaders?.slice(0, 4), [
      'Host',
      'server.example.com',
      'Upgrade',
      'websocket',
    ]);
    assert.equal(head.rawHeaders?.length, head.headers.length * 2);
    assert.equal(fed.head.rawHeaders, undefined);
    assert.throws(() => parser.parseText(REQUEST), { code: 'PARSER_DONE' });
    for (const [text, code, status] of [
      ['GET / HTTP/1.1\r\nHost: a\r\n', 'INCOMPLETE_HEAD', 400],
      ['GET / HTTP/1.1\r\nHost: a\r\n\r\nX', 'INCOMPLETE_HEAD', 400],
      ['GET / HTTP/1.1\r\nX: a\nb\r\n\r\n', 'BARE_LF', 400],
      [`GET / HTTP/1.1\r\nX: ${'a'.repeat(200)}\r\n\r\n`, 'HEAD_TOO_LARGE', 431],
      [`GET / HTTP/1.1\r\n${'X: a\r\n'.repeat(6)}\r\n`, 'TOO_MANY_HEADERS', 431],
    ] as const) {
      const p = new HttpHeadParser('request', { maxHeadBytes: 150, maxHeaders: 5 });
      assert.throws(() => p.parseText(text), { code, status }, JSON.stringify(text));
      assert.throws(() => p.parseText(text), { code }, 'the same error again');
    }
  });
});

describe('header names of a handshake (shared lower-case names)', () => {
  test('any spelling gives the lower-case name; rawHeaders keeps the spelling as sent', () => {
    const text =
      'GET / HTTP/1.1\r\nHoSt: a\r\nSec-WebSocket-Key: k\r\nsec-websocket-version: 13\r\n' +
      'CONNECTION: Upgrade\r\nSec-Websocket-Protocol: p\r\nOrigin2: o\r\nUser-Agent: u\r\n' +
      'Hosts: b\r\nX-Y: z\r\n\r\n';
    const head = new HttpHeadParser('request', { rawHeaders: true }).parseText(text);
    assert.deepEqual(head.headers, [
      ['host', 'a'],
      ['sec-websocket-key', 'k'],
      ['sec-websocket-version', '13'],
      ['connection', 'Upgrade'],
      ['sec-websocket-protocol', 'p'],
      ['origin2', 'o'],
      ['user-agent', 'u'],
      ['hosts', 'b'],
      ['x-y', 'z'],
    ]);
    assert.deepEqual(head.rawHeaders, [
      'HoSt',
      'a',
      'Sec-WebSocket-Key',
      'k',
      'sec-websocket-version',
      '13',
      'CONNECTION',
      'Upgrade',
      'Sec-Websocket-Protocol',
      'p',
      'Origin2',
      'o',
      'User-Agent',
      'u',
      'Hosts',
      'b',
      'X-Y',
      'z',
    ]);
    const fed = new HttpHeadParser('request').feed(enc(text));
    assert.ok(fed.done);
    assert.deepEqual(fed.head.headers, head.headers);
  });

  test('handshake and browser header names, as usually spelt and upper-cased, read as their lower-case names', () => {
    for (const name of [
      'Host',
      'Upgrade',
      'Connection',
      'Sec-WebSocket-Key',
      'Sec-WebSocket-Version',
      'Sec-WebSocket-Extensions',
      'Sec-WebSocket-Protocol',
      'Origin',
      'User-Agent',
      'Pragma',
      'Cache-Control',
      'Accept-Encoding',
      'Accept-Language',
    ]) {
      for (const spelt of [name, name.toUpperCase()]) {
        const parser = new HttpHeadParser('request', { rawHeaders: true });
        const head = parser.parseText(`GET / HTTP/1.1\r\n${spelt}: v\r\n\r\n`);
        assert.deepEqual(head.headers, [[name.toLowerCase(), 'v']]);
        assert.deepEqual(head.rawHeaders, [spelt, 'v']);
      }
    }
  });

  test('a name that differs from a known one only in a non-letter is not taken for it', () => {
    // `| 0x20` folds letters only: a name of a known one's length with another character where
    // it has `-` or a letter is a different name (a tchar) or no name at all.
    const parse = (name: string) =>
      new HttpHeadParser('request').parseText(`GET / HTTP/1.1\r\n${name}: v\r\n\r\n`);
    // `_` is 0x5f, `-` | 0x20 is 0x2d and `~` | 0x20 is 0x7e: same lengths, other names.
    assert.equal(parse('Sec_WebSocket-Key').headers[0][0], 'sec_websocket-key');
    assert.equal(parse('Sec-WebSocket_Key').headers[0][0], 'sec-websocket_key');
    assert.equal(parse('Connectio~').headers[0][0], 'connectio~');
    assert.equal(parse('Connectio~').headers.length, 1);
    // Not tchars: refused, not folded onto `upgrade` or `sec-websocket-key`.
    assert.throws(() => parse('Upgrad\u00c5'), { code: 'INVALID_HEADER_NAME' });
    assert.throws(() => parse('Sec-WebSocket-Ke@'), { code: 'INVALID_HEADER_NAME' });
    // The one code `-` | 0x20 shares, CR (0x0d | 0x20 = 0x2d): it never reaches a name.
    assert.throws(
      () =>
        new HttpHeadParser('request').feed(enc('GET / HTTP/1.1\r\nSec-WebSocket\rKey: v\r\n\r\n')),
      { code: 'BARE_CR' },
    );
  });
});

describe('§4.1 response head parsing (client side)', () => {
  test('parses the §1.3 example response', () => {
    const { head, rest } = parseAll(
      'response',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\u0081\u0002hi',
    );
    assert.deepEqual(head, {
      httpVersion: '1.1',
      status: 101,
      reason: 'Switching Protocols',
      headers: [
        ['upgrade', 'websocket'],
        ['connection', 'Upgrade'],
        ['sec-websocket-accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
      ],
    });
    assert.deepEqual([...rest], [0x81, 0x02, 0x68, 0x69]);
  });

  test('tolerates an empty or missing reason phrase', () => {
    assert.equal(parseAll('response', 'HTTP/1.1 404 \r\n\r\n').head.reason, '');
    assert.equal(parseAll('response', 'HTTP/1.1 404\r\n\r\n').head.status, 404);
  });

  for (const line of [
    '',
    'HTTP/1.1',
    'HTTP/1.1 10',
    'HTTP/1.1 1O1 x',
    'HTTP/1.1 1011 x',
    'HTTP/1.1  101 x',
    'ICY 200 OK',
    'HTTP/1.1 101 a\u0000',
  ]) {
    test(`refuses status line ${JSON.stringify(line)}`, () => {
      expectError('response', `${line}\r\n\r\n`, 'INVALID_STATUS_LINE');
    });
  }
});

describe('HttpHeadParser properties', () => {
  const tchar = fc.constantFrom(...'abcXYZ-_!#0123456789'.split(''));
  const nameArb = fc.string({ unit: tchar, minLength: 1, maxLength: 10 });
  const valueArb = fc
    .string({ unit: fc.constantFrom(...'abc xyz\t:;,="\u00e9\u00ff/~'.split('')), maxLength: 20 })
    .map((s) => s.trim());
  const headArb = fc
    .record({
      target: fc.string({
        unit: fc.constantFrom(...'/abc?=&%'.split('')),
        minLength: 1,
        maxLength: 20,
      }),
      headers: fc.array(fc.tuple(nameArb, valueArb), { maxLength: 20 }),
      rest: fc.uint8Array({ maxLength: 20 }),
    })
    .map(({ target, headers, rest }) => ({
      text:
        `GET ${target} HTTP/1.1\r\n` + headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n',
      headers,
      rest,
    }));

  test('property: random chunking of a valid head gives the unchunked result', () => {
    fc.assert(
      fc.property(
        headArb,
        fc.array(fc.nat(), { maxLength: 10 }),
        ({ text, headers, rest }, cuts) => {
          const bytes = new Uint8Array([...enc(text), ...rest]);
          const whole = new HttpHeadParser('request').feed(bytes);
          assert.ok(whole.done);
          assert.deepEqual(
            whole.head.headers,
            headers.map(([n, v]) => [n.toLowerCase(), v]),
          );
          assert.deepEqual([...whole.rest], [...rest]);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const parser = new HttpHeadParser('request');
          let previous = 0;
          let result: ReturnType<typeof parser.feed> = { done: false };
          const tails: number[] = [];
          for (const point of [...points, bytes.length]) {
            const piece = bytes.subarray(previous, point);
            previous = point;
            if (result.done) {
              tails.push(...piece);
              continue;
            }
            result = parser.feed(piece);
            if (result.done) tails.push(...result.rest);
          }
          assert.ok(result.done);
          assert.deepEqual(result.head, whole.head);
          assert.deepEqual(tails, [...rest]);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('property: parseText and feed agree on any bytes up to the first CRLF CRLF', () => {
    const unit = fc.constantFrom(
      ...'GET / HTTP/1.1\r\n\r\n: \tabHost'.split('').map((c) => c.charCodeAt(0)),
      0,
      0x7f,
      0xe9,
    );
    const bytesArb = fc.oneof(
      headArb.map(({ text, rest }) => new Uint8Array([...enc(text), ...rest])),
      fc.array(unit, { maxLength: 120 }).map((a) => Uint8Array.from(a)),
      headArb.chain(({ text }) =>
        fc.tuple(fc.nat(text.length), unit).map(([at, c]) => {
          const bytes = enc(text);
          bytes[at % bytes.length] = c;
          return bytes;
        }),
      ),
    );
    fc.assert(
      fc.property(bytesArb, (bytes) => {
        const options = { maxHeadBytes: 300, maxHeaders: 8 };
        const text = textOutcome(bytes, options);
        if (text === undefined) return;
        const parser = new HttpHeadParser('request', options);
        let fed: unknown;
        try {
          const result = parser.feed(bytes);
          fed = result.done ? { head: result.head } : undefined;
        } catch (error) {
          fed = { code: (error as HandshakeError).code, status: (error as HandshakeError).status };
        }
        assert.deepEqual(text, fed);
      }),
      { numRuns: 1000 },
    );
  });

  test('property: random bytes only ever throw HandshakeError, fed whole or split', () => {
    const byteArb = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc
        .array(
          fc.constantFrom(
            ...'GET / HTTP/1.1\r\n: \tab'.split('').map((c) => c.charCodeAt(0)),
            0,
            0x7f,
            0xff,
          ),
          {
            maxLength: 200,
          },
        )
        .map((a) => Uint8Array.from(a)),
    );
    fc.assert(
      fc.property(
        byteArb,
        fc.constantFrom('request', 'response'),
        fc.integer({ min: 1, max: 7 }),
        (bytes, kind, step) => {
          for (const size of [bytes.length || 1, step]) {
            const parser = new HttpHeadParser(kind as 'request' | 'response', {
              maxHeadBytes: 150,
              maxHeaders: 5,
            });
            try {
              for (let i = 0; i < bytes.length; i += size) {
                if (parser.feed(bytes.subarray(i, i + size)).done) break;
              }
            } catch (e) {
              assert.ok(e instanceof HandshakeError, String(e));
              assert.ok(e.status === 400 || e.status === 431);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
