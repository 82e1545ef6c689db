/**
 * RFC 8441 §4-5: the sans-I/O extended CONNECT validator, the accept builder, the client request
 * builder and response check. The HTTP/1.1 validator is the oracle for everything HTTP/2 leaves
 * unchanged (Origin, Host/:authority, version): the same request gets the same status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildExtendedConnectAccept,
  createExtendedConnectRequest,
  isExtendedConnect,
  validateExtendedConnect,
  validateExtendedConnectResponse,
  validateUpgradeRequest,
  type H2Field,
  type ServerPolicy,
} from '../../../src/protocol/handshake/index.js';

const base: H2Field[] = [
  [':method', 'CONNECT'],
  [':protocol', 'websocket'],
  [':scheme', 'https'],
  [':path', '/chat?room=1'],
  [':authority', 'localhost:8443'],
  ['sec-websocket-version', '13'],
];

function without(name: string, fields: H2Field[] = base): H2Field[] {
  return fields.filter(([n]) => n !== name);
}
function replaced(name: string, value: string): H2Field[] {
  return base.map(([n, v]) => (n === name ? [n, value] : [n, v]));
}
function status(fields: H2Field[], policy: ServerPolicy<unknown> = { secure: true }): number {
  const decision = validateExtendedConnect(fields, policy);
  return decision.ok ? 200 : decision.status;
}
function code(fields: H2Field[], policy: ServerPolicy<unknown> = { secure: true }): string {
  const decision = validateExtendedConnect(fields, policy);
  return decision.ok ? 'OK' : decision.code;
}

test('§4: a well-formed extended CONNECT is accepted; path, scheme, authority and offers come back', () => {
  const decision = validateExtendedConnect(
    [
      ...base,
      ['sec-websocket-protocol', 'chat.v2, chat.v1'],
      ['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits'],
      ['origin', 'https://localhost:8443'],
    ],
    { secure: true, listenAddress: '127.0.0.1' },
  );
  assert.ok(decision.ok, JSON.stringify(decision));
  assert.equal(decision.path, '/chat?room=1');
  assert.equal(decision.scheme, 'https');
  assert.equal(decision.host, 'localhost:8443');
  assert.deepEqual(decision.protocols, ['chat.v2', 'chat.v1']);
  assert.equal(decision.extensions[0].name, 'permessage-deflate');
  assert.equal(decision.origin, 'https://localhost:8443');
});

test('§5: no sec-websocket-key is needed, and one sent anyway is ignored', () => {
  assert.equal(status(base), 200);
  assert.equal(status([...base, ['sec-websocket-key', 'not even base64']]), 200);
});

test('§4: :method, :protocol, :scheme and :path are required and checked', () => {
  assert.equal(code(replaced(':method', 'GET')), 'METHOD_NOT_ALLOWED');
  assert.equal(status(replaced(':method', 'GET')), 405);
  assert.equal(code(without(':protocol')), 'MISSING_UPGRADE');
  assert.equal(code(replaced(':protocol', 'h2c')), 'UNSUPPORTED_PROTOCOL');
  assert.equal(code([...base, [':protocol', 'websocket']]), 'UNSUPPORTED_PROTOCOL');
  assert.equal(
    status(replaced(':protocol', 'WebSocket')),
    200,
    'token compared case-insensitively',
  );
  assert.equal(code(without(':scheme')), 'INVALID_SCHEME');
  assert.equal(code(replaced(':scheme', 'ftp')), 'INVALID_SCHEME');
  assert.equal(status(replaced(':scheme', 'http'), {}), 200);
  assert.equal(code(without(':path')), 'INVALID_PATH');
  assert.equal(code(replaced(':path', '')), 'INVALID_PATH');
  assert.equal(code(replaced(':path', '*')), 'INVALID_PATH');
  for (const fields of [without(':scheme'), without(':path'), replaced(':protocol', 'h2c')]) {
    assert.equal(status(fields), 400);
  }
});

test('one :authority (it is the Host); a host field must agree with it (RFC 9113 §8.3.1)', () => {
  assert.equal(code(without(':authority')), 'MISSING_HOST');
  assert.equal(code([...base, [':authority', 'localhost:8443']]), 'DUPLICATE_HOST');
  assert.equal(code([...base, ['host', 'other.example']]), 'DUPLICATE_HOST');
  assert.equal(status([...base, ['host', 'localhost:8443']]), 200);
  assert.equal(code(replaced(':authority', 'bad host')), 'INVALID_HOST');
});

test('version 13 only: 426 with sec-websocket-version: 13 and no Upgrade field', () => {
  for (const fields of [
    without('sec-websocket-version'),
    replaced('sec-websocket-version', '8'),
    replaced('sec-websocket-version', '14'),
    replaced('sec-websocket-version', '13, 8'),
    [...base, ['sec-websocket-version', '13']] as H2Field[],
  ]) {
    const decision = validateExtendedConnect(fields, { secure: true });
    assert.ok(!decision.ok);
    assert.equal(decision.status, 426);
    assert.equal(decision.code, 'UNSUPPORTED_VERSION');
    assert.deepEqual(decision.headers, [['sec-websocket-version', '13']]);
  }
});

test('a content-length on the CONNECT is refused (the stream data is the WebSocket)', () => {
  assert.equal(code([...base, ['content-length', '8']]), 'UNEXPECTED_BODY');
  assert.equal(code([...base, ['content-length', '0']]), 'UNEXPECTED_BODY');
});

test('origin and :authority policies are the HTTP/1.1 ones (checklist H3, H9)', () => {
  const loopback = { secure: true, listenAddress: '127.0.0.1' };
  const rebind = replaced(':authority', 'attacker.example');
  assert.equal(code(rebind, loopback), 'HOST_NOT_ALLOWED');
  assert.equal(status(rebind, loopback), 403);
  assert.equal(status(rebind, { ...loopback, allowedHosts: ['attacker.example'] }), 200);
  const evil: H2Field[] = [...base, ['origin', 'https://evil.example']];
  assert.equal(code(evil), 'ORIGIN_NOT_ALLOWED');
  assert.equal(status(evil, { secure: true, origins: ['https://evil.example'] }), 200);
  assert.equal(code([...base, ['origin', 'http://localhost:8443']]), 'ORIGIN_NOT_ALLOWED');
  assert.equal(
    code([...base, ['origin', 'https://localhost:8443'], ['origin', 'https://localhost:8443']]),
    'DUPLICATE_ORIGIN',
  );
  assert.equal(code([...base, ['origin', 'not an origin']]), 'INVALID_ORIGIN');
  assert.equal(code(base, { secure: true, requireOrigin: true }), 'MISSING_ORIGIN');
  // A predicate gets the context the adapter passes.
  const seen: unknown[] = [];
  const decision = validateExtendedConnect(
    evil,
    { secure: true, origins: (origin, req) => (seen.push(origin, req), true) },
    'the request',
  );
  assert.ok(decision.ok);
  assert.deepEqual(seen, ['https://evil.example', 'the request']);
  const throwing = validateExtendedConnect(evil, {
    origins: () => {
      throw new Error('boom');
    },
  });
  assert.ok(!throwing.ok);
  assert.equal(throwing.status, 500);
});

test('malformed subprotocol or extension offers are 400, as on HTTP/1.1 (checklist H5)', () => {
  assert.equal(code([...base, ['sec-websocket-protocol', 'a b']]), 'MALFORMED_PROTOCOLS');
  assert.equal(code([...base, ['sec-websocket-extensions', 'a;b="']]), 'MALFORMED_EXTENSIONS');
});

/** The HTTP/1.1 request a browser would send for the same socket. */
function h1Headers(authority: string, extra: H2Field[]): Array<[string, string]> {
  return [
    ['host', authority],
    ['upgrade', 'websocket'],
    ['connection', 'Upgrade'],
    ['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ=='],
    ...extra.map(([n, v]): [string, string] => [n, v]),
  ];
}

