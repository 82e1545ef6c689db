import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { describe, test } from 'node:test';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { main } from '../../src/cli/main.js';
import { fakeIo, killQuietly, spawnCli, spawnServe, withTimeout } from './harness.js';
import { startConnectProxy } from '../helpers/proxy.js';

/** A `ws` server on port 0 (an independent peer); `onConnection` scripts its behaviour. */
async function peerServer(
  onConnection: (ws: WsSocket) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', onConnection);
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

function echoPeer(ws: WsSocket): void {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

async function listenHttp(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
}

describe('ironsock connect', { timeout: 60_000 }, () => {
  test('pipes a message through a real `ironsock serve` with --once (real binaries)', async () => {
    const server = await spawnServe();
    try {
      const client = spawnCli(['connect', `ws://127.0.0.1:${server.port}/echo`, '--once'], {
        stdinText: 'hello through the pipe\n',
      });
      assert.equal(await withTimeout(client.exited, 20_000, 'connect --once'), 0, client.stderr());
      assert.equal(client.stdout(), 'hello through the pipe\n');
    } finally {
      server.child.kill('SIGTERM');
      await withTimeout(server.exited, 15_000, 'serve exit');
      killQuietly(server);
    }
  });

  test('--deflate negotiates permessage-deflate with `serve --echo --deflate` (--json shows it)', async () => {
    const server = await spawnServe(['--echo', '--deflate']);
    try {
      const client = spawnCli(
        ['connect', `ws://127.0.0.1:${server.port}/`, '--deflate', '--json', '--once'],
        { stdinText: `${'squeeze '.repeat(100)}\n` },
      );
      assert.equal(await withTimeout(client.exited, 20_000, 'connect'), 0, client.stderr());
      const events = client
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.match(events[0].extensions, /permessage-deflate/);
      assert.equal(events[1].data, 'squeeze '.repeat(100));
    } finally {
      server.child.kill('SIGTERM');
      await withTimeout(server.exited, 15_000, 'serve exit');
      killQuietly(server);
    }
  });

  test('sends each stdin line, prints each message, closes 1000 at EOF and exits 0', async () => {
    const peer = await peerServer(echoPeer);
    try {
      const fake = fakeIo({ stdinText: 'one\ntwo\n/binary 00ff10\n//slash\n' });
      const code = await withTimeout(main(['connect', peer.url], fake.io), 15_000, 'connect');
      assert.equal(code, 0, fake.stderr());
      assert.equal(fake.stdout(), 'one\ntwo\n00ff10\n/slash\n');
      assert.match(fake.stderr(), /connection closed: 1000 \(normal closure\)/);
    } finally {
      await peer.close();
    }
  });

  test('--header, --subprotocol and --origin reach the server; the chosen subprotocol is shown', async () => {
    let seen: Record<string, string | string[] | undefined> = {};
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
    });
    await once(wss, 'listening');
    wss.on('connection', (ws, request) => {
      seen = request.headers;
      ws.send('welcome');
    });
    const { port } = wss.address() as { port: number };
    try {
      const fake = fakeIo({ stdinText: '' });
      const code = await withTimeout(
        main(
          [
            'connect',
            `ws://127.0.0.1:${port}/`,
            '-H',
            'X-Token: abc 123',
            '--header',
            'X-Other:two',
            '-s',
            'chat.v1',
            '-s',
            'chat.v2',
            '--origin',
            'https://app.example',
            '--once',
          ],
          fake.io,
        ),
        15_000,
        'connect',
      );
      assert.equal(code, 0, fake.stderr());
      assert.equal(seen['x-token'], 'abc 123');
      assert.equal(seen['x-other'], 'two');
      assert.equal(seen['sec-websocket-protocol'], 'chat.v1, chat.v2');
      assert.equal(seen.origin, 'https://app.example');
      assert.match(fake.stderr(), /subprotocol chat\.v2/);
      assert.equal(fake.stdout(), 'welcome\n');
    } finally {
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  test('a malformed --header is a usage error', async () => {
    const fake = fakeIo({ stdinText: '' });
    assert.equal(await main(['connect', 'ws://127.0.0.1:1/', '-H', 'no colon here'], fake.io), 2);
    assert.match(fake.stderr(), /--header expects 'Name: value'/);
  });

  test('a large pipe (5000 lines) is sent in order with bounded buffering, every echo printed', async () => {
    const peer = await peerServer(echoPeer);
    try {
      const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 200)}`);
      const fake = fakeIo({ stdinText: `${lines.join('\n')}\n` });
      const code = await withTimeout(main(['connect', peer.url], fake.io), 30_000, 'connect');
      assert.equal(code, 0, fake.stderr());
      assert.equal(fake.stdout(), `${lines.join('\n')}\n`);
    } finally {
      await peer.close();
    }
  });

  test('/ping prints the pong; --binary-as base64; /close sends the given code', async () => {
    const peer = await peerServer(echoPeer);
    try {
      const fake = fakeIo({ stdinText: '/ping hey\n/binary 68656c6c6f\n/close 1001 done\n' });
      const code = await withTimeout(
        main(['connect', peer.url, '--binary-as', 'base64'], fake.io),
        15_000,
        'connect',
      );
      assert.equal(code, 0, fake.stderr());
      assert.match(fake.stderr(), /< pong hey/);
      assert.equal(fake.stdout(), `${Buffer.from('hello').toString('base64')}\n`);
      assert.match(fake.stderr(), /connection closed: 1001/);
    } finally {
      await peer.close();
    }
  });

  test('escapes control characters sent by a hostile server', async () => {
    const peer = await peerServer((ws) => {
      ws.send('\u001b]0;pwned\u0007\u001b[2Jgotcha\r\n\u009b31m');
      ws.close(1000, '\u001b[31mred');
    });
    try {
      const fake = fakeIo({ isTTY: false });
      fake.stdin.end();
      const code = await withTimeout(main(['connect', peer.url], fake.io), 15_000, 'connect');
      assert.equal(code, 0);
      assert.equal(fake.stdout(), '\\x1b]0;pwned\\x07\\x1b[2Jgotcha\\r\\n\\x9b31m\n');
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(fake.stdout() + fake.stderr(), /\u001b|\u0007|\u009b/);
      assert.match(fake.stderr(), /\\x1b\[31mred/);
    } finally {
      await peer.close();
    }
  });

  test('--json prints one JSON object per event', async () => {
    const peer = await peerServer(echoPeer);
    try {
      const fake = fakeIo({ stdinText: 'hi\n/binary 0102\n' });
      assert.equal(
        await withTimeout(main(['connect', peer.url, '--json'], fake.io), 15_000, 'connect'),
        0,
      );
      const events = fake
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.deepEqual(
        events.map((event) => event.event),
        ['open', 'message', 'message', 'close'],
      );
      assert.deepEqual(events[1], { event: 'message', type: 'text', data: 'hi' });
      assert.deepEqual(events[2], {
        event: 'message',
        type: 'binary',
        encoding: 'hex',
        data: '0102',
      });
      assert.equal(events[3].code, 1000);
    } finally {
      await peer.close();
    }
  });

  test('a refused handshake prints the status and reason and exits 1', async () => {
    const server = createServer();
    server.on('upgrade', (_request, socket) => {
      socket.end(
        'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nConnection: close\r\n\r\norigin not allowed',
      );
    });
    const url = await listenHttp(server);
    try {
      const fake = fakeIo({ stdinText: '' });
      const code = await withTimeout(main(['connect', url], fake.io), 15_000, 'connect');
      assert.equal(code, 1);
      assert.match(fake.stderr(), /403/);
      assert.match(fake.stderr(), /Forbidden/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('a server with an origin policy refuses: status and reason printed, exit 1 (real binaries)', async () => {
    const server = await spawnServe(['--origin', 'https://app.example']);
    try {
      const client = spawnCli(
        [
          'connect',
          `ws://127.0.0.1:${server.port}/echo`,
          '--origin',
          'https://evil.example',
          '--once',
        ],
        { stdinText: 'hi\n' },
      );
      assert.equal(await withTimeout(client.exited, 20_000, 'connect'), 1);
      assert.match(client.stderr(), /handshake refused: HTTP 403 Forbidden: Origin is not allowed/);
      assert.equal(client.stdout(), '');
    } finally {
      server.child.kill('SIGTERM');
      await withTimeout(server.exited, 15_000, 'serve exit');
      killQuietly(server);
    }
  });

  test('a refused handshake through the real binary exits non-zero with the status', async () => {
    const server = createServer();
    server.on('upgrade', (_request, socket) => {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    const url = await listenHttp(server);
    try {
      const client = spawnCli(['connect', url, '--once'], { stdinText: 'x\n' });
      assert.equal(await withTimeout(client.exited, 20_000, 'connect'), 1);
      assert.match(client.stderr(), /401 Unauthorized/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('an abnormal close code exits 1 and names the code', async () => {
    const peer = await peerServer((ws) => ws.close(1011, 'oops'));
    try {
      const fake = fakeIo();
      const code = await withTimeout(main(['connect', peer.url], fake.io), 15_000, 'connect');
      fake.stdin.end();
      assert.equal(code, 1);
      assert.match(fake.stderr(), /connection closed: 1011 \(internal server error\) "oops"/);
    } finally {
      await peer.close();
    }
  });

  test('connection refused exits 1 with the error', async () => {
    const server = createServer();
    const url = await listenHttp(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const fake = fakeIo({ stdinText: '' });
    assert.equal(await withTimeout(main(['connect', url], fake.io), 15_000, 'connect'), 1);
    assert.match(fake.stderr(), /ECONNREFUSED|refused/i);
  });

  test('--once gives up after --timeout when no message arrives', async () => {
    const peer = await peerServer(() => {});
    try {
      const fake = fakeIo({ stdinText: '' });
      const code = await withTimeout(
        main(['connect', peer.url, '--once', '--timeout', '300'], fake.io),
        15_000,
        'connect',
      );
      assert.equal(code, 1);
      assert.match(fake.stderr(), /no message within 300 ms/);
    } finally {
      await peer.close();
    }
  });

  test('an invalid URL is a usage error', async () => {
    const fake = fakeIo({ stdinText: '' });
    assert.equal(await main(['connect', 'http://[bad'], fake.io), 2);
    assert.notEqual(fake.stderr(), '');
  });

  test('aborting (SIGINT) closes with 1000 and exits 0', async () => {
    const peer = await peerServer(echoPeer);
    try {
      const fake = fakeIo();
      const exit = main(['connect', peer.url], fake.io);
      await fake.waitForStderr(/connected to/);
      fake.abort();
      assert.equal(await withTimeout(exit, 15_000, 'connect'), 0);
      fake.stdin.end();
    } finally {
      await peer.close();
    }
  });

  test('--proxy URL tunnels through a CONNECT proxy; a 407 exits 1 naming it; a bad URL is a usage error', async () => {
    const peer = await peerServer(echoPeer);
    const proxy = await startConnectProxy({ credentials: 'u:p', delayMs: 0 });
    try {
      const withCredentials = `http://u:p@127.0.0.1:${proxy.port}`;
      const fake = fakeIo({ stdinText: 'via proxy\n' });
      const code = await withTimeout(
        main(['connect', peer.url, '--proxy', withCredentials, '--once'], fake.io),
        15_000,
        'connect --proxy',
      );
      assert.equal(code, 0, fake.stderr());
      assert.equal(fake.stdout(), 'via proxy\n');
      assert.equal(proxy.connects.length, 1);
      assert.equal(proxy.connects[0].target, new URL(peer.url).host);

      const refused = fakeIo({ stdinText: '' });
      assert.equal(
        await withTimeout(
          main(['connect', peer.url, '--proxy', proxy.url], refused.io),
          15_000,
          'connect 407',
        ),
        1,
      );
      assert.match(refused.stderr(), /requires authentication \(407\)/);

      const usage = fakeIo({ stdinText: '' });
      assert.equal(await main(['connect', peer.url, '--proxy', 'socks5://x:1'], usage.io), 2);
      assert.match(usage.stderr(), /--proxy must be an http:\/\/ proxy URL/);
    } finally {
      await proxy.close();
      await peer.close();
    }
  });

  test('--proxy env reads http_proxy and honours no_proxy', async () => {
    const peer = await peerServer(echoPeer);
    const proxy = await startConnectProxy({ delayMs: 0 });
    const saved = { http_proxy: process.env.http_proxy, no_proxy: process.env.no_proxy };
    try {
      process.env.http_proxy = proxy.url;
      delete process.env.no_proxy;
      const first = fakeIo({ stdinText: 'one\n' });
      assert.equal(
        await withTimeout(
          main(['connect', peer.url, '--proxy', 'env', '--once'], first.io),
          15_000,
          'env',
        ),
        0,
        first.stderr(),
      );
      assert.equal(proxy.connects.length, 1);
      process.env.no_proxy = '127.0.0.1';
      const second = fakeIo({ stdinText: 'two\n' });
      assert.equal(
        await withTimeout(
          main(['connect', peer.url, '--proxy', 'env', '--once'], second.io),
          15_000,
          'no_proxy',
        ),
        0,
        second.stderr(),
      );
      assert.equal(second.stdout(), 'two\n');
      assert.equal(proxy.connects.length, 1);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await proxy.close();
      await peer.close();
    }
  });
});
