import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as handshake from '../../../src/protocol/handshake/index.js';

test('the handshake entry exports exactly the documented names', () => {
  assert.deepEqual(Object.keys(handshake).sort(), [
    'DEFAULT_MAX_HEADERS',
    'DEFAULT_MAX_HEAD_BYTES',
    'GUID',
    'HandshakeError',
    'HttpHeadParser',
    'STATUS_REASONS',
    'buildAcceptResponse',
    'buildExtendedConnectAccept',
    'buildRejectResponse',
    'checkHost',
    'checkOrigin',
    'compileOrigins',
    'computeAccept',
    'createClientRequest',
    'createClientRequestHead',
    'createExtendedConnectRequest',
    'formatIPv6',
    'generateKey',
    'isExtendedConnect',
    'isLoopbackOrPrivate',
    'isSubdomainOf',
    'isToken',
    'isTokenChar',
    'isValidFieldValue',
    'isValidKey',
    'matchesHostEntry',
    'normalizeOrigin',
    'ownOrigins',
    'parseAuthority',
    'parseExtensionHeader',
    'parseIPv4',
    'parseIPv6',
    'parseProtocolHeader',
    'reasonPhrase',
    'serializeExtensions',
    'splitList',
    'toRejection',
    'validateExtendedConnect',
    'validateExtendedConnectResponse',
    'validateServerResponse',
    'validateUpgradeRequest',
  ]);
});

test('§4.2.1 property: validateUpgradeRequest never throws and refusals carry a 4xx/5xx status', () => {
  const names = fc.constantFrom(
    'host',
    'upgrade',
    'connection',
    'sec-websocket-key',
    'sec-websocket-version',
    'sec-websocket-protocol',
    'sec-websocket-extensions',
    'origin',
    'content-length',
    'transfer-encoding',
    '__proto__',
    'constructor',
  );
  const values = fc.oneof(
    fc.constantFrom(
      'websocket',
      'Upgrade',
      '13',
      'dGhlIHNhbXBsZSBub25jZQ==',
      'localhost',
      'http://localhost',
      'null',
      '0',
      '',
    ),
    fc.string({ maxLength: 30 }),
  );
  fc.assert(
    fc.property(
      fc.constantFrom('GET', 'POST'),
      fc.constantFrom('1.1', '1.0', '2.0'),
      fc.array(fc.tuple(names, values), { maxLength: 12 }),
      fc.record({
        listenAddress: fc.option(fc.constantFrom('127.0.0.1', '::1', '0.0.0.0', '8.8.8.8'), {
          nil: undefined,
        }),
        requireOrigin: fc.option(fc.boolean(), { nil: undefined }),
        origins: fc.option(fc.constant(['https://*.example.com', 'null']), { nil: undefined }),
      }),
      (method, httpVersion, headers, policy) => {
        const decision = handshake.validateUpgradeRequest(
          { method, target: '/', httpVersion, headers },
          policy,
        );
        if (!decision.ok) {
          assert.ok(decision.status >= 400 && decision.status < 600);
          assert.ok(
            handshake.buildRejectResponse(decision).startsWith(`HTTP/1.1 ${decision.status} `),
          );
        } else {
          assert.ok(handshake.isValidKey(decision.key));
        }
      },
    ),
    { numRuns: 500 },
  );
});
