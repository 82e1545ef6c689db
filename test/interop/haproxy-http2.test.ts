/**
 * RFC 8441 through a real proxy: HAProxy (Debian's 2.6) terminates TLS and HTTP/2 for the
 * client, which opens its WebSockets as extended CONNECT streams on one connection, and forwards
 * them (1) as HTTP/1.1 upgrades to an ironsock server that only speaks HTTP/1.1, and (2) as
 * extended CONNECT streams over HTTP/2 (`alpn h2` on the server line) to an ironsock HTTP/2
 * server. HAProxy supports websockets over HTTP/2 on both its frontend and backend sides since
 * 2.4 (its configuration manual: the `ws` server keyword, and "h2-workaround-bogus-websocket-
 * clients" to stop advertising the setting on a frontend).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../../src/node/server.js';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { selfSigned, h2Session } from '../helpers/h2.js';
import {
  freePort,
  requirePeer,
  spawnReady,
  waitForPort,
  type ReadyProcess,
} from '../helpers/peers.js';
import { once } from '../node/util.js';

const HAPROXY = '/usr/sbin/haproxy';
const gate = requirePeer('haproxy', () => {
  if (!existsSync(HAPROXY)) return `${HAPROXY} not found`;
  const out = spawnSync(HAPROXY, ['-v'], { encoding: 'utf8' });
  return out.status === 0 ? true : `haproxy -v exited ${out.status}`;
});
const T = { timeout: 30_000 };

function haproxyConfig(
  pem: string,
  h1Front: number,
  h1Back: number,
  h2Front: number,
  h2Back: number,
): string {
  return `
global
  maxconn 256
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout tunnel 60s
frontend to_h1
  bind 127.0.0.1:${h1Front} ssl crt ${pem} alpn h2,http/1.1
  default_backend ironsock_h1
frontend to_h2
  bind 127.0.0.1:${h2Front} ssl crt ${pem} alpn h2,http/1.1
  default_backend ironsock_h2
backend ironsock_h1
  server s1 127.0.0.1:${h1Back}
backend ironsock_h2
  server s2 127.0.0.1:${h2Back} ssl verify none alpn h2
`;
}

describe('HAProxy terminating HTTP/2 in front of ironsock (RFC 8441)', gate, () => {
  let dir = '';
  let proxy: ReadyProcess | undefined;
  let h1: WebSocketServer;
  let h2: WebSocketServer;
  let h1Front = 0;
  let h2Front = 0;
  const versions: Record<string, string[]> = { h1: [], h2: [] };
  const pair = selfSigned();

  before(async () => {
    assert.ok(pair !== null, 'openssl is needed for the test certificate');
    dir = await mkdtemp(join(tmpdir(), 'ironsock-haproxy-'));
    const pem = join(dir, 'site.pem');
    await writeFile(pem, Buffer.concat([pair.cert, pair.key]));
    h1 = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    h2 = new WebSocketServer({ port: 0, host: '127.0.0.1', http2: pair });
    const listening = Promise.all([once(h1, 'listening'), once(h2, 'listening')]);
    for (const [name, wss] of [
      ['h1', h1],
      ['h2', h2],
    ] as const) {
      wss.on('connection', (ws: WebSocket, req) => {
        versions[name].push((req as { httpVersion: string }).httpVersion);
        ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
      });
    }
    await listening;
    h1Front = await freePort();
    h2Front = await freePort();
    const config = join(dir, 'haproxy.cfg');
    await writeFile(
      config,
      haproxyConfig(
        pem,
        h1Front,
        (h1.address() as AddressInfo).port,
        h2Front,
        (h2.address() as AddressInfo).port,
      ),
    );
    proxy = await spawnReady(HAPROXY, ['-db', '-V', '-f', config], { ready: /polling/ });
    await waitForPort(h1Front);
    await waitForPort(h2Front);
  });

  after(async () => {
    await proxy?.stop();
    await new Promise((r) => h1?.close(r));
    await new Promise((r) => h2?.close(r));
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  test(
    'HAProxy advertises SETTINGS_ENABLE_CONNECT_PROTOCOL on its HTTP/2 frontend',
    T,
    async () => {
      const session = await h2Session(h1Front, pair?.cert);
      try {
        assert.equal(session.remoteSettings.enableConnectProtocol, true);
      } finally {
        session.destroy();
      }
    },
  );

  for (const [name, port] of [
    ['an HTTP/1.1 ironsock server (HAProxy turns the stream into an upgrade)', () => h1Front],
    ['an HTTP/2 ironsock server (extended CONNECT on both sides)', () => h2Front],
  ] as const) {
    test(
      `three WebSockets over one client HTTP/2 connection, through HAProxy, to ${name}`,
      T,
      async () => {
        const which = port() === h1Front ? 'h1' : 'h2';
        const before = versions[which].length;
        const url = `wss://127.0.0.1:${port()}/chat`;
        const sockets = await Promise.all(
          [0, 1, 2].map(() => WebSocket.connect(url, { ca: pair?.cert, http2: true })),
        );
        for (const [i, ws] of sockets.entries()) {
          const reply = once<[Buffer]>(ws, 'message');
          const payload = Buffer.alloc(100_000 + i, i + 1);
          ws.send(payload);
          assert.ok((await reply)[0].equals(payload));
        }
        assert.deepEqual(
          versions[which].slice(before),
          which === 'h1' ? ['1.1', '1.1', '1.1'] : ['2.0', '2.0', '2.0'],
        );
        const closed = sockets.map((ws) => once<[number]>(ws, 'close'));
        for (const ws of sockets) ws.close(1000, 'done');
        for (const c of closed) assert.equal((await c)[0], 1000);
      },
    );
  }
});
