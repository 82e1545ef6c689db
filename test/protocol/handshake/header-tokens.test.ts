import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HandshakeError,
  isToken,
  isValidFieldValue,
  parseExtensionHeader,
  parseProtocolHeader,
  serializeExtensions,
  splitList,
} from '../../../src/protocol/handshake/index.js';
import { listHasToken, valueHasToken } from '../../../src/protocol/handshake/header-tokens.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const tokenArb = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
const owsArb = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 });

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HandshakeError, `expected HandshakeError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

describe('§4.1 / §11.3.4 Sec-WebSocket-Protocol (1#token)', () => {
  test('parses a comma list with OWS, keeping case and order', () => {
    assert.deepEqual(parseProtocolHeader('chat, superchat'), ['chat', 'superchat']);
    assert.deepEqual(parseProtocolHeader(' \tA ,b\t'), ['A', 'b']);
    assert.deepEqual(parseProtocolHeader('x'), ['x']);
  });

  test('tolerates empty list elements (RFC 7230 §7)', () => {
    assert.deepEqual(parseProtocolHeader(', a , , b ,'), ['a', 'b']);
  });

  test('refuses an empty list', () => {
    assertCode(() => parseProtocolHeader(''), 'MALFORMED_PROTOCOLS');
    assertCode(() => parseProtocolHeader(' , ,'), 'MALFORMED_PROTOCOLS');
  });

  for (const bad of ['a b', 'a;b', 'a/b', '"a"', 'a,b c', 'é', 'a\r\nb', 'a\u0000', '(a)', 'a=b']) {
    test(`refuses non-token element ${JSON.stringify(bad)}`, () => {
      const error = (() => {
        try {
          parseProtocolHeader(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(error instanceof HandshakeError);
      assert.equal(error.code, 'MALFORMED_PROTOCOLS');
      assert.equal(error.status, 400);
    });
  }

  test('prototype names are plain tokens', () => {
    assert.deepEqual(parseProtocolHeader('__proto__, constructor, hasOwnProperty'), [
      '__proto__',
      'constructor',
      'hasOwnProperty',
    ]);
  });

  test('H5: `a` + 50,000 spaces + `,b` parses correctly and linearly', () => {
    const started = performance.now();
    assert.deepEqual(parseProtocolHeader('a' + ' '.repeat(50_000) + ',b'), ['a', 'b']);
    assertCode(() => parseProtocolHeader('a' + ' '.repeat(50_000) + 'b'), 'MALFORMED_PROTOCOLS');
    assert.ok(performance.now() - started < 2000);
  });

  test('property: serialised token lists round-trip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(owsArb, tokenArb, owsArb), { minLength: 1, maxLength: 8 }),
        (items) => {
          const header = items.map(([a, t, b]) => a + t + b).join(',');
          assert.deepEqual(
            parseProtocolHeader(header),
            items.map(([, t]) => t),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('property: arbitrary strings either parse to tokens or throw HandshakeError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          for (const t of parseProtocolHeader(s)) assert.ok(isToken(t));
        } catch (e) {
          assert.ok(e instanceof HandshakeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('§9.1 Sec-WebSocket-Extensions', () => {
  test('parses names, bare params and values, lower-casing names', () => {
    assert.deepEqual(
      parseExtensionHeader('permessage-deflate; client_max_window_bits, X-Foo ; A=B ;c="10"'),
      [
        { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
        {
          name: 'x-foo',
          params: [
            ['a', 'B'],
            ['c', '10'],
          ],
        },
      ],
    );
  });

  test('OWS around ; and = and empty list elements are tolerated', () => {
    assert.deepEqual(parseExtensionHeader(' , a \t;\tb = 1 ,, c ,'), [
      { name: 'a', params: [['b', '1']] },
      { name: 'c', params: [] },
    ]);
  });

  test('quoted-string values are unescaped', () => {
    assert.deepEqual(parseExtensionHeader('a; b="x\\y\\"z"'.replace('\\"', '')), [
      { name: 'a', params: [['b', 'xyz']] },
    ]);
    assert.deepEqual(parseExtensionHeader('a; b="\\1\\5"'), [{ name: 'a', params: [['b', '15']] }]);
  });

  test('duplicates are kept in order (judged by the extension)', () => {
    assert.deepEqual(parseExtensionHeader('a; b; b=1, a'), [
      {
        name: 'a',
        params: [
          ['b', true],
          ['b', '1'],
        ],
      },
      { name: 'a', params: [] },
    ]);
  });

  for (const bad of [
    '',
    ' , ',
    ';a',
    'a;',
    'a; ;b',
    'a;b=',
    'a;b=c d',
    'a;b="c d"', // unescaped value must be a token (§9.1)
    'a;b=""',
    'a;b="c',
    'a;b="c\\',
    'a b',
    'a;b=c=d',
    'a;b="c"d',
    'a;=c',
    'a;b="\u0001"',
    'a\r\n;b',
    'a;b=c\u0000',
    'é',
  ]) {
    test(`refuses ${JSON.stringify(bad)} with MALFORMED_EXTENSIONS / 400`, () => {
      try {
        parseExtensionHeader(bad);
        assert.fail('expected a HandshakeError');
      } catch (e) {
        assert.ok(e instanceof HandshakeError);
        assert.equal(e.code, 'MALFORMED_EXTENSIONS');
        assert.equal(e.status, 400);
      }
    });
  }

  test('H5: prototype-shaped names are harmless', () => {
    const offers = parseExtensionHeader(
      '__proto__; __proto__=1; constructor, constructor; hasOwnProperty=x',
    );
    assert.deepEqual(offers, [
      {
        name: '__proto__',
        params: [
          ['__proto__', '1'],
          ['constructor', true],
        ],
      },
      { name: 'constructor', params: [['hasownproperty', 'x']] },
    ]);
    assert.equal(Object.prototype.hasOwnProperty.call({}, 'x'), false);
    assert.equal(({} as Record<string, unknown>)['1'], undefined);
  });

  test('H5: `a;b="` + `\\c` x 10,000 terminates linearly', () => {
    const started = performance.now();
    const unterminated = 'a;b="' + '\\c'.repeat(10_000);
    assertCode(() => parseExtensionHeader(unterminated), 'MALFORMED_EXTENSIONS');
    assert.deepEqual(parseExtensionHeader(unterminated + '"'), [
      { name: 'a', params: [['b', 'c'.repeat(10_000)]] },
    ]);
    assertCode(
      () => parseExtensionHeader('a' + ';b'.repeat(20_000) + ' x'),
      'MALFORMED_EXTENSIONS',
    );
    assert.ok(performance.now() - started < 2000);
  });

  const offerArb = fc
    .record({
      name: tokenArb.map((s) => s.toLowerCase()),
      params: fc.array(
        fc.tuple(
          tokenArb.map((s) => s.toLowerCase()),
          fc.oneof(fc.constant(true as const), tokenArb),
        ),
        { maxLength: 4 },
      ),
    })
    .map((o) => ({ name: o.name, params: o.params }));

  test('property: serializeExtensions / parseExtensionHeader round-trip', () => {
    fc.assert(
      fc.property(fc.array(offerArb, { minLength: 1, maxLength: 5 }), (offers) => {
        assert.deepEqual(parseExtensionHeader(serializeExtensions(offers)), offers);
      }),
      { numRuns: 300 },
    );
  });

  test('property: arbitrary strings either parse or throw HandshakeError', () => {
    const alphabet = fc.constantFrom(
      'a',
      'B',
      ';',
      ',',
      '=',
      '"',
      '\\',
      ' ',
      '\t',
      'x',
      '\r',
      '\u00ff',
      '_',
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: alphabet, maxLength: 60 })),
        (s) => {
          try {
            const offers = parseExtensionHeader(s);
            assert.ok(offers.length > 0);
            for (const offer of offers) {
              assert.ok(isToken(offer.name));
              for (const [name, value] of offer.params) {
                assert.ok(isToken(name));
                assert.ok(value === true || isToken(value));
              }
            }
          } catch (e) {
            assert.ok(e instanceof HandshakeError, String(e));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('serializeExtensions refuses non-token names and values (no header injection)', () => {
    assertCode(
      () => serializeExtensions([{ name: 'a\r\nX-Evil: 1', params: [] }]),
      'INVALID_EXTENSION',
    );
    assertCode(
      () => serializeExtensions([{ name: 'a', params: [['b c', true]] }]),
      'INVALID_EXTENSION',
    );
    assertCode(
      () => serializeExtensions([{ name: 'a', params: [['b', 'c\nd']] }]),
      'INVALID_EXTENSION',
    );
    assert.equal(
      serializeExtensions([
        {
          name: 'permessage-deflate',
          params: [
            ['client_max_window_bits', true],
            ['x', '9'],
          ],
        },
      ]),
      'permessage-deflate; client_max_window_bits; x=9',
    );
  });
});

