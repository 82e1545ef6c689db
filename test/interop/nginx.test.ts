/**
 * Interop through a real reverse proxy: nginx (its own config in a temp dir) forwards the
 * upgrade to an ironsock server; a `ws` client and an ironsock client talk through it.
 * Also pins what the proxy does to the Host/Origin checks of the server behind it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ws from 'ws';
import * as impl from './impl.js';
import { TOY_TLS_CERT, TOY_TLS_KEY } from '../fixtures/toy-server-tls.js';
import { documentedLocation, documentedUpgradeMap, nginxScaffold } from './nginx-documented.js';
import {
  NGINX,
  freePort,
  nginx,
  requirePeer,
  spawnReady,
  waitForPort,
  type ReadyProcess,
} from '../helpers/peers.js';
import {
  Recorder,
  closeWith,
  commandEcho,
  digest,
  listening,
  pattern,
  shutdown,
  type ServerClose,
  type ServerLike,
  type SocketLike,
  LARGE,
  LARGE_LIMITS,
} from './support.js';

const gate = requirePeer('nginx', nginx);
const T = { timeout: 30_000 };
const IronSocket = impl.WebSocket as unknown as new (...args: any[]) => SocketLike;
const IronServer = impl.WebSocketServer as unknown as new (...args: any[]) => ServerLike;

/**
 * An nginx config proxying to `upstream`, every location built from the directives of the
 * configuration documented in docs/deploying.md (see nginx-documented.ts): `/` passes
 * `Host $host` (the name without the port), `/keep-port/` passes `Host $http_host` (the
 * client's Host header as sent, as documented); `/allow-listed/` goes to `allowListed` (a server
 * with the proxy's origin in `origins`) with `Host $host`. A second listener on `tls.port`
 * terminates TLS (fixture certificate) and proxies `/` to `upstream` and `/server-origins/` to a
 * server whose `serverOrigins` names the https origin.
 */
function nginxConfig(
  dir: string,
  port: number,
  upstream: number,
  allowListed: number,
  tls: { port: number; serverOriginsUpstream: number },
): string {
  return nginxScaffold(
    dir,
    `
  ${documentedUpgradeMap()}
  server {
    listen 127.0.0.1:${port};
    ${documentedLocation('/', upstream, '$host')}
    ${documentedLocation('/keep-port/', upstream)}
    ${documentedLocation('/allow-listed/', allowListed, '$host')}
  }
  # TLS termination: wss: outside, plain ws: to the upstream.
  server {
    listen 127.0.0.1:${tls.port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ${documentedLocation('/', upstream)}
    ${documentedLocation('/server-origins/', tls.serverOriginsUpstream)}
  }`,
  );
}

const clients = [
  { name: 'ws client', WebSocket: ws.WebSocket as unknown as new (...args: any[]) => SocketLike },
  { name: 'ironsock client', WebSocket: IronSocket },
];