test('property: for Origin, Host/:authority, version, subprotocol and extension fields, HTTP/2 and HTTP/1.1 give the same verdict', () => {
  const names = fc.constantFrom(
    'origin',
    'sec-websocket-version',
    'sec-websocket-protocol',
    'sec-websocket-extensions',
  );
  const values = fc.oneof(
    fc.constantFrom(
      '13',
      '8',
      'https://localhost',
      'https://localhost:8443',
      'http://localhost:8443',
      'https://app.example.com',
      'https://evil.example',
      'null',
      'chat, superchat',
      'permessage-deflate',
      'a;b="',
      '',
    ),
    fc.string({ maxLength: 20 }),
  );
  fc.assert(
    fc.property(
      fc.constantFrom('localhost:8443', '127.0.0.1:8443', 'attacker.example', 'app.example.com'),
      fc.array(fc.tuple(names, values), { maxLength: 6 }),
      fc.record({
        secure: fc.boolean(),
        listenAddress: fc.option(fc.constantFrom('127.0.0.1', '0.0.0.0', '10.0.0.2'), {
          nil: undefined,
        }),
        requireOrigin: fc.option(fc.boolean(), { nil: undefined }),
        origins: fc.option(fc.constant(['https://*.example.com', 'null']), { nil: undefined }),
        allowedHosts: fc.option(fc.constant(['app.example.com']), { nil: undefined }),
      }),
      (authority, extra, policy) => {
        const h1 = validateUpgradeRequest(
          { method: 'GET', target: '/', httpVersion: '1.1', headers: h1Headers(authority, extra) },
          policy,
        );
        const h2 = validateExtendedConnect(
          [
            [':method', 'CONNECT'],
            [':protocol', 'websocket'],
            [':scheme', 'https'],
            [':path', '/'],
            [':authority', authority],
            ...extra,
          ],
          policy,
        );
        assert.equal(h2.ok, h1.ok);
        if (!h1.ok && !h2.ok) {
          assert.equal(h2.status, h1.status, `${h1.code} vs ${h2.code}`);
          assert.equal(h2.code, h1.code);
        }
        if (h1.ok && h2.ok) {
          assert.deepEqual(h2.protocols, h1.protocols);
          assert.equal(h2.origin, h1.origin);
        }
      },
    ),
    { numRuns: 400 },
  );
});