describe('RFC 7230 helpers', () => {
  test('splitList trims OWS and drops empty elements', () => {
    assert.deepEqual(splitList(' keep-alive, Upgrade ,,\t'), ['keep-alive', 'Upgrade']);
    assert.deepEqual(splitList(''), []);
  });

  test('isValidFieldValue refuses CR, LF, NUL and non-latin1', () => {
    assert.ok(isValidFieldValue('a b\tc ÿ'));
    for (const bad of ['a\rb', 'a\nb', 'a\u0000', '\u0100', 'a\u007f'])
      assert.equal(isValidFieldValue(bad), false);
  });
});

describe('listHasToken (Upgrade / Connection checks, no allocation)', () => {
  const listed = (values: string[], token: string): boolean =>
    values.flatMap(splitList).some((t) => t.toLowerCase() === token);

  test('finds the token in any element of any value, case-insensitively, OWS trimmed', () => {
    assert.equal(listHasToken(['keep-alive, Upgrade'], 'upgrade'), true);
    assert.equal(listHasToken(['keep-alive', ' \tUPGRADE\t '], 'upgrade'), true);
    assert.equal(listHasToken(['WebSocket'], 'websocket'), true);
    assert.equal(listHasToken([',,websocket,'], 'websocket'), true);
  });

  test('a token only as part of an element, or absent, is not found', () => {
    assert.equal(listHasToken([], 'upgrade'), false);
    assert.equal(listHasToken([''], 'upgrade'), false);
    assert.equal(listHasToken(['upgrades'], 'upgrade'), false);
    assert.equal(listHasToken(['up grade'], 'upgrade'), false);
    assert.equal(listHasToken(['websocket2, h2c'], 'websocket'), false);
    // Only ASCII letters fold: a latin1 letter never stands for an ASCII one.
    assert.equal(listHasToken(['upgr\u00c0de'], 'upgrade'), false);
  });

  test('one value: empty elements, OWS and trailing commas around the token', () => {
    for (const [value, found] of [
      ['', false],
      [' \t', false],
      [' , ', false],
      ['upgrade,', true],
      [', upgrade', true],
      ['\tUpgrade\t', true],
      ['keep-alive, UPGRADE', true],
      ['x;upgrade', false],
    ] as const) {
      assert.equal(valueHasToken(value, 'upgrade'), found, JSON.stringify(value));
    }
  });

  test('property: same answer as splitting and lower-casing, for latin1 header values', () => {
    const unit = fc.constantFrom(
      ...'upgradeUPGRADEwebsocketWEBSOCKET, \t,xX\u00c0\u00e0\u00ff-'.split(''),
    );
    const valueArb = fc.string({ unit, maxLength: 24 });
    const withToken = (token: string) =>
      fc
        .tuple(owsArb, fc.constantFrom(token, token.toUpperCase(), 'WebSocket', 'Upgrade'), owsArb)
        .map(([a, t, b]) => `${a}${t}${b}`);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(valueArb, withToken('upgrade'), withToken('websocket')), {
          maxLength: 4,
        }),
        fc.constantFrom('upgrade', 'websocket'),
        (values, token) =>
          listHasToken(values, token) === listed(values, token) &&
          values.every((value) => valueHasToken(value, token) === listed([value], token)),
      ),
      { numRuns: 2000 },
    );
  });
});
