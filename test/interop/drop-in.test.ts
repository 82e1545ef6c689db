/**
 * The `ws` drop-in claim. The suite below is written only against ws's documented API (the
 * README's usage examples and FAQ, typed with @types/ws) and runs twice, unchanged: once with
 * the `ws` module and once with ironsock in its place. Only the module handed to `dropInSuite`
 * differs. Adaptations to a test setting: port 0 on 127.0.0.1 instead of 8080, assertions
 * instead of console.log, short timers instead of 30 s.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import * as wsModule from 'ws';
import * as ironsock from './impl.js';

/** The shape of `import * as ws from 'ws'` that the README examples use. */
type WsLib = Pick<typeof wsModule, 'WebSocket' | 'WebSocketServer' | 'createWebSocketStream'>;

const T = { timeout: 20_000 };

/** Resolves with the first of `events` emitted by `emitter` (rejects on 'error' unless listed, or after 10 s). */
function once(
  emitter: { once(e: string, l: (...a: any[]) => void): unknown },
  event: string,
): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within 10 s`)), 10_000);
    timer.unref(); // a wait left pending by a failed test must not hold the process open
    emitter.once(event, (...args: any[]) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** Polls `condition` every 10 ms; rejects after 10 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Documented, deliberate differences from ws (each a one-line reason). The README example a
 * difference breaks is skipped with that reason, and a separate test pins the difference.
 */
interface Differences {
  sendNumber?: string;
}

function dropInSuite(
  name: string,
  { WebSocket, WebSocketServer, createWebSocketStream }: WsLib,
  differences: Differences = {},
): void {
  /** A standalone server on 127.0.0.1:0 (the README's `{ port: 8080 }`), closed after the test. */
  async function serve(
    t: TestContext,
    options: wsModule.ServerOptions = {},
  ): Promise<{ wss: wsModule.WebSocketServer; url: string }> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
    t.after(() => closeAll(wss));
    await once(wss, 'listening');
    return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
  }
  /** Terminates every client and closes `wss` (once; later calls resolve at once). */
  function closeAll(wss: wsModule.WebSocketServer): Promise<void> {
    if (closed.has(wss)) return Promise.resolve();
    closed.add(wss);
    wss.clients.forEach((client) => client.terminate());
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      wss.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  const closed = new WeakSet<wsModule.WebSocketServer>();
  /** An http server on 127.0.0.1:0, closed after the test. */
  async function httpServer(t: TestContext): Promise<{ server: Server; port: number }> {
    const server = createServer();
    t.after(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as AddressInfo).port };
  }
  /** A client closed (terminated) after the test. */
  function client(t: TestContext, ...args: any[]): wsModule.WebSocket {
    const ws = new (WebSocket as any)(...args) as wsModule.WebSocket;
    t.after(() => ws.terminate());
    return ws;
  }

  describe(`ws README examples, run against ${name}`, () => {
    test('Simple server + sending and receiving text data', T, async (t) => {
      const { wss, url } = await serve(t);
      const received: string[] = [];
      wss.on('connection', function connection(ws) {
        ws.on('error', console.error);
        ws.on('message', function message(data) {
          received.push(`${data}`);
        });
        ws.send('something');
      });
      const ws = client(t, url);
      ws.on('error', console.error);
      ws.on('open', function open() {
        ws.send('something');
      });
      const [data, isBinary] = await once(ws, 'message');
      assert.equal(`${data}`, 'something');
      assert.equal(isBinary, false);
      assert.equal(ws.readyState, WebSocket.OPEN);
      await until(() => received.length > 0);
      assert.deepEqual(received, ['something']);
      ws.close();
      await once(ws, 'close');
      assert.equal(ws.readyState, WebSocket.CLOSED);
      await closeAll(wss);
    });

    test('Sending binary data (a Float32Array)', T, async (t) => {
      const { wss, url } = await serve(t);
      const got = new Promise<[Buffer, boolean]>((resolve) =>
        wss.on('connection', (ws) =>
          ws.on('message', (data, isBinary) => resolve([data as Buffer, isBinary])),
        ),
      );
      const ws = client(t, url);
      ws.on('error', console.error);
      ws.on('open', function open() {
        const array = new Float32Array(5);
        for (let i = 0; i < array.length; ++i) array[i] = i / 2;
        ws.send(array);
      });
      const [data, isBinary] = await got;
      assert.equal(isBinary, true);
      assert.deepEqual(
        Array.from(new Float32Array(new Uint8Array(data).buffer)),
        [0, 0.5, 1, 1.5, 2],
      );
      ws.terminate();
      await closeAll(wss);
    });

    test(
      'External HTTP server + Multiple servers sharing a single HTTP server (noServer, handleUpgrade)',
      T,
      async (t) => {
        const { server, port } = await httpServer(t);
        const wss1 = new WebSocketServer({ noServer: true });
        const wss2 = new WebSocketServer({ noServer: true });
        wss1.on('connection', function connection(ws) {
          ws.on('error', console.error);
          ws.send('this is /foo');
        });
        wss2.on('connection', function connection(ws) {
          ws.on('error', console.error);
          ws.send('this is /bar');
        });
        server.on(
          'upgrade',
          function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
            const { pathname } = new URL(request.url ?? '/', 'wss://base.url');
            if (pathname === '/foo') {
              wss1.handleUpgrade(request, socket, head, function done(ws) {
                wss1.emit('connection', ws, request);
              });
            } else if (pathname === '/bar') {
              wss2.handleUpgrade(request, socket, head, function done(ws) {
                wss2.emit('connection', ws, request);
              });
            } else {
              socket.destroy();
            }
          },
        );
        t.after(() => closeAll(wss1));
        t.after(() => closeAll(wss2));
        const base = `ws://127.0.0.1:${port}`;
        const foo = client(t, `${base}/foo`);
        const bar = client(t, `${base}/bar`);
        assert.equal(`${(await once(foo, 'message'))[0]}`, 'this is /foo');
        assert.equal(`${(await once(bar, 'message'))[0]}`, 'this is /bar');
        const other = client(t, `${base}/other`);
        other.on('error', () => {});
        await once(other, 'close');
        foo.terminate();
        bar.terminate();
        await closeAll(wss1);
        await closeAll(wss2);
      },
    );

    test('Client authentication in the upgrade handler (401 or handleUpgrade)', T, async (t) => {
      function onSocketError(err: Error) {
        console.error(err);
      }
      function authenticate(
        request: IncomingMessage,
        next: (err: Error | null, client?: string) => void,
      ) {
        const token = request.headers.authorization;
        if (token === 'Bearer good') next(null, 'alice');
        else next(new Error('bad token'));
      }
      const { server, port } = await httpServer(t);
      const wss = new WebSocketServer({ noServer: true });
      t.after(() => closeAll(wss));
      const users: string[] = [];
      wss.on(
        'connection',
        function connection(ws: wsModule.WebSocket, request: IncomingMessage, user?: unknown) {
          ws.on('error', console.error);
          ws.on('message', function message(data) {
            users.push(`${data} from ${user}`);
            ws.send('ack');
          });
        },
      );
      server.on(
        'upgrade',
        function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
          socket.on('error', onSocketError);
          authenticate(request, function next(err, client) {
            if (err || !client) {
              socket.write('HTTP/1.1 401 Unauthorized\r\n\r\n');
              socket.destroy();
              return;
            }
            socket.removeListener('error', onSocketError);
            wss.handleUpgrade(request, socket, head, function done(ws) {
              wss.emit('connection', ws, request, client);
            });
          });
        },
      );
      const url = `ws://127.0.0.1:${port}`;

      const good = client(t, url, { headers: { authorization: 'Bearer good' } });
      good.on('open', () => good.send('hello'));
      assert.equal(`${(await once(good, 'message'))[0]}`, 'ack');
      assert.deepEqual(users, ['hello from alice']);

      const bad = client(t, url, { headers: { authorization: 'Bearer bad' } });
      bad.on('error', () => {});
      const [, response] = await once(bad, 'unexpected-response');
      assert.equal(response.statusCode, 401);
      bad.terminate();
      good.terminate();
      await closeAll(wss);
    });

    test(
      'Server broadcast with wss.clients.forEach (including and excluding the sender)',
      T,
      async (t) => {
        const { wss, url } = await serve(t);
        wss.on('connection', function connection(ws) {
          ws.on('error', console.error);
          ws.on('message', function message(data, isBinary) {
            const includeSelf = `${data}`.startsWith('all:');
            wss.clients.forEach(function each(client) {
              if ((includeSelf || client !== ws) && client.readyState === WebSocket.OPEN) {
                client.send(data, { binary: isBinary });
              }
            });
          });
        });
        const clients = [client(t, url), client(t, url), client(t, url)];
        await Promise.all(clients.map((c) => once(c, 'open')));
        await until(() => wss.clients.size === 3);
        const heard = clients.map(() => [] as string[]);
        clients.forEach((c, i) => c.on('message', (data) => heard[i].push(`${data}`)));
        clients[0].send('all: hello');
        clients[1].send('others: hi');
        await until(() => heard.flat().length >= 5);
        assert.deepEqual(heard, [
          ['all: hello', 'others: hi'],
          ['all: hello'],
          ['all: hello', 'others: hi'],
        ]);
        clients.forEach((c) => c.terminate());
        await closeAll(wss);
      },
    );

    test(
      'Round-trip time (send a number, echo)',
      { ...T, skip: differences.sendNumber ?? false },
      async (t) => {
        const { wss, url } = await serve(t);
        wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
        const ws = client(t, url);
        ws.on('error', console.error);
        ws.on('open', function open() {
          ws.send(Date.now());
        });
        const [data] = await once(ws, 'message');
        const rtt = Date.now() - Number(`${data}`);
        assert.ok(rtt >= 0 && rtt < 10_000, `round-trip ${rtt} ms`);
        ws.close();
        await once(ws, 'close');
        await closeAll(wss);
      },
    );

    test('send(number): sent as its decimal text', T, async (t) => {
      const { wss, url } = await serve(t);
      const got = new Promise<string>((resolve) =>
        wss.on('connection', (ws) => ws.on('message', (data) => resolve(`${data}`))),
      );
      const ws = client(t, url);
      await once(ws, 'open');
      if (differences.sendNumber) {
        assert.throws(() => ws.send(123 as never), TypeError);
        ws.send(String(123));
      } else {
        ws.send(123 as never);
      }
      assert.equal(await got, '123');
    });

    test('Use the Node.js streams API (createWebSocketStream)', T, async (t) => {
      const { wss, url } = await serve(t);
      wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo: ${data}`)));
      const ws = client(t, url);
      const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
      duplex.on('error', console.error);
      duplex.write('streamed');
      const [chunk] = await once(duplex, 'data');
      assert.equal(chunk, 'echo: streamed');
      duplex.end();
      duplex.destroy();
      await closeAll(wss);
    });

    test('How to get the IP address of the client', T, async (t) => {
      const { wss, url } = await serve(t);
      const ip = new Promise<string | undefined>((resolve) =>
        wss.on('connection', (ws, req) => resolve(req.socket.remoteAddress)),
      );
      const ws = client(t, url);
      ws.on('error', console.error);
      assert.equal(await ip, '127.0.0.1');
      await once(ws, 'open');
      ws.terminate();
      await closeAll(wss);
    });

    test('How to detect and close broken connections (heartbeat with ping/pong)', T, async (t) => {
      const { wss, url } = await serve(t);
      let pongs = 0;
      function heartbeat(this: any) {
        this.isAlive = true;
        pongs++;
      }
      wss.on('connection', function connection(ws: any) {
        ws.isAlive = true;
        ws.on('error', console.error);
        ws.on('pong', heartbeat);
      });
      const interval = setInterval(function ping() {
        wss.clients.forEach(function each(ws: any) {
          if (ws.isAlive === false) return ws.terminate();
          ws.isAlive = false;
          ws.ping();
        });
      }, 50);
      wss.on('close', function close() {
        clearInterval(interval);
      });
      t.after(() => clearInterval(interval));

      const heartbeatClient: any = client(t, url);
      let pings = 0;
      function clientHeartbeat(this: any) {
        pings++;
        clearTimeout(this.pingTimeout);
        this.pingTimeout = setTimeout(() => this.terminate(), 5_000);
      }
      heartbeatClient.on('error', console.error);
      heartbeatClient.on('open', clientHeartbeat);
      heartbeatClient.on('ping', clientHeartbeat);
      heartbeatClient.on('close', function clear(this: any) {
        clearTimeout(this.pingTimeout);
      });
      await until(() => pongs >= 3);
      assert.ok(pings >= 3, `client saw ${pings} pings`);
      assert.equal(heartbeatClient.readyState, WebSocket.OPEN);
      heartbeatClient.close(1000, 'done');
      const [code, reason] = await once(heartbeatClient, 'close');
      assert.equal(code, 1000, `reason ${reason}`);
      await closeAll(wss);
      clearInterval(interval);
    });

    test('close with code and reason reaches the other side', T, async (t) => {
      const { wss, url } = await serve(t);
      const serverClose = new Promise<[number, string]>((resolve) =>
        wss.on('connection', (ws) =>
          ws.on('close', (code, reason) => resolve([code, reason.toString()])),
        ),
      );
      const ws = client(t, url);
      await once(ws, 'open');
      const clientClose = once(ws, 'close');
      ws.close(4321, 'see you');
      assert.deepEqual(await serverClose, [4321, 'see you']);
      const [code] = await clientClose;
      assert.equal(code, 4321);
      await closeAll(wss);
    });

    test('verifyClient (sync and async forms)', T, async (t) => {
      const sync = await serve(t, {
        verifyClient: (info: { req: IncomingMessage }) => info.req.headers['x-token'] === 'ok',
      });
      const ok = client(t, sync.url, { headers: { 'x-token': 'ok' } });
      await once(ok, 'open');
      const refused = client(t, sync.url, { headers: { 'x-token': 'no' } });
      refused.on('error', () => {});
      assert.equal((await once(refused, 'unexpected-response'))[1].statusCode, 401);
      refused.terminate();
      ok.terminate();
      await closeAll(sync.wss);

      const async = await serve(t, {
        verifyClient: (
          info: { req: IncomingMessage },
          callback: (ok: boolean, code?: number, message?: string) => void,
        ) => {
          setTimeout(() => callback(info.req.url === '/allowed', 403, 'Forbidden'), 5);
        },
      });
      const allowed = client(t, `${async.url}/allowed`);
      await once(allowed, 'open');
      const denied = client(t, `${async.url}/denied`);
      denied.on('error', () => {});
      assert.equal((await once(denied, 'unexpected-response'))[1].statusCode, 403);
      denied.terminate();
      allowed.terminate();
      await closeAll(async.wss);
    });

    test('Subprotocols: the client offers a list, handleProtocols picks one', T, async (t) => {
      const { wss, url } = await serve(t, {
        handleProtocols: (protocols: Set<string>) => (protocols.has('chat') ? 'chat' : false),
      });
      const ws = client(t, url, ['superchat', 'chat']);
      await once(ws, 'open');
      assert.equal(ws.protocol, 'chat');
      ws.terminate();
      await closeAll(wss);
    });

    test('WebSocket compression (the README perMessageDeflate options)', T, async (t) => {
      const { wss, url } = await serve(t, {
        perMessageDeflate: {
          zlibDeflateOptions: { chunkSize: 1024, memLevel: 7, level: 3 },
          zlibInflateOptions: { chunkSize: 10 * 1024 },
          clientNoContextTakeover: true,
          serverNoContextTakeover: true,
          serverMaxWindowBits: 10,
          concurrencyLimit: 10,
          threshold: 1024,
        },
      });
      wss.on('connection', (ws) =>
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })),
      );
      const ws = client(t, url);
      await once(ws, 'open');
      assert.match(ws.extensions, /permessage-deflate/);
      const text = 'compressible '.repeat(10_000);
      ws.send(text);
      assert.equal(`${(await once(ws, 'message'))[0]}`, text);
      ws.terminate();

      const plain = client(t, url, { perMessageDeflate: false });
      await once(plain, 'open');
      assert.equal(plain.extensions, '');
      plain.terminate();
      await closeAll(wss);
    });
  });

  describe(`ws API docs (doc/ws.md, typed by @types/ws), run against ${name}`, () => {
    test(
      'WHATWG-style handlers: onopen, onmessage, addEventListener, onclose with CloseEvent',
      T,
      async (t) => {
        const { wss, url } = await serve(t);
        wss.on('connection', (ws) =>
          ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })),
        );
        const ws = client(t, url);
        const events: string[] = [];
        ws.onopen = () => {
          events.push('open');
          ws.send('whatwg');
        };
        const viaListener = new Promise<string>((resolve) =>
          ws.addEventListener('message', (event) => resolve(String(event.data))),
        );
        const viaProperty = new Promise<string>((resolve) => {
          ws.onmessage = (event) => resolve(String(event.data));
        });
        assert.deepEqual(await Promise.all([viaListener, viaProperty]), ['whatwg', 'whatwg']);
        const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>(
          (resolve) => {
            ws.onclose = (event) =>
              resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
          },
        );
        ws.close(4100, 'whatwg bye');
        assert.deepEqual((await closed).code, 4100);
        assert.equal((await closed).wasClean, true);
        assert.deepEqual(events, ['open']);
      },
    );

    test('binaryType: nodebuffer (default), arraybuffer, fragments', T, async (t) => {
      const { wss, url } = await serve(t);
      wss.on('connection', (ws) => {
        ws.on('message', () => {
          ws.send(Buffer.from([1, 2]), { fin: false });
          ws.send(Buffer.from([3]), { fin: true });
        });
      });
      const ws = client(t, url);
      await once(ws, 'open');
      assert.equal(ws.binaryType, 'nodebuffer');
      ws.send('go');
      const [asBuffer] = await once(ws, 'message');
      assert.ok(Buffer.isBuffer(asBuffer));
      assert.deepEqual([...asBuffer], [1, 2, 3]);
      ws.binaryType = 'arraybuffer';
      ws.send('go');
      const [asArrayBuffer] = await once(ws, 'message');
      assert.ok(asArrayBuffer instanceof ArrayBuffer);
      assert.deepEqual([...new Uint8Array(asArrayBuffer)], [1, 2, 3]);
      ws.binaryType = 'fragments';
      ws.send('go');
      const [asFragments] = await once(ws, 'message');
      assert.ok(
        Array.isArray(asFragments) && asFragments.every((b: unknown) => Buffer.isBuffer(b)),
      );
      assert.deepEqual([...Buffer.concat(asFragments)], [1, 2, 3]);
    });

    test('url, readyState constants, send callback, bufferedAmount', T, async (t) => {
      const { url } = await serve(t);
      const ws = client(t, `${url}/some/path?x=1`);
      assert.equal(ws.url, `${url}/some/path?x=1`);
      assert.deepEqual(
        [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED],
        [0, 1, 2, 3],
      );
      assert.equal(ws.readyState, WebSocket.CONNECTING);
      assert.throws(() => ws.send('too early'));
      await once(ws, 'open');
      assert.equal(ws.readyState, WebSocket.OPEN);
      await new Promise<void>((resolve, reject) =>
        ws.send('with callback', (err) => (err ? reject(err) : resolve())),
      );
      assert.equal(typeof ws.bufferedAmount, 'number');
      ws.close();
      assert.equal(ws.readyState, WebSocket.CLOSING);
      await once(ws, 'close');
      assert.equal(ws.readyState, WebSocket.CLOSED);
    });

    test(
      "server 'headers' event adds a response header; client 'upgrade' sees it",
      T,
      async (t) => {
        const { wss, url } = await serve(t);
        wss.on('headers', (headers: string[]) => headers.push('X-Drop-In: yes'));
        const ws = client(t, url);
        const upgraded = once(ws, 'upgrade');
        const opened = once(ws, 'open');
        const [response] = await upgraded;
        assert.equal(response.headers['x-drop-in'], 'yes');
        await opened;
      },
    );

    test('the path option: other paths are not handled', T, async (t) => {
      const { url } = await serve(t, { path: '/only' });
      const ok = client(t, `${url}/only`);
      await once(ok, 'open');
      const other = client(t, `${url}/other`);
      other.on('error', () => {});
      const [, response] = await once(other, 'unexpected-response');
      assert.ok(
        response.statusCode >= 400 && response.statusCode < 500,
        `status ${response.statusCode}`,
      );
    });

    test('pause() and resume(): no message events while paused', T, async (t) => {
      const { wss, url } = await serve(t);
      wss.on('connection', (ws) => ws.on('message', () => ws.send('reply')));
      const ws = client(t, url);
      await once(ws, 'open');
      const got: string[] = [];
      ws.on('message', (data) => got.push(`${data}`));
      ws.pause();
      assert.equal(ws.isPaused, true);
      ws.send('ping-me');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(got, []);
      ws.resume();
      assert.equal(ws.isPaused, false);
      await until(() => got.length === 1);
      assert.deepEqual(got, ['reply']);
    });

    test('wss.clients tracks open connections', T, async (t) => {
      const { wss, url } = await serve(t, { clientTracking: true });
      const a = client(t, url);
      const b = client(t, url);
      await Promise.all([once(a, 'open'), once(b, 'open')]);
      await until(() => wss.clients.size === 2);
      a.close();
      await until(() => wss.clients.size === 1);
      b.terminate();
      await until(() => wss.clients.size === 0);
    });
  });
}

dropInSuite('ws', wsModule);
dropInSuite('ironsock', ironsock as unknown as WsLib);
