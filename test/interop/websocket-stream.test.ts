/**
 * WebSocketStream interop (issue #16), with peers nobody here wrote:
 * - undici's `WebSocketStream` and Node's built-in `WebSocket` (a child process; Node 20 needs
 *   `--experimental-websocket`) as clients of an ironsock server;
 * - ironsock's `WebSocketStream` as a client of a `ws` server and of Python `websockets`'
 *   echo server (test/interop/python/echo_server.py);
 * - ironsock's receive backpressure against a `ws` server pushing as fast as it can.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as ws from 'ws';
import * as undici from 'undici';
import { WebSocketServer, WebSocketStream } from '../../src/index.js';
import type { WebSocket } from '../../src/index.js';
import {
  PYTHON,
  pythonWebsockets,
  repoRoot,
  requirePeer,
  spawnReady,
  type ReadyProcess,
} from '../helpers/peers.js';
import { delay, listening, shutdown, waitUntil } from './support.js';

const T = { timeout: 30_000 };

/** An ironsock echo server; each connection's close (code, reason) is recorded. */
async function ironsockEcho(): Promise<{
  server: WebSocketServer;
  url: string;
  closes: Array<{ code: number; reason: string }>;
}> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  const port = await listening(server as never);
  const closes: Array<{ code: number; reason: string }> = [];
  server.on('connection', (socket: WebSocket) => {
    socket.on('error', () => {});
    socket.on('message', (data: Buffer, isBinary: boolean) =>
      socket.send(data, { binary: isBinary }),
    );
    socket.on('close', (code: number, reason: Buffer) =>
      closes.push({ code, reason: reason.toString() }),
    );
  });
  return { server, url: `ws://127.0.0.1:${port}/`, closes };
}

describe("interop: undici's WebSocketStream -> ironsock server", () => {
  const UndiciStream = (undici as unknown as { WebSocketStream?: any }).WebSocketStream;

  test('undici exports WebSocketStream on this Node', () => {
    assert.equal(typeof UndiciStream, 'function', `Node ${process.version}`);
  });

  test('echoes text and bytes, then closes with a code and reason', T, async () => {
    const { server, url, closes } = await ironsockEcho();
    try {
      const stream = new UndiciStream(url);
      const { readable, writable } = await stream.opened;
      const writer = writable.getWriter();
      const reader = readable.getReader();
      await writer.write('hello from undici');
      assert.equal((await reader.read()).value, 'hello from undici');
      await writer.write(Uint8Array.of(0, 1, 2, 255));
      const { value } = await reader.read();
      assert.deepEqual([...new Uint8Array(value as ArrayBufferLike)], [0, 1, 2, 255]);
      stream.close({ closeCode: 4000, reason: 'bye' });
      const info = await stream.closed;
      assert.equal(info.closeCode, 4000);
      assert.equal(info.reason, 'bye');
      await waitUntil(() => closes.length === 1);
      assert.deepEqual(closes[0], { code: 4000, reason: 'bye' });
    } finally {
      await shutdown(server as never);
    }
  });
});

