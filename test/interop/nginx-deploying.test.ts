/**
 * The nginx configuration of docs/deploying.md ("Deploying behind a proxy or load balancer"),
 * run as documented (read from the document by nginx-documented.ts): TLS terminated by nginx,
 * `Host $http_host`, X-Forwarded-Proto, the documented server options, and idle connections
 * kept open past nginx's `proxy_read_timeout` by the server's default keepalive (the timeout is
 * lowered to 3 s here, with a 1 s keepalive interval, so the test is quick); the same idle
 * connection dies at the timeout with `keepalive: false`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ws from 'ws';
import * as impl from './impl.js';
import { TOY_TLS_CERT, TOY_TLS_KEY } from '../fixtures/toy-server-tls.js';
import {
  NGINX,
  freePort,
  nginx,
  requirePeer,
  spawnReady,
  waitForPort,
  type ReadyProcess,
} from '../helpers/peers.js';
import { documentedSite, nginxScaffold } from './nginx-documented.js';
import {
  Recorder,
  commandEcho,
  listening,
  shutdown,
  type ServerLike,
  type SocketLike,
} from './support.js';

const gate = requirePeer('nginx', nginx);
const IronServer = impl.WebSocketServer as unknown as new (...args: any[]) => ServerLike;
const READ_TIMEOUT_S = 3;

interface Site {
  dir: string;
  port: number;
  proxy: ReadyProcess;
}

/**
 * Starts nginx with the documented configuration in front of the server that `makeUpstream`
 * starts for nginx's (TLS) port, and returns both. nginx cannot listen on port 0, so the port
 * is one that was free a moment ago; on a race, both are started again.
 */
