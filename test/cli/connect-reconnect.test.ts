/**
 * `ironsock connect --reconnect` (issue #16): the session survives a dropped connection, says so
 * on stderr, sends what was typed meanwhile on the new connection, and gives up after
 * `--reconnect-attempts` failures in a row. The server is the `ws` package (an independent peer).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { main } from '../../src/cli/main.js';
import { fakeIo, withTimeout } from './harness.js';

describe('ironsock connect --reconnect', { timeout: 60_000 }, () => {
  test('a dropped connection is re-established; later lines go out on the new one', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    let connections = 0;
    wss.on('connection', (ws: WsSocket) => {
      connections++;
      const first = connections === 1;
      ws.on('message', (data, isBinary) => {
        ws.send(data, { binary: isBinary });
        // The first connection drops (no Close frame) right after its first echo.
        if (first) setTimeout(() => ws.terminate(), 20);
      });
    });
    const { port } = wss.address() as { port: number };
    try {
      const fake = fakeIo();
      const exit = main(
        ['connect', `ws://127.0.0.1:${port}/`, '--reconnect', '--reconnect-delay', '20'],
        fake.io,
      );
      await fake.waitForStderr(/connected to/);
      fake.stdin.write('one\n');
      await fake.waitForStdout(/one\n/);
      await fake.waitForStderr(
        /connection lost: 1006 \(abnormal closure[^)]*\); reconnecting in 0\.0 s \(attempt 1 of 10\)/,
      );
      await fake.waitForStderr(/reconnected to ws:\/\/127\.0\.0\.1:\d+\/ \(attempt 1\)/);
      fake.stdin.end('two\n');
      assert.equal(await withTimeout(exit, 15_000, 'connect'), 0, fake.stderr());
      assert.equal(fake.stdout(), 'one\ntwo\n');
      assert.equal(connections, 2);
      assert.match(fake.stderr(), /connection closed: 1000/);
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  test('gives up after --reconnect-attempts failures in a row and exits 1', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const fake = fakeIo({ stdinText: '' });
    const code = await withTimeout(
      main(
        [
          'connect',
          `ws://127.0.0.1:${port}/`,
          '--reconnect',
          '--reconnect-attempts',
          '2',
          '--reconnect-delay',
          '5',
          '--json',
        ],
        fake.io,
      ),
      15_000,
      'connect',
    );
    assert.equal(code, 1);
    const events = fake
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; attempt?: number });
    assert.deepEqual(
      events.filter((e) => e.event === 'reconnecting').map((e) => e.attempt),
      [1, 2],
    );
    assert.equal(events.filter((e) => e.event === 'error').length, 3);
  });

  test('--reconnect-attempts must be a positive integer', async () => {
    const fake = fakeIo({ stdinText: '' });
    const code = await main(
      ['connect', 'ws://127.0.0.1:1/', '--reconnect', '--reconnect-attempts', '0'],
      fake.io,
    );
    assert.equal(code, 2);
    assert.match(fake.stderr(), /--reconnect-attempts must be between 1/);
  });
});
