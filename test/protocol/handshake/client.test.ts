import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nodePlatform } from '../../../src/node/platform.js';
import type { Platform } from '../../../src/protocol/platform.js';
import {
  HandshakeError,
  HttpHeadParser,
  buildAcceptResponse,
  computeAccept,
  createClientRequest,
  validateServerResponse,
  validateUpgradeRequest,
  type ClientRequestOptions,
  type ResponseHead,
} from '../../../src/protocol/handshake/index.js';

const base: ClientRequestOptions = {
  host: 'server.example.com',
  port: 80,
  secure: false,
  path: '/chat',
};

function parseRequest(text: string) {
  const result = new HttpHeadParser('request').feed(Buffer.from(text, 'latin1'));
  assert.ok(result.done);
  assert.equal(result.rest.length, 0);
  return result.head;
}

function hostOf(options: Partial<ClientRequestOptions>): string | undefined {
  const head = parseRequest(createClientRequest({ ...base, ...options }, nodePlatform).request);
  return head.headers.find(([n]) => n === 'host')?.[1];
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HandshakeError, String(e));
    return e.code;
  }
  return undefined;
}

describe('§4.1 client opening handshake request', () => {
  test('§4.1 items 1-12: request line and headers; our own server validation accepts it', () => {
    const fixed: Platform = { ...nodePlatform, randomFill: (b) => b.fill(0x41) };
    const { request, key, expectedAccept } = createClientRequest(
      {
        ...base,
        protocols: ['chat', 'superchat'],
        extensions: 'permessage-deflate',
        origin: 'http://example.com',
        headers: [['Authorization', 'Bearer x']],
      },
      fixed,
    );
    assert.equal(key, 'QUFBQUFBQUFBQUFBQUFBQQ==');
    assert.equal(expectedAccept, computeAccept(key, nodePlatform));
    assert.equal(
      request,
      'GET /chat HTTP/1.1\r\n' +
        'Host: server.example.com\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${key}\r\n` +
        'Sec-WebSocket-Version: 13\r\n' +
        'Origin: http://example.com\r\n' +
        'Sec-WebSocket-Protocol: chat, superchat\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate\r\n' +
        'Authorization: Bearer x\r\n' +
        '\r\n',
    );
    const decision = validateUpgradeRequest(parseRequest(request), { unsafeAllowAnyOrigin: true });
    assert.ok(decision.ok);
    assert.deepEqual(decision.protocols, ['chat', 'superchat']);
  });

  test('§4.1 item 4: Host has the port only when not default; IPv6 literals are bracketed', () => {
    assert.equal(hostOf({}), 'server.example.com');
    assert.equal(hostOf({ port: 443, secure: true }), 'server.example.com');
    assert.equal(hostOf({ port: 443 }), 'server.example.com:443');
    assert.equal(hostOf({ port: 80, secure: true }), 'server.example.com:80');
    assert.equal(hostOf({ host: '::1', port: 8080 }), '[::1]:8080');
    assert.equal(hostOf({ host: '[::1]', port: 80 }), '[::1]');
    assert.equal(hostOf({ host: '127.0.0.1', port: 9000 }), '127.0.0.1:9000');
    assert.equal(hostOf({ host: 'a.example:8080', port: 8080 }), 'a.example:8080');
    assert.equal(hostOf({ headers: [['Host', 'other.example']] }), 'other.example');
  });

  test('§4.1: each request gets a fresh key', () => {
    const a = createClientRequest(base, nodePlatform);
    const b = createClientRequest(base, nodePlatform);
    assert.notEqual(a.key, b.key);
  });

  test('§4.1 item 10 / H10: invalid or duplicate protocols, CR/LF values, bad paths throw', () => {
    const cases: Array<[Partial<ClientRequestOptions>, string]> = [
      [{ protocols: ['a b'] }, 'INVALID_PROTOCOL'],
      [{ protocols: [''] }, 'INVALID_PROTOCOL'],
      [{ protocols: ['a,b'] }, 'INVALID_PROTOCOL'],
      [{ protocols: ['chat', 'chat'] }, 'DUPLICATE_PROTOCOL'],
      [{ origin: 'http://a\r\nX: 1' }, 'INVALID_HEADER'],
      [{ extensions: 'x\n' }, 'INVALID_HEADER'],
      [{ headers: [['X-A', 'a\r\nb']] }, 'INVALID_HEADER'],
      [{ headers: [['X A', 'b']] }, 'INVALID_HEADER'],
      [{ headers: [['Sec-WebSocket-Key', 'x']] }, 'RESERVED_HEADER'],
      [{ headers: [['Connection', 'close']] }, 'RESERVED_HEADER'],
      [{ path: 'chat' }, 'INVALID_PATH'],
      [{ path: '/chat#frag' }, 'INVALID_PATH'],
      [{ path: '/a b' }, 'INVALID_PATH'],
      [{ path: '/a\r\nX: 1' }, 'INVALID_PATH'],
      [{ path: '/é' }, 'INVALID_PATH'],
      [{ host: '' }, 'INVALID_HOST'],
      [{ host: 'a b' }, 'INVALID_HOST'],
      [{ host: 'a\r\nX: 1' }, 'INVALID_HOST'],
      [{ port: 0 }, 'INVALID_PORT'],
      [{ port: 65536 }, 'INVALID_PORT'],
      [{ port: 1.5 }, 'INVALID_PORT'],
    ];
    for (const [options, code] of cases) {
      assert.equal(
        codeOf(() => createClientRequest({ ...base, ...options }, nodePlatform)),
        code,
        JSON.stringify(options),
      );
    }
  });
});

