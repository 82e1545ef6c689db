/**
 * WebSocketStream and WebSocketError (issue #16): the cases of the web-platform-tests'
 * `websockets/stream/tentative/*.any.js` (constructor, close, abort, write, remote close,
 * backpressure), restated for node:test against an ironsock server whose paths play the roles
 * of the WPT handlers (echo, protocol_array, 404, handshake_sleep, delayed-passive-close,
 * passive-close-abort, echo_exit). Plus the server side (`WebSocketStream.from`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { PauseReason } from '../../src/node/socket-driver.js';
import { WebSocketServer } from '../../src/node/server.js';
import { WebSocketError, WebSocketStream } from '../../src/node/websocket-stream.js';
import { delay, once, waitFor } from './util.js';

const T = { timeout: 20_000 };
/** The WPT handlers sleep 2 s / 1 s; shorter here, same shape. */
const HANDSHAKE_SLEEP_MS = 400;
const PASSIVE_CLOSE_DELAY_MS = 500;

/**
 * Stops reading the socket at all, as the WPT handlers do (their server reads nothing). Not
 * `ws.pause()`: that pauses between messages and still answers a Close (docs/design.md).
 */
function stopReading(ws: WebSocket): void {
  ws._driver?.setPaused(PauseReason.Engine, true);
}
function startReading(ws: WebSocket): void {
  ws._driver?.setPaused(PauseReason.Engine, false);
}

let wss: WebSocketServer;
let base = '';
let ECHO = '';
/** Paths of the upgrade requests the server received, in order. */
const requests: string[] = [];

before(async () => {
  wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (protocols) => [...protocols][0] ?? false,
    verifyClient: (
      info: { req: IncomingMessage },
      callback: (ok: boolean, code?: number) => void,
    ) => {
      const path = info.req.url ?? '/';
      requests.push(path);
      if (path === '/404') callback(false, 404);
      else if (path === '/handshake_sleep') setTimeout(() => callback(true), HANDSHAKE_SLEEP_MS);
      else callback(true);
    },
  });
  await once(wss, 'listening');
  base = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  ECHO = `${base}/echo`;
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    ws.on('error', () => {});
    switch (req.url) {
      case '/echo':
        ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
        break;
      case '/protocol_array':
        ws.send(ws.protocol);
        break;
      case '/delayed-passive-close':
        // Reads nothing for a while, so the answer to the client's Close comes late.
        stopReading(ws);
        setTimeout(() => startReading(ws), PASSIVE_CLOSE_DELAY_MS);
        break;
      case '/passive-close-abort':
        // Never answers a Close: reads nothing, then drops the TCP connection.
        stopReading(ws);
        setTimeout(() => ws.terminate(), 200);
        break;
      case '/stall-then-drop':
        stopReading(ws);
        setTimeout(() => ws.terminate(), 300);
        break;
      case '/echo_exit':
        ws.on('message', (data: Buffer) => {
          if (data.toString() === 'Goodbye') ws.terminate();
        });
        break;
      case '/remote-close':
        ws.on('message', (data: Buffer) => {
          const { code, reason } = JSON.parse(data.toString()) as {
            code?: number;
            reason?: string;
          };
          ws.close(code, reason);
        });
        break;
      default:
        break;
    }
  });
});

after(async () => {
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
});

async function rejection(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('WebSocketError', () => {
  test('is a DOMException named WebSocketError; closeCode null without code or reason', () => {
    const error = new WebSocketError();
    assert.ok(error instanceof DOMException);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'WebSocketError');
    assert.equal(error.message, '');
    assert.equal(error.closeCode, null);
    assert.equal(error.reason, '');
  });

  test('keeps the code and reason; a reason alone implies 1000', () => {
    const both = new WebSocketError('message', { closeCode: 3456, reason: 'set' });
    assert.equal(both.message, 'message');
    assert.equal(both.closeCode, 3456);
    assert.equal(both.reason, 'set');
    assert.equal(new WebSocketError('', { reason: 'only' }).closeCode, 1000);
    assert.equal(new WebSocketError('', { closeCode: 1000 }).closeCode, 1000);
  });

  test('refuses codes other than 1000 and 3000-4999, and reasons over 123 bytes', () => {
    for (const closeCode of [999, 1001, 1006, 2999, 5000]) {
      assert.throws(
        () => new WebSocketError('', { closeCode }),
        (e: Error) => e instanceof DOMException && e.name === 'InvalidAccessError',
      );
    }
    assert.throws(
      () => new WebSocketError('', { reason: 'é'.repeat(62) }),
      (e: Error) => e instanceof DOMException && e.name === 'SyntaxError',
    );
  });
});

