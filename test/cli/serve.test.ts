import { hostname } from 'node:os';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { main } from '../../src/cli/main.js';
import { keepaliveWheel } from '../../src/node/keepalive.js';
import { fakeIo, killQuietly, LISTENING, spawnServe, withTimeout, type FakeIo } from './harness.js';

/** Runs `serve` through main() with fake io; returns the port and the pending exit code. */
async function startServe(
  args: string[],
): Promise<{ fake: FakeIo; port: number; exit: Promise<number> }> {
  const fake = fakeIo();
  const exit = main(['serve', '--port', '0', ...args], fake.io);
  const match = await Promise.race([
    fake.waitForStdout(LISTENING, 15_000),
    exit.then((code) => {
      throw new Error(`serve exited ${code}: ${fake.stderr()}`);
    }),
  ]);
  return { fake, port: Number(match[1]), exit };
}

/** Buffers messages from the moment the socket exists (the server may speak right after 101). */
const inbox = new WeakMap<
  WebSocket,
  {
    queue: Array<{ data: Buffer; isBinary: boolean }>;
    waiters: Array<(m: { data: Buffer; isBinary: boolean }) => void>;
  }
>();

function openClient(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  const box = {
    queue: [] as Array<{ data: Buffer; isBinary: boolean }>,
    waiters: [] as Array<(m: { data: Buffer; isBinary: boolean }) => void>,
  };
  inbox.set(ws, box);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const waiter = box.waiters.shift();
    if (waiter !== undefined) waiter({ data, isBinary });
    else box.queue.push({ data, isBinary });
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  const box = inbox.get(ws);
  if (box === undefined) throw new Error('not opened with openClient');
  const queued = box.queue.shift();
  if (queued !== undefined) return Promise.resolve(queued);
  return withTimeout(new Promise((resolve) => box.waiters.push(resolve)), 10_000, 'next message');
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    ws.once('close', (code: number, reason: Buffer) =>
      resolve({ code, reason: reason.toString() }),
    );
  });
}

/** Sends raw bytes and returns everything received until the server closes (or 5 s). */
async function rawRequest(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  socket.on('error', () => {});
  let received = '';
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.write(request);
  await withTimeout(
    new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (received.includes('\r\n\r\n') || socket.destroyed) {
          clearInterval(check);
          resolve();
        }
      }, 10);
    }),
    5_000,
    'a response',
  );
  socket.destroy();
  return received;
}

