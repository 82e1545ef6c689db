/**
 * The compatibility suite of issue #11, in our own words: every case is written once against
 * ws's documented API and runs twice in this file, with the `ws` package (the oracle) and with
 * ironsock loaded by its package name. A case passes on both, or it is one of the documented
 * differences (README, "Where ironsock differs from ws"): then the ironsock run asserts
 * ironsock's side of the difference, with the README row named in the test.
 *
 * Groups follow the issue: 1 entry points, 3 object shape, 4 send/ping/pong, 5 server options,
 * 7 permessage-deflate sends, 8 wording, 9 maxPayload 0, plus #13's `await send()`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type WS from 'ws';
import { LIBS, type Lib } from './libs.js';
import { once, requireFromPackage } from './support.js';

type Server = any;
type Client = WS;

const T = { timeout: 15_000 };

async function serve(lib: Lib, options: Record<string, unknown> = {}): Promise<Server> {
  const wss = new lib.Server({ host: '127.0.0.1', port: 0, ...options });
  await once(wss, 'listening');
  return wss;
}

function urlOf(wss: Server): string {
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

async function stop(wss: Server, ...clients: Client[]): Promise<void> {
  for (const client of clients) client.terminate();
  for (const client of wss.clients ?? []) client.terminate();
  await new Promise((resolve) => wss.close(resolve));
}

/** A connected pair: the client and the server-side socket. */
async function pair(
  lib: Lib,
  serverOptions: Record<string, unknown> = {},
  clientOptions: Record<string, unknown> = {},
): Promise<{ wss: Server; client: Client; server: Client }> {
  const wss = await serve(lib, serverOptions);
  const connected = once(wss, 'connection');
  const client = new lib(urlOf(wss), clientOptions);
  await once(client, 'open');
  const [server] = await connected;
  return { wss, client, server };
}