test('isExtendedConnect: CONNECT with :protocol only', () => {
  assert.equal(isExtendedConnect(base), true);
  assert.equal(isExtendedConnect(without(':protocol')), false);
  assert.equal(isExtendedConnect(replaced(':method', 'GET')), false);
});

test('the accept is :status 200 with the selections and no sec-websocket-accept; H10 guards hold', () => {
  assert.deepEqual(buildExtendedConnectAccept({}), [[':status', '200']]);
  assert.deepEqual(
    buildExtendedConnectAccept({
      protocol: 'chat',
      offeredProtocols: ['chat'],
      extensions: 'permessage-deflate',
      headers: [['Set-Cookie', 'a=b']],
    }),
    [
      [':status', '200'],
      ['sec-websocket-protocol', 'chat'],
      ['sec-websocket-extensions', 'permessage-deflate'],
      ['set-cookie', 'a=b'],
    ],
  );
  const fails = (options: Parameters<typeof buildExtendedConnectAccept>[0], expected: string) =>
    assert.throws(() => buildExtendedConnectAccept(options), { code: expected });
  fails({ protocol: 'other', offeredProtocols: ['chat'] }, 'UNOFFERED_PROTOCOL');
  fails({ protocol: 'a\r\nb' }, 'INVALID_PROTOCOL');
  fails({ headers: [['x', 'a\r\nb']] }, 'INVALID_RESPONSE_HEADER');
  fails({ headers: [['bad name', 'v']] }, 'INVALID_RESPONSE_HEADER');
  fails({ headers: [['Connection', 'close']] }, 'RESERVED_RESPONSE_HEADER');
  fails({ headers: [['sec-websocket-accept', 'x']] }, 'RESERVED_RESPONSE_HEADER');
});

