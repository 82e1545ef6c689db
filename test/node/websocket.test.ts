import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WS from 'ws';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import type { WebSocketServer } from '../../src/node/server.js';
import { CloseEvent, MessageEvent } from '../../src/node/events.js';
import { delay, once, startServer, stopServer, waitFor } from './util.js';

function echo(wss: WebSocketServer): void {
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
}

describe('WebSocket object surface (ws-compatible)', () => {
  test('readyState constants on the class and instances', () => {
    assert.deepEqual(
      [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED],
      [0, 1, 2, 3],
    );
    const ws = new WebSocket(null);
    assert.deepEqual([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3]);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.equal(ws.bufferedAmount, 0);
    assert.equal(ws.binaryType, 'nodebuffer');
    ws.binaryType = 'bogus' as never;
    assert.equal(ws.binaryType, 'nodebuffer');
    assert.throws(() => ws.send('x'), /CONNECTING/);
    assert.throws(() => ws.ping(), /CONNECTING/);
  });

  test('our client against our server: open, echo, protocol, url, close 1000', async () => {
    const { wss, url } = await startServer();
    echo(wss);
    const client = new WebSocket(url, ['chat']);
    // The URL as parsed (WHATWG serialisation, as ws and browsers report it).
    assert.equal(client.url, new URL(url).href);
    await once(client, 'open');
    assert.equal(client.readyState, WebSocket.OPEN);
    assert.equal(client.protocol, 'chat');
    client.send('ping?');
    const [data, isBinary] = await once<[Buffer, boolean]>(client, 'message');
    assert.equal(data.toString(), 'ping?');
    assert.equal(isBinary, false);
    client.close(1000, 'done');
    assert.equal(client.readyState, WebSocket.CLOSING);
    const [code, reason] = await once<[number, Buffer]>(client, 'close');
    assert.equal(code, 1000);
    assert.ok(Buffer.isBuffer(reason));
    assert.equal(reason.toString(), 'done');
    assert.equal(client.readyState, WebSocket.CLOSED);
    await stopServer(wss);
  });

  test('X5: send/ping accept binary views without copying, numbers as text, and reject objects', async () => {
    const { wss, url } = await startServer();
    echo(wss);
    const client = await WebSocket.connect(url);
    assert.throws(() => client.send({} as never), TypeError);
    assert.throws(() => client.send(null as never), TypeError);
    assert.throws(() => client.ping(true as never), TypeError);
    assert.throws(() => client.ping(Buffer.alloc(126)), RangeError);
    const got: string[] = [];
    const kinds: boolean[] = [];
    client.on('message', (data: Buffer, isBinary: boolean) => {
      got.push(data.toString('hex'));
      kinds.push(isBinary);
    });
    const backing = new Uint8Array([9, 8, 7, 6, 5]).buffer;
    client.send(new DataView(backing, 1, 2));
    client.send(new Uint16Array([0x0102]));
    client.send(backing);
    client.send(new Uint8Array(backing, 3));
    await waitFor(() => got.length === 4);
    assert.deepEqual(got, [
      '0807',
      Buffer.from(new Uint16Array([0x0102]).buffer).toString('hex'),
      '0908070605',
      '0605',
    ]);
    assert.deepEqual(kinds, [true, true, true, true]);
    client.close();
    await once(client, 'close');
    await stopServer(wss);
  });

  test('a client that attaches its listener right after await WebSocket.connect() sees messages sent with the 101', async () => {
    const { wss, url } = await startServer();
    // Sent from the 'connection' handler: they can arrive in the same read as the 101.
    wss.on('connection', (ws: WebSocket) => {
      ws.send('first');
      ws.send('second');
    });
    for (let i = 0; i < 5; i++) {
      const client = await WebSocket.connect(url);
      const got: string[] = [];
      client.on('message', (data: Buffer) => got.push(data.toString()));
      await waitFor(() => got.length === 2);
      assert.deepEqual(got, ['first', 'second']);
      client.close();
      await once(client, 'close');
    }
    await stopServer(wss);
  });

  test('send after close: the callback gets an error and nothing throws', async () => {
    const { wss, url } = await startServer();
    const client = await WebSocket.connect(url);
    client.close();
    await once(client, 'close');
    const error = await new Promise<Error | null | undefined>((resolve) =>
      client.send('late', resolve),
    );
    assert.ok(error instanceof Error);
    await assert.rejects(client.sendAsync('late'));
    client.send('no callback: ignored');
    await stopServer(wss);
  });

  test('sendAsync resolves once handed to the kernel', async () => {
    const { wss, url } = await startServer();
    echo(wss);
    const client = await WebSocket.connect(url);
    await client.sendAsync('a');
    await client.sendAsync(Buffer.from('b'), { binary: true });
    const messages: Array<[string, boolean]> = [];
    client.on('message', (d: Buffer, b: boolean) => messages.push([d.toString(), b]));
    await waitFor(() => messages.length === 2);
    assert.deepEqual(messages, [
      ['a', false],
      ['b', true],
    ]);
    client.close();
    await stopServer(wss);
  });

  test('WebSocket.connect rejects with the handshake error', async () => {
    const { wss, url } = await startServer({ verifyClient: () => false });
    await assert.rejects(WebSocket.connect(url));
    await stopServer(wss);
  });

  test('binaryType: arraybuffer, fragments, blob', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (ws: WebSocket) => {
      ws.on('message', () => {
        ws.send(Buffer.from([1, 2]), { fin: false });
        ws.send(Buffer.from([3]), { fin: true });
      });
    });
    const client = await WebSocket.connect(url);
    const results: unknown[] = [];
    client.on('message', (data: unknown) => results.push(data));
    for (const type of ['arraybuffer', 'fragments', 'blob'] as const) {
      client.binaryType = type;
      client.send('go');
      await waitFor(
        () => results.length === (type === 'arraybuffer' ? 1 : type === 'fragments' ? 2 : 3),
      );
    }
    assert.ok(results[0] instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(results[0] as ArrayBuffer)], [1, 2, 3]);
    assert.ok(Array.isArray(results[1]));
    assert.deepEqual(Buffer.concat(results[1] as Buffer[]), Buffer.from([1, 2, 3]));
    assert.ok(results[2] instanceof Blob);
    assert.deepEqual([...new Uint8Array(await (results[2] as Blob).arrayBuffer())], [1, 2, 3]);
    client.close();
    await stopServer(wss);
  });

  test('pause()/resume(): no messages while paused', async () => {
    const { wss, url } = await startServer();
    let server!: WebSocket;
    wss.on('connection', (ws: WebSocket) => (server = ws));
    const client = await WebSocket.connect(url);
    await waitFor(() => server !== undefined);
    let count = 0;
    client.on('message', () => count++);
    client.pause();
    assert.equal(client.isPaused, true);
    server.send('a');
    server.send('b');
    await delay(100);
    assert.equal(count, 0);
    client.resume();
    assert.equal(client.isPaused, false);
    await waitFor(() => count === 2);
    client.close();
    await stopServer(wss);
  });

  test('terminate(): both sides report 1006', async () => {
    const { wss, url } = await startServer();
    const serverClose = new Promise<number>((resolve) =>
      wss.on('connection', (ws: WebSocket) => ws.on('close', (code: number) => resolve(code))),
    );
    const client = await WebSocket.connect(url);
    client.terminate();
    const [code] = await once<[number]>(client, 'close');
    assert.equal(code, 1006);
    assert.equal(await serverClose, 1006);
    await stopServer(wss);
  });

  test('a throwing message listener does not corrupt the connection', async () => {
    const { wss, url } = await startServer();
    let count = 0;
    wss.on('connection', (ws: WebSocket) =>
      ws.on('message', (data: Buffer) => {
        count++;
        if (data.toString() === 'boom') throw new Error('listener failure');
        ws.send(data);
      }),
    );
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.prependListener('uncaughtException', onUncaught);
    // node:test installs its own handler; detach it for the duration of the check.
    const others = process.listeners('uncaughtException').filter((l) => l !== onUncaught);
    for (const l of others) process.off('uncaughtException', l);
    try {
      const client = new WS(url);
      await once(client, 'open');
      client.send('boom');
      client.send('after');
      const [data] = await once<[Buffer]>(client, 'message');
      assert.equal(data.toString(), 'after');
      assert.equal(count, 2);
      await waitFor(() => uncaught.length === 1);
      client.close();
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of others) process.on('uncaughtException', l);
    }
    await stopServer(wss);
  });
});