describe('WebSocketStream: constructor', () => {
  test('without a URL, with options that are not an object, or protocols not an array: TypeError', () => {
    assert.throws(() => new (WebSocketStream as any)(), TypeError);
    assert.throws(() => new WebSocketStream(ECHO, true as any), TypeError);
    assert.throws(() => new WebSocketStream(ECHO, { protocols: 'hi' as any }), TypeError);
  });

  test('an invalid URL throws a SyntaxError DOMException', () => {
    for (const url of ['invalid:', 'not a url', 'ws://host/#fragment']) {
      assert.throws(
        () => new WebSocketStream(url),
        (e: Error) => e instanceof DOMException && e.name === 'SyntaxError',
        url,
      );
    }
  });

  test(
    'opened gives a real ReadableStream and WritableStream, protocol and extensions',
    T,
    async () => {
      const wss = new WebSocketStream(ECHO);
      assert.equal(wss.url, ECHO);
      assert.ok(wss.opened instanceof Promise && wss.closed instanceof Promise);
      const { readable, writable, protocol, extensions } = await wss.opened;
      // The brand checks throw for anything that is not a real stream.
      ReadableStream.prototype.getReader.call(readable).releaseLock();
      WritableStream.prototype.getWriter.call(writable).releaseLock();
      assert.equal(typeof protocol, 'string');
      assert.equal(typeof extensions, 'string');
      wss.close();
      await wss.closed;
    },
  );

  test('the offered protocols reach the server, which picks the first', T, async () => {
    const wss = new WebSocketStream(`${base}/protocol_array`, { protocols: ['alpha', 'beta'] });
    const { readable, protocol } = await wss.opened;
    assert.equal(protocol, 'alpha');
    const { value } = await readable.getReader().read();
    assert.equal(value, 'alpha');
    wss.close();
    await wss.closed;
  });

  test('a refused handshake rejects opened and closed with a WebSocketError', T, async () => {
    const wss = new WebSocketStream(`${base}/404`);
    const [opened, closed] = await Promise.all([rejection(wss.opened), rejection(wss.closed)]);
    assert.ok(opened instanceof WebSocketError);
    assert.ok(closed instanceof WebSocketError);
  });
});

