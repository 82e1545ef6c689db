import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HandshakeError,
  checkHost,
  checkOrigin,
  formatIPv6,
  isLoopbackOrPrivate,
  isSubdomainOf,
  normalizeOrigin,
  ownOrigins,
  parseAuthority,
  parseIPv4,
  parseIPv6,
} from '../../../src/protocol/handshake/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HandshakeError, String(e));
    return e.code;
  }
  return undefined;
}

describe('RFC 6454 origin normalisation', () => {
  const cases: Array<[string, string | undefined]> = [
    ['https://example.com', 'https://example.com'],
    ['HTTPS://EXAMPLE.com:443', 'https://example.com'],
    ['http://example.com:80', 'http://example.com'],
    ['http://example.com:443', 'http://example.com:443'],
    ['https://example.com:80', 'https://example.com:80'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://[0:0:0:0:0:0:0:1]', 'http://[::1]'],
    ['http://[2001:DB8::1]:8443', 'http://[2001:db8::1]:8443'],
    ['chrome-extension://abcdef', 'chrome-extension://abcdef'],
    ['null', undefined],
    ['https://example.com/', undefined],
    ['https://user@example.com', undefined],
    ['https://example.com:', undefined],
    ['https://example.com:0', undefined],
    ['https://exa mple.com', undefined],
    ['https://exa%6dple.com', undefined],
    ['//example.com', undefined],
    ['1http://example.com', undefined],
    ['https://[::1', undefined],
    ['https://[::1%25eth0]', undefined],
    ['https://.example.com', undefined],
    ['https://', undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${String(expected)}`, () => {
      assert.equal(normalizeOrigin(input)?.origin, expected);
    });
  }
});

describe('§10.2 origin policy unit cases (H3)', () => {
  const own = ['https://app.example'];
  const allow = { origins: ['https://*.example.com', 'http://localhost:3000'] };
  const accepted = (origin: string, policy = allow): boolean => {
    try {
      return checkOrigin([origin], own, policy, undefined) === origin;
    } catch (e) {
      assert.ok(e instanceof HandshakeError);
      assert.equal(e.code, 'ORIGIN_NOT_ALLOWED');
      return false;
    }
  };

  test('exact same-origin and listed origins pass', () => {
    assert.ok(accepted('https://app.example'));
    assert.ok(accepted('https://APP.EXAMPLE:443'));
    assert.ok(accepted('http://localhost:3000'));
    assert.ok(accepted('https://a.example.com'));
    assert.ok(accepted('https://x-y.a.example.com'));
  });

  for (const origin of [
    'https://evil.example',
    'https://app.example.evil.example',
    'https://appXexample',
    'https://example.com',
    'https://example.com.evil.com',
    'https://appXexample.com',
    'https://aexample.com',
    'http://a.example.com',
    'https://a.example.com:8443',
    'http://app.example',
    'http://localhost',
    'http://localhost:3001',
    'https://127.0.0.1',
    'https://[::1]',
  ]) {
    test(`${origin} -> ORIGIN_NOT_ALLOWED`, () => {
      assert.equal(
        codeOf(() => checkOrigin([origin], own, allow, undefined)),
        'ORIGIN_NOT_ALLOWED',
      );
    });
  }

  test('a trailing slash on a configured entry is tolerated', () => {
    assert.ok(accepted('https://b.example', { origins: ['https://b.example/'] }));
    assert.ok(accepted('https://x.c.example', { origins: ['https://*.c.example/'] }));
    assert.deepEqual(ownOrigins(parseAuthority('h')!, false, ['https://p.example/']), [
      'http://h',
      'https://p.example',
    ]);
  });

  test('null is refused unless listed', () => {
    assert.equal(
      codeOf(() => checkOrigin(['null'], own, allow, undefined)),
      'ORIGIN_NOT_ALLOWED',
    );
    assert.equal(checkOrigin(['null'], own, { origins: ['null'] }, undefined), 'null');
  });

  test('wildcard entries need a name suffix; non-origins are refused as policy errors', () => {
    for (const entry of [
      '*.example.com',
      'https://*.',
      'https://*.127.0.0.1',
      'https://a.*.com',
      'example.com',
    ]) {
      assert.equal(
        codeOf(() => checkOrigin(['https://x.example.com'], [], { origins: [entry] }, undefined)),
        'INVALID_ORIGIN_POLICY',
        entry,
      );
    }
  });

  test('property: a wildcard matches exactly the names with one or more extra labels', () => {
    const label = fc.string({
      unit: fc.constantFrom(...'abcx-0'.split('')),
      minLength: 1,
      maxLength: 5,
    });
    fc.assert(
      fc.property(fc.array(label, { minLength: 0, maxLength: 3 }), label, (prefix, junk) => {
        const host = [...prefix, 'example', 'com'].join('.');
        const expected = prefix.length > 0;
        assert.equal(
          accepted(`https://${host}`, { origins: ['https://*.example.com'] }),
          expected || host === 'app.example',
        );
        // Glued prefixes and suffix extensions never match.
        assert.equal(isSubdomainOf(`${junk}example.com`, 'example.com'), false);
        assert.equal(isSubdomainOf(`${junk}.example.com.${junk}`, 'example.com'), false);
      }),
      { numRuns: 200 },
    );
  });

  test('ownOrigins derives http(s) + Host with default ports elided', () => {
    const host = parseAuthority('Example.com:443')!;
    assert.deepEqual(ownOrigins(host, true), ['https://example.com']);
    assert.deepEqual(ownOrigins(host, false), ['http://example.com:443']);
    assert.deepEqual(
      ownOrigins(parseAuthority('[::1]:80')!, false, ['https://Proxy.example', 'bad']),
      ['http://[::1]', 'https://proxy.example'],
    );
  });
});

