import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { nodePlatform } from '../../../src/node/platform.js';
import {
  HandshakeError,
  HttpHeadParser,
  buildAcceptResponse,
  buildRejectResponse,
  toRejection,
  validateUpgradeRequest,
  type RequestHead,
  type ServerPolicy,
  type UpgradeDecision,
} from '../../../src/protocol/handshake/index.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** The §1.3 request with overrides: `null` removes a header, an array gives several. */
function request(
  overrides: Record<string, string | string[] | null> = {},
  line: Partial<Pick<RequestHead, 'method' | 'httpVersion'>> = {},
): RequestHead {
  const base: Record<string, string | string[] | null> = {
    host: 'server.example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13',
    ...overrides,
  };
  const headers: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(base)) {
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.push([name, v]);
  }
  return {
    method: line.method ?? 'GET',
    target: '/chat',
    httpVersion: line.httpVersion ?? '1.1',
    headers,
  };
}

function rejected(decision: UpgradeDecision, status: number, code: string): void {
  assert.equal(decision.ok, false, `expected a ${status} rejection, got acceptance`);
  if (decision.ok) return;
  assert.equal(decision.status, status, `${decision.code}: ${decision.reason}`);
  assert.equal(decision.code, code);
  assert.ok(decision.reason.length > 0);
}