describe("interop: Node's built-in WebSocket -> ironsock server", () => {
  test('echoes text and bytes, then closes with a code and reason', T, async () => {
    const { server, url, closes } = await ironsockEcho();
    try {
      // Node 20 hides the global WebSocket behind a flag; later versions have it by default.
      const flags =
        typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function'
          ? []
          : ['--experimental-websocket'];
      const script = `
        const ws = new WebSocket(${JSON.stringify(url)});
        ws.binaryType = 'arraybuffer';
        const got = [];
        ws.onopen = () => { ws.send('hello from node'); ws.send(new Uint8Array([7, 8, 9])); };
        ws.onmessage = (e) => {
          got.push(typeof e.data === 'string' ? e.data : [...new Uint8Array(e.data)]);
          if (got.length === 2) ws.close(4001, 'node done');
        };
        ws.onclose = (e) => { console.log(JSON.stringify({ got, code: e.code, reason: e.reason, wasClean: e.wasClean })); };
        ws.onerror = (e) => { console.error('error', e.message); process.exitCode = 1; };
      `;
      const child = spawn(process.execPath, [...flags, '--no-warnings', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0, err);
      const result = JSON.parse(out) as {
        got: unknown[];
        code: number;
        reason: string;
        wasClean: boolean;
      };
      assert.deepEqual(result, {
        got: ['hello from node', [7, 8, 9]],
        code: 4001,
        reason: 'node done',
        wasClean: true,
      });
      await waitUntil(() => closes.length === 1);
      assert.deepEqual(closes[0], { code: 4001, reason: 'node done' });
    } finally {
      await shutdown(server as never);
    }
  });
});

describe('interop: ironsock WebSocketStream -> ws server', () => {
  test('echoes text and bytes, then closes with a code and reason', T, async () => {
    const server = new ws.WebSocketServer({ port: 0, host: '127.0.0.1' });
    const port = await listening(server as never);
    const closes: Array<{ code: number; reason: string }> = [];
    server.on('connection', (socket) => {
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
      socket.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
    });
    try {
      const stream = new WebSocketStream(`ws://127.0.0.1:${port}/`);
      const { readable, writable } = await stream.opened;
      const writer = writable.getWriter();
      const reader = readable.getReader();
      await writer.write('hello ws');
      assert.equal((await reader.read()).value, 'hello ws');
      await writer.write(new Uint8Array(100_000).fill(5));
      const { value } = await reader.read();
      assert.equal((value as Uint8Array).byteLength, 100_000);
      stream.close({ closeCode: 4002, reason: 'ws done' });
      assert.deepEqual(await stream.closed, { closeCode: 4002, reason: 'ws done' });
      await waitUntil(() => closes.length === 1);
      assert.deepEqual(closes[0], { code: 4002, reason: 'ws done' });
    } finally {
      await shutdown(server as never);
    }
  });

  test("a slow reader backs up the ws server's bufferedAmount", T, async () => {
    const server = new ws.WebSocketServer({ port: 0, host: '127.0.0.1' });
    const port = await listening(server as never);
    let pusher: ws.WebSocket | null = null;
    let stop = false;
    server.on('connection', (socket) => {
      pusher = socket;
      const payload = Buffer.alloc(16 * 1024);
      const pump = (): void => {
        if (stop || socket.readyState !== socket.OPEN) return;
        // Keeps at most 16 MiB queued in ws; more than the kernel buffers can hold.
        while (socket.bufferedAmount < 16 * 1024 * 1024) socket.send(payload);
        setTimeout(pump, 10);
      };
      pump();
    });
    try {
      const stream = new WebSocketStream(`ws://127.0.0.1:${port}/`);
      const { readable } = await stream.opened;
      const reader = readable.getReader();
      await reader.read();
      await delay(500);
      const buffered = (pusher as unknown as ws.WebSocket).bufferedAmount;
      assert.ok(buffered > 8 * 1024 * 1024, `ws server bufferedAmount ${buffered}`);
      stop = true;
      stream.close();
      await stream.closed.catch(() => {});
    } finally {
      stop = true;
      await shutdown(server as never);
    }
  });
});

const python = requirePeer('python3-websockets', pythonWebsockets);

describe('interop: ironsock WebSocketStream -> python websockets echo server', python, () => {
  let server: ReadyProcess;
  let url = '';
  before(async () => {
    const { PYTHONPATH: _path, PYTHONHOME: _home, ...env } = process.env;
    server = await spawnReady(
      PYTHON,
      [join(repoRoot(), 'test', 'interop', 'python', 'echo_server.py'), '--compression', 'none'],
      { ready: /^READY (\d+)$/, env: { ...env, PYTHONDONTWRITEBYTECODE: '1' } },
    );
    url = `ws://127.0.0.1:${server.match[1]}/stream`;
  });
  after(() => server?.stop());

  test('echoes text and bytes; a close the server starts ends the readable', T, async () => {
    const stream = new WebSocketStream(url);
    const { readable, writable } = await stream.opened;
    const writer = writable.getWriter();
    const reader = readable.getReader();
    await writer.write('hello python');
    assert.equal((await reader.read()).value, 'hello python');
    await writer.write(Uint8Array.of(1, 2, 3));
    assert.deepEqual([...((await reader.read()).value as Uint8Array)], [1, 2, 3]);
    await writer.write('!close 4003 python done');
    assert.equal((await reader.read()).done, true);
    assert.deepEqual(await stream.closed, { closeCode: 4003, reason: 'python done' });
  });

  test('a close from the client is answered by python', T, async () => {
    const stream = new WebSocketStream(url);
    await stream.opened;
    stream.close({ closeCode: 3001, reason: 'from ironsock' });
    assert.deepEqual(await stream.closed, { closeCode: 3001, reason: 'from ironsock' });
  });
});
