/**
 * createWebSocketStream (issue #11 group 6). Every behaviour is checked against ironsock and,
 * in the same test body, against the `ws` package as the oracle: both must pass.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Duplex, Readable, Writable } from 'node:stream';
import * as wsPackage from 'ws';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { WebSocketServer } from '../../src/node/server.js';
import { createWebSocketStream } from '../../src/node/stream.js';
import { once, startServer, stopServer } from './util.js';

interface Impl {
  name: string;
  WebSocket: any;
  WebSocketServer: any;
  createWebSocketStream: (ws: any, options?: any) => Duplex;
}

const IMPLS: Impl[] = [
  { name: 'ironsock', WebSocket, WebSocketServer, createWebSocketStream },
  {
    name: 'ws (oracle)',
    WebSocket: wsPackage.WebSocket,
    WebSocketServer: wsPackage.WebSocketServer,
    createWebSocketStream: wsPackage.createWebSocketStream,
  },
];

const T = { timeout: 15_000 };

async function serve(
  impl: Impl,
  options: Record<string, unknown> = {},
): Promise<{
  wss: any;
  url: string;
  close: () => Promise<void>;
}> {
  const wss = new impl.WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  return {
    wss,
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients ?? []) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Resolves with the stream's recorded events once it emits 'close' (bounded). */
function closed(duplex: Duplex, events: string[], ms = 10_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no 'close' on the stream; events: ${events.join(', ')}`)),
      ms,
    );
    duplex.on('close', () => {
      clearTimeout(timer);
      events.push('close');
      resolve(events);
    });
  });
}

for (const impl of IMPLS) {
  describe(`createWebSocketStream: ${impl.name}`, () => {
    test('passes its options to the Duplex (encoding, allowHalfOpen: false)', T, async () => {
      const { wss, url, close } = await serve(impl);
      wss.on('connection', (ws: any) => {
        ws.send(Buffer.from('hi'));
        ws.close();
      });
      const duplex = impl.createWebSocketStream(new impl.WebSocket(url), {
        allowHalfOpen: false,
        encoding: 'utf8',
      });
      const events: string[] = [];
      const done = closed(duplex, events);
      duplex.on('data', (chunk: unknown) => events.push(`data:${typeof chunk}:${String(chunk)}`));
      duplex.on('finish', () => events.push('finish'));
      duplex.on('end', () => events.push('end'));
      await done;
      assert.equal(events[0], 'data:string:hi');
      // allowHalfOpen: false ends the writable side once the readable side ended.
      assert.ok(events.includes('end') && events.includes('finish'), events.join());
      await close();
    });

    test('buffers writes made while CONNECTING and sends them in order on open', T, async () => {
      const { wss, url, close } = await serve(impl);
      const chunks = [randomBytes(1024), randomBytes(10), randomBytes(3000)];
      const received = new Promise<Buffer[]>((resolve) =>
        wss.on('connection', (ws: any) => {
          const got: Buffer[] = [];
          ws.on('message', (data: Buffer) => {
            got.push(data);
            if (got.length === chunks.length) resolve(got);
          });
        }),
      );
      const ws = new impl.WebSocket(url);
      assert.equal(ws.readyState, impl.WebSocket.CONNECTING);
      const duplex = impl.createWebSocketStream(ws);
      for (const chunk of chunks) duplex.write(chunk);
      const got = await received;
      assert.deepEqual(got, chunks);
      const events: string[] = [];
      const done = closed(duplex, events);
      duplex.resume();
      duplex.end();
      await done;
      await close();
    });

    test('a write after the connection closed errors and destroys the stream', T, async () => {
      const { wss, url, close } = await serve(impl);
      wss.on('connection', (ws: any) => ws.close());
      const ws = new impl.WebSocket(url);
      const duplex = impl.createWebSocketStream(ws);
      const error = new Promise<Error>((resolve) => duplex.on('error', resolve));
      const events: string[] = [];
      const done = closed(duplex, events);
      await once(ws, 'close');
      duplex.write('hi');
      const err = await error;
      assert.ok(err instanceof Error);
      assert.match(err.message, /not open/i);
      await done;
      assert.ok(duplex.destroyed);
      await close();
    });

    test('end() while CONNECTING waits for open, then closes cleanly', T, async () => {
      const { wss, url, close } = await serve(impl);
      const serverClose = new Promise<number>((resolve) =>
        wss.on('connection', (ws: any) => ws.on('close', (code: number) => resolve(code))),
      );
      const ws = new impl.WebSocket(url);
      assert.equal(ws.readyState, impl.WebSocket.CONNECTING);
      const duplex = impl.createWebSocketStream(ws);
      const events: string[] = [];
      const done = closed(duplex, events);
      duplex.on('finish', () => events.push('finish'));
      duplex.on('end', () => events.push('end'));
      duplex.resume();
      duplex.end();
      await done;
      assert.ok(events.includes('finish') && events.includes('end'), events.join());
      assert.equal(await serverClose, 1005);
      await close();
    });

    test("is destroyed once 'finish' then 'end' were emitted", T, async () => {
      const { wss, url, close } = await serve(impl);
      wss.on('connection', (ws: any) => {
        ws.send('foo');
        ws.close();
      });
      const ws = new impl.WebSocket(url);
      const duplex = impl.createWebSocketStream(ws);
      const events: string[] = [];
      const checks: boolean[] = [];
      const done = closed(duplex, events);
      duplex.on('finish', () => {
        events.push('finish');
        checks.push(!duplex.destroyed, duplex.readable);
        duplex.resume();
      });
      duplex.on('end', () => {
        events.push('end');
        checks.push(duplex.destroyed);
      });
      ws.on('close', () => duplex.end());
      assert.deepEqual(await done, ['finish', 'end', 'close']);
      assert.deepEqual(checks, [true, true, true]);
      await close();
    });

    test("is destroyed once 'end' then 'finish' were emitted", T, async () => {
      const { wss, url, close } = await serve(impl);
      wss.on('connection', (ws: any) => ws.close());
      const duplex = impl.createWebSocketStream(new impl.WebSocket(url));
      const events: string[] = [];
      const checks: boolean[] = [];
      const done = closed(duplex, events);
      duplex.on('end', () => {
        events.push('end');
        checks.push(!duplex.destroyed, duplex.writable);
        duplex.end();
      });
      duplex.on('finish', () => events.push('finish'));
      duplex.resume();
      assert.deepEqual(await done, ['end', 'finish', 'close']);
      assert.deepEqual(checks, [true, true]);
      await close();
    });

    test("send backpressure: write() returns false, then 'drain'", T, async () => {
      const { wss, url, close } = await serve(impl);
      const result = new Promise<{ writes: number; events: string[] }>((resolve, reject) => {
        wss.on('connection', (ws: any) => {
          const duplex = impl.createWebSocketStream(ws);
          duplex.resume();
          const events: string[] = [];
          let writes = 0;
          duplex.on('drain', () => {
            events.push('drain');
            closed(duplex, events).then(() => resolve({ writes, events }), reject);
            duplex.end();
          });
          const chunk = randomBytes(1024);
          while (duplex.write(chunk)) writes++;
        });
      });
      const client = new impl.WebSocket(url);
      client.on('error', () => {});
      const { writes, events } = await result;
      // The default highWaterMark is 16 KiB: about 16 writes of 1 KiB before false.
      assert.ok(writes >= 1 && writes < 64, `writes: ${writes}`);
      assert.deepEqual(events, ['drain', 'close']);
      await close();
    });

    test(
      'receive backpressure: the socket is paused while the readable side is full',
      T,
      async () => {
        const { wss, url, close } = await serve(impl);
        const total = 64;
        wss.on('connection', (ws: any) => {
          for (let i = 0; i < total; i++) ws.send(Buffer.alloc(4096, i));
        });
        const ws = new impl.WebSocket(url);
        const duplex = impl.createWebSocketStream(ws, { highWaterMark: 8192 });
        await once(ws, 'open');
        const deadline = Date.now() + 5000;
        while (!ws.isPaused && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        assert.equal(ws.isPaused, true, 'the WebSocket is paused once the readable buffer is full');
        assert.ok(duplex.readableLength < total * 4096);
        const got: Buffer[] = [];
        for await (const chunk of duplex) {
          got.push(chunk as Buffer);
          if (Buffer.concat(got).length === total * 4096) break;
        }
        const all = Buffer.concat(got);
        for (let i = 0; i < total; i++) assert.equal(all[i * 4096], i);
        await close();
      },
    );

    test('destroy(error) emits that error, then close; the connection ends', T, async () => {
      const { wss, url, close } = await serve(impl);
      const serverClose = new Promise<number>((resolve) =>
        wss.on('connection', (ws: any) => ws.on('close', (code: number) => resolve(code))),
      );
      const ws = new impl.WebSocket(url);
      const duplex = impl.createWebSocketStream(ws);
      const oops = new Error('Oops');
      const error = new Promise<Error>((resolve) => duplex.on('error', resolve));
      const events: string[] = [];
      const done = closed(duplex, events);
      await once(ws, 'open');
      duplex.destroy(oops);
      assert.equal(await error, oops);
      await done;
      assert.equal(ws.readyState, impl.WebSocket.CLOSED);
      assert.equal(await serverClose, 1006);
      await close();
    });

    test('destroy() emits close and terminates the connection', T, async () => {
      const { wss, url, close } = await serve(impl);
      wss.on('connection', () => {});
      const ws = new impl.WebSocket(url);
      const duplex = impl.createWebSocketStream(ws);
      const events: string[] = [];
      const done = closed(duplex, events);
      await once(ws, 'open');
      duplex.destroy();
      await done;
      assert.equal(ws.readyState, impl.WebSocket.CLOSED);
      await close();
    });

    test('readable object mode: text as strings, binary as Buffers', T, async () => {
      const { wss, url, close } = await serve(impl);
      wss.on('connection', (ws: any) => {
        ws.send('héllo');
        ws.send(Buffer.from([1, 2, 3]));
        ws.close();
      });
      const duplex = impl.createWebSocketStream(new impl.WebSocket(url), {
        readableObjectMode: true,
      });
      const chunks: unknown[] = [];
      for await (const chunk of duplex) chunks.push(chunk);
      assert.equal(chunks[0], 'héllo');
      assert.ok(Buffer.isBuffer(chunks[1]));
      assert.deepEqual([...(chunks[1] as Buffer)], [1, 2, 3]);
      await close();
    });

    test('a protocol error of the peer errors the stream, then it closes', T, async () => {
      const { wss, url, close } = await serve(impl);
      const serverClose = new Promise<number>((resolve) =>
        wss.on('connection', (ws: any) => {
          ws.on('error', () => {});
          ws.on('close', (code: number) => resolve(code));
          ws._socket.write(Buffer.from([0x85, 0x00])); // reserved opcode 5
        }),
      );
      const duplex = impl.createWebSocketStream(new impl.WebSocket(url));
      const error = new Promise<Error>((resolve) => duplex.on('error', resolve));
      const events: string[] = [];
      const done = closed(duplex, events);
      assert.ok((await error) instanceof Error);
      await done;
      assert.equal(await serverClose, 1002);
      await close();
    });

    test(
      'end() before a handshake that fails: the error, then close, never finish',
      T,
      async () => {
        // An HTTP server answering every upgrade with 101 and a wrong Sec-WebSocket-Accept.
        const server = createServer();
        server.on('upgrade', (_req, socket: Socket) => {
          socket.on('error', () => {});
          socket.write(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              'Sec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n',
          );
        });
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        const { port } = server.address() as AddressInfo;
        const duplex = impl.createWebSocketStream(new impl.WebSocket(`ws://127.0.0.1:${port}/`));
        const events: string[] = [];
        duplex.on('error', () => events.push('error'));
        duplex.on('finish', () => events.push('finish'));
        const done = closed(duplex, events);
        duplex.end();
        assert.deepEqual(await done, ['error', 'close']);
        server.close();
      },
    );

    test('a Duplex echoing through the server, pipelined both ways', T, async () => {
      const { wss, url, close } = await serve(impl);
      wss.on('connection', (ws: any) => {
        const duplex = impl.createWebSocketStream(ws);
        duplex.on('error', () => {});
        duplex.pipe(duplex);
      });
      const stream = impl.createWebSocketStream(new impl.WebSocket(url));
      const total = 200;
      const chunks: Buffer[] = [];
      const source = Readable.from(
        (function* () {
          for (let i = 0; i < total; i++) yield Buffer.alloc(4096, i & 0xff);
        })(),
      );
      const sink = new Writable({
        highWaterMark: 4096,
        write(chunk: Buffer, _encoding, cb) {
          chunks.push(chunk);
          if (chunks.length === total) stream.end();
          setImmediate(cb);
        },
      });
      await Promise.all([pipeline(source, stream, { end: false }), pipeline(stream, sink)]);
      assert.equal(chunks.length, total);
      for (let i = 0; i < total; i++) assert.equal(chunks[i][0], i & 0xff);
      await close();
    });
  });
}

test('createWebSocketStream on an ironsock server socket: destroy() terminates it', T, async () => {
  const { wss, url } = await startServer();
  const serverClosed = new Promise<number>((resolve) =>
    wss.on('connection', (ws: WebSocket) => {
      ws.send('hello');
      ws.on('close', (code: number) => resolve(code));
    }),
  );
  const client = await WebSocket.connect(url);
  const stream = createWebSocketStream(client, { readableObjectMode: true });
  const [chunk] = await once<[unknown]>(stream, 'data');
  assert.equal(chunk, 'hello');
  stream.destroy();
  assert.equal(await serverClosed, 1006);
  await stopServer(wss);
});