describe('§4.2.1 item 2 Host parsing and DNS rebinding (H9)', () => {
  test('parseAuthority normalises names and IP literals', () => {
    assert.deepEqual(parseAuthority('Example.COM:8080'), {
      host: 'example.com',
      kind: 'name',
      port: 8080,
    });
    assert.deepEqual(parseAuthority('127.0.0.1'), {
      host: '127.0.0.1',
      kind: 'ipv4',
      port: undefined,
    });
    assert.deepEqual(parseAuthority('[::FFFF:127.0.0.1]:1'), {
      host: '[::ffff:7f00:1]',
      kind: 'ipv6',
      port: 1,
    });
    for (const bad of [
      '',
      ':80',
      'a:b',
      'a:80:80',
      '::1',
      '[::1]x',
      'a@b',
      'a/b',
      'a..b',
      '.a',
      '[1::2::3]',
      'a:-1',
      'é.com',
    ]) {
      assert.equal(parseAuthority(bad), undefined, bad);
    }
  });

  test('Host attacker.example against a 127.0.0.1 listener -> 403', () => {
    assert.equal(
      codeOf(() => checkHost('attacker.example', { listenAddress: '127.0.0.1' })),
      'HOST_NOT_ALLOWED',
    );
    assert.equal(
      codeOf(() => checkHost('attacker.example:8080', { listenAddress: '127.0.0.1' })),
      'HOST_NOT_ALLOWED',
    );
    assert.equal(
      codeOf(() => checkHost('localhost.attacker.example', { listenAddress: '127.0.0.1' })),
      'HOST_NOT_ALLOWED',
    );
    assert.equal(
      codeOf(() => checkHost('127.0.0.1.nip.io', { listenAddress: '127.0.0.1' })),
      'HOST_NOT_ALLOWED',
    );
  });

  test('the listen address, localhost and allowedHosts pass', () => {
    assert.equal(checkHost('127.0.0.1:80', { listenAddress: '127.0.0.1' }).host, '127.0.0.1');
    assert.equal(checkHost('[::1]', { listenAddress: '[::1]' }).host, '[::1]');
    assert.equal(checkHost('[0::1]:9', { listenAddress: '::1' }).host, '[::1]');
    assert.equal(checkHost('[fe80::1]', { listenAddress: 'fe80::1%eth0' }).host, '[fe80::1]');
    assert.equal(checkHost('127.0.0.1', { listenAddress: 'localhost' }).host, '127.0.0.1');
    assert.ok(checkHost('localhost.', { listenAddress: '10.1.2.3' }));
    assert.ok(checkHost('a.b.localhost:1', { listenAddress: '10.1.2.3' }));
    assert.ok(
      checkHost('dev.example:8080', { listenAddress: '10.1.2.3', allowedHosts: ['dev.example'] }),
    );
    assert.ok(
      checkHost('dev.example:8080', {
        listenAddress: '10.1.2.3',
        allowedHosts: ['dev.example:8080'],
      }),
    );
    assert.equal(
      codeOf(() =>
        checkHost('dev.example:9090', {
          listenAddress: '10.1.2.3',
          allowedHosts: ['dev.example:8080'],
        }),
      ),
      'HOST_NOT_ALLOWED',
    );
    assert.ok(checkHost('a.dev.example', { allowedHosts: ['*.dev.example'] }));
    assert.equal(
      codeOf(() => checkHost('dev.example', { allowedHosts: ['*.dev.example'] })),
      'HOST_NOT_ALLOWED',
    );
    assert.ok(checkHost('[::1]', { allowedHosts: ['::1'] }));
  });

  test('invalid Host -> 400 INVALID_HOST whatever the policy', () => {
    assert.equal(
      codeOf(() => checkHost('a b', {})),
      'INVALID_HOST',
    );
  });
});