describe('ironsock serve', { timeout: 60_000 }, () => {
  test('prints one status line naming the URLs, with the real port for --port 0', async () => {
    const { fake, port, exit } = await startServe([]);
    assert.ok(port > 0);
    assert.match(
      fake.stdout(),
      new RegExp(
        `^ironsock listening on http://127\\.0\\.0\\.1:${port} \\(echo: ws://127\\.0\\.0\\.1:${port}/echo, chat: ws://127\\.0\\.0\\.1:${port}/chat\\)\\n`,
      ),
    );
    fake.abort();
    assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
  });

  test('GET / serves the demo page with a strict CSP; other paths 404', async () => {
    const { fake, port, exit } = await startServe([]);
    try {
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.match(await page.text(), /<title>ironsock demo<\/title>/);
      const missing = await fetch(`http://127.0.0.1:${port}/nope`);
      assert.equal(missing.status, 404);
      await missing.arrayBuffer();
      const post = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      await post.arrayBuffer();
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('/echo echoes text and binary (RFC 6455 §5.6: same opcode back)', async () => {
    const { fake, port, exit } = await startServe([]);
    const ws = await openClient(`ws://127.0.0.1:${port}/echo`);
    try {
      const text = nextMessage(ws);
      ws.send('héllo');
      assert.deepEqual(await text, { data: Buffer.from('héllo'), isBinary: false });
      const binary = nextMessage(ws);
      ws.send(Buffer.from([0, 1, 255]));
      assert.deepEqual(await binary, { data: Buffer.from([0, 1, 255]), isBinary: true });
    } finally {
      const done = closed(ws);
      fake.abort();
      assert.equal((await withTimeout(done, 15_000, 'client close')).code, 1001);
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('/chat relays JSON messages to every client with join and leave notices', async () => {
    const { fake, port, exit } = await startServe([]);
    const alice = await openClient(`ws://127.0.0.1:${port}/chat?name=alice`);
    const aliceWelcome = JSON.parse((await nextMessage(alice)).data.toString());
    const server = `${hostname()}#`;
    assert.equal(typeof aliceWelcome.server, 'string');
    assert.ok(aliceWelcome.server.startsWith(server), 'events name the server');
    assert.deepEqual(aliceWelcome, {
      type: 'welcome',
      name: 'alice',
      room: 'lobby',
      server: aliceWelcome.server,
      count: 1,
    });
    const aliceSeesJoin = nextMessage(alice);
    const bob = await openClient(`ws://127.0.0.1:${port}/chat`);
    const bobWelcome = JSON.parse((await nextMessage(bob)).data.toString());
    assert.equal(bobWelcome.type, 'welcome');
    assert.match(bobWelcome.name, /^guest-\d+$/);
    assert.deepEqual(JSON.parse((await aliceSeesJoin).data.toString()), {
      type: 'join',
      name: bobWelcome.name,
      room: 'lobby',
      server: aliceWelcome.server,
      count: 2,
    });
    const bobSees = nextMessage(bob);
    const aliceOwn = nextMessage(alice);
    alice.send('hi bob');
    const relayed = JSON.parse((await bobSees).data.toString());
    assert.equal(relayed.type, 'message');
    assert.equal(relayed.from, 'alice');
    assert.equal(relayed.text, 'hi bob');
    assert.equal(relayed.self, undefined);
    assert.equal(JSON.parse((await aliceOwn).data.toString()).self, true);
    const leave = nextMessage(alice);
    bob.close(1000);
    assert.deepEqual(JSON.parse((await leave).data.toString()), {
      type: 'leave',
      name: bobWelcome.name,
      room: 'lobby',
      server: aliceWelcome.server,
      count: 1,
    });
    const aliceClosed = closed(alice);
    fake.abort();
    assert.equal((await withTimeout(aliceClosed, 15_000, 'alice close')).code, 1001);
    assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    assert.match(fake.stdout(), /connection path=\/chat/);
  });

  test('a WebSocket on an unknown path is closed with 1008', async () => {
    const { fake, port, exit } = await startServe([]);
    const ws = await openClient(`ws://127.0.0.1:${port}/elsewhere`);
    const { code } = await withTimeout(closed(ws), 10_000, 'close');
    assert.equal(code, 1008);
    fake.abort();
    assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
  });

  test('--echo echoes text and binary on every path', async () => {
    const { fake, port, exit } = await startServe(['--echo', '--max-payload', '65536']);
    assert.match(
      fake.stdout(),
      /echo server listening on ws:\/\/127\.0\.0\.1:\d+ \(every path echoes\)/,
    );
    const ws = await openClient(`ws://127.0.0.1:${port}/any/path?x=1`);
    try {
      const text = nextMessage(ws);
      ws.send('ping me back');
      assert.deepEqual(await text, { data: Buffer.from('ping me back'), isBinary: false });
      const binary = nextMessage(ws);
      const payload = Buffer.alloc(40_000, 7);
      ws.send(payload);
      assert.deepEqual(await binary, { data: payload, isBinary: true });
      const empty = nextMessage(ws);
      ws.send(Buffer.alloc(0));
      assert.deepEqual(await empty, { data: Buffer.alloc(0), isBinary: true });
      const tooBig = closed(ws);
      ws.send(Buffer.alloc(65_537));
      assert.equal((await withTimeout(tooBig, 10_000, 'close 1009')).code, 1009);
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('--echo echoes a message as large as --max-payload (send buffer follows the limit)', async () => {
    const { fake, port, exit } = await startServe([
      '--echo',
      '--max-payload',
      String(4 * 1024 * 1024),
    ]);
    const ws = await openClient(`ws://127.0.0.1:${port}/`, { maxPayload: 8 * 1024 * 1024 });
    try {
      const payload = Buffer.alloc(4 * 1024 * 1024, 0x5a);
      const echoed = nextMessage(ws);
      ws.send(payload);
      const { data, isBinary } = await echoed;
      assert.equal(isBinary, true);
      assert.equal(data.length, payload.length);
      assert.ok(data.equals(payload));
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('--echo --deflate negotiates permessage-deflate and still echoes', async () => {
    const { fake, port, exit } = await startServe(['--echo', '--deflate']);
    const ws = await openClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
    try {
      assert.match(ws.extensions, /permessage-deflate/);
      const text = nextMessage(ws);
      const message = 'compress me '.repeat(200);
      ws.send(message);
      assert.equal((await text).data.toString(), message);
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('--keepalive pings a silent client (RFC 6455 §5.5.2)', async () => {
    const { fake, port, exit } = await startServe(['--echo', '--keepalive', '200']);
    const ws = await openClient(`ws://127.0.0.1:${port}/`);
    try {
      await withTimeout(once(ws, 'ping'), 10_000, 'keepalive ping');
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test("without --keepalive, serve follows the library's default (on); --keepalive 0 turns it off", async () => {
    const wheel = keepaliveWheel(true)!;
    const base = wheel.size;
    const on = await startServe(['--echo']);
    const off = await startServe(['--echo', '--keepalive', '0']);
    try {
      const a = await openClient(`ws://127.0.0.1:${on.port}/`);
      await withTimeout(
        (async () => {
          while (wheel.size !== base + 1) await new Promise((r) => setTimeout(r, 10));
        })(),
        5_000,
        'the connection joins the default keepalive wheel',
      );
      const b = await openClient(`ws://127.0.0.1:${off.port}/`);
      b.send('x');
      await nextMessage(b);
      assert.equal(wheel.size, base + 1, '--keepalive 0: not watched');
      a.close();
      b.close();
      await Promise.all([closed(a), closed(b)]);
    } finally {
      on.fake.abort();
      off.fake.abort();
      assert.equal(await withTimeout(on.exit, 15_000, 'serve shutdown'), 0);
      assert.equal(await withTimeout(off.exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('--stats prints connections, messages/s and bytes/s', async () => {
    const { fake, exit } = await startServe(['--echo', '--stats', '--stats-interval', '200']);
    try {
      await fake.waitForStdout(/stats connections=\d+ messages\/s=\d+ bytes\/s=\d+/, 10_000);
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('--json-log writes one JSON object per line', async () => {
    const { fake, port, exit } = await startServe(['--json-log']);
    fake.abort();
    assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    const lines = fake
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.equal(lines[0].event, 'listening');
    assert.equal(lines[0].port, port);
    assert.ok(
      lines.every((line) => typeof line.time === 'string' && typeof line.level === 'string'),
    );
  });

  test('a refused handshake (origin policy, §10.2) is logged with its reason', async () => {
    const { fake, port, exit } = await startServe(['--origin', 'https://app.example']);
    try {
      const refused = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, { origin: 'https://evil.example' });
        ws.on('unexpected-response', (_request, response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('error', () => {});
        ws.on('open', () => reject(new Error('evil origin was accepted')));
      });
      assert.equal(refused, 403);
      // The log line gives the refused Origin and the flag that allows it (issue #13).
      await fake.waitForStdout(
        /handshake rejected status=403 code=ORIGIN_NOT_ALLOWED origin=https:\/\/evil\.example reason="Origin https:\/\/evil\.example is not allowed: add --origin https:\/\/evil\.example to allow it" allow="--origin https:\/\/evil\.example"/,
      );
      const allowed = await openClient(`ws://127.0.0.1:${port}/echo`, {
        origin: 'https://app.example',
      });
      allowed.close();
      await closed(allowed);
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('--allow-host admits another Host name (DNS rebinding check stays on otherwise)', async () => {
    const { fake, port, exit } = await startServe(['--allow-host', 'ironsock.test']);
    try {
      const ok = await openClient(`ws://127.0.0.1:${port}/echo`, {
        headers: { host: 'ironsock.test' },
      });
      ok.close();
      await closed(ok);
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, {
          headers: { host: 'evil.example' },
        });
        ws.on('unexpected-response', (_request, response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('error', () => {});
        ws.on('open', () => resolve(101));
      });
      assert.equal(status, 403);
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('a refused Host is logged with the --allow-host flag that allows it', async () => {
    const { fake, port, exit } = await startServe([]);
    try {
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, {
          headers: { host: 'rebound.example:8080' },
        });
        ws.on('unexpected-response', (_request, response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('error', () => {});
        ws.on('open', () => resolve(101));
      });
      assert.equal(status, 403);
      await fake.waitForStdout(
        /handshake rejected status=403 code=HOST_NOT_ALLOWED host=rebound\.example:8080 reason="Host rebound\.example:8080 is not allowed: add --allow-host rebound\.example to allow it"/,
      );
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('plain requests to WebSocket endpoints get 426 + Upgrade: websocket; the demo page stays', async () => {
    const demo = await startServe([]);
    const echo = await startServe(['--echo']);
    try {
      for (const url of [
        `http://127.0.0.1:${demo.port}/echo`,
        `http://127.0.0.1:${demo.port}/chat?name=a`,
        `http://127.0.0.1:${echo.port}/`,
        `http://127.0.0.1:${echo.port}/anything`,
      ]) {
        const res = await fetch(url);
        assert.equal(res.status, 426, url);
        assert.equal(res.headers.get('upgrade'), 'websocket', url);
        assert.equal(await res.text(), 'Upgrade Required');
      }
      const page = await fetch(`http://127.0.0.1:${demo.port}/`);
      assert.equal(page.status, 200);
      await page.arrayBuffer();
      // Upgrade: websocket without the upgrade token in Connection (a proxy that drops
      // hop-by-hop headers): the handshake validator's 426, logged with the usual cause.
      const broken = await rawRequest(
        echo.port,
        'GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      assert.match(broken, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
      assert.match(broken, /\r\nupgrade: websocket\r\n/i);
      await echo.fake.waitForStdout(/request refused status=426 code=MISSING_CONNECTION_UPGRADE/);
    } finally {
      demo.fake.abort();
      echo.fake.abort();
      assert.equal(await withTimeout(demo.exit, 15_000, 'serve shutdown'), 0);
      assert.equal(await withTimeout(echo.exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('during shutdown new handshakes and requests get 503 + Retry-After', async () => {
    const { fake, port, exit } = await startServe(['--echo']);
    // A client that never answers the Close 1001 keeps the shutdown waiting.
    const silent = connect(port, '127.0.0.1');
    silent.on('error', () => {});
    silent.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await withTimeout(once(silent, 'data'), 10_000, '101');
    try {
      fake.abort();
      await fake.waitForStdout(/shutting down/);
      const late = await rawRequest(
        port,
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      assert.match(late, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      assert.match(late, /\r\nRetry-After: 1\r\n/i);
      const plain = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(plain.status, 503);
      assert.equal(plain.headers.get('retry-after'), '1');
      await plain.arrayBuffer();
    } finally {
      silent.destroy();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('an invalid --origin is a usage error', async () => {
    const fake = fakeIo();
    assert.equal(await main(['serve', '--port', '0', '--origin', 'not an origin'], fake.io), 2);
    assert.notEqual(fake.stderr(), '');
  });

  test('a malformed HTTP request gets 400 and the socket is closed', async () => {
    const { fake, port, exit } = await startServe([]);
    try {
      const socket = connect(port, '127.0.0.1');
      socket.setEncoding('utf8');
      let received = '';
      socket.on('data', (chunk: string) => {
        received += chunk;
      });
      socket.write('NOT HTTP \u0000\u0001\r\n\r\n');
      await withTimeout(once(socket, 'close'), 10_000, 'socket close');
      assert.match(received, /^HTTP\/1\.1 400 Bad Request\r\n/);
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('the demo page over keep-alive, then an upgrade to /echo on the same connection (the front hands plain HTTP to node:http)', async () => {
    const { fake, port, exit } = await startServe([]);
    try {
      const socket = connect(port, '127.0.0.1');
      let received = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
      });
      await once(socket, 'connect');
      // Two pipelined requests in one write, both answered on the kept connection.
      socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nHEAD / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
      );
      const text = (): string => received.toString('latin1');
      const deadline = Date.now() + 10_000;
      while ((text().match(/HTTP\/1\.1 200 OK/g) ?? []).length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal((text().match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2, text().slice(0, 200));
      const before = received.length;
      socket.write(
        `GET /echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      while (!received.subarray(before).includes('\r\n\r\n') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.match(received.subarray(before).toString('latin1'), /^HTTP\/1\.1 101 /);
      // A masked text frame "hi" (mask 0): the echo comes back unmasked.
      const headEnd = received.indexOf('\r\n\r\n', before) + 4;
      socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69]));
      while (received.length < headEnd + 4 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual([...received.subarray(headEnd, headEnd + 4)], [0x81, 0x02, 0x68, 0x69]);
      socket.destroy();
    } finally {
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'serve shutdown'), 0);
    }
  });

  test('a port in use is reported and exits 1', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      const fake = fakeIo();
      assert.equal(
        await withTimeout(main(['serve', '--port', String(port)], fake.io), 15_000, 'serve'),
        1,
      );
      assert.match(fake.stderr(), /cannot listen/);
    } finally {
      blocker.close();
    }
  });

  test('SIGTERM closes open clients with 1001 and exits 0 (real binary)', async () => {
    const server = await spawnServe();
    try {
      const clients = await Promise.all([
        openClient(`ws://127.0.0.1:${server.port}/echo`),
        openClient(`ws://127.0.0.1:${server.port}/chat`),
      ]);
      const closes = clients.map((ws) => withTimeout(closed(ws), 15_000, 'client close'));
      server.child.kill('SIGTERM');
      for (const result of await Promise.all(closes)) assert.equal(result.code, 1001);
      assert.equal(await withTimeout(server.exited, 15_000, 'serve exit'), 0);
    } finally {
      killQuietly(server);
    }
  });
});