describe('WebSocketStream: close', () => {
  const cases: Array<[string, unknown, number, string]> = [
    [
      'a code and a reason are sent and reflected back',
      { closeCode: 3456, reason: 'pizza' },
      3456,
      'pizza',
    ],
    ['no argument sends a Close without a code', undefined, 1005, ''],
    ['an empty object sends a Close without a code', {}, 1005, ''],
    ['an empty reason without a code sends no code', { reason: '' }, 1005, ''],
    ['a reason without a code sends 1000', { reason: 'non-empty' }, 1000, 'non-empty'],
  ];
  for (const [name, info, closeCode, reason] of cases) {
    test(name, T, async () => {
      const wss = new WebSocketStream(ECHO);
      await wss.opened;
      wss.close(info as any);
      assert.deepEqual(await wss.closed, { closeCode, reason });
    });
  }

  test(
    'close(true) throws a TypeError; an overlong reason a SyntaxError DOMException',
    T,
    async () => {
      const wss = new WebSocketStream(ECHO);
      await wss.opened;
      assert.throws(() => wss.close(true as any), TypeError);
      assert.throws(
        () => wss.close({ reason: '.'.repeat(124) }),
        (e: Error) => e instanceof DOMException && e.name === 'SyntaxError',
      );
      wss.close();
      await wss.closed;
    },
  );

  for (const closeCode of [999, 1001, 2999, 5000]) {
    test(`close() with code ${closeCode} throws InvalidAccessError`, T, async () => {
      const wss = new WebSocketStream(ECHO);
      await wss.opened;
      assert.throws(
        () => wss.close({ closeCode }),
        (e: Error) => e instanceof DOMException && e.name === 'InvalidAccessError',
      );
      wss.close();
      await wss.closed;
    });
  }

  test(
    'close() during the handshake rejects opened and closed with a WebSocketError',
    T,
    async () => {
      const wss = new WebSocketStream(`${base}/handshake_sleep`);
      wss.close();
      const [opened, closed] = await Promise.all([rejection(wss.opened), rejection(wss.closed)]);
      assert.ok(opened instanceof WebSocketError);
      assert.ok(closed instanceof WebSocketError);
    },
  );

  test('closing the writable closes cleanly without a code', T, async () => {
    const wss = new WebSocketStream(ECHO);
    const { writable } = await wss.opened;
    void writable.getWriter().close();
    assert.deepEqual(await wss.closed, { closeCode: 1005, reason: '' });
  });

  test("the writer's close() resolves only when the closing handshake is complete", T, async () => {
    const wss = new WebSocketStream(`${base}/delayed-passive-close`);
    const { writable } = await wss.opened;
    const start = performance.now();
    await writable.getWriter().close();
    const elapsed = performance.now() - start;
    assert.ok(elapsed >= PASSIVE_CLOSE_DELAY_MS - 150, `resolved after ${elapsed} ms`);
  });

  test('a closing handshake the server never completes is an unclean close (1006)', T, async () => {
    const wss = new WebSocketStream(`${base}/passive-close-abort`);
    await wss.opened;
    wss.close({ closeCode: 4000, reason: 'because' });
    const error = await rejection(wss.closed);
    assert.ok(error instanceof WebSocketError);
    assert.equal(error.closeCode, 1006);
  });

  for (const [method, side] of [
    ['abort', 'writable'],
    ['cancel', 'readable'],
  ] as const) {
    const act = async (reason?: unknown): Promise<WebSocketStream> => {
      const wss = new WebSocketStream(ECHO);
      const info = await wss.opened;
      if (side === 'writable') void info.writable.abort(reason);
      else void info.readable.cancel(reason);
      return wss;
    };
    test(`${method}ing the ${side} closes cleanly without a code`, T, async () => {
      assert.deepEqual(await (await act()).closed, { closeCode: 1005, reason: '' });
    });
    test(`${method}ing the ${side} with a plain object ignores its code`, T, async () => {
      const wss = await act({ closeCode: 3333, reason: 'obsolete' });
      assert.deepEqual(await wss.closed, { closeCode: 1005, reason: '' });
    });
    test(
      `${method}ing the ${side} with a WebSocketError sends its code and reason`,
      T,
      async () => {
        const coded = await act(new WebSocketError('', { closeCode: 3333 }));
        assert.deepEqual(await coded.closed, { closeCode: 3333, reason: '' });
        const both = await act(new WebSocketError('', { closeCode: 3456, reason: 'set' }));
        assert.deepEqual(await both.closed, { closeCode: 3456, reason: 'set' });
        const reasonOnly = await act(new WebSocketError('', { reason: 'specified' }));
        assert.deepEqual(await reasonOnly.closed, { closeCode: 1000, reason: 'specified' });
      },
    );
    test(`${method}ing the ${side} with another DOMException sends no code`, T, async () => {
      const error = Object.assign(new DOMException('yes', 'DataCloneError'), {
        closeCode: 1000,
        reason: 'ignored',
      });
      assert.deepEqual(await (await act(error)).closed, { closeCode: 1005, reason: '' });
    });
  }
});

describe('WebSocketStream: abort signal', () => {
  test('an already aborted signal rejects both promises and opens no connection', T, async () => {
    const controller = new AbortController();
    controller.abort();
    const before = requests.length;
    const wss = new WebSocketStream(`${base}/never`, { signal: controller.signal });
    const [opened, closed] = await Promise.all([rejection(wss.opened), rejection(wss.closed)]);
    assert.equal(opened.name, 'AbortError');
    assert.equal(closed.name, 'AbortError');
    await delay(100);
    assert.ok(!requests.slice(before).includes('/never'), 'no request reached the server');
  });

  test('aborting during the handshake rejects both promises with the AbortError', T, async () => {
    const controller = new AbortController();
    const wss = new WebSocketStream(`${base}/handshake_sleep`, { signal: controller.signal });
    await delay(50);
    controller.abort();
    const [opened, closed] = await Promise.all([rejection(wss.opened), rejection(wss.closed)]);
    assert.equal(opened.name, 'AbortError');
    assert.equal(closed.name, 'AbortError');
  });

  test('aborting after the connection opened does nothing', T, async () => {
    const controller = new AbortController();
    const wss = new WebSocketStream(ECHO, { signal: controller.signal });
    const { readable, writable } = await wss.opened;
    controller.abort();
    void writable.getWriter().write('connected');
    const { value } = await readable.getReader().read();
    assert.equal(value, 'connected');
    wss.close();
    await wss.closed;
  });
});

