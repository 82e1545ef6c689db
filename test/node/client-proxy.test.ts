/**
 * The `proxy` option (issue #16): proxy selection (URL, `'env'`, NO_PROXY) and the CONNECT
 * tunnel against a proxy written here, which sees every byte: nothing sent before its 2xx, 407
 * and credentials, a refusal, 200-then-close, an unreachable proxy, `wss:` inside the tunnel with
 * the target's certificate checked, and the option rules (agent + proxy is a TypeError).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { WebSocketServer } from '../../src/node/server.js';
import { matchesNoProxy, parseProxyUrl, resolveProxy } from '../../src/node/client-proxy.js';
import { once } from './util.js';
import { makeCert, type TestCert } from '../helpers/certs.js';
import { startConnectProxy, type TestProxy } from '../helpers/proxy.js';

type Failure = Error & { code?: string; statusCode?: number; cause?: Error & { code?: string } };

/** Waits for the handshake to fail; returns the error and the close code. */
async function failure(ws: WebSocket): Promise<{ error: Failure; code: number }> {
  const closed = once<[number]>(ws, 'close', 8000);
  const [error] = await once<[Failure]>(ws, 'error', 8000);
  const [code] = await closed;
  return { error, code };
}

async function echo(ws: WebSocket): Promise<void> {
  ws.on('error', () => {});
  await once(ws, 'open');
  ws.send('through');
  const [data] = await once<[Buffer]>(ws, 'message');
  assert.equal(data.toString(), 'through');
  ws.close(1000);
  await once(ws, 'close');
}

describe('proxy selection', () => {
  test('parseProxyUrl: http:// with optional credentials; anything else is INVALID_PROXY', () => {
    const proxy = parseProxyUrl('http://u%3Ax:p%40ss@proxy.example:3128');
    assert.equal(proxy.hostname, 'proxy.example');
    assert.equal(proxy.port, 3128);
    assert.equal(proxy.display, 'http://proxy.example:3128');
    assert.equal(proxy.authorization, `Basic ${Buffer.from('u:x:p@ss').toString('base64')}`);
    assert.equal(parseProxyUrl('http://[::1]').port, 80);
    assert.equal(parseProxyUrl('http://[::1]').hostname, '::1');
    for (const bad of ['https://p:1', 'socks5://p:1', 'http://p:1/path', 'http://p:1/?q', 'nope']) {
      assert.throws(
        () => parseProxyUrl(bad),
        (error: Error & { code?: string }) =>
          error instanceof SyntaxError && error.code === 'INVALID_PROXY',
        bad,
      );
    }
  });

  test("'env': wss: reads https_proxy, ws: http_proxy, lower case first; none set means direct", () => {
    const target = (secure: boolean) => ({ secure, hostname: 'example.com', port: 443 });
    const env = {
      https_proxy: 'http://lower-s:1',
      HTTPS_PROXY: 'http://upper-s:1',
      HTTP_PROXY: 'http://upper:1',
    };
    assert.equal(resolveProxy('env', target(true), env)?.hostname, 'lower-s');
    assert.equal(resolveProxy('env', target(false), env)?.hostname, 'upper');
    assert.equal(resolveProxy('env', target(true), { HTTP_PROXY: 'http://x:1' }), undefined);
    assert.equal(resolveProxy('env', target(false), {}), undefined);
    assert.throws(
      () => resolveProxy('env', target(false), { http_proxy: 'ftp://x' }),
      /http_proxy must be an http:\/\/ proxy URL/,
    );
    // An explicit URL applies whatever the environment says.
    assert.equal(
      resolveProxy('http://fixed:8', target(true), { NO_PROXY: '*' })?.hostname,
      'fixed',
    );
  });

  test('NO_PROXY: names cover subdomains, IPs, ports, *, case-insensitive', () => {
    const cases: Array<[string, string, number, boolean]> = [
      ['example.com', 'example.com', 80, true],
      ['example.com', 'a.b.example.com', 80, true],
      ['.example.com', 'example.com', 80, true],
      ['*.example.com', 'x.example.com', 80, true],
      ['example.com', 'badexample.com', 80, false],
      ['EXAMPLE.com', 'example.COM', 80, true],
      ['example.com:8080', 'example.com', 8080, true],
      ['example.com:8080', 'example.com', 80, false],
      ['10.0.0.1, localhost', 'localhost', 1, true],
      ['10.0.0.1 localhost', '10.0.0.1', 1, true],
      ['10.0.0.1', '10.0.0.10', 1, false],
      ['::1', '::1', 1, true],
      ['[::1]:99', '::1', 99, true],
      ['[::1]:99', '::1', 98, false],
      ['*', 'anything.at.all', 1, true],
      ['', 'example.com', 1, false],
    ];
    for (const [list, host, port, expected] of cases) {
      assert.equal(matchesNoProxy(list, host, port), expected, `${list} vs ${host}:${port}`);
    }
    const env = { http_proxy: 'http://p:1', no_proxy: 'internal.test' };
    const at = (hostname: string) => ({ secure: false, hostname, port: 80 });
    assert.equal(resolveProxy('env', at('svc.internal.test'), env), undefined);
    assert.equal(resolveProxy('env', at('public.test'), env)?.hostname, 'p');
  });

  test('option rules: proxy with agent or createConnection is a TypeError; a bad URL throws at once', () => {
    assert.throws(
      () => new WebSocket('ws://127.0.0.1:1/', { proxy: 'http://p:1', agent: new http.Agent() }),
      (error: Error) =>
        error instanceof TypeError && /agent or createConnection/.test(error.message),
    );
    assert.throws(
      () =>
        new WebSocket('ws://127.0.0.1:1/', {
          proxy: 'http://p:1',
          createConnection: () => net.connect(1),
        }),
      TypeError,
    );
    assert.throws(
      () => new WebSocket('ws://127.0.0.1:1/', { proxy: 'socks://p:1' }),
      (error: Error & { code?: string }) => error.code === 'INVALID_PROXY',
    );
  });
});

