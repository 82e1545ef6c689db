/**
 * The `proxy` option against a real proxy: Debian's tinyproxy, started here on a free loopback
 * port with a generated configuration (BasicAuth for the credential cases). Under `CI=true` a
 * missing tinyproxy fails these tests; elsewhere they skip with the reason.
 *
 * Covered: 407 without or with wrong credentials and success with them (the target never sees
 * them), `proxy: 'env'` with NO_PROXY, `wss:` through the tunnel with the target's certificate
 * checked (`ca`) and a wrong host name refused, a target that closes at once (tinyproxy's 200,
 * then the close: an error, not a hang), the target seeing exactly the upgrade request first (no
 * proxy bytes leak into the tunnel), and `https-proxy-agent` through `agent`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { WebSocketServer } from '../../src/node/server.js';
import { requirePeer } from '../helpers/peers.js';
import { makeCert, type TestCert } from '../helpers/certs.js';
import { startTinyproxy, tinyproxy, type Tinyproxy } from '../helpers/proxy.js';
import { closeServerNow, once } from '../node/util.js';

type Failure = Error & { code?: string; statusCode?: number; cause?: Error & { code?: string } };

async function failure(ws: WebSocket): Promise<{ error: Failure; code: number }> {
  const closed = once<[number]>(ws, 'close', 10_000);
  const [error] = await once<[Failure]>(ws, 'error', 10_000);
  const [code] = await closed;
  return { error, code };
}

async function echo(ws: WebSocket, text = 'via tinyproxy'): Promise<void> {
  ws.on('error', () => {});
  await once(ws, 'open', 10_000);
  ws.send(text);
  const [data] = await once<[Buffer]>(ws, 'message', 10_000);
  assert.equal(data.toString(), text);
  ws.close(1000);
  await once(ws, 'close', 10_000);
}

/** An ironsock echo server (plain, or on `server`), recording upgrade request headers. */
async function target(server?: https.Server): Promise<{
  port: number;
  upgrades: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}> {
  const upgrades: http.IncomingHttpHeaders[] = [];
  let wss: WebSocketServer;
  if (server === undefined) {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', allowedHosts: ['localhost'] });
    await once(wss, 'listening');
  } else {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    wss = new WebSocketServer({ server, allowedHosts: ['localhost'] });
  }
  wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => {
    upgrades.push(req.headers);
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  const port = ((server ?? wss).address() as net.AddressInfo).port;
  return {
    port,
    upgrades,
    close: () => closeServerNow(wss, server),
  };
}

describe('proxy option against tinyproxy', requirePeer('tinyproxy', tinyproxy), () => {
  let open: Tinyproxy;
  let authed: Tinyproxy;
  let plain: Awaited<ReturnType<typeof target>>;
  before(async () => {
    open = await startTinyproxy();
    authed = await startTinyproxy({ credentials: 'iron:s0ck' });
    plain = await target();
  });
  after(async () => {
    await plain?.close();
    await open?.stop();
    await authed?.stop();
  });

  test('ws: through tinyproxy; the target sees the upgrade request as its first bytes', async () => {
    const seen: Buffer[] = [];
    // A raw listener in front of the echo server records the first bytes through the tunnel.
    const spy = net.createServer((socket) => {
      const upstream = net.connect({ host: '127.0.0.1', port: plain.port });
      socket.once('data', (chunk: Buffer) => seen.push(chunk));
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => spy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (spy.address() as net.AddressInfo).port;
      await echo(new WebSocket(`ws://127.0.0.1:${port}/first`, { proxy: open.url }));
      assert.match(seen[0].toString('latin1'), /^GET \/first HTTP\/1\.1\r\n/);
      assert.match(await open.log(), new RegExp(`CONNECT.*127\\.0\\.0\\.1:${port}`));
    } finally {
      spy.close();
    }
  });

  test('407: no credentials and wrong ones are refused; right ones open and stay with the proxy', async () => {
    const none = await failure(
      new WebSocket(`ws://127.0.0.1:${plain.port}/`, { proxy: authed.url }),
    );
    assert.equal(none.error.code, 'PROXY_AUTH_REQUIRED');
    assert.equal(none.error.statusCode, 407);
    assert.equal(none.code, 1006);
    const wrong = await failure(
      new WebSocket(`ws://127.0.0.1:${plain.port}/`, {
        proxy: `http://iron:nope@127.0.0.1:${authed.port}`,
      }),
    );
    // tinyproxy answers wrong credentials with 401; for a CONNECT that is still about the proxy.
    assert.equal(wrong.error.code, 'PROXY_AUTH_REQUIRED');
    assert.equal(wrong.error.statusCode, 401);
    assert.match(wrong.error.message, /refused/);
    const count = plain.upgrades.length;
    await echo(
      new WebSocket(`ws://127.0.0.1:${plain.port}/`, {
        proxy: `http://iron:s0ck@127.0.0.1:${authed.port}`,
      }),
    );
    assert.equal(plain.upgrades.length, count + 1);
    assert.equal(plain.upgrades[count]['proxy-authorization'], undefined);
    assert.equal(plain.upgrades[count].authorization, undefined);
  });

  test("proxy: 'env' goes through HTTP_PROXY; NO_PROXY sends the target direct", async () => {
    const names = ['http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY'] as const;
    const saved = names.map((name) => process.env[name]);
    try {
      for (const name of names) delete process.env[name];
      // Upper case, as most deployments write them; an unreachable proxy shows it is used.
      process.env.HTTP_PROXY = `http://127.0.0.1:${authed.port}`;
      const viaProxy = await failure(
        new WebSocket(`ws://localhost:${plain.port}/`, { proxy: 'env' }),
      );
      assert.equal(viaProxy.error.code, 'PROXY_AUTH_REQUIRED');
      process.env.NO_PROXY = 'example.test, localhost';
      await echo(new WebSocket(`ws://localhost:${plain.port}/`, { proxy: 'env' }));
      process.env.HTTP_PROXY = `http://iron:s0ck@127.0.0.1:${authed.port}`;
      process.env.NO_PROXY = 'example.test';
      await echo(new WebSocket(`ws://localhost:${plain.port}/`, { proxy: 'env' }));
    } finally {
      names.forEach((name, i) => {
        if (saved[i] === undefined) delete process.env[name];
        else process.env[name] = saved[i];
      });
    }
  });

  test('a target that closes at once: tinyproxy answers 200 then closes; an error, not a hang', async () => {
    const closer = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (closer.address() as net.AddressInfo).port;
      for (const scheme of ['ws', 'wss']) {
        const started = Date.now();
        const { error, code } = await failure(
          new WebSocket(`${scheme}://127.0.0.1:${port}/`, {
            proxy: open.url,
            handshakeTimeout: 8000,
          }),
        );
        // tinyproxy either relays the close after its 200 (CONNECTION_CLOSED) or, when the target
        // is gone before it answers, refuses the CONNECT (PROXY_REFUSED); never the deadline.
        assert.ok(
          ['CONNECTION_CLOSED', 'PROXY_REFUSED'].includes(error.code ?? ''),
          `${scheme}: ${error.code} ${error.message}`,
        );
        assert.equal(code, 1006);
        assert.ok(Date.now() - started < 5000, `${scheme}: took ${Date.now() - started} ms`);
      }
    } finally {
      closer.close();
    }
  });

  test('agent: https-proxy-agent through tinyproxy (the ws way) still works', async () => {
    const agent = new HttpsProxyAgent(`http://iron:s0ck@127.0.0.1:${authed.port}`);
    await echo(new WebSocket(`ws://127.0.0.1:${plain.port}/`, { agent }));
  });

  describe('wss: inside the tunnel', () => {
    let cert: TestCert | undefined;
    let secure: Awaited<ReturnType<typeof target>> | undefined;
    let reason = '';
    before(async () => {
      try {
        cert = makeCert('localhost', 'DNS:localhost');
      } catch (error) {
        reason = `openssl unavailable: ${(error as Error).message}`;
        return;
      }
      secure = await target(https.createServer({ key: cert.key, cert: cert.cert }));
    });
    after(() => secure?.close());

    test("the target's certificate is checked (ca), and a wrong host name is refused", async (t) => {
      if (cert === undefined || secure === undefined) {
        if (process.env.CI === 'true') assert.fail(reason);
        t.skip(reason);
        return;
      }
      await echo(
        new WebSocket(`wss://localhost:${secure.port}/`, { proxy: open.url, ca: cert.cert }),
      );
      // Same certificate, reached by an address it does not name: refused, through the proxy too.
      const wrong = await failure(
        new WebSocket(`wss://127.0.0.1:${secure.port}/`, { proxy: open.url, ca: cert.cert }),
      );
      assert.equal(wrong.error.code, 'TLS_FAILED');
      assert.equal(wrong.error.cause?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      assert.equal(wrong.code, 1015);
      // Without the ca: the self-signed target is not trusted.
      const untrusted = await failure(
        new WebSocket(`wss://localhost:${secure.port}/`, { proxy: open.url }),
      );
      assert.equal(untrusted.error.code, 'TLS_FAILED');
    });
  });
});