test('the client request carries the pseudo-headers, version 13, offers, and refuses unsendable fields', () => {
  const fields = createExtendedConnectRequest({
    authority: 'example.com',
    path: '/socket',
    protocols: ['a', 'b'],
    extensions: 'permessage-deflate',
    origin: 'https://example.com',
    headers: [['Authorization', 'Bearer x']],
  });
  assert.deepEqual(fields, [
    [':method', 'CONNECT'],
    [':protocol', 'websocket'],
    [':scheme', 'https'],
    [':path', '/socket'],
    [':authority', 'example.com'],
    ['sec-websocket-version', '13'],
    ['sec-websocket-protocol', 'a, b'],
    ['sec-websocket-extensions', 'permessage-deflate'],
    ['origin', 'https://example.com'],
    ['authorization', 'Bearer x'],
  ]);
  assert.ok(!fields.some(([n]) => n === 'sec-websocket-key'));
  for (const bad of ['Connection', 'Upgrade', 'Host', 'Sec-WebSocket-Key', 'bad name']) {
    assert.throws(
      () => createExtendedConnectRequest({ authority: 'a', path: '/', headers: [[bad, 'v']] }),
      { code: 'INVALID_REQUEST_HEADER' },
    );
  }
  assert.throws(
    () => createExtendedConnectRequest({ authority: 'a', path: '/', headers: [['x', 'a\nb']] }),
    { code: 'INVALID_REQUEST_HEADER' },
  );
  assert.throws(
    () => createExtendedConnectRequest({ authority: 'a', path: '/', protocols: ['a b'] }),
    {
      code: 'INVALID_SUBPROTOCOL',
    },
  );
});

test('the client checks the answer: 2xx, offered subprotocol and extensions only', () => {
  const expect = { protocols: ['chat'], extensionsOffered: ['permessage-deflate'] };
  const ok = validateExtendedConnectResponse(
    200,
    [
      ['sec-websocket-protocol', 'chat'],
      ['sec-websocket-extensions', 'permessage-deflate; server_no_context_takeover'],
    ],
    expect,
  );
  assert.equal(ok.protocol, 'chat');
  assert.equal(ok.extensions[0].name, 'permessage-deflate');
  assert.equal(validateExtendedConnectResponse(200, [], expect).protocol, '');
  const fails = (s: number, fields: H2Field[], expected: string) =>
    assert.throws(() => validateExtendedConnectResponse(s, fields, expect), { code: expected });
  fails(403, [], 'UNEXPECTED_STATUS');
  fails(101, [], 'UNEXPECTED_STATUS');
  fails(200, [['sec-websocket-protocol', 'other']], 'UNOFFERED_PROTOCOL');
  fails(200, [['sec-websocket-protocol', 'chat, chat']], 'UNOFFERED_PROTOCOL');
  fails(200, [['sec-websocket-extensions', 'x-foo']], 'UNOFFERED_EXTENSION');
  fails(
    200,
    [['sec-websocket-extensions', 'permessage-deflate, permessage-deflate']],
    'DUPLICATE_EXTENSION',
  );
  fails(200, [['sec-websocket-extensions', 'a;b="']], 'MALFORMED_EXTENSIONS');
});

test('a failure inside extended CONNECT validation that is not a refusal is a 500 INTERNAL_ERROR', () => {
  // Fields that fail when read (a bug in an adapter) still get an answer, not a throw.
  const fields = new Proxy([] as H2Field[], {
    get() {
      throw new Error('broken adapter');
    },
  });
  const decision = validateExtendedConnect(fields);
  assert.equal(decision.ok, false);
  assert.equal(!decision.ok && decision.status, 500);
  assert.equal(!decision.ok && decision.code, 'INTERNAL_ERROR');
});