describe('WebSocketStream: write', () => {
  test('text and every kind of bytes round-trip through the echo server', T, async () => {
    const wss = new WebSocketStream(ECHO);
    const { readable, writable } = await wss.opened;
    const writer = writable.getWriter();
    const reader = readable.getReader();
    const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const inputs: unknown[] = [
      'text ✓',
      bytes.buffer.slice(0),
      bytes,
      new DataView(bytes.buffer, 2, 4),
      42,
    ];
    const expected: unknown[] = ['text ✓', bytes, bytes, bytes.subarray(2, 6), '42'];
    for (const input of inputs) await writer.write(input as any);
    for (const want of expected) {
      const { value } = await reader.read();
      if (typeof want === 'string') assert.equal(value, want);
      else {
        assert.ok(value instanceof Uint8Array && !Buffer.isBuffer(value));
        assert.deepEqual([...(value as Uint8Array)], [...(want as Uint8Array)]);
      }
    }
    wss.close();
    await wss.closed;
  });

  test('a value that cannot become a string is rejected with a TypeError', T, async () => {
    const wss = new WebSocketStream(ECHO);
    const { writable } = await wss.opened;
    const cannotStringify = {
      toString() {
        return this;
      },
    };
    await assert.rejects(writable.getWriter().write(cannotStringify as any), TypeError);
    wss.close();
  });

  test(
    'a resizable ArrayBuffer and a view on shared memory are rejected with a TypeError',
    T,
    async () => {
      for (const chunk of [
        new (ArrayBuffer as any)(1024, { maxByteLength: 65536 }),
        new Uint8Array(new SharedArrayBuffer(16)),
      ]) {
        const wss = new WebSocketStream(ECHO);
        const { writable } = await wss.opened;
        await assert.rejects(writable.getWriter().write(chunk), TypeError);
        wss.close();
      }
    },
  );

  test(
    'a write still incomplete when the connection drops rejects; later writes get the same error',
    T,
    async () => {
      // The server reads nothing (so the kernel's receive window stays small) and drops the
      // connection after 300 ms: a message of 8 MiB cannot have been handed over by then.
      const wss = new WebSocketStream(`${base}/stall-then-drop`);
      const { writable } = await wss.opened;
      const writer = writable.getWriter();
      await writer.write('small');
      const big = writer.write(new Uint8Array(8 * 1024 * 1024));
      big.catch(() => {});
      const closeError = await rejection(wss.closed);
      assert.ok(closeError instanceof WebSocketError);
      const error = await rejection(big);
      assert.ok(error instanceof DOMException);
      assert.equal(error.name, 'InvalidStateError');
      assert.equal(await rejection(writer.write('word')), error);
    },
  );

  test('send backpressure: a write stays pending while the server does not read', T, async () => {
    let serverSide: WebSocket | null = null;
    wss.once('connection', (ws: WebSocket) => {
      serverSide = ws;
      ws.pause();
    });
    const stream = new WebSocketStream(`${base}/slow`, { maxBufferedAmount: 64 * 1024 * 1024 });
    const { writable } = await stream.opened;
    const writer = writable.getWriter();
    const chunk = new Uint8Array(1024 * 1024);
    let pending: Promise<void> | null = null;
    for (let i = 0; i < 64 && pending === null; i++) {
      const write = writer.write(chunk);
      const settled = await Promise.race([write.then(() => true), delay(300).then(() => false)]);
      if (!settled) pending = write;
    }
    assert.ok(pending !== null, 'some write waits for the kernel to take its bytes');
    assert.ok((writer.desiredSize ?? 1) <= 0, 'the writer reports backpressure');
    (serverSide as unknown as WebSocket).resume();
    await pending;
    stream.close();
    await stream.closed;
  });
});

