/**
 * Interop over TLS (wss:, RFC 6455 §4.1 "secure" flag): ironsock on a Node https server and
 * ironsock's client with `ca`, against ws, python websockets and Chromium. The certificate is
 * the self-signed test fixture for 127.0.0.1 (test/fixtures/toy-server-tls.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ws from 'ws';
import * as impl from './impl.js';
import { TOY_TLS_CERT, TOY_TLS_KEY } from '../fixtures/toy-server-tls.js';
import {
  PYTHON,
  chromium,
  pythonWebsockets,
  repoRoot,
  requirePeer,
  spawnReady,
} from '../helpers/peers.js';
import { PAGE, launchChromium, type LaunchedBrowser } from './browser.js';
import {
  Recorder,
  closeWith,
  commandEcho,
  pattern,
  type ServerClose,
  type ServerLike,
  type SocketLike,
} from './support.js';

const T = { timeout: 30_000 };
const IronSocket = impl.WebSocket as unknown as new (...args: any[]) => SocketLike;
const IronServer = impl.WebSocketServer as unknown as new (...args: any[]) => ServerLike;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const { PYTHONPATH: _path, PYTHONHOME: _home, ...pythonEnv } = process.env;

interface Secure {
  https: HttpsServer;
  wss: ServerLike;
  port: number;
  closes: ServerClose[];
  stop(): Promise<void>;
}

/** An https server on 127.0.0.1:0 (serving the browser page at `/`) with `Server` attached. */
async function startSecure(
  Server: new (...args: any[]) => ServerLike,
  options: Record<string, unknown> = {},
): Promise<Secure> {
  const https = createHttpsServer({ key: TOY_TLS_KEY, cert: TOY_TLS_CERT }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  const wss = new Server({ server: https, ...options });
  const closes: ServerClose[] = [];
  wss.on('connection', (socket: SocketLike) => commandEcho(socket, closes));
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  return {
    https,
    wss,
    port: (https.address() as { port: number }).port,
    closes,
    stop: async () => {
      for (const c of wss.clients) (c as SocketLike).terminate();
      await new Promise((r) => wss.close(() => r(undefined)));
      https.closeAllConnections();
      await new Promise((r) => https.close(() => r(undefined)));
    },
  };
}

/** Echo of text, 1 MiB binary and a close code over an open client `c`. */
async function exercise(c: Recorder): Promise<void> {
  c.socket.send('over TLS ✓');
  assert.equal((await c.next('message')).data.toString(), 'over TLS ✓');
  const big = pattern(1024 * 1024 - 64);
  c.socket.send(big);
  assert.equal(sha((await c.next('message')).data), sha(big));
  c.socket.send('!close 4002 tls bye');
  assert.deepEqual(await c.next('close'), { code: 4002, reason: 'tls bye' });
}

describe('interop over TLS (wss:)', () => {
  const deflate = [false, true];

  for (const perMessageDeflate of deflate) {
    const label = perMessageDeflate ? 'deflate on' : 'deflate off';

    test(`ironsock wss server <-> ws client (${label})`, T, async () => {
      const server = await startSecure(IronServer, { perMessageDeflate });
      const c = new Recorder(
        new ws.WebSocket(`wss://127.0.0.1:${server.port}/`, {
          ca: TOY_TLS_CERT,
          perMessageDeflate,
        }),
      );
      try {
        await c.opened();
        assert.equal(/permessage-deflate/.test(String(c.socket.extensions)), perMessageDeflate);
        await exercise(c);
      } finally {
        c.socket.terminate();
        await server.stop();
      }
    });

    test(`ws wss server <-> ironsock client with ca (${label})`, T, async () => {
      const server = await startSecure(
        ws.WebSocketServer as unknown as new (...args: any[]) => ServerLike,
        { perMessageDeflate },
      );
      const c = new Recorder(
        new IronSocket(`wss://127.0.0.1:${server.port}/`, { ca: TOY_TLS_CERT, perMessageDeflate }),
      );
      try {
        await c.opened();
        assert.equal(/permessage-deflate/.test(String(c.socket.extensions)), perMessageDeflate);
        await exercise(c);
      } finally {
        c.socket.terminate();
        await server.stop();
      }
    });
  }

  test(
    'ironsock client refuses an untrusted certificate by default: error, then close 1015 (§7.4.1) or 1006',
    T,
    async () => {
      const server = await startSecure(IronServer);
      const c = new Recorder(new IronSocket(`wss://127.0.0.1:${server.port}/`));
      try {
        await assert.rejects(c.opened(), (error: Error) =>
          /certificate|self[- ]signed/i.test(
            `${error.message} ${String((error as any).cause?.message ?? '')} ${String((error as any).code ?? '')}`,
          ),
        );
        // §7.4.1 designates 1015 for a failed TLS handshake (ironsock reports it); ws reports 1006.
        assert.ok([1015, 1006].includes((await c.next('close')).code));
        assert.equal(server.closes.length, 0, 'no WebSocket connection was made');
      } finally {
        c.socket.terminate();
        await server.stop();
      }
    },
  );

  describe(
    'python websockets over TLS',
    requirePeer('python3-websockets', pythonWebsockets),
    () => {
      let dir: string;
      let certfile: string;
      let keyfile: string;
      before(async () => {
        dir = await mkdtemp(join(tmpdir(), 'ironsock-tls-'));
        certfile = join(dir, 'cert.pem');
        keyfile = join(dir, 'key.pem');
        await writeFile(certfile, TOY_TLS_CERT);
        await writeFile(keyfile, TOY_TLS_KEY);
      });
      after(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

      test('python wss echo server <-> ironsock client', T, async () => {
        const server = await spawnReady(
          PYTHON,
          [
            join(repoRoot(), 'test', 'interop', 'python', 'echo_server.py'),
            '--certfile',
            certfile,
            '--keyfile',
            keyfile,
            '--max-size',
            String(2 * 1024 * 1024),
          ],
          { ready: /^READY (\d+)$/, env: pythonEnv },
        );
        const c = new Recorder(
          new IronSocket(`wss://127.0.0.1:${server.match[1]}/`, {
            ca: TOY_TLS_CERT,
            perMessageDeflate: true,
          }),
        );
        try {
          await c.opened();
          await exercise(c);
        } finally {
          c.socket.terminate();
          await server.stop();
        }
      });

      test('ironsock wss server <-> python client', T, async () => {
        const server = await startSecure(IronServer, { perMessageDeflate: true });
        try {
          const steps = [
            { text: 'over TLS ✓' },
            { pattern: 100_000 },
            { recv: 2 },
            { close: [4003, 'python tls bye'] },
          ];
          const out = await new Promise<string>((resolve, reject) => {
            const child = spawn(
              PYTHON,
              [
                join(repoRoot(), 'test', 'interop', 'python', 'client.py'),
                `wss://127.0.0.1:${server.port}/`,
                '--cafile',
                certfile,
              ],
              {
                env: pythonEnv,
              },
            );
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (d: Buffer) => (stdout += d));
            child.stderr.on('data', (d: Buffer) => (stderr += d));
            const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
            child.once('exit', (code) => {
              clearTimeout(timer);
              if (code === 0) resolve(stdout);
              else reject(new Error(`client.py exited ${code}: ${stdout} ${stderr.slice(-500)}`));
            });
            child.stdin.end(JSON.stringify(steps));
          });
          const events = out
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line));
          assert.deepEqual(events[0].extensions, ['permessage-deflate']);
          const messages = events.filter((e) => e.event === 'message');
          assert.equal(messages[0].data, 'over TLS ✓');
          assert.equal(messages[1].sha256, sha(pattern(100_000)));
          assert.equal((await closeWith(server.closes, 0, 4003)).reason, 'python tls bye');
        } finally {
          await server.stop();
        }
      });
    },
  );

  describe(
    'Chromium over TLS (https page, wss: same origin)',
    requirePeer('chromium', chromium),
    () => {
      let browser: LaunchedBrowser | undefined;
      before(async () => {
        browser = await launchChromium({ ignoreHTTPSErrors: true });
      });
      after(() => browser?.close());

      test(
        'echo, 1 MiB binary, close codes; the https page origin is same-origin for wss:',
        T,
        async () => {
          const server = await startSecure(IronServer, { perMessageDeflate: true });
          const call = (expr: string): Promise<any> => browser!.page.evaluate(expr);
          try {
            await browser!.page.goto(`https://127.0.0.1:${server.port}/`, { timeout: 20_000 });
            const opened = await call('openWs()');
            assert.equal(
              opened.opened,
              true,
              'wss: from an https page of the same origin is accepted',
            );
            assert.match(opened.extensions, /permessage-deflate/);
            await call(`sendText('over TLS')`);
            assert.equal((await call('nextMessage()')).data, 'over TLS');
            await call('sendPattern(1048000)');
            assert.equal((await call('nextMessage()')).sha256, sha(pattern(1_048_000)));
            const closed = await call(`closeWs(4004, 'browser tls bye')`);
            assert.deepEqual([closed.code, closed.wasClean], [4004, true]);
            assert.equal((await closeWith(server.closes, 0, 4004)).reason, 'browser tls bye');
          } finally {
            await server.stop();
          }
        },
      );
    },
  );
});