describe('listener table', () => {
  test('behaves as EventEmitter: eventNames, once, removal, events named like Object members', () => {
    const ws = new WebSocket(null);
    assert.deepEqual(ws.eventNames(), []);
    const calls: string[] = [];
    const onMessage = (): void => void calls.push('message');
    ws.on('message', onMessage);
    ws.once('close', () => calls.push('close'));
    ws.on('toString', () => calls.push('toString'));
    ws.on('constructor', () => calls.push('constructor'));
    assert.deepEqual(ws.eventNames().sort(), ['close', 'constructor', 'message', 'toString']);
    ws.emit('message');
    ws.emit('close');
    ws.emit('close');
    ws.emit('toString');
    ws.emit('constructor');
    assert.deepEqual(calls, ['message', 'close', 'toString', 'constructor']);
    assert.equal(ws.listenerCount('close'), 0);
    assert.equal(ws.listenerCount('hasOwnProperty'), 0);
    ws.off('message', onMessage);
    assert.deepEqual(ws.eventNames().sort(), ['constructor', 'toString']);
    ws.removeAllListeners();
    assert.deepEqual(ws.eventNames(), []);
  });
});

describe('WHATWG members', () => {
  test('onopen/onmessage/onclose deliver event objects; text data is a string', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (ws: WebSocket) => {
      ws.send('text');
      ws.send(Buffer.from([1]));
      ws.close(4000, 'bye');
    });
    const client = new WebSocket(url);
    const events: unknown[] = [];
    client.onopen = (event: { type: string }) => events.push(event.type);
    client.onmessage = (event: MessageEvent) => events.push(event.data);
    const closed = new Promise<CloseEvent>((resolve) => (client.onclose = resolve));
    assert.equal(typeof client.onmessage, 'function');
    const event = await closed;
    assert.ok(event instanceof CloseEvent);
    assert.equal(event.code, 4000);
    assert.equal(event.reason, 'bye');
    assert.equal(event.wasClean, true);
    assert.equal(event.target, client);
    assert.deepEqual(events, ['open', 'text', Buffer.from([1])]);
    await stopServer(wss);
  });

  test('addEventListener: once, handleEvent objects, no duplicates, removeEventListener', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (ws: WebSocket) => {
      ws.send('1');
      ws.send('2');
    });
    const client = new WebSocket(url);
    const seen: string[] = [];
    const listener = (event: MessageEvent): void => {
      seen.push(`l:${event.data as string}`);
    };
    client.addEventListener('message', listener);
    client.addEventListener('message', listener); // duplicate: ignored
    client.addEventListener(
      'message',
      (event: MessageEvent) => seen.push(`once:${event.data as string}`),
      { once: true },
    );
    const handler = {
      handleEvent: (event: MessageEvent) => seen.push(`h:${event.data as string}`),
    };
    client.addEventListener('message', handler);
    await waitFor(() => seen.length === 5);
    assert.deepEqual(seen, ['l:1', 'once:1', 'h:1', 'l:2', 'h:2']);
    client.removeEventListener('message', listener);
    client.removeEventListener('message', handler);
    client.emit('message', Buffer.from('3'), false);
    assert.equal(seen.length, 5);
    client.close();
    await stopServer(wss);
  });

  test('onerror gets an ErrorEvent for a failed handshake, then close 1006', async () => {
    const { wss, url } = await startServer({ verifyClient: () => false });
    const client = new WebSocket(url);
    const errors: unknown[] = [];
    client.onerror = (event: { message: string }) => errors.push(event.message);
    const [code] = await once<[number]>(client, 'close');
    assert.equal(code, 1006);
    assert.equal(errors.length, 1);
    await stopServer(wss);
  });

  test('close() while CONNECTING aborts the handshake', async () => {
    const { wss, url } = await startServer();
    try {
      const client = new WebSocket(url);
      client.on('error', () => {});
      client.close();
      const [code] = await once<[number]>(client, 'close');
      assert.equal(code, 1006);
      assert.equal(client.readyState, WebSocket.CLOSED);
    } finally {
      await stopServer(wss);
    }
  });
});