async function startDocumentedNginx(
  makeUpstream: (publicPort: number) => Promise<ServerLike>,
  readTimeout?: string,
): Promise<Site & { upstream: ServerLike }> {
  const dir = await mkdtemp(join(tmpdir(), 'ironsock-nginx-doc-'));
  await writeFile(join(dir, 'cert.pem'), TOY_TLS_CERT);
  await writeFile(join(dir, 'key.pem'), TOY_TLS_KEY);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const upstream = await makeUpstream(port);
    const site = documentedSite({
      listenPort: port,
      upstreamPort: await listening(upstream),
      certFile: join(dir, 'cert.pem'),
      keyFile: join(dir, 'key.pem'),
      readTimeout,
    });
    await writeFile(join(dir, 'nginx.conf'), nginxScaffold(dir, site));
    try {
      const proxy = await spawnReady(
        NGINX,
        ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'],
        { ready: /start worker process/, readyOnStderr: true, timeoutMs: 20_000 },
      );
      await waitForPort(port);
      return { dir, port, proxy, upstream };
    } catch (error) {
      await shutdown(upstream);
      if (attempt >= 2) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

async function stopSite(site: Site | undefined): Promise<void> {
  if (site === undefined) return;
  await site.proxy.stop();
  await rm(site.dir, { recursive: true, force: true });
}

/** A browser-like client (Origin of the public https page) through the proxy. */
function open(site: Site, path = '/ws/'): Recorder {
  const origin = `https://127.0.0.1:${site.port}`;
  return new Recorder(
    new ws.WebSocket(`wss://127.0.0.1:${site.port}${path}`, {
      ca: TOY_TLS_CERT,
      origin,
    }) as unknown as SocketLike,
  );
}

describe('docs/deploying.md: the documented nginx configuration', gate, () => {
  let documented: ServerLike;
  let site: Site | undefined;
  let seen: IncomingMessage | undefined;

  before(async () => {
    // The documented server options, with the test's public origin (nginx's TLS port).
    const started = await startDocumentedNginx(async (publicPort) => {
      const server = new IronServer({
        host: '127.0.0.1',
        port: 0,
        serverOrigins: [`https://127.0.0.1:${publicPort}`],
        allowedHosts: ['app.example'],
      });
      server.on('connection', (socket: SocketLike, req: IncomingMessage) => {
        seen = req;
        commandEcho(socket, []);
      });
      return server;
    });
    site = started;
    documented = started.upstream;
  });
  after(async () => {
    await stopSite(site);
    if (documented) await shutdown(documented);
  });

  test('a page of the public https origin connects through TLS termination (serverOrigins)', async () => {
    const client = open(site!);
    try {
      await client.opened();
      client.socket.send('through the documented proxy');
      assert.equal((await client.next('message')).data.toString(), 'through the documented proxy');
      // $http_host keeps the port; X-Forwarded-Proto says the client used TLS.
      assert.equal(seen?.headers.host, `127.0.0.1:${site!.port}`);
      assert.equal(seen?.headers['x-forwarded-proto'], 'https');
      assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.1');
    } finally {
      client.socket.terminate();
    }
  });

  test('the public Host name listed in allowedHosts passes the DNS-rebinding check', async () => {
    const socket = new ws.WebSocket(`wss://127.0.0.1:${site!.port}/ws/`, {
      ca: TOY_TLS_CERT,
      headers: { Host: 'app.example' },
    });
    const rec = new Recorder(socket as unknown as SocketLike);
    try {
      await rec.opened();
    } finally {
      socket.terminate();
    }
  });
});

describe('docs/deploying.md: idle connections past proxy_read_timeout', gate, () => {
  let kept: (Site & { upstream: ServerLike }) | undefined;
  let dropped: (Site & { upstream: ServerLike }) | undefined;

  /** An echo server with these keepalive options. */
  const echoServer = async (keepalive: unknown): Promise<ServerLike> => {
    const server = new IronServer({ host: '127.0.0.1', port: 0, keepalive });
    server.on('connection', (socket: SocketLike) => commandEcho(socket, []));
    return server;
  };

  before(async () => {
    // Interval 1 s (timeout 1 s): the first ping leaves within 1.25 s of silence, well inside
    // nginx's 3 s. The library default (30 s) stands in the same relation to nginx's 60 s.
    [kept, dropped] = await Promise.all([
      startDocumentedNginx(
        () => echoServer({ interval: 1000, timeout: 1000 }),
        `${READ_TIMEOUT_S}s`,
      ),
      startDocumentedNginx(() => echoServer(false), `${READ_TIMEOUT_S}s`),
    ]);
  });
  after(async () => {
    await Promise.all([stopSite(kept), stopSite(dropped)]);
    await Promise.all([kept, dropped].map((site) => (site ? shutdown(site.upstream) : undefined)));
  });

  test(
    `an idle connection outlives nginx's ${READ_TIMEOUT_S} s proxy_read_timeout with keepalive, and dies at it without`,
    { timeout: 30_000 },
    async () => {
      // Both connect with an Origin their server accepts as its own: $http_host carries the port.
      const a = new Recorder(
        new ws.WebSocket(`wss://127.0.0.1:${kept!.port}/ws/`, {
          ca: TOY_TLS_CERT,
        }) as unknown as SocketLike,
      );
      const b = new Recorder(
        new ws.WebSocket(`wss://127.0.0.1:${dropped!.port}/ws/`, {
          ca: TOY_TLS_CERT,
        }) as unknown as SocketLike,
      );
      await Promise.all([a.opened(), b.opened()]);
      const started = Date.now();
      // Nobody sends anything: the client is idle (the ws client answers pings by itself).
      const closedB = await b.next('close', 15_000);
      const lifetime = Date.now() - started;
      assert.ok(
        lifetime >= READ_TIMEOUT_S * 1000 - 250 && lifetime < READ_TIMEOUT_S * 1000 + 5000,
        `without keepalive nginx closed the idle connection after ${lifetime} ms`,
      );
      assert.equal(closedB.code, 1006, 'closed by the proxy without a closing handshake');
      // Wait well past the timeout: the keepalive connection is still open and works.
      await new Promise((resolve) =>
        setTimeout(resolve, READ_TIMEOUT_S * 1000 + 1500 - (Date.now() - started)),
      );
      assert.equal(a.socket.readyState, 1, 'the keepalive connection is still open');
      assert.ok((a.queues.get('ping')?.length ?? 0) >= 2, 'the server pinged the idle client');
      a.socket.send('still here');
      assert.equal((await a.next('message')).data.toString(), 'still here');
      a.socket.terminate();
    },
  );
});
