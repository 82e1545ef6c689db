/**
 * Constructor-time option checks (src/node/server-options.ts): every option that can never work
 * throws from the constructor with one message shape (`<option> must be ..., got ...`),
 * TypeError for a wrong type, RangeError for a value out of range.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import type { ServerOptions } from '../../src/index.js';

type Case = [label: string, options: Record<string, unknown>, error: typeof Error, message: RegExp];

const server = (options: Record<string, unknown>): WebSocketServer =>
  new WebSocketServer({ noServer: true, ...options } as ServerOptions);

describe('WebSocketServer options are checked in the constructor', () => {
  test('no argument, or no mode: ws message', () => {
    const message =
      'One and only one of the "port", "server", or "noServer" options must be specified';
    const Ctor = WebSocketServer as unknown as new (options?: unknown) => WebSocketServer;
    assert.throws(() => new Ctor(), { name: 'TypeError', message });
    assert.throws(() => new Ctor(null), { name: 'TypeError', message });
    assert.throws(() => new Ctor({}), { name: 'TypeError', message });
    assert.throws(() => new Ctor({ port: 0, noServer: true }), { name: 'TypeError', message });
    assert.throws(() => new Ctor('8080'), {
      name: 'TypeError',
      message: /^options must be an object/,
    });
  });

  const cases: Case[] = [
    // The ones seen accepted and failing later (issue #13).
    [
      'serverMaxWindowBits 20',
      { perMessageDeflate: { serverMaxWindowBits: 20 } },
      RangeError,
      /^perMessageDeflate\.serverMaxWindowBits must be an integer from 8 to 15, got 20$/,
    ],
    [
      'origins as a string',
      { origins: 'https://app.example' },
      TypeError,
      /^origins must be an array of origins or a function, got the string 'https:\/\/app\.example' \(write origins: \["https:\/\/app\.example"\]\)$/,
    ],
    [
      'maxBufferedAmount -1',
      { maxBufferedAmount: -1 },
      RangeError,
      /^maxBufferedAmount must be a positive integer \(or Infinity\), got -1$/,
    ],
    [
      'allowedHosts with a scheme',
      { allowedHosts: ['https://app.example'] },
      RangeError,
      /^allowedHosts\[0\] must be a host name .* not a URL, got "https:\/\/app\.example" \(write "app\.example"\)$/,
    ],
    [
      'keepalive -1',
      { keepalive: -1 },
      TypeError,
      /^keepalive must be true, false or \{ interval, timeout \} in ms, got number -1 \(write keepalive: false to turn it off\)$/,
    ],
    [
      'handshakeTimeout 0',
      { handshakeTimeout: 0 },
      RangeError,
      /^handshakeTimeout must be a positive integer of ms, got 0$/,
    ],
    // Every other option.
    [
      'port out of range',
      { noServer: undefined, port: 70000 },
      RangeError,
      /^port must be an integer from 0 to 65535, got 70000$/,
    ],
    [
      'port not a number',
      { noServer: undefined, port: 'http' },
      TypeError,
      /^port must be an integer from 0 to 65535, got the string 'http'$/,
    ],
    ['host', { host: 8080 }, TypeError, /^host must be a string, got number 8080$/],
    ['backlog', { backlog: -5 }, RangeError, /^backlog must be a non-negative integer, got -5$/],
    [
      'server',
      { noServer: undefined, server: {} },
      TypeError,
      /^server must be an http\.Server or https\.Server, got an object \(Object\)$/,
    ],
    ['noServer', { noServer: 'yes', port: undefined }, TypeError, /One and only one/],
    ['path type', { path: 5 }, TypeError, /^path must be a string, got number 5$/],
    [
      'path without slash',
      { path: 'chat' },
      RangeError,
      /^path must be a path starting with '\/', got "chat"$/,
    ],
    [
      'maxPayload',
      { maxPayload: 1.5 },
      RangeError,
      /^maxPayload must be a non-negative integer, got 1\.5$/,
    ],
    [
      'maxPayload type',
      { maxPayload: '1mb' },
      TypeError,
      /^maxPayload must be a non-negative integer, got the string '1mb'$/,
    ],
    ['limits', { limits: 5 }, TypeError, /^limits must be an object, got number 5$/],
    [
      'limits.maxFrameSize',
      { limits: { maxFrameSize: -1 } },
      RangeError,
      /^limits\.maxFrameSize must be a non-negative integer, got -1$/,
    ],
    [
      'handleProtocols',
      { handleProtocols: 'chat' },
      TypeError,
      /^handleProtocols must be a function, got the string 'chat'$/,
    ],
    [
      'verifyClient',
      { verifyClient: true },
      TypeError,
      /^verifyClient must be a function, got boolean true$/,
    ],
    ['WebSocket', { WebSocket: {} }, TypeError, /^WebSocket must be a function/],
    [
      'clientTracking',
      { clientTracking: 1 },
      TypeError,
      /^clientTracking must be true or false, got number 1$/,
    ],
    [
      'origins entry type',
      { origins: [42] },
      TypeError,
      /^origins\[0\] must be an origin string or a function, got number 42$/,
    ],
    ['requireOrigin', { requireOrigin: 'yes' }, TypeError, /^requireOrigin must be true or false/],
    [
      'unsafeAllowAnyOrigin',
      { unsafeAllowAnyOrigin: 1 },
      TypeError,
      /^unsafeAllowAnyOrigin must be true or false/,
    ],
    [
      'serverOrigins as a string',
      { serverOrigins: 'https://a.example' },
      TypeError,
      /^serverOrigins must be an array of strings, got the string .* \(write serverOrigins: \["https:\/\/a\.example"\]\)$/,
    ],
    [
      'serverOrigins with a path',
      { serverOrigins: ['https://a.example/app'] },
      RangeError,
      /^serverOrigins\[0\] must be an origin such as/,
    ],
    [
      'serverOrigins not a URL',
      { serverOrigins: ['a.example'] },
      RangeError,
      /^serverOrigins\[0\] must be an origin/,
    ],
    [
      'allowedHosts as a string',
      { allowedHosts: 'a.example' },
      TypeError,
      /^allowedHosts must be an array of strings/,
    ],
    [
      'allowedHosts with a path',
      { allowedHosts: ['a.example/x'] },
      RangeError,
      /^allowedHosts\[0\] must be a host name/,
    ],
    ['listenAddress', { listenAddress: 127 }, TypeError, /^listenAddress must be a string/],
    [
      'maxConnections',
      { maxConnections: 0 },
      RangeError,
      /^maxConnections must be a positive integer \(or Infinity\), got 0$/,
    ],
    [
      'maxConnectionsPerAddress',
      { maxConnectionsPerAddress: -1 },
      RangeError,
      /^maxConnectionsPerAddress must be a positive integer/,
    ],
    [
      'maxHandshakesPerSecond',
      { maxHandshakesPerSecond: 0.5 },
      RangeError,
      /^maxHandshakesPerSecond must be a positive integer/,
    ],
    [
      'shutdownTimeout',
      { shutdownTimeout: -1 },
      RangeError,
      /^shutdownTimeout must be a non-negative integer of ms, got -1$/,
    ],
    [
      'maxHeadersCount',
      { maxHeadersCount: 0 },
      RangeError,
      /^maxHeadersCount must be a positive integer, got 0$/,
    ],
    ['autoPong', { autoPong: 'no' }, TypeError, /^autoPong must be true or false/],
    [
      'skipUTF8Validation',
      { skipUTF8Validation: 1 },
      TypeError,
      /^skipUTF8Validation must be true or false/,
    ],
    [
      'closeTimeout',
      { closeTimeout: 2 ** 31 },
      RangeError,
      /^closeTimeout must be a positive integer of ms, got 2147483648$/,
    ],
    [
      'bufferedAmountPolicy',
      { bufferedAmountPolicy: 'drop' },
      RangeError,
      /^bufferedAmountPolicy must be 'close' or 'reject', got drop$/,
    ],
    [
      'maxControlFramesPerSecond',
      { maxControlFramesPerSecond: 0 },
      RangeError,
      /^maxControlFramesPerSecond must be a positive integer/,
    ],
    [
      'keepalive.interval',
      { keepalive: { interval: 0 } },
      RangeError,
      /^keepalive\.interval must be a positive integer of ms, got 0$/,
    ],
    [
      'keepalive.timeout',
      { keepalive: { timeout: 'soon' } },
      TypeError,
      /^keepalive\.timeout must be a positive integer of ms/,
    ],
    [
      'perMessageDeflate type',
      { perMessageDeflate: 'on' },
      TypeError,
      /^perMessageDeflate must be true, false or an options object/,
    ],
    [
      'clientMaxWindowBits',
      { perMessageDeflate: { clientMaxWindowBits: 7 } },
      RangeError,
      /^perMessageDeflate\.clientMaxWindowBits must be true or an integer from 8 to 15, got 7$/,
    ],
    [
      'threshold',
      { perMessageDeflate: { threshold: -1 } },
      RangeError,
      /^perMessageDeflate\.threshold must be a non-negative integer/,
    ],
    [
      'serverNoContextTakeover',
      { perMessageDeflate: { serverNoContextTakeover: 'yes' } },
      TypeError,
      /^perMessageDeflate\.serverNoContextTakeover must be true or false/,
    ],
    [
      'concurrencyLimit',
      { perMessageDeflate: { concurrencyLimit: 0 } },
      RangeError,
      /^perMessageDeflate\.concurrencyLimit must be a positive integer/,
    ],
    [
      'zlib level',
      { perMessageDeflate: { zlibDeflateOptions: { level: 10 } } },
      RangeError,
      /^perMessageDeflate\.zlibDeflateOptions\.level must be an integer from -1 to 9, got 10$/,
    ],
    [
      'zlib memLevel',
      { perMessageDeflate: { zlibDeflateOptions: { memLevel: 0 } } },
      RangeError,
      /memLevel must be an integer from 1 to 9/,
    ],
    [
      'inflate chunkSize',
      { perMessageDeflate: { zlibInflateOptions: { chunkSize: 8 } } },
      RangeError,
      /^perMessageDeflate\.zlibInflateOptions\.chunkSize must be an integer of at least 64, got 8$/,
    ],
  ];
  for (const [label, options, error, message] of cases) {
    test(label, () => {
      assert.throws(
        () => server(options),
        (thrown: Error) => {
          assert.equal(thrown.constructor, error, `${thrown.name}: ${thrown.message}`);
          assert.match(thrown.message, message);
          return true;
        },
      );
    });
  }

  test('valid values of every option are accepted', async () => {
    const wss = server({
      path: '/chat',
      maxPayload: 0,
      limits: { maxFrameSize: 1024, fragmentOverhead: 16 },
      handleProtocols: () => false,
      verifyClient: () => true,
      clientTracking: false,
      origins: ['https://app.example', 'https://*.example.com', 'null', () => false],
      requireOrigin: true,
      serverOrigins: ['https://app.example:8443', 'http://localhost:3000/'],
      allowedHosts: ['app.example', 'app.example:8443', '*.dev.example', '::1', '[::1]:80'],
      listenAddress: '127.0.0.1',
      handshakeTimeout: 1,
      maxConnections: Infinity,
      maxConnectionsPerAddress: 10,
      maxHandshakesPerSecond: 5,
      shutdownTimeout: 0,
      maxHeadersCount: 50,
      autoPong: false,
      skipUTF8Validation: false,
      closeTimeout: 2 ** 31 - 1,
      maxBufferedAmount: Infinity,
      bufferedAmountPolicy: 'reject',
      maxControlFramesPerSecond: Infinity,
      keepalive: { interval: 1000, timeout: 500 },
      perMessageDeflate: {
        threshold: 0,
        serverNoContextTakeover: true,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 8,
        clientMaxWindowBits: true,
        concurrencyLimit: 1,
        zlibDeflateOptions: { level: -1, memLevel: 9, strategy: 0, chunkSize: 1024 },
        zlibInflateOptions: { chunkSize: 64 },
      },
      someOptionOfAnotherLibrary: { ignored: true },
    });
    wss.close();
    const httpServer = http.createServer();
    new WebSocketServer({ server: httpServer, keepalive: false, perMessageDeflate: true }).close();
    const standalone = new WebSocketServer({ port: '0' as unknown as number, host: '127.0.0.1' });
    await new Promise<void>((resolve) => standalone.on('listening', () => resolve()));
    await new Promise<void>((resolve) => standalone.close(() => resolve()));
  });
});

describe('client WebSocket options are checked in the constructor', () => {
  const client = (options: Record<string, unknown>): WebSocket =>
    new WebSocket('ws://127.0.0.1:1/', options);
  const cases: Case[] = [
    [
      'handshakeTimeout 0',
      { handshakeTimeout: 0 },
      RangeError,
      /^handshakeTimeout must be a positive integer of ms, got 0$/,
    ],
    [
      'maxPayload',
      { maxPayload: -1 },
      RangeError,
      /^maxPayload must be a non-negative integer, got -1$/,
    ],
    [
      'maxRedirects',
      { maxRedirects: 1.5 },
      RangeError,
      /^maxRedirects must be a non-negative integer, got 1\.5$/,
    ],
    [
      'followRedirects',
      { followRedirects: 'yes' },
      TypeError,
      /^followRedirects must be true or false/,
    ],
    [
      'maxResponseBodyBytes',
      { maxResponseBodyBytes: -1 },
      RangeError,
      /^maxResponseBodyBytes must be a non-negative integer/,
    ],
    ['origin', { origin: 5 }, TypeError, /^origin must be a string, got number 5$/],
    ['family', { family: 5 }, RangeError, /^family must be 4, 6 or 0, got 5$/],
    [
      'headers',
      { headers: 'X-A: 1' },
      TypeError,
      /^headers must be an object of header names and values/,
    ],
    [
      'keepalive -1',
      { keepalive: -1 },
      TypeError,
      /^keepalive must be true, false or \{ interval, timeout \}/,
    ],
    [
      'maxBufferedAmount -1',
      { maxBufferedAmount: -1 },
      RangeError,
      /^maxBufferedAmount must be a positive integer/,
    ],
    [
      'closeTimeout',
      { closeTimeout: 0 },
      RangeError,
      /^closeTimeout must be a positive integer of ms, got 0$/,
    ],
    [
      'perMessageDeflate.serverMaxWindowBits',
      { perMessageDeflate: { serverMaxWindowBits: 16 } },
      RangeError,
      /^perMessageDeflate\.serverMaxWindowBits must be an integer from 8 to 15, got 16$/,
    ],
    [
      'bufferedAmountPolicy',
      { bufferedAmountPolicy: 3 },
      TypeError,
      /^bufferedAmountPolicy must be 'close' or 'reject', got number 3$/,
    ],
  ];
  for (const [label, options, error, message] of cases) {
    test(label, () => {
      assert.throws(
        () => client(options),
        (thrown: Error) => {
          assert.equal(thrown.constructor, error, `${thrown.name}: ${thrown.message}`);
          assert.match(thrown.message, message);
          return true;
        },
      );
    });
  }
});