function header(decision: UpgradeDecision, name: string): string | undefined {
  return decision.ok ? undefined : decision.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

describe('§4.2.1 reading the client opening handshake', () => {
  test('accepts the §1.3 example and reports key, host, offers', () => {
    const decision = validateUpgradeRequest(
      request({
        'sec-websocket-protocol': ['chat, superchat', 'v2'],
        'sec-websocket-extensions': ['permessage-deflate; client_max_window_bits', 'x-foo'],
        connection: 'keep-alive, Upgrade',
        upgrade: 'h2c, WebSocket',
      }),
    );
    assert.ok(decision.ok);
    assert.equal(decision.key, KEY);
    assert.equal(decision.host, 'server.example.com');
    assert.equal(decision.origin, undefined);
    assert.deepEqual(decision.protocols, ['chat', 'superchat', 'v2']);
    assert.deepEqual(
      decision.extensions.map((e) => e.name),
      ['permessage-deflate', 'x-foo'],
    );
  });

  test('H1 item 1: a method other than GET -> 405 + Allow: GET', () => {
    for (const method of ['POST', 'PUT', 'HEAD', 'get']) {
      const decision = validateUpgradeRequest(request({}, { method }));
      rejected(decision, 405, 'METHOD_NOT_ALLOWED');
      assert.equal(header(decision, 'allow'), 'GET');
    }
  });

  test('H1 item 1: HTTP/1.0 -> 505; 1.1 and later accepted', () => {
    rejected(
      validateUpgradeRequest(request({}, { httpVersion: '1.0' })),
      505,
      'HTTP_VERSION_NOT_SUPPORTED',
    );
    rejected(
      validateUpgradeRequest(request({}, { httpVersion: '0.9' })),
      505,
      'HTTP_VERSION_NOT_SUPPORTED',
    );
    rejected(
      validateUpgradeRequest(request({}, { httpVersion: 'x' })),
      505,
      'HTTP_VERSION_NOT_SUPPORTED',
    );
    assert.ok(validateUpgradeRequest(request({}, { httpVersion: '1.2' })).ok);
  });

  test('H9 item 2: missing or duplicate Host -> 400; malformed Host -> 400', () => {
    rejected(validateUpgradeRequest(request({ host: null })), 400, 'MISSING_HOST');
    rejected(
      validateUpgradeRequest(request({ host: ['a.example', 'b.example'] })),
      400,
      'DUPLICATE_HOST',
    );
    rejected(
      validateUpgradeRequest(request({ host: ['a.example', 'a.example'] })),
      400,
      'DUPLICATE_HOST',
    );
    for (const bad of [
      '',
      'user@host',
      'a b',
      'host:',
      'host:99999',
      'host/path',
      '[::1',
      'a..b',
    ]) {
      rejected(validateUpgradeRequest(request({ host: bad })), 400, 'INVALID_HOST');
    }
  });

  test('H1 item 3: Upgrade missing or not websocket -> 426 + Upgrade: websocket', () => {
    for (const upgrade of [null, 'h2c', 'websocket2', 'web socket', '']) {
      const decision = validateUpgradeRequest(request({ upgrade }));
      rejected(decision, 426, 'MISSING_UPGRADE');
      assert.equal(header(decision, 'upgrade'), 'websocket');
    }
  });

  test('a plain GET without upgrade headers -> 426', () => {
    const decision = validateUpgradeRequest({
      method: 'GET',
      target: '/',
      httpVersion: '1.1',
      headers: [['host', 'example.com']],
    });
    rejected(decision, 426, 'MISSING_UPGRADE');
  });

  test('H1 item 4: Connection without upgrade -> 426', () => {
    for (const connection of [null, 'keep-alive', 'upgrades', 'close']) {
      rejected(validateUpgradeRequest(request({ connection })), 426, 'MISSING_CONNECTION_UPGRADE');
    }
    assert.ok(validateUpgradeRequest(request({ connection: ['keep-alive', 'UPGRADE'] })).ok);
  });

  test('H2 item 5: bad, missing or repeated Sec-WebSocket-Key -> 400', () => {
    rejected(validateUpgradeRequest(request({ 'sec-websocket-key': null })), 400, 'MISSING_KEY');
    rejected(
      validateUpgradeRequest(request({ 'sec-websocket-key': [KEY, KEY] })),
      400,
      'DUPLICATE_KEY',
    );
    for (const key of [
      KEY.slice(1),
      KEY + 'A',
      'dGhlIHNhbXBsZSBub25jZQ',
      '!GhlIHNhbXBsZSBub25jZQ==',
      'dGhlIHNhbXBsZSBub25jZWE=',
      `${KEY}, ${KEY}`,
      '',
    ]) {
      rejected(validateUpgradeRequest(request({ 'sec-websocket-key': key })), 400, 'INVALID_KEY');
    }
  });

  test('H2 item 6: version missing, 8, 12, 14, "13, 8" or repeated -> 426 + Sec-WebSocket-Version: 13', () => {
    for (const version of [null, '8', '12', '14', '13, 8', ['13', '13'], ['13', '8'], '013', '']) {
      const decision = validateUpgradeRequest(request({ 'sec-websocket-version': version }));
      rejected(decision, 426, 'UNSUPPORTED_VERSION');
      assert.equal(header(decision, 'sec-websocket-version'), '13');
    }
  });

  test('H4: a body (Content-Length != 0, any Transfer-Encoding) -> 400', () => {
    assert.ok(validateUpgradeRequest(request({ 'content-length': '0' })).ok);
    const bodies: Array<Record<string, string | string[]>> = [
      { 'content-length': '8' },
      { 'content-length': ['0', '0'] },
      { 'content-length': '00' },
      { 'content-length': '-0' },
      { 'transfer-encoding': 'chunked' },
      { 'transfer-encoding': 'identity', 'content-length': '0' },
    ];
    for (const overrides of bodies) {
      rejected(validateUpgradeRequest(request(overrides)), 400, 'UNEXPECTED_BODY');
    }
  });

  test('§4.1 / §9.1: malformed protocol or extension lists -> 400', () => {
    rejected(
      validateUpgradeRequest(request({ 'sec-websocket-protocol': 'a b' })),
      400,
      'MALFORMED_PROTOCOLS',
    );
    rejected(
      validateUpgradeRequest(request({ 'sec-websocket-protocol': '' })),
      400,
      'MALFORMED_PROTOCOLS',
    );
    rejected(
      validateUpgradeRequest(request({ 'sec-websocket-extensions': 'a;b="' })),
      400,
      'MALFORMED_EXTENSIONS',
    );
  });

  test('H5: hostile lists are handled quickly and prototype names are inert', () => {
    const started = performance.now();
    const decision = validateUpgradeRequest(
      request({
        'sec-websocket-protocol': 'a' + ' '.repeat(50_000) + ',b',
        'sec-websocket-extensions': '__proto__; constructor=1, hasOwnProperty',
      }),
    );
    assert.ok(decision.ok);
    assert.deepEqual(decision.protocols, ['a', 'b']);
    assert.deepEqual(
      decision.extensions.map((e) => e.name),
      ['__proto__', 'hasownproperty'],
    );
    rejected(
      validateUpgradeRequest(
        request({ 'sec-websocket-extensions': 'a;b="' + '\\c'.repeat(10_000) }),
      ),
      400,
      'MALFORMED_EXTENSIONS',
    );
    assert.ok(performance.now() - started < 2000);
  });
});

describe('§10.2 origin policy (H3)', () => {
  const policy: ServerPolicy = { origins: ['https://app.example', 'https://*.example.com'] };

  test('same-origin (http + Host, default port elided, case-insensitive) is accepted by default', () => {
    for (const origin of ['http://server.example.com', 'HTTP://Server.Example.COM:80']) {
      const decision = validateUpgradeRequest(request({ origin }));
      assert.ok(decision.ok, origin);
      assert.equal(decision.origin, origin);
    }
    assert.ok(
      validateUpgradeRequest(request({ host: 'h.example:8080', origin: 'http://h.example:8080' }))
        .ok,
    );
    rejected(
      validateUpgradeRequest(request({ host: 'h.example:8080', origin: 'http://h.example' })),
      403,
      'ORIGIN_NOT_ALLOWED',
    );
  });

  test('secure flag: same-origin is https://Host', () => {
    assert.ok(
      validateUpgradeRequest(request({ origin: 'https://server.example.com' }), { secure: true })
        .ok,
    );
    rejected(
      validateUpgradeRequest(request({ origin: 'http://server.example.com' }), { secure: true }),
      403,
      'ORIGIN_NOT_ALLOWED',
    );
    assert.ok(
      validateUpgradeRequest(request({ origin: 'https://server.example.com' }), {
        serverOrigins: ['https://server.example.com'],
      }).ok,
    );
  });

  test('no Origin -> accepted unless requireOrigin (403)', () => {
    assert.ok(validateUpgradeRequest(request(), policy).ok);
    rejected(
      validateUpgradeRequest(request(), { ...policy, requireOrigin: true }),
      403,
      'MISSING_ORIGIN',
    );
  });

  for (const origin of [
    'https://evil.example',
    'null',
    'https://app.example.evil.example',
    'https://appXexample',
    'https://example.com.evil.com',
    'https://appXexample.com',
    'https://example.com',
    'http://app.example',
    'https://app.example:8443',
    'http://127.0.0.1',
    'http://[::1]',
    'http://10.0.0.1:8080',
    'wss://app.example',
  ]) {
    test(`H3: Origin ${origin} -> 403`, () => {
      rejected(validateUpgradeRequest(request({ origin }), policy), 403, 'ORIGIN_NOT_ALLOWED');
    });
  }

  test('H3: allow-listed exact and wildcard origins -> accepted', () => {
    for (const origin of [
      'https://app.example',
      'https://APP.example:443',
      'https://a.example.com',
      'https://a.b.example.com',
    ]) {
      assert.ok(validateUpgradeRequest(request({ origin }), policy).ok, origin);
    }
  });

  test('H3: two Origin headers -> 400; unparsable Origin -> 400', () => {
    rejected(
      validateUpgradeRequest(
        request({ origin: ['https://app.example', 'https://app.example'] }),
        policy,
      ),
      400,
      'DUPLICATE_ORIGIN',
    );
    for (const origin of [
      'app.example',
      'https://app.example/',
      'https://user@app.example',
      '*',
      'https://',
    ]) {
      rejected(validateUpgradeRequest(request({ origin }), policy), 400, 'INVALID_ORIGIN');
    }
  });

  test('null is accepted only when listed', () => {
    assert.ok(validateUpgradeRequest(request({ origin: 'null' }), { origins: ['null'] }).ok);
    rejected(
      validateUpgradeRequest(request({ origin: 'null' }), { origins: ['https://*.null'] }),
      403,
      'ORIGIN_NOT_ALLOWED',
    );
  });

  test('predicates receive the normalised origin and the request', () => {
    const seen: string[] = [];
    const decide = (origin: string, req: RequestHead) => {
      seen.push(origin);
      assert.equal(req.target, '/chat');
      return origin.endsWith('.trusted');
    };
    assert.ok(
      validateUpgradeRequest(request({ origin: 'HTTPS://a.Trusted:443' }), { origins: decide }).ok,
    );
    rejected(
      validateUpgradeRequest(request({ origin: 'https://b.other' }), { origins: [decide] }),
      403,
      'ORIGIN_NOT_ALLOWED',
    );
    assert.deepEqual(seen, ['https://a.trusted', 'https://b.other']);
    rejected(
      validateUpgradeRequest(request({ origin: 'https://x' }), {
        origins: () => {
          throw new Error('boom');
        },
      }),
      500,
      'ORIGIN_CHECK_FAILED',
    );
  });

  test('an invalid origins entry -> 500 INVALID_ORIGIN_POLICY', () => {
    rejected(
      validateUpgradeRequest(request({ origin: 'https://x' }), { origins: ['*.example.com'] }),
      500,
      'INVALID_ORIGIN_POLICY',
    );
  });

  test('unsafeAllowAnyOrigin accepts any single origin, still refuses two', () => {
    assert.ok(
      validateUpgradeRequest(request({ origin: 'https://evil.example' }), {
        unsafeAllowAnyOrigin: true,
      }).ok,
    );
    rejected(
      validateUpgradeRequest(request({ origin: ['null', 'null'] }), { unsafeAllowAnyOrigin: true }),
      400,
      'DUPLICATE_ORIGIN',
    );
  });
});

describe('§10.2 DNS rebinding (H9)', () => {
  test('127.0.0.1 listener: Host attacker.example + same-origin Origin -> 403', () => {
    rejected(
      validateUpgradeRequest(
        request({ host: 'attacker.example', origin: 'http://attacker.example' }),
        {
          listenAddress: '127.0.0.1',
        },
      ),
      403,
      'HOST_NOT_ALLOWED',
    );
  });

  test('127.0.0.1 listener: Host 127.0.0.1, localhost, *.localhost or allowedHosts -> accepted', () => {
    for (const host of [
      '127.0.0.1:8080',
      '127.0.0.1',
      'localhost:9',
      'LOCALHOST',
      'app.localhost',
      'dev.test',
    ]) {
      const decision = validateUpgradeRequest(request({ host }), {
        listenAddress: '127.0.0.1',
        allowedHosts: ['dev.test'],
      });
      assert.ok(decision.ok, host);
    }
    rejected(
      validateUpgradeRequest(request({ host: '127.0.0.2' }), { listenAddress: '127.0.0.1' }),
      403,
      'HOST_NOT_ALLOWED',
    );
  });

  test('::1 and private listeners are restricted; public and unspecified ones are not', () => {
    assert.ok(validateUpgradeRequest(request({ host: '[::1]:80' }), { listenAddress: '::1' }).ok);
    rejected(
      validateUpgradeRequest(request({ host: 'evil.example' }), { listenAddress: '::1' }),
      403,
      'HOST_NOT_ALLOWED',
    );
    rejected(
      validateUpgradeRequest(request({ host: 'evil.example' }), { listenAddress: '192.168.1.5' }),
      403,
      'HOST_NOT_ALLOWED',
    );
    assert.ok(
      validateUpgradeRequest(request({ host: '192.168.1.5:80' }), { listenAddress: '192.168.1.5' })
        .ok,
    );
    assert.ok(
      validateUpgradeRequest(request({ host: 'evil.example' }), { listenAddress: '203.0.113.7' })
        .ok,
    );
    assert.ok(
      validateUpgradeRequest(request({ host: 'evil.example' }), { listenAddress: '0.0.0.0' }).ok,
    );
    rejected(
      validateUpgradeRequest(request({ host: 'evil.example' }), {
        listenAddress: '0.0.0.0',
        allowedHosts: ['good.example'],
      }),
      403,
      'HOST_NOT_ALLOWED',
    );
  });
});

describe('§4.2.2 sending the server opening handshake', () => {
  test('§4.2.2 / §1.3: the 101 response carries the example accept value', () => {
    const text = buildAcceptResponse(
      { key: KEY, protocol: 'chat', extensions: 'permessage-deflate' },
      nodePlatform,
    );
    assert.equal(
      text,
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'Sec-WebSocket-Protocol: chat\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate\r\n' +
        '\r\n',
    );
    const parsed = new HttpHeadParser('response').feed(Buffer.from(text, 'latin1'));
    assert.ok(parsed.done);
    assert.equal(parsed.head.status, 101);
  });

  test('H10: CR/LF/NUL in values, non-token names, reserved names and unoffered protocols throw', () => {
    const cases: Array<[Parameters<typeof buildAcceptResponse>[0], string]> = [
      [{ key: KEY, protocol: 'chat\r\nX-Evil: 1' }, 'INVALID_PROTOCOL'],
      [{ key: KEY, protocol: '' }, 'INVALID_PROTOCOL'],
      [{ key: KEY, protocol: 'b', offeredProtocols: ['a'] }, 'UNOFFERED_PROTOCOL'],
      [{ key: KEY, extensions: 'x\r\n' }, 'INVALID_RESPONSE_HEADER'],
      [{ key: KEY, headers: [['X-A', 'a\nb']] }, 'INVALID_RESPONSE_HEADER'],
      [{ key: KEY, headers: [['X-A', 'a\u0000']] }, 'INVALID_RESPONSE_HEADER'],
      [{ key: KEY, headers: [['X A', 'b']] }, 'INVALID_RESPONSE_HEADER'],
      [{ key: KEY, headers: [['X-A\r\n', 'b']] }, 'INVALID_RESPONSE_HEADER'],
      [{ key: KEY, headers: [['Sec-WebSocket-Protocol', 'x']] }, 'RESERVED_RESPONSE_HEADER'],
    ];
    for (const [options, code] of cases) {
      assert.throws(
        () => buildAcceptResponse(options, nodePlatform),
        (e: unknown) => e instanceof HandshakeError && e.code === code && e.status === 500,
        code,
      );
    }
    assert.match(
      buildAcceptResponse(
        { key: KEY, protocol: 'a', offeredProtocols: ['a'], headers: [['Set-Cookie', 'x=1']] },
        nodePlatform,
      ),
      /\r\nSet-Cookie: x=1\r\n\r\n$/,
    );
  });

  test('§4.2.2 step 4 / H1 / H8: rejections carry the status, Connection: close and a body', () => {
    const decision = validateUpgradeRequest(request({ 'sec-websocket-version': '14' }));
    assert.equal(decision.ok, false);
    if (decision.ok) return;
    const text = buildRejectResponse(decision);
    const parser = new HttpHeadParser('response');
    const parsed = parser.feed(Buffer.from(text, 'latin1'));
    assert.ok(parsed.done);
    assert.equal(parsed.head.status, 426);
    assert.equal(parsed.head.reason, 'Upgrade Required');
    const headers = new Map(parsed.head.headers);
    assert.equal(headers.get('connection'), 'close');
    assert.equal(headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(headers.get('sec-websocket-version'), '13');
    const body = Buffer.from(parsed.rest).toString('latin1');
    assert.equal(Number(headers.get('content-length')), body.length);
    assert.equal(body, 'Sec-WebSocket-Version must be 13\n');
  });

  test('reject bodies are printable ASCII; bad statuses and headers throw', () => {
    const text = buildRejectResponse({ status: 400, reason: 'bad\r\nX-Evil: 1 é' });
    assert.ok(text.endsWith('\r\n\r\nbad??X-Evil: 1 ?\n'));
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(
      buildRejectResponse({ status: 431, reason: 'x' }),
      /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/,
    );
    assert.match(
      buildRejectResponse({ status: 599, reason: 'x' }),
      /^HTTP\/1\.1 599 Server Error\r\n/,
    );
    for (const status of [101, 99, 600, 4.5]) {
      assert.throws(() => buildRejectResponse({ status, reason: 'x' }), { code: 'INVALID_STATUS' });
    }
    assert.throws(
      () => buildRejectResponse({ status: 400, reason: 'x', headers: [['Content-Length', '0']] }),
      {
        code: 'RESERVED_RESPONSE_HEADER',
      },
    );
  });

  test('toRejection turns parser errors (431) into responses', () => {
    const parser = new HttpHeadParser('request', { maxHeaders: 1 });
    try {
      parser.feed(Buffer.from('GET / HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n'));
      assert.fail('expected 431');
    } catch (e) {
      assert.ok(e instanceof HandshakeError);
      const rejection = toRejection(e);
      assert.equal(rejection.status, 431);
      assert.match(buildRejectResponse(rejection), /^HTTP\/1\.1 431 /);
    }
  });
});

test('a failure inside validation that is not a refusal is a 500 INTERNAL_ERROR, never a throw', () => {
  // The validator promises never to throw: a request object that fails when read (a bug in an
  // adapter, say) still gets an HTTP answer.
  const request = {
    method: 'GET',
    target: '/',
    httpVersion: '1.1',
    get headers(): Array<[string, string]> {
      throw new Error('broken adapter');
    },
  } satisfies RequestHead;
  const decision = validateUpgradeRequest(request);
  assert.equal(decision.ok, false);
  assert.equal(!decision.ok && decision.status, 500);
  assert.equal(!decision.ok && decision.code, 'INTERNAL_ERROR');
});