for (const [name, lib] of LIBS) {
  const isIronsock = name === 'ironsock';

  describe(`${name}: group 1, entry points`, () => {
    test('the CommonJS export is the WebSocket class with Server, WebSocket, WebSocketServer, createWebSocketStream', () => {
      const cjs = name === 'ws' ? requireFromPackage('ws') : requireFromPackage('ironsock');
      assert.equal(typeof cjs, 'function');
      assert.equal(cjs.WebSocket, cjs);
      assert.equal(cjs.Server, cjs.WebSocketServer);
      assert.equal(typeof cjs.Server, 'function');
      assert.equal(typeof cjs.createWebSocketStream, 'function');
    });
  });

  describe(`${name}: group 3, object shape`, () => {
    test('CONNECTING..CLOSED are enumerable, read-only, non-configurable on the class and the prototype', () => {
      const states = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
      for (const [key, value] of Object.entries(states)) {
        for (const target of [lib, lib.prototype]) {
          assert.deepEqual(Object.getOwnPropertyDescriptor(target, key), {
            configurable: false,
            enumerable: true,
            value,
            writable: false,
          });
        }
      }
    });

    test('the attributes are enumerable, configurable accessors on the prototype', () => {
      const readOnly = [
        'bufferedAmount',
        'extensions',
        'isPaused',
        'protocol',
        'readyState',
        'url',
      ];
      const readWrite = ['binaryType', 'onclose', 'onerror', 'onmessage', 'onopen'];
      for (const key of [...readOnly, ...readWrite]) {
        const descriptor = Object.getOwnPropertyDescriptor(
          lib.prototype,
          key,
        ) as PropertyDescriptor;
        assert.ok(descriptor, key);
        assert.equal(descriptor.enumerable, true, key);
        assert.equal(descriptor.configurable, true, key);
        assert.equal(typeof descriptor.get, 'function', key);
        assert.equal(descriptor.set === undefined, readOnly.includes(key), key);
      }
    });

    test('url shows ws: for an http: URL', T, async () => {
      const wss = await serve(lib);
      const port = (wss.address() as AddressInfo).port;
      const client = new lib(`http://127.0.0.1:${port}/chat?x=1`);
      assert.equal(client.url, `ws://127.0.0.1:${port}/chat?x=1`);
      await once(client, 'open');
      await stop(wss, client);
    });
  });

  describe(`${name}: group 4, send/ping/pong`, () => {
    test('numbers are sent as their decimal text, in messages and pings', T, async () => {
      const { wss, client, server } = await pair(lib);
      const message = once(server, 'message');
      const ping = once(server, 'ping');
      client.send(42);
      client.ping(7);
      const [data, isBinary] = await message;
      assert.equal(String(data), '42');
      assert.equal(isBinary, false);
      assert.equal(String((await ping)[0]), '7');
      await stop(wss, client);
    });

    test('send() with no data sends an empty binary message', T, async () => {
      const { wss, client, server } = await pair(lib);
      const message = once(server, 'message');
      client.send(undefined as never);
      const [data, isBinary] = await message;
      assert.equal(data.length, 0);
      assert.equal(isBinary, true);
      await stop(wss, client);
    });

    test('a Blob is sent as binary, and later sends keep their order behind it', T, async () => {
      const { wss, client, server } = await pair(lib);
      const got: string[] = [];
      server.on('message', (data: Buffer, isBinary: boolean) => got.push(`${isBinary}:${data}`));
      client.send(new Blob(['blob']) as never);
      client.send('after');
      while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(got, ['true:blob', 'false:after']);
      await stop(wss, client);
    });

    test(
      'not OPEN: no throw, bytes counted in bufferedAmount, callbacks get the not-open error',
      T,
      async () => {
        const { wss, client, server } = await pair(lib);
        client.close();
        assert.equal(client.readyState, lib.CLOSING);
        const errors: string[] = [];
        const before = client.bufferedAmount;
        client.send('abcd', (error) => errors.push(String(error?.message)));
        client.ping('xy', undefined, (error) => errors.push(String(error?.message)));
        assert.equal(client.bufferedAmount - before, 6);
        await once(client, 'close');
        client.pong('z', undefined, (error) => errors.push(String(error?.message)));
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(errors, [
          'WebSocket is not open: readyState 2 (CLOSING)',
          'WebSocket is not open: readyState 2 (CLOSING)',
          'WebSocket is not open: readyState 3 (CLOSED)',
        ]);
        const connecting = new lib('ws://127.0.0.1:1');
        connecting.on('error', () => {});
        assert.throws(
          () => connecting.send('x'),
          /^Error: WebSocket is not open: readyState 0 \(CONNECTING\)$/,
        );
        connecting.terminate();
        void server;
        await stop(wss);
      },
    );

    test(
      "binaryType applies to binary messages only: text stays a Buffer on 'message'",
      T,
      async () => {
        const { wss, client, server } = await pair(lib);
        client.binaryType = 'arraybuffer';
        const text = once(client, 'message');
        server.send('text');
        const [data, isBinary] = await text;
        assert.ok(Buffer.isBuffer(data));
        assert.equal(isBinary, false);
        const binary = once(client, 'message');
        server.send(Buffer.from('bin'));
        assert.ok((await binary)[0] instanceof ArrayBuffer);
        await stop(wss, client);
      },
    );

    test('a ping payload over 125 bytes throws a RangeError', T, async () => {
      const { wss, client } = await pair(lib);
      assert.throws(
        () => client.ping(Buffer.alloc(126)),
        /^RangeError: The data size must not be greater than 125 bytes$/,
      );
      await stop(wss, client);
    });

    test(
      'send(null) (documented difference: ironsock refuses it, ws sends an empty message)',
      T,
      async () => {
        const { wss, client, server } = await pair(lib);
        if (isIronsock) {
          assert.throws(() => client.send(null as never), TypeError);
        } else {
          const message = once(server, 'message');
          client.send(null as never);
          assert.equal((await message)[0].length, 0);
        }
        await stop(wss, client);
      },
    );
  });

  describe(`${name}: group 5, server`, () => {
    test('the WebSocket option: connections are instances of the subclass', T, async () => {
      class Tagged extends lib {
        get tag(): string {
          return 'tagged';
        }
      }
      const { wss, client, server } = await pair(lib, { WebSocket: Tagged });
      assert.ok(server instanceof Tagged);
      assert.equal((server as Tagged).tag, 'tagged');
      await stop(wss, client);
    });

    test('clientTracking: false leaves clients undefined', T, async () => {
      const { wss, client } = await pair(lib, { clientTracking: false });
      assert.equal(wss.clients, undefined);
      await stop(wss, client);
    });

    test('handleUpgrade twice on one socket throws', T, async () => {
      const httpServer = http.createServer();
      await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
      const wss = new lib.Server({ noServer: true });
      let thrown: unknown = null;
      httpServer.on('upgrade', (req, socket, head) => {
        wss.handleUpgrade(req, socket, head, (ws: Client) => ws.close());
        try {
          wss.handleUpgrade(req, socket, head, () => {});
        } catch (error) {
          thrown = error;
        }
      });
      const client = new lib(`ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}`);
      await once(client, 'close');
      assert.ok(thrown instanceof Error);
      assert.equal(
        (thrown as Error).message,
        'server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration',
      );
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => httpServer.close(resolve));
    });
  });

  describe(`${name}: group 7, permessage-deflate sends`, () => {
    const deflate = { perMessageDeflate: { threshold: 0 } };
    for (const [label, make] of [
      ['text', () => 'compressed text'],
      ['a TypedArray', () => new Float32Array([0.5, 1.5, 2.5])],
      ['an ArrayBuffer', () => new Float32Array([3.5, 4.5]).buffer],
    ] as const) {
      test(`echoes ${label} compressed both ways`, T, async () => {
        const { wss, client, server } = await pair(lib, deflate, deflate);
        assert.equal(client.extensions, 'permessage-deflate');
        server.on('message', (data: Buffer, isBinary: boolean) =>
          server.send(data, { binary: isBinary, compress: true }),
        );
        const data = make();
        const echoed = once(client, 'message');
        client.send(data, { compress: true });
        const [reply, isBinary] = await echoed;
        const expected =
          typeof data === 'string'
            ? Buffer.from(data)
            : Buffer.from(data instanceof ArrayBuffer ? data : data.buffer);
        assert.ok(Buffer.from(reply).equals(expected));
        assert.equal(isBinary, typeof data !== 'string');
        await stop(wss, client);
      });
    }

    test("terminate() while compressing: the send callback gets ws's error", T, async () => {
      const { wss, client } = await pair(lib, deflate, deflate);
      const errors: string[] = [];
      client.send('a', (error) => errors.push(String(error?.message)));
      client.terminate();
      await once(client, 'close');
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(errors, ['The socket was closed while data was being compressed']);
      await stop(wss);
    });
  });

  describe(`${name}: group 8, wording`, () => {
    test("a reserved opcode: ws's message text on a RangeError", T, async () => {
      const { wss, client, server } = await pair(lib);
      const errored = once(client, 'error');
      const closed = once(client, 'close');
      (server as unknown as { _socket: NodeJS.WritableStream })._socket.write(
        Buffer.from([0x85, 0x00]),
      );
      const [error] = (await errored) as [RangeError & { code: string; explanation: string }];
      assert.ok(error instanceof RangeError);
      assert.equal(error.message, 'Invalid WebSocket frame: invalid opcode 5');
      // Documented difference: the stable code keeps ironsock's name (ws: WS_ERR_INVALID_OPCODE),
      // and ironsock's longer explanation sits beside it.
      if (isIronsock) {
        assert.equal(error.code, 'RESERVED_OPCODE');
        assert.match(error.explanation, /reserved opcode \(§5\.2\)/);
      } else {
        assert.equal(error.code, 'WS_ERR_INVALID_OPCODE');
      }
      // Documented difference: after failing the connection, ironsock still reads the peer's
      // Close (RFC 6455 §7.1.5, the code received: 1002); ws stops reading and reports 1006.
      assert.equal((await closed)[0], isIronsock ? 1002 : 1006);
      await stop(wss, client);
    });

    for (const [label, method, headers, status, text] of [
      [
        'a POST',
        'POST',
        { Connection: 'Upgrade', Upgrade: 'websocket' },
        405,
        'Invalid HTTP method',
      ],
      [
        'a missing key',
        'GET',
        { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' },
        400,
        'Missing or invalid Sec-WebSocket-Key header',
      ],
    ] as const) {
      test(
        `handshake refusal for ${label}: ws's status, body and wsClientError message`,
        T,
        async () => {
          const wss = await serve(lib);
          const port = (wss.address() as AddressInfo).port;
          const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
            const req = http.request({ host: '127.0.0.1', port, method, headers }, (res) => {
              let body = '';
              res.on('data', (chunk) => (body += chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            });
            req.on('error', reject);
            req.end();
          });
          assert.deepEqual(answer, { status, body: text });
          const reported = once(wss, 'wsClientError');
          const req = http.request({ host: '127.0.0.1', port, method, headers });
          req.on('error', () => {});
          req.end();
          const [error, socket] = await reported;
          assert.equal(error.message, text);
          socket.destroy();
          await stop(wss);
        },
      );
    }

    test("a message over maxPayload: 'Max payload size exceeded', close 1009", T, async () => {
      const { wss, client, server } = await pair(lib, { maxPayload: 8 });
      const errored = once(server, 'error');
      const closed = once(client, 'close');
      client.send('123456789');
      const [error] = await errored;
      assert.equal(error.message, 'Max payload size exceeded');
      assert.equal((await closed)[0], 1009);
      await stop(wss, client);
    });
  });

  describe(`${name}: group 9, maxPayload`, () => {
    test('maxPayload: 0 means no limit (a 2 MiB message is accepted)', T, async () => {
      const { wss, client, server } = await pair(lib, { maxPayload: 0 }, { maxPayload: 0 });
      const big = Buffer.alloc(2 * 1024 * 1024, 7);
      const got = once(server, 'message');
      client.send(big);
      assert.ok((await got)[0].equals(big));
      await stop(wss, client);
    });

    test('the default limit (documented difference: ironsock 1 MiB, ws 100 MiB)', T, async () => {
      const { wss, client, server } = await pair(lib);
      const big = Buffer.alloc(2 * 1024 * 1024, 7);
      if (isIronsock) {
        const closed = once(client, 'close');
        client.send(big);
        assert.equal((await closed)[0], 1009);
      } else {
        const got = once(server, 'message');
        client.send(big);
        assert.equal((await got)[0].length, big.length);
      }
      await stop(wss, client);
    });
  });

  describe(`${name}: #13, the value send returns`, () => {
    test(
      'a ws-style send on a closing socket never throws and its result may be ignored',
      T,
      async () => {
        const { wss, client } = await pair(lib);
        client.close();
        const result: unknown = client.send('late');
        if (isIronsock) {
          // ironsock: a promise-like that resolves (the close is reported by 'close').
          await (result as PromiseLike<void>);
          assert.equal(typeof (result as Promise<void>).catch, 'function');
          assert.equal(typeof (result as Promise<void>).finally, 'function');
        } else {
          assert.equal(result, undefined);
        }
        await once(client, 'close');
        await stop(wss);
      },
    );
  });
}
