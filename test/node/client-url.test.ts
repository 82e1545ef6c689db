import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeProtocols, parseClientUrl } from '../../src/node/client-url.js';
import { applyRedirectPolicy, isRedirectStatus } from '../../src/node/client-redirect.js';
import { ClientHandshakeError } from '../../src/node/client-errors.js';

function syntaxError(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof SyntaxError, `expected SyntaxError, got ${String(error)}`);
    assert.equal((error as { code?: string }).code, code);
    return true;
  };
}

describe('RFC 6455 §3 WebSocket URIs (checklist K10)', () => {
  test('ws: and wss: with default and explicit ports', () => {
    const plain = parseClientUrl('ws://example.com/chat?x=1');
    assert.equal(plain.secure, false);
    assert.equal(plain.hostname, 'example.com');
    assert.equal(plain.port, 80);
    assert.equal(plain.hostHeader, 'example.com');
    assert.equal(plain.path, '/chat?x=1');
    assert.equal(plain.ipFamily, 0);
    const secure = parseClientUrl('wss://example.com:8443');
    assert.equal(secure.secure, true);
    assert.equal(secure.port, 8443);
    assert.equal(secure.hostHeader, 'example.com:8443');
    assert.equal(secure.path, '/');
    assert.equal(parseClientUrl('wss://example.com:443/').hostHeader, 'example.com');
  });

  test('http: and https: are mapped to ws: and wss:', () => {
    assert.equal(parseClientUrl('http://h:81/a').url.href, 'ws://h:81/a');
    const mapped = parseClientUrl('https://h/a');
    assert.equal(mapped.url.href, 'wss://h/a');
    assert.equal(mapped.secure, true);
    assert.equal(mapped.port, 443);
  });

  test('IPv6 literal: brackets kept in Host, removed for connect', () => {
    const target = parseClientUrl('ws://[::1]:9000/p');
    assert.equal(target.hostname, '::1');
    assert.equal(target.ipFamily, 6);
    assert.equal(target.hostHeader, '[::1]:9000');
    assert.equal(parseClientUrl('wss://127.0.0.1/').ipFamily, 4);
  });

  test('a fragment, even an empty one, is a SyntaxError', () => {
    assert.throws(() => parseClientUrl('ws://h/#x'), syntaxError('INVALID_URL'));
    assert.throws(() => parseClientUrl('ws://h/#'), syntaxError('INVALID_URL'));
    assert.throws(() => parseClientUrl('ws://h/?q#'), syntaxError('INVALID_URL'));
  });

  test('unknown schemes and invalid URLs are SyntaxErrors', () => {
    for (const bad of [
      'ftp://h/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'wss+unix:/x',
      'not a url',
      '',
      'ws://',
    ]) {
      assert.throws(() => parseClientUrl(bad), syntaxError('INVALID_URL'), bad);
    }
  });

  test('credentials are percent-decoded and kept apart from the Host', () => {
    const target = parseClientUrl('ws://us%20er:p%40ss@h:1/');
    assert.equal(target.credentials, 'us er:p@ss');
    assert.equal(target.hostHeader, 'h:1');
    assert.equal(parseClientUrl('ws://h/').credentials, undefined);
  });

  test('ws+unix: socket path and request path', () => {
    const target = parseClientUrl('ws+unix:/tmp/app.sock:/chat?room=1');
    assert.equal(target.socketPath, '/tmp/app.sock');
    assert.equal(target.path, '/chat?room=1');
    assert.equal(target.hostHeader, 'localhost');
    assert.equal(parseClientUrl('ws+unix:/tmp/app.sock').path, '/');
    assert.throws(() => parseClientUrl('ws+unix:/tmp/app.sock', false), syntaxError('INVALID_URL'));
  });
});

describe('RFC 6455 §4.1 item 10 subprotocol list', () => {
  test('tokens accepted, in order', () => {
    assert.deepEqual(normalizeProtocols(undefined), []);
    assert.deepEqual(normalizeProtocols('chat'), ['chat']);
    assert.deepEqual(normalizeProtocols(['a.v2', 'b']), ['a.v2', 'b']);
  });
  test('non-token, empty and duplicate names are SyntaxErrors', () => {
    for (const bad of [[''], ['a b'], ['a,b'], ['é'], ['a', 'a'], ['x\r\ny']]) {
      assert.throws(
        () => normalizeProtocols(bad),
        syntaxError('INVALID_SUBPROTOCOL'),
        JSON.stringify(bad),
      );
    }
  });
});

describe('redirect policy (checklist K5)', () => {
  const original = parseClientUrl('wss://app.example/a');
  test('3xx statuses that redirect', () => {
    assert.deepEqual([300, 301, 302, 303, 304, 307, 308].map(isRedirectStatus), [
      false,
      true,
      true,
      true,
      false,
      true,
      true,
    ]);
  });
  test('relative Location, same origin', () => {
    const decision = applyRedirectPolicy(original, '/b?x=1#frag', original);
    assert.ok(!(decision instanceof Error));
    assert.equal(decision.target.url.href, 'wss://app.example/b?x=1');
    assert.equal(decision.crossOrigin, false);
  });
  test('https: maps to wss:, another host is cross-origin', () => {
    const decision = applyRedirectPolicy(original, 'https://other.example/', original);
    assert.ok(!(decision instanceof Error));
    assert.equal(decision.target.url.href, 'wss://other.example/');
    assert.equal(decision.crossOrigin, true);
  });
  test('another port is cross-origin', () => {
    const decision = applyRedirectPolicy(original, 'wss://app.example:8443/', original);
    assert.ok(!(decision instanceof Error));
    assert.equal(decision.crossOrigin, true);
  });
  test('wss: to ws: or http: is a downgrade', () => {
    for (const location of ['ws://app.example/', 'http://app.example/']) {
      const decision = applyRedirectPolicy(original, location, original);
      assert.ok(decision instanceof ClientHandshakeError);
      assert.equal(decision.code, 'REDIRECT_DOWNGRADE');
    }
  });
  test('non-WebSocket schemes refused: a SyntaxError with ws text; ws+unix: by policy', () => {
    for (const location of ['file:///etc/passwd', 'ftp://h/', 'javascript:x']) {
      const decision = applyRedirectPolicy(original, location, original);
      assert.ok(decision instanceof SyntaxError, location);
      assert.equal((decision as SyntaxError & { code: string }).code, 'REDIRECT_INVALID');
      assert.equal(
        decision.message,
        'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"',
      );
    }
    const unix = applyRedirectPolicy(original, 'ws+unix:/tmp/s.sock', original);
    assert.ok(unix instanceof ClientHandshakeError);
    assert.equal(unix.code, 'REDIRECT_INVALID');
  });
  test("a Location that is no URL: SyntaxError('Invalid URL: <location>')", () => {
    const decision = applyRedirectPolicy(original, 'ws://', original);
    assert.ok(decision instanceof SyntaxError);
    assert.equal(decision.message, 'Invalid URL: ws://');
    assert.equal((decision as SyntaxError & { code: string }).code, 'REDIRECT_INVALID');
  });
});