describe('IP literals', () => {
  test('IPv4 is strict dotted decimal', () => {
    assert.deepEqual(parseIPv4('192.168.0.1'), [192, 168, 0, 1]);
    for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '0x7f.0.0.1', '1.2.3.', '']) {
      assert.equal(parseIPv4(bad), undefined, bad);
    }
  });

  test('IPv4 parsing agrees with the RFC 3986 dec-octet grammar on arbitrary text', () => {
    // dec-octet = DIGIT / %x31-39 DIGIT / "1" 2DIGIT / "2" %x30-34 DIGIT / "25" %x30-35
    const decOctet = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])';
    const grammar = new RegExp(`^${decOctet}\\.${decOctet}\\.${decOctet}\\.${decOctet}$`);
    const octet = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.constantFrom('', '0', '00', '01', '007', '255', '256', '1000', 'x', '-1', ' 1'),
    );
    const dotted = fc.array(octet, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.'));
    fc.assert(
      fc.property(fc.oneof(dotted, fc.string({ maxLength: 20 })), (text) => {
        const parsed = parseIPv4(text);
        if (!grammar.test(text)) return parsed === undefined;
        return parsed !== undefined && parsed.join('.') === text;
      }),
      { numRuns: 5000 },
    );
  });

  test('IPv6 parsing and RFC 5952 formatting', () => {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ];
    for (const [input, expected] of cases)
      assert.equal(formatIPv6(parseIPv6(input)!), expected, input);
    for (const bad of [
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      ':1',
      '1:',
      '12345::',
      'g::',
      '1:2:3:4:5:6:7::8:9',
      '::1.2.3',
      '1.2.3.4::',
    ]) {
      assert.equal(parseIPv6(bad), undefined, bad);
    }
  });

  test('loopback and private ranges', () => {
    for (const yes of [
      '127.0.0.1',
      '127.255.0.9',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.1.1',
      '::1',
      '[::1]',
      'fc00::1',
      'fd12::1',
      'fe80::1%eth0',
      'febf::1',
      '::ffff:127.0.0.1',
      'localhost',
    ]) {
      assert.equal(isLoopbackOrPrivate(yes), true, yes);
    }
    for (const no of [
      '0.0.0.0',
      '::',
      '8.8.8.8',
      '172.15.0.1',
      '172.32.0.1',
      '192.169.0.1',
      '2001:db8::1',
      'fec0::1',
      '::ffff:8.8.8.8',
      'example.com',
    ]) {
      assert.equal(isLoopbackOrPrivate(no), false, no);
    }
  });
});