describe('CONNECT tunnel through a proxy written in the test', () => {
  let wss: WebSocketServer;
  let port = 0;
  const upgrades: http.IncomingHttpHeaders[] = [];
  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    port = (wss.address() as net.AddressInfo).port;
    wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => {
      upgrades.push(req.headers);
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
  });
  after(() => new Promise<void>((resolve) => wss.close(() => resolve())));

  let proxy: TestProxy | undefined;
  const useProxy = async (options: Parameters<typeof startConnectProxy>[0]) => {
    proxy = await startConnectProxy(options);
    return proxy;
  };
  after(() => proxy?.close());
  const done = async () => {
    await proxy?.close();
    proxy = undefined;
  };

  test('ws: through the proxy: CONNECT host:port, nothing sent before the 200, echo works', async () => {
    const p = await useProxy({ delayMs: 150 });
    try {
      await echo(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: p.url }));
      assert.equal(p.connects.length, 1);
      assert.equal(p.connects[0].target, `127.0.0.1:${port}`);
      assert.equal(p.connects[0].headers.get('host'), `127.0.0.1:${port}`);
      assert.equal(p.connects[0].earlyBytes, 0, 'bytes sent before the proxy answered');
    } finally {
      await done();
    }
  });

  test('407 without credentials: PROXY_AUTH_REQUIRED; with them: open, and the target never sees them', async () => {
    const p = await useProxy({ credentials: 'user:pa55', delayMs: 0 });
    try {
      const refused = await failure(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: p.url }));
      assert.equal(refused.error.code, 'PROXY_AUTH_REQUIRED');
      assert.equal(refused.error.statusCode, 407);
      assert.match(refused.error.message, /requires authentication/);
      assert.equal(refused.code, 1006);
      const wrong = await failure(
        new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: `http://user:nope@127.0.0.1:${p.port}` }),
      );
      assert.equal(wrong.error.code, 'PROXY_AUTH_REQUIRED');
      assert.match(wrong.error.message, /refused/);
      const before = upgrades.length;
      await echo(
        new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: `http://user:pa55@127.0.0.1:${p.port}` }),
      );
      assert.equal(
        p.connects[2].headers.get('proxy-authorization'),
        `Basic ${Buffer.from('user:pa55').toString('base64')}`,
      );
      assert.equal(upgrades.length, before + 1);
      assert.equal(upgrades[before]['proxy-authorization'], undefined);
      assert.equal(upgrades[before].authorization, undefined);
    } finally {
      await done();
    }
  });

  test('another refusal (403): PROXY_REFUSED with the status; a 401 counts as the proxy asking for credentials', async () => {
    const p = await useProxy({ answer: 403, delayMs: 0 });
    try {
      const { error } = await failure(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: p.url }));
      assert.equal(error.code, 'PROXY_REFUSED');
      assert.equal(error.statusCode, 403);
      await done();
      const p401 = await useProxy({ answer: 401, delayMs: 0 });
      const asked = await failure(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: p401.url }));
      assert.equal(asked.error.code, 'PROXY_AUTH_REQUIRED');
      assert.equal(asked.error.statusCode, 401);
    } finally {
      await done();
    }
  });

  test('a proxy that answers 200 and closes: CONNECTION_CLOSED, not a hang (ws: and wss:)', async () => {
    const p = await useProxy({ answer: 'close-after-200', delayMs: 0 });
    try {
      for (const scheme of ['ws', 'wss']) {
        const started = Date.now();
        const { error, code } = await failure(
          new WebSocket(`${scheme}://127.0.0.1:${port}/`, {
            proxy: p.url,
            handshakeTimeout: 5000,
          }),
        );
        assert.equal(error.code, 'CONNECTION_CLOSED', `${scheme}: ${error.message}`);
        assert.match(error.message, /through the proxy/);
        assert.equal(code, 1006);
        assert.ok(Date.now() - started < 4000, `${scheme}: took ${Date.now() - started} ms`);
      }
    } finally {
      await done();
    }
  });

  test('an unreachable proxy: PROXY_FAILED with the cause', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { error } = await failure(
      new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: `http://127.0.0.1:${deadPort}` }),
    );
    assert.equal(error.code, 'PROXY_FAILED');
    assert.equal(error.cause?.code, 'ECONNREFUSED');
  });

  test('a proxy answering garbage, or a head over 16 KiB: PROXY_FAILED, cause carries the HPE_ code', async () => {
    let bigHead = false;
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () =>
        socket.end(
          bigHead
            ? `HTTP/1.1 200 OK\r\nX-Pad: ${'a'.repeat(20 * 1024)}\r\n\r\n`
            : 'garbage\r\n\r\n',
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { error } = await failure(
        new WebSocket(`ws://127.0.0.1:${port}/`, {
          proxy: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        }),
      );
      assert.equal(error.code, 'PROXY_FAILED');
      assert.match(error.cause?.code ?? '', /^HPE_/);
      bigHead = true;
      const big = await failure(
        new WebSocket(`ws://127.0.0.1:${port}/`, {
          proxy: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        }),
      );
      assert.equal(big.error.code, 'PROXY_FAILED');
      assert.equal(big.error.cause?.code, 'HPE_HEADER_OVERFLOW');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('a proxy that never answers: the handshake deadline applies and the tunnel is torn down', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.resume(); // read (and drop) the CONNECT, so the client's FIN is seen
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { error } = await failure(
        new WebSocket(`ws://127.0.0.1:${port}/`, {
          proxy: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`,
          handshakeTimeout: 300,
        }),
      );
      assert.equal(error.code, 'HANDSHAKE_TIMEOUT');
      assert.equal(sockets.length, 1);
      await Promise.all(
        sockets.map((socket) => (socket.destroyed ? undefined : once(socket, 'close'))),
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('a followed redirect goes through the proxy again; ws+unix: never uses the proxy', async (t) => {
    const p = await useProxy({ delayMs: 0 });
    const redirector = http.createServer();
    redirector.on('upgrade', (_req, socket: net.Socket) =>
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:${port}/moved\r\n\r\n`),
    );
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const from = (redirector.address() as net.AddressInfo).port;
      const ws = new WebSocket(`ws://127.0.0.1:${from}/`, { proxy: p.url, followRedirects: true });
      await echo(ws);
      assert.deepEqual(
        p.connects.map((connect) => connect.target),
        [`127.0.0.1:${from}`, `127.0.0.1:${port}`],
      );
      if (process.platform === 'win32') {
        t.diagnostic('no Unix domain sockets on Windows');
        return;
      }
      const dir = await mkdtemp(join(tmpdir(), 'ironsock-proxy-unix-'));
      const unix = new WebSocketServer({ noServer: true });
      const local = http.createServer();
      local.on('upgrade', (req, socket, head) =>
        unix.handleUpgrade(req, socket, head, (client: WebSocket) =>
          client.on('message', (data: Buffer) => client.send(data)),
        ),
      );
      await new Promise<void>((resolve) => local.listen(join(dir, 's.sock'), resolve));
      try {
        await echo(
          new WebSocket(`ws+unix:${join(dir, 's.sock')}:/`, {
            proxy: 'http://127.0.0.1:9',
          }),
        );
        assert.equal(p.connects.length, 2);
      } finally {
        local.closeAllConnections();
        await new Promise<void>((resolve) => local.close(() => resolve()));
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      redirector.closeAllConnections();
      await new Promise<void>((resolve) => redirector.close(() => resolve()));
      await done();
    }
  });

  test("proxy: 'env' uses http_proxy, and NO_PROXY sends the same target direct", async () => {
    const p = await useProxy({ delayMs: 0 });
    const saved = { http_proxy: process.env.http_proxy, no_proxy: process.env.no_proxy };
    try {
      process.env.http_proxy = p.url;
      delete process.env.no_proxy;
      await echo(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: 'env' }));
      assert.equal(p.connects.length, 1);
      process.env.no_proxy = 'localhost,127.0.0.1';
      await echo(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: 'env' }));
      assert.equal(p.connects.length, 1, 'NO_PROXY target went through the proxy');
      // Without the option the environment is ignored (off by default).
      delete process.env.no_proxy;
      await echo(new WebSocket(`ws://127.0.0.1:${port}/`));
      assert.equal(p.connects.length, 1);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await done();
    }
  });
});