describe('WebSocketStream: remote close', () => {
  test(
    'a Close from the server ends the readable and resolves closed with its code',
    T,
    async () => {
      for (const [sent, expected] of [
        [
          { code: 4001, reason: 'bye' },
          { closeCode: 4001, reason: 'bye' },
        ],
        [{}, { closeCode: 1005, reason: '' }],
      ] as const) {
        const wss = new WebSocketStream(`${base}/remote-close`);
        const { readable, writable } = await wss.opened;
        await writable.getWriter().write(JSON.stringify(sent));
        const { done } = await readable.getReader().read();
        assert.equal(done, true);
        assert.deepEqual(await wss.closed, expected);
      }
    },
  );

  test('a dropped connection errors the readable and rejects closed (1006)', T, async () => {
    const wss = new WebSocketStream(`${base}/echo_exit`);
    const { readable, writable } = await wss.opened;
    await writable.getWriter().write('Goodbye');
    const error = await rejection(readable.getReader().read());
    assert.ok(error instanceof WebSocketError);
    assert.equal(error.closeCode, 1006);
    assert.equal((await rejection(wss.closed)).closeCode, 1006);
  });
});

describe('WebSocketStream: permessage-deflate', () => {
  test('negotiated extensions are reported and compressed messages round-trip', T, async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    await once(server, 'listening');
    server.on('connection', (ws: WebSocket) =>
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })),
    );
    const stream = new WebSocketStream(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const { readable, writable, extensions } = await stream.opened;
    assert.match(extensions, /permessage-deflate/);
    const writer = writable.getWriter();
    const reader = readable.getReader();
    const text = 'compressible '.repeat(5000);
    await writer.write(text);
    assert.equal((await reader.read()).value, text);
    const bytes = new Uint8Array(100_000).fill(7);
    await writer.write(bytes);
    assert.deepEqual((await reader.read()).value, bytes);
    stream.close();
    await stream.closed;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe('WebSocketStream.from: the server side', () => {
  test('an accepted socket gets the same shape and echoes through pipeTo', T, async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    const serverClosed = new Promise<unknown>((resolve) =>
      server.on('connection', (ws: WebSocket) => {
        const stream = WebSocketStream.from(ws);
        assert.equal(stream.url, '');
        void stream.opened
          .then(({ readable, writable }) => readable.pipeTo(writable))
          .catch(() => {});
        stream.closed.then(resolve, resolve);
      }),
    );
    const client = new WebSocketStream(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const { readable, writable } = await client.opened;
    const writer = writable.getWriter();
    const reader = readable.getReader();
    for (let i = 0; i < 100; i++) void writer.write(i % 2 === 0 ? `m${i}` : Uint8Array.of(i));
    for (let i = 0; i < 100; i++) {
      const { value } = await reader.read();
      if (i % 2 === 0) assert.equal(value, `m${i}`);
      else assert.deepEqual([...(value as Uint8Array)], [i]);
    }
    client.close({ closeCode: 4002, reason: 'done' });
    assert.deepEqual(await client.closed, { closeCode: 4002, reason: 'done' });
    assert.deepEqual(await serverClosed, { closeCode: 4002, reason: 'done' });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('receive backpressure on the server: a slow reader makes the client buffer', T, async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    let reader: ReadableStreamDefaultReader<unknown> | null = null;
    server.on('connection', (ws: WebSocket) => {
      void WebSocketStream.from(ws).opened.then(({ readable }) => {
        reader = readable.getReader();
      });
    });
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      maxBufferedAmount: Number.POSITIVE_INFINITY,
    });
    await once(client, 'open');
    const payload = Buffer.alloc(16 * 1024);
    const total = 2048; // 32 MiB offered
    for (let i = 0; i < total; i++) client.send(payload);
    await waitFor(() => reader !== null);
    await delay(300);
    assert.ok(client.bufferedAmount > 4 * 1024 * 1024, `client buffered ${client.bufferedAmount}`);
    // Reading everything drains the client.
    let received = 0;
    while (received < total) {
      const { done } = await (reader as unknown as ReadableStreamDefaultReader<unknown>).read();
      if (done) break;
      received++;
    }
    assert.equal(received, total);
    await waitFor(() => client.bufferedAmount === 0);
    client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