describe('interop: client -> nginx reverse proxy -> ironsock server', gate, () => {
  let dir: string;
  let proxy: ReadyProcess | undefined;
  let wss: ServerLike;
  let allowListed: ServerLike;
  let proxyPort = 0;
  let tlsPort = 0;
  let behindTls: ServerLike | undefined;
  const closes: ServerClose[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ironsock-nginx-'));
    wss = new IronServer({ host: '127.0.0.1', port: 0, ...LARGE_LIMITS });
    wss.on('connection', (socket: SocketLike) => commandEcho(socket, closes));
    const upstream = await listening(wss);
    // The fix for a proxy that drops the port from Host: allow the public origin explicitly.
    allowListed = new IronServer({
      host: '127.0.0.1',
      port: 0,
      origins: (origin: string) => origin === `http://127.0.0.1:${proxyPort}`,
      allowedHosts: ['app.example'],
    });
    allowListed.on('connection', (socket: SocketLike) => commandEcho(socket, []));
    const allowListedPort = await listening(allowListed);
    await writeFile(join(dir, 'cert.pem'), TOY_TLS_CERT);
    await writeFile(join(dir, 'key.pem'), TOY_TLS_KEY);
    // nginx cannot listen on port 0: take ports that were free a moment ago (retry on a race).
    for (let attempt = 0; ; attempt++) {
      proxyPort = await freePort();
      tlsPort = await freePort();
      if (behindTls) await shutdown(behindTls);
      // Behind a TLS-terminating proxy the server's own connection is plain, so it derives an
      // http:// origin; serverOrigins names the public https:// one.
      behindTls = new IronServer({
        host: '127.0.0.1',
        port: 0,
        serverOrigins: [`https://127.0.0.1:${tlsPort}`],
      });
      behindTls.on('connection', (socket: SocketLike) => commandEcho(socket, []));
      const serverOriginsUpstream = await listening(behindTls);
      await writeFile(
        join(dir, 'nginx.conf'),
        nginxConfig(dir, proxyPort, upstream, allowListedPort, {
          port: tlsPort,
          serverOriginsUpstream,
        }),
      );
      try {
        proxy = await spawnReady(
          NGINX,
          ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'],
          {
            ready: /start worker process/,
            readyOnStderr: true,
            timeoutMs: 20_000,
          },
        );
        break;
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
    await waitForPort(proxyPort);
    await waitForPort(tlsPort);
  });
  after(async () => {
    await proxy?.stop();
    if (wss) await shutdown(wss);
    if (allowListed) await shutdown(allowListed);
    if (behindTls) await shutdown(behindTls);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The status a ws client gets through the proxy when it sends `Host: host`. */
  function statusThroughProxy(path: string, host: string): Promise<number> {
    return statusOf(`ws://127.0.0.1:${proxyPort}${path}`, { headers: { Host: host } });
  }

  /** The handshake status a ws client gets for `url` with `options` (101 when it opens). */
  function statusOf(url: string, options: Record<string, unknown>): Promise<number> {
    const socket = new ws.WebSocket(url, options);
    return new Promise<number>((resolve, reject) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('open', () => resolve(101));
      socket.once('error', (e: Error) =>
        /Unexpected server response/.test(e.message) ? undefined : reject(e),
      );
    }).finally(() => socket.terminate());
  }

  async function connect(
    Client: new (...args: any[]) => SocketLike,
    path = '/',
    options: Record<string, unknown> = {},
  ): Promise<Recorder> {
    const rec = new Recorder(
      new Client(`ws://127.0.0.1:${proxyPort}${path}`, { ...LARGE_LIMITS, ...options }),
    );
    await rec.opened();
    return rec;
  }

  for (const client of clients) {
    describe(client.name, () => {
      test('echo: text, binary, fragmented, 0-byte', T, async () => {
        const c = await connect(client.WebSocket);
        try {
          const bin = pattern(100_000);
          c.socket.send('through the proxy ✓');
          c.socket.send(bin);
          c.socket.send('frag ', { fin: false });
          c.socket.send('ment', { fin: true });
          c.socket.send('');
          c.socket.send('!frag from the server');
          assert.equal((await c.next('message')).data.toString(), 'through the proxy ✓');
          assert.equal(digest((await c.next('message')).data), digest(bin));
          assert.equal((await c.next('message')).data.toString(), 'frag ment');
          assert.equal((await c.next('message')).data.length, 0);
          assert.equal((await c.next('message')).data.toString(), 'from the server');
        } finally {
          c.socket.terminate();
        }
      });

      test('a 16 MiB message both ways', { timeout: 90_000 }, async () => {
        const c = await connect(client.WebSocket);
        try {
          c.socket.send(pattern(LARGE));
          const echo = await c.next('message', 60_000);
          assert.equal(echo.data.length, LARGE);
          assert.equal(digest(echo.data), digest(pattern(LARGE)));
          c.socket.send(`!fragpattern ${LARGE} 3`);
          assert.equal(digest((await c.next('message', 60_000)).data), digest(pattern(LARGE)));
        } finally {
          c.socket.terminate();
        }
      });

      test('ping/pong with payload passes the proxy', T, async () => {
        const c = await connect(client.WebSocket);
        try {
          c.socket.ping(Buffer.from('via nginx'));
          assert.equal((await c.next('pong')).toString(), 'via nginx');
          c.socket.send('!ping from behind nginx');
          assert.equal((await c.next('ping')).toString(), 'from behind nginx');
          assert.equal((await c.next('message')).data.toString(), 'pong from behind nginx');
        } finally {
          c.socket.terminate();
        }
      });

      test('close codes pass the proxy both ways', T, async () => {
        const before = closes.length;
        const a = await connect(client.WebSocket);
        a.socket.close(4000, 'client bye');
        assert.equal((await a.next('close')).code, 4000);
        assert.equal((await closeWith(closes, before, 4000)).reason, 'client bye');
        const b = await connect(client.WebSocket);
        b.socket.send('!close 4001 server bye');
        assert.deepEqual(await b.next('close'), { code: 4001, reason: 'server bye' });
      });
    });
  }

  describe('Host and Origin behind the proxy', () => {
    test(
      'no Origin (non-browser client): accepted; the proxied Host 127.0.0.1 passes the loopback Host check',
      T,
      async () => {
        const c = await connect(IronSocket);
        c.socket.terminate();
      },
    );

    test(
      'a browser-style Origin with `Host $host` is refused (403): the proxy drops the port from Host',
      T,
      async () => {
        const rec = new Recorder(
          new ws.WebSocket(`ws://127.0.0.1:${proxyPort}/`, {
            origin: `http://127.0.0.1:${proxyPort}`,
          }),
        );
        const status = await new Promise<number>((resolve, reject) => {
          (rec.socket as any).once(
            'unexpected-response',
            (_req: unknown, res: { statusCode: number }) => resolve(res.statusCode),
          );
          rec.socket.once('open', () => resolve(101));
          rec.socket.once('error', (e: Error) =>
            /Unexpected server response: (\d+)/.test(e.message) ? undefined : reject(e),
          );
        });
        rec.socket.terminate();
        assert.equal(status, 403);
      },
    );

    test(
      'the same Origin with `Host $http_host` (port kept) is same-origin: accepted',
      T,
      async () => {
        const c = await connect(ws.WebSocket, '/keep-port/', {
          origin: `http://127.0.0.1:${proxyPort}`,
        });
        c.socket.send('same origin');
        assert.equal((await c.next('message')).data.toString(), 'same origin');
        c.socket.terminate();
      },
    );

    test('with `Host $host`, listing the public origin in `origins` accepts it', T, async () => {
      const c = await connect(ws.WebSocket, '/allow-listed/', {
        origin: `http://127.0.0.1:${proxyPort}`,
      });
      c.socket.send('allow-listed');
      assert.equal((await c.next('message')).data.toString(), 'allow-listed');
      c.socket.terminate();
    });

    test(
      'a public Host name forwarded to a loopback upstream is refused (DNS-rebinding check, 403)',
      T,
      async () => {
        assert.equal(await statusThroughProxy('/', 'app.example'), 403);
      },
    );

    test('allowedHosts accepts the public Host name behind the proxy', T, async () => {
      assert.equal(await statusThroughProxy('/allow-listed/', 'app.example'), 101);
    });
  });

  describe('TLS terminated by nginx (wss: outside, ws: inside)', () => {
    for (const client of clients) {
      test(`${client.name}: echo, 1 MiB, close codes over wss: through the proxy`, T, async () => {
        const before = closes.length;
        const c = new Recorder(
          new client.WebSocket(`wss://127.0.0.1:${tlsPort}/`, { ca: TOY_TLS_CERT }),
        );
        try {
          await c.opened();
          c.socket.send('through TLS termination');
          assert.equal((await c.next('message')).data.toString(), 'through TLS termination');
          c.socket.send(pattern(1024 * 1024 - 64));
          assert.equal(digest((await c.next('message')).data), digest(pattern(1024 * 1024 - 64)));
          c.socket.close(4005, 'tls proxy bye');
          assert.equal((await c.next('close')).code, 4005);
          assert.equal((await closeWith(closes, before, 4005)).reason, 'tls proxy bye');
        } finally {
          c.socket.terminate();
        }
      });
    }

    test(
      'a browser-style https Origin is refused by default: the server only sees plain http (403)',
      T,
      async () => {
        const status = await statusOf(`wss://127.0.0.1:${tlsPort}/`, {
          ca: TOY_TLS_CERT,
          origin: `https://127.0.0.1:${tlsPort}`,
        });
        assert.equal(status, 403);
      },
    );

    test('serverOrigins naming the public https origin accepts it', T, async () => {
      const status = await statusOf(`wss://127.0.0.1:${tlsPort}/server-origins/`, {
        ca: TOY_TLS_CERT,
        origin: `https://127.0.0.1:${tlsPort}`,
      });
      assert.equal(status, 101);
    });
  });
});
