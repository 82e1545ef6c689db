/**
 * Interop with Debian's python `websockets` (asyncio API), in both directions:
 * python echo server <-> ironsock client, and ironsock server <-> python scripted client;
 * each with permessage-deflate negotiated (python's default) and with compression off.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as impl from './impl.js';
import {
  PYTHON,
  pythonWebsockets,
  pythonWebsocketsVersion,
  repoRoot,
  requirePeer,
  spawnReady,
  type ReadyProcess,
} from '../helpers/peers.js';
import {
  Recorder,
  closeWith,
  commandEcho,
  delay,
  digest,
  listening,
  pattern,
  shutdown,
  waitUntil,
  type ServerClose,
  type ServerLike,
  type SocketLike,
  LARGE,
  LARGE_LIMITS,
} from './support.js';

const gate = requirePeer('python3-websockets', pythonWebsockets);
const version = gate.skip ? 'n/a' : pythonWebsocketsVersion();
const scripts = join(repoRoot(), 'test', 'interop', 'python');
const MAX = LARGE + 1024;
const T = { timeout: 30_000 };
// Debian's python with its own module path only (no pyenv or user PYTHONPATH leaking in).
const { PYTHONPATH: _path, PYTHONHOME: _home, ...inherited } = process.env;
const pythonEnv = { ...inherited, PYTHONDONTWRITEBYTECODE: '1' };

const WebSocket = impl.WebSocket as unknown as new (...args: any[]) => SocketLike;
const WebSocketServer = impl.WebSocketServer as unknown as new (...args: any[]) => ServerLike;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface PyEvent {
  event: 'open' | 'message' | 'close' | 'pong' | 'error';
  [key: string]: any;
}

const modes = [
  { name: 'permessage-deflate on', compression: 'deflate', deflate: true },
  { name: 'compression off', compression: 'none', deflate: false },
] as const;

describe(`interop: python websockets ${version}`, gate, () => {
  for (const mode of modes) {
    describe(`python echo server <-> ironsock client (${mode.name})`, () => {
      let server: ReadyProcess;
      let url: string;
      before(async () => {
        server = await spawnReady(
          PYTHON,
          [
            join(scripts, 'echo_server.py'),
            '--compression',
            mode.compression,
            '--max-size',
            String(MAX),
            '--subprotocol',
            'chat.v1',
          ],
          {
            ready: /^READY (\d+)$/,
            env: pythonEnv,
          },
        );
        url = `ws://127.0.0.1:${server.match[1]}/`;
      });
      after(() => server?.stop());

      let connections = 0;
      /** The server's close line for the connection to `path` (register before closing). */
      const closeLine = (path: string): Promise<{ code: number; reason: string }> =>
        server
          .waitForLine(new RegExp(`"event": "close", "path": "${path}"`))
          .then((m) => JSON.parse(m.input ?? ''));

      /**
       * Connects an ironsock client to a fresh path; the body runs (given the path, to await the
       * server's close line); the client is then terminated (if still open).
       */
      async function withClient(
        body: (c: Recorder, path: string) => Promise<void>,
        options: Record<string, unknown> = {},
      ): Promise<void> {
        const path = `/c${++connections}`;
        const socket = new WebSocket(url.replace(/\/$/, path), {
          perMessageDeflate: mode.deflate,
          ...LARGE_LIMITS,
          ...options,
        });
        const client = new Recorder(socket);
        try {
          await client.opened();
          await body(client, path);
        } finally {
          socket.terminate();
        }
      }

      test('negotiated extensions match the mode', T, async () => {
        await withClient(async (c) => {
          c.socket.send('!info');
          const info = JSON.parse((await c.next('message')).data.toString());
          assert.deepEqual(info.extensions, mode.deflate ? ['permessage-deflate'] : []);
          assert.equal(/permessage-deflate/.test(String(c.socket.extensions ?? '')), mode.deflate);
        });
      });

      test('text, binary, 0-byte and fragmented messages echo back', T, async () => {
        await withClient(async (c) => {
          const bin = pattern(70_000);
          c.socket.send('héllo ✓ 🚀');
          c.socket.send(bin);
          c.socket.send('');
          c.socket.send(Buffer.alloc(0));
          c.socket.send('part one, ', { fin: false });
          c.socket.send('part two', { fin: true });
          c.socket.send(bin.subarray(0, 10), { binary: true, fin: false });
          c.socket.send(bin.subarray(10), { binary: true, fin: true });
          const got = [];
          for (let i = 0; i < 6; i++) got.push(await c.next('message'));
          assert.deepEqual([got[0].isBinary, got[0].data.toString()], [false, 'héllo ✓ 🚀']);
          assert.deepEqual([got[1].isBinary, digest(got[1].data)], [true, digest(bin)]);
          assert.deepEqual([got[2].isBinary, got[2].data.length], [false, 0]);
          assert.deepEqual([got[3].isBinary, got[3].data.length], [true, 0]);
          assert.deepEqual(
            [got[4].isBinary, got[4].data.toString()],
            [false, 'part one, part two'],
          );
          assert.deepEqual([got[5].isBinary, digest(got[5].data)], [true, digest(bin)]);
        });
      });

      test('fragmented messages from python are reassembled', T, async () => {
        await withClient(async (c) => {
          c.socket.send('!frag one two three ✓');
          c.socket.send('!fragbin 100000 7');
          const text = await c.next('message');
          assert.deepEqual([text.isBinary, text.data.toString()], [false, 'one two three ✓']);
          const bin = await c.next('message');
          assert.deepEqual([bin.isBinary, sha(bin.data)], [true, sha(pattern(100_000))]);
        });
      });

      test('16 MiB messages both ways', { timeout: 90_000 }, async () => {
        await withClient(async (c) => {
          const big = pattern(LARGE);
          c.socket.send(big);
          const echo = await c.next('message', 60_000);
          assert.equal(echo.data.length, LARGE);
          assert.equal(sha(echo.data), sha(big));
          c.socket.send(`!fragbin ${LARGE} 4`);
          const fromPython = await c.next('message', 60_000);
          assert.equal(sha(fromPython.data), sha(big));
        });
      });

      if (mode.deflate)
        test('deflate parameters requested by ironsock are accepted by python', T, async () => {
          const options = {
            perMessageDeflate: {
              serverNoContextTakeover: true,
              clientNoContextTakeover: true,
              serverMaxWindowBits: 10,
              clientMaxWindowBits: 10,
              threshold: 0,
            },
          };
          await withClient(async (c) => {
            c.socket.send('!info');
            const response = String(
              JSON.parse((await c.next('message')).data.toString()).response_extensions,
            );
            for (const param of [
              'server_no_context_takeover',
              'client_no_context_takeover',
              'server_max_window_bits=10',
              'client_max_window_bits=10',
            ]) {
              assert.ok(response.includes(param), `${param} in ${response}`);
            }
            const text = 'abcdefghijklmnop'.repeat(4096);
            for (let i = 0; i < 3; i++) {
              c.socket.send(text);
              assert.equal((await c.next('message')).data.toString(), text);
            }
            c.socket.send(pattern(100_000));
            assert.equal(sha((await c.next('message')).data), sha(pattern(100_000)));
          }, options);
        });

      test('subprotocol negotiation (§4.2.2): python picks from the offer', T, async () => {
        const socket = new WebSocket(url, ['chat.v2', 'chat.v1'], {
          perMessageDeflate: mode.deflate,
        });
        const c = new Recorder(socket);
        try {
          await c.opened();
          assert.equal(socket.protocol, 'chat.v1');
          socket.send('!info');
          assert.equal(
            JSON.parse((await c.next('message')).data.toString()).subprotocol,
            'chat.v1',
          );
        } finally {
          socket.terminate();
        }
      });

      test('ping/pong with payloads both ways', T, async () => {
        await withClient(async (c) => {
          c.socket.ping(Buffer.from('from ironsock'));
          assert.equal((await c.next('pong')).toString(), 'from ironsock');
          c.socket.send('!ping from-python');
          assert.equal((await c.next('ping')).toString(), 'from-python');
          assert.equal((await c.next('message')).data.toString(), 'pong from-python');
        });
      });

      test('client closes with code and reason: python sees them', T, async () => {
        await withClient(async (c, path) => {
          const line = closeLine(path);
          c.socket.close(4000, 'bye ✓');
          assert.equal((await c.next('close')).code, 4000);
          const closed = await line;
          assert.deepEqual([closed.code, closed.reason], [4000, 'bye ✓']);
        });
      });

      test('python closes with code and reason: ironsock sees them', T, async () => {
        await withClient(async (c, path) => {
          const line = closeLine(path);
          c.socket.send('!close 4001 server says bye');
          assert.deepEqual(await c.next('close'), { code: 4001, reason: 'server says bye' });
          assert.equal((await line).code, 4001);
        });
      });

      test('python server shutdown closes the ironsock client with 1001', T, async () => {
        const own = await spawnReady(
          PYTHON,
          [join(scripts, 'echo_server.py'), '--compression', mode.compression],
          {
            ready: /^READY (\d+)$/,
            env: pythonEnv,
          },
        );
        const socket = new WebSocket(`ws://127.0.0.1:${own.match[1]}/`, {
          perMessageDeflate: mode.deflate,
        });
        const c = new Recorder(socket);
        try {
          await c.opened();
          void own.stop(); // SIGTERM: the server's `async with serve(...)` exits and closes with 1001
          assert.equal((await c.next('close')).code, 1001);
        } finally {
          socket.terminate();
          await own.stop();
        }
      });

      test('a TCP drop by python is reported as 1006', T, async () => {
        await withClient(async (c) => {
          c.socket.send('!drop');
          assert.equal((await c.next('close')).code, 1006);
        });
      });

      test('a protocol error from python fails the connection with 1002', T, async () => {
        await withClient(async (c, path) => {
          const line = closeLine(path);
          c.socket.send('!badframe');
          assert.equal((await line).code, 1002, 'python received Close 1002');
          assert.equal(
            (await c.next('close')).code,
            1002,
            'ironsock reports the code it failed with',
          );
        });
      });
    });

    describe(`ironsock server <-> python client (${mode.name})`, () => {
      let wss: ServerLike;
      let url: string;
      const closes: ServerClose[] = [];
      before(async () => {
        wss = new WebSocketServer({
          host: '127.0.0.1',
          port: 0,
          perMessageDeflate: mode.deflate,
          ...LARGE_LIMITS,
          handleProtocols: (offered: Set<string>) => (offered.has('chat.v1') ? 'chat.v1' : false),
        });
        wss.on('connection', (socket: SocketLike) => commandEcho(socket, closes));
        url = `ws://127.0.0.1:${await listening(wss)}/`;
      });
      after(() => (wss ? shutdown(wss) : undefined));

      /**
       * Runs client.py with `steps` (against `target`, default the suite's server); resolves
       * with its JSON events (rejects on timeout or when the script reports an error).
       */
      function runClient(steps: unknown[], extra: string[] = [], target = url): Promise<PyEvent[]> {
        return new Promise((resolve, reject) => {
          const child = spawn(
            PYTHON,
            [
              join(scripts, 'client.py'),
              target,
              '--compression',
              mode.compression,
              '--max-size',
              String(MAX),
              ...extra,
            ],
            {
              env: pythonEnv,
            },
          );
          let out = '';
          let err = '';
          child.stdout.on('data', (c: Buffer) => (out += c));
          child.stderr.on('data', (c: Buffer) => (err += c));
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(
              new Error(
                `client.py timed out; stdout: ${out.slice(-500)} stderr: ${err.slice(-500)}`,
              ),
            );
          }, 75_000);
          child.once('exit', () => {
            clearTimeout(timer);
            const events = out
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as PyEvent);
            const error = events.find((e) => e.event === 'error');
            if (error)
              reject(
                new Error(`client.py: ${error.type}: ${error.message}; stderr: ${err.slice(-500)}`),
              );
            else resolve(events);
          });
          child.stdin.end(JSON.stringify(steps));
        });
      }
      const messages = (events: PyEvent[]): PyEvent[] =>
        events.filter((e) => e.event === 'message');
      const closeOf = (events: PyEvent[]): PyEvent | undefined =>
        events.find((e) => e.event === 'close');

      test(
        'text, binary, 0-byte and fragmented messages echo back; extensions match the mode',
        T,
        async () => {
          const events = await runClient([
            { text: 'héllo ✓ 🚀' },
            { pattern: 70_000 },
            { text: '' },
            { pattern: 0 },
            { fragments: ['part one, ', 'part two'] },
            { fragpattern: [70_000, 4] },
            { recv: 6 },
            { close: [1000, ''] },
          ]);
          assert.deepEqual(events[0].extensions, mode.deflate ? ['permessage-deflate'] : []);
          const got = messages(events);
          assert.deepEqual(
            got.map((m) => [m.type, m.length]),
            [
              ['text', Buffer.byteLength('héllo ✓ 🚀')],
              ['binary', 70_000],
              ['text', 0],
              ['binary', 0],
              ['text', 18],
              ['binary', 70_000],
            ],
          );
          assert.equal(got[0].data, 'héllo ✓ 🚀');
          assert.equal(got[4].data, 'part one, part two');
          assert.equal(got[1].sha256, sha(pattern(70_000)));
          assert.equal(got[5].sha256, sha(pattern(70_000)));
          assert.equal(closeOf(events)?.code, 1000);
          const serverSide = await closeWith(closes, 0, 1000);
          assert.equal(
            /permessage-deflate/.test(serverSide.extensions),
            mode.deflate,
            'server-side extensions',
          );
        },
      );

      test(
        'fragmented messages sent by ironsock (fin: false) are reassembled by python',
        T,
        async () => {
          const events = await runClient([
            { text: '!frag one two three ✓' },
            { text: '!fragpattern 100000 7' },
            { recv: 2 },
            { close: [1000, ''] },
          ]);
          const got = messages(events);
          assert.equal(got[0].data, 'one two three ✓');
          assert.deepEqual([got[1].type, got[1].sha256], ['binary', sha(pattern(100_000))]);
        },
      );

      test('16 MiB messages both ways', { timeout: 90_000 }, async () => {
        const events = await runClient([
          { pattern: LARGE },
          { recv: 1 },
          { text: `!fragpattern ${LARGE} 3` },
          { recv: 1 },
          { close: [1000, ''] },
        ]);
        const got = messages(events);
        assert.equal(got.length, 2);
        for (const m of got) assert.deepEqual([m.length, m.sha256], [LARGE, sha(pattern(LARGE))]);
      });

      test("subprotocol negotiation (§4.2.2): ironsock picks from python's offer", T, async () => {
        const events = await runClient(
          [{ text: '!info' }, { recv: 1 }, { close: [1000, ''] }],
          ['--subprotocol', 'chat.v2', '--subprotocol', 'chat.v1'],
        );
        assert.equal(events[0].subprotocol, 'chat.v1');
        assert.equal(JSON.parse(messages(events)[0].data).protocol, 'chat.v1');
      });

      if (mode.deflate)
        test(
          'deflate parameters chosen by ironsock are accepted and honoured by python',
          T,
          async () => {
            const tuned = new WebSocketServer({
              host: '127.0.0.1',
              port: 0,
              perMessageDeflate: {
                serverNoContextTakeover: true,
                clientNoContextTakeover: true,
                serverMaxWindowBits: 10,
                threshold: 0,
              },
            });
            const tunedCloses: ServerClose[] = [];
            tuned.on('connection', (socket: SocketLike) => commandEcho(socket, tunedCloses));
            try {
              const target = `ws://127.0.0.1:${await listening(tuned)}/`;
              const text = 'abcdefghijklmnop'.repeat(4096);
              const events = await runClient(
                [{ text }, { text }, { pattern: 100_000 }, { recv: 3 }, { close: [1000, ''] }],
                [],
                target,
              );
              const offer = String(events[0].response_extensions);
              for (const param of [
                'server_no_context_takeover',
                'client_no_context_takeover',
                'server_max_window_bits=10',
              ]) {
                assert.ok(offer.includes(param), `${param} in ${offer}`);
              }
              const got = messages(events);
              assert.deepEqual(
                got.map((m) => m.sha256),
                [sha(Buffer.from(text)), sha(Buffer.from(text)), sha(pattern(100_000))],
              );
              assert.equal(closeOf(events)?.code, 1000);
            } finally {
              await shutdown(tuned);
            }
          },
        );

      test('ping/pong with payloads both ways', T, async () => {
        const events = await runClient([
          { ping: 'from python' },
          { text: '!ping from ironsock' },
          { recv: 1 },
          { close: [1000, ''] },
        ]);
        assert.ok(
          events.some((e) => e.event === 'pong'),
          'python got its pong',
        );
        assert.equal(messages(events)[0].data, 'pong from ironsock');
      });

      test('python closes with code and reason: ironsock sees them', T, async () => {
        const before = closes.length;
        const events = await runClient([{ close: [4000, 'bye ✓'] }]);
        assert.equal(closeOf(events)?.code, 4000);
        assert.equal((await closeWith(closes, before, 4000)).reason, 'bye ✓');
      });

      test('ironsock closes with code and reason: python sees them', T, async () => {
        const events = await runClient([
          { text: '!close 4001 server says bye' },
          { wait_close: true },
        ]);
        assert.deepEqual(
          [closeOf(events)?.code, closeOf(events)?.reason],
          [4001, 'server says bye'],
        );
      });

      test('a protocol error from python (reserved opcode) gets Close 1002', T, async () => {
        const before = closes.length;
        const events = await runClient([{ raw_hex: '838001020304' }, { wait_close: true }]);
        assert.equal(closeOf(events)?.code, 1002);
        await closeWith(closes, before, 1002);
      });

      test('ironsock server shutdown closes the python client with 1001', T, async () => {
        const own = new WebSocketServer({
          host: '127.0.0.1',
          port: 0,
          perMessageDeflate: mode.deflate,
        });
        const ownCloses: ServerClose[] = [];
        own.on('connection', (socket: SocketLike) => commandEcho(socket, ownCloses));
        try {
          const target = `ws://127.0.0.1:${await listening(own)}/`;
          const run = runClient([{ text: 'hello' }, { recv: 1 }, { wait_close: true }], [], target);
          await waitUntil(() => own.clients.size === 1);
          await delay(200);
          own.close();
          const events = await run;
          assert.equal(messages(events)[0]?.data, 'hello');
          assert.equal(closeOf(events)?.code, 1001);
        } finally {
          await shutdown(own);
        }
      });

      test('a TCP drop by python is reported as 1006', T, async () => {
        const before = closes.length;
        await runClient([{ text: 'x' }, { recv: 1 }, { abort: true }]);
        await closeWith(closes, before, 1006);
      });
    });
  }
});