describe('async iteration', () => {
  test('yields {data, isBinary} in order and ends on close', async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (ws: WebSocket) => {
      ws.send('a');
      ws.send(Buffer.from('b'));
      ws.close();
    });
    const client = await WebSocket.connect(url);
    const got: Array<[unknown, boolean]> = [];
    for await (const message of client) got.push([message.data, message.isBinary]);
    assert.deepEqual(got, [
      ['a', false],
      [Buffer.from('b'), true],
    ]);
    await stopServer(wss);
  });

  test('backpressure: the socket is not read while the consumer is behind; nothing lost', async () => {
    const { wss, url } = await startServer();
    const total = 200;
    wss.on('connection', (ws: WebSocket) => {
      for (let i = 0; i < total; i++) ws.send(`m${i}`);
    });
    const client = await WebSocket.connect(url);
    let sawPaused = false;
    let n = 0;
    for await (const { data } of client) {
      assert.equal(data, `m${n}`);
      n++;
      if (client._driver?.isPaused) sawPaused = true;
      if (n % 20 === 0) await delay(5);
      if (n === total) break;
    }
    assert.equal(n, total);
    assert.ok(sawPaused, 'reading was paused while the consumer was behind');
    // Breaking out ends the iteration only.
    assert.equal(client.readyState, WebSocket.OPEN);
    client.close();
    await once(client, 'close');
    await stopServer(wss);
  });
});