describe('wss: inside the tunnel: TLS to the target, not the proxy', () => {
  let cert: TestCert | undefined;
  let reason = '';
  let server: https.Server;
  let wss: WebSocketServer;
  let port = 0;
  const names: Array<string | false | null> = [];
  before(async () => {
    try {
      cert = makeCert('localhost', 'DNS:localhost,IP:127.0.0.1');
    } catch (error) {
      reason = `openssl unavailable: ${(error as Error).message}`;
      return;
    }
    server = https.createServer({ key: cert.key, cert: cert.cert });
    server.on('secureConnection', (socket: TLSSocket) => names.push(socket.servername));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
    wss = new WebSocketServer({ server, allowedHosts: ['localhost'] });
    wss.on('connection', (ws: WebSocket) =>
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })),
    );
  });
  after(async () => {
    if (cert === undefined) return;
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('the target certificate is checked with ca and SNI names the target; no early bytes', async (t) => {
    if (cert === undefined) {
      if (process.env.CI === 'true') assert.fail(reason);
      t.skip(reason);
      return;
    }
    const proxy = await startConnectProxy({ delayMs: 150 });
    try {
      await echo(new WebSocket(`wss://localhost:${port}/`, { proxy: proxy.url, ca: cert.cert }));
      assert.equal(proxy.connects[0].target, `localhost:${port}`);
      assert.equal(proxy.connects[0].earlyBytes, 0, 'the ClientHello went before the 200');
      assert.deepEqual(names, ['localhost']);
      // Without the ca the self-signed target is refused: verification is on through proxies too.
      const untrusted = await failure(
        new WebSocket(`wss://localhost:${port}/`, { proxy: proxy.url }),
      );
      assert.equal(untrusted.error.code, 'TLS_FAILED');
      assert.equal(untrusted.code, 1015);
      // A name the certificate does not carry is refused (checked against the target).
      const wrongName = await failure(
        new WebSocket(`wss://127.0.0.1:${port}/`, {
          proxy: proxy.url,
          ca: cert.cert,
          servername: 'other.example',
        }),
      );
      assert.equal(wrongName.error.code, 'TLS_FAILED');
      assert.equal(wrongName.error.cause?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      await proxy.close();
    }
  });
});