describe('§4.1 client validation of the server response (K1, K2)', () => {
  const { key, expectedAccept } = createClientRequest(base, nodePlatform);
  const expectations = {
    expectedAccept,
    protocols: ['chat', 'v2'],
    extensionsOffered: ['permessage-deflate'],
  };

  function response(
    overrides: Record<string, string | string[] | null> = {},
    status = 101,
  ): ResponseHead {
    const all: Record<string, string | string[] | null> = {
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-accept': expectedAccept,
      ...overrides,
    };
    const headers: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(all)) {
      if (value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.push([name, v]);
    }
    return { httpVersion: '1.1', status, reason: 'Switching Protocols', headers };
  }

  test('accepts a valid response from buildAcceptResponse', () => {
    const text = buildAcceptResponse(
      { key, protocol: 'v2', extensions: 'permessage-deflate; server_no_context_takeover' },
      nodePlatform,
    );
    const parsed = new HttpHeadParser('response').feed(Buffer.from(text, 'latin1'));
    assert.ok(parsed.done);
    const agreement = validateServerResponse(parsed.head, expectations);
    assert.equal(agreement.protocol, 'v2');
    assert.deepEqual(agreement.extensions, [
      { name: 'permessage-deflate', params: [['server_no_context_takeover', true]] },
    ]);
  });

  test('no protocol and no extensions selected -> empty results; case-insensitive tokens', () => {
    const agreement = validateServerResponse(
      response({ upgrade: 'WebSocket', connection: 'keep-alive, UPGRADE' }),
      expectations,
    );
    assert.deepEqual(agreement, { protocol: '', extensions: [] });
  });

  const failures: Array<[string, ResponseHead, string]> = [
    ['§4.1 item 1: status 200', response({}, 200), 'UNEXPECTED_STATUS'],
    ['§4.1 item 1: status 302', response({}, 302), 'UNEXPECTED_STATUS'],
    ['§4.1 item 2: no Upgrade', response({ upgrade: null }), 'MISSING_UPGRADE'],
    ['§4.1 item 2: Upgrade h2c', response({ upgrade: 'h2c' }), 'MISSING_UPGRADE'],
    [
      '§4.1 item 2: Upgrade websocket, h2c',
      response({ upgrade: 'websocket, h2c' }),
      'MISSING_UPGRADE',
    ],
    [
      '§4.1 item 2: two Upgrade headers',
      response({ upgrade: ['websocket', 'websocket'] }),
      'DUPLICATE_HEADER',
    ],
    ['§4.1 item 3: no Connection', response({ connection: null }), 'MISSING_CONNECTION'],
    [
      '§4.1 item 3: Connection keep-alive',
      response({ connection: 'keep-alive' }),
      'MISSING_CONNECTION',
    ],
    ['K1: no accept', response({ 'sec-websocket-accept': null }), 'BAD_ACCEPT'],
    [
      'K1: wrong accept',
      response({ 'sec-websocket-accept': 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' }),
      'BAD_ACCEPT',
    ],
    ['K1: accept of the key itself', response({ 'sec-websocket-accept': key }), 'BAD_ACCEPT'],
    [
      'K1: two accepts',
      response({ 'sec-websocket-accept': [expectedAccept, expectedAccept] }),
      'DUPLICATE_HEADER',
    ],
    [
      'K2 item 6: unoffered protocol',
      response({ 'sec-websocket-protocol': 'other' }),
      'UNOFFERED_PROTOCOL',
    ],
    [
      'K2 item 6: protocol differs in case',
      response({ 'sec-websocket-protocol': 'CHAT' }),
      'UNOFFERED_PROTOCOL',
    ],
    [
      'K2 item 6: two protocols in one header',
      response({ 'sec-websocket-protocol': 'chat, v2' }),
      'UNOFFERED_PROTOCOL',
    ],
    [
      'K2 item 6: malformed protocol',
      response({ 'sec-websocket-protocol': 'a b' }),
      'UNOFFERED_PROTOCOL',
    ],
    [
      'K2 item 6: two protocol headers',
      response({ 'sec-websocket-protocol': ['chat', 'chat'] }),
      'DUPLICATE_HEADER',
    ],
    [
      'K2 item 5: unoffered extension',
      response({ 'sec-websocket-extensions': 'x-foo' }),
      'UNOFFERED_EXTENSION',
    ],
    [
      'K2 item 5: malformed extensions',
      response({ 'sec-websocket-extensions': 'permessage-deflate;' }),
      'MALFORMED_EXTENSIONS',
    ],
    [
      'K2 item 5: extension accepted twice',
      response({ 'sec-websocket-extensions': 'permessage-deflate, permessage-deflate' }),
      'DUPLICATE_EXTENSION',
    ],
    [
      'K2 item 5: two extension headers',
      response({ 'sec-websocket-extensions': ['permessage-deflate', 'permessage-deflate'] }),
      'DUPLICATE_HEADER',
    ],
  ];
  for (const [label, head, code] of failures) {
    test(`${label} -> ${code}`, () => {
      assert.equal(
        codeOf(() => validateServerResponse(head, expectations)),
        code,
      );
    });
  }

  test('K2: no protocols offered -> any selected protocol is refused', () => {
    assert.equal(
      codeOf(() =>
        validateServerResponse(response({ 'sec-websocket-protocol': 'chat' }), {
          ...expectations,
          protocols: [],
        }),
      ),
      'UNOFFERED_PROTOCOL',
    );
    assert.equal(
      codeOf(() =>
        validateServerResponse(response({ 'sec-websocket-extensions': 'permessage-deflate' }), {
          ...expectations,
          extensionsOffered: [],
        }),
      ),
      'UNOFFERED_EXTENSION',
    );
  });
});

describe('§4 round trip (client <-> server, both roles)', () => {
  test('property: every request createClientRequest builds is accepted, and the 101 validates', () => {
    const token = fc.string({
      unit: fc.constantFrom(...'abcXYZ019-_.!'.split('')),
      minLength: 1,
      maxLength: 8,
    });
    fc.assert(
      fc.property(
        fc.constantFrom('127.0.0.1', '::1', 'localhost', 'app.localhost'),
        fc.integer({ min: 1, max: 65535 }),
        fc.boolean(),
        fc.uniqueArray(token, { maxLength: 4 }),
        fc.nat(),
        (host, port, secure, protocols, cut) => {
          const listenAddress = host === '::1' ? '::1' : '127.0.0.1';
          const client = createClientRequest(
            { host, port, secure, path: '/p?q=1', protocols, origin: undefined },
            nodePlatform,
          );
          const bytes = Buffer.from(client.request, 'latin1');
          const parser = new HttpHeadParser('request');
          const at = cut % bytes.length;
          const first = parser.feed(bytes.subarray(0, at));
          assert.equal(first.done, false);
          const second = parser.feed(bytes.subarray(at));
          assert.ok(second.done);
          const decision = validateUpgradeRequest(second.head, { listenAddress, secure });
          assert.ok(decision.ok, decision.ok ? '' : decision.reason);
          assert.deepEqual(decision.protocols, protocols);
          const protocol = protocols[0];
          const text = buildAcceptResponse(
            { key: decision.key, protocol, offeredProtocols: decision.protocols },
            nodePlatform,
          );
          const response = new HttpHeadParser('response').feed(Buffer.from(text, 'latin1'));
          assert.ok(response.done);
          const agreement = validateServerResponse(response.head, {
            expectedAccept: client.expectedAccept,
            protocols,
            extensionsOffered: [],
          });
          assert.equal(agreement.protocol, protocol ?? '');
        },
      ),
      { numRuns: 200 },
    );
  });
});
