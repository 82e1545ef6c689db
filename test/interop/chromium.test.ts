/**
 * Interop with a real browser: headless Debian Chromium (driven by playwright-core) opens a
 * browser WebSocket to an ironsock server attached to the same http server that served the
 * page (same origin, so the default origin policy accepts it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import * as impl from './impl.js';
import { chromium, requirePeer } from '../helpers/peers.js';
import { PAGE, launchChromium, type LaunchedBrowser } from './browser.js';
import {
  commandEcho,
  delay,
  digest,
  pattern,
  waitUntil,
  type ServerClose,
  type ServerLike,
  LARGE,
  LARGE_LIMITS,
} from './support.js';

const gate = requirePeer('chromium', chromium);
const MiB = 1024 * 1024;
const T = { timeout: 30_000 };
const WebSocketServer = impl.WebSocketServer as unknown as new (...args: any[]) => ServerLike;

interface Site {
  http: Server;
  wss: ServerLike;
  origin: string;
  closes: ServerClose[];
  stop(): Promise<void>;
}

/** An http server on 127.0.0.1:0 serving PAGE at `/`, with an ironsock server attached. */
async function startSite(serverOptions: Record<string, unknown> = {}): Promise<Site> {
  const http = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(PAGE);
  });
  const wss = new WebSocketServer({ server: http, ...LARGE_LIMITS, ...serverOptions });
  const closes: ServerClose[] = [];
  wss.on('connection', (socket: any) => commandEcho(socket, closes));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as { port: number }).port;
  return {
    http,
    wss,
    origin: `http://127.0.0.1:${port}`,
    closes,
    stop: async () => {
      for (const c of wss.clients) (c as any).terminate();
      await new Promise((r) => wss.close(() => r(undefined)));
      http.closeAllConnections();
      await new Promise((r) => http.close(() => r(undefined)));
    },
  };
}

/** The HTTP status of a WebSocket upgrade request to `origin` carrying `Origin: from`. */
function upgradeStatus(origin: string, from: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}/ws`, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        Origin: from,
      },
      timeout: 10_000,
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('upgrade request timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('interop: headless Chromium -> ironsock server', gate, () => {
  let browser: LaunchedBrowser | undefined;
  let page: any;
  const sites: Site[] = [];

  before(async () => {
    browser = await launchChromium();
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    for (const site of sites) await site.stop();
  });

  async function site(options: Record<string, unknown> = {}): Promise<Site> {
    const s = await startSite(options);
    sites.push(s);
    await page.goto(s.origin + '/', { timeout: 20_000 });
    return s;
  }
  const call = (expr: string): Promise<any> => page.evaluate(expr);

  test('text messages both ways', T, async () => {
    await site();
    assert.equal((await call('openWs()')).opened, true);
    await call(`sendText(${JSON.stringify('héllo ✓ 🚀')})`);
    assert.deepEqual(await call('nextMessage()').then((m) => [m.type, m.data]), [
      'text',
      'héllo ✓ 🚀',
    ]);
    await call(`sendText('!frag fragmented by ironsock')`);
    assert.equal((await call('nextMessage()')).data, 'fragmented by ironsock');
    await call(`sendText('')`);
    assert.deepEqual(await call('nextMessage()').then((m) => [m.type, m.length]), ['text', 0]);
  });

  test('binary (ArrayBuffer) messages both ways', T, async () => {
    await site();
    await call('openWs()');
    await call('sendPattern(100000)');
    assert.deepEqual(await call('nextMessage()').then((m) => [m.type, m.sha256]), [
      'binary',
      digest(pattern(100_000)),
    ]);
    await call(`sendText('!fragpattern 70000 3')`);
    assert.deepEqual(await call('nextMessage()').then((m) => [m.type, m.sha256]), [
      'binary',
      digest(pattern(70_000)),
    ]);
  });

  test('a 16 MiB message both ways', { timeout: 90_000 }, async () => {
    await site();
    await call('openWs()');
    await call(`sendPattern(${LARGE})`);
    const echo = await call('nextMessage()');
    assert.deepEqual([echo.length, echo.sha256], [LARGE, digest(pattern(LARGE))]);
  });

  test('ping from the server is answered by the browser with the same payload', T, async () => {
    await site();
    await call('openWs()');
    await call(`sendText('!ping are you there')`);
    assert.equal((await call('nextMessage()')).data, 'pong are you there');
  });

  test('browser closes with code and reason: the server sees them, close is clean', T, async () => {
    const s = await site();
    await call('openWs()');
    const closed = await call(`closeWs(4000, 'bye from the browser ✓')`);
    assert.deepEqual([closed.code, closed.wasClean], [4000, true]);
    await waitUntil(() => s.closes.length > 0);
    assert.deepEqual([s.closes[0].code, s.closes[0].reason], [4000, 'bye from the browser ✓']);
  });

  test('server closes with code and reason: the browser sees them, close is clean', T, async () => {
    await site();
    await call('openWs()');
    await call(`sendText('!close 4001 bye from ironsock')`);
    const closed = await call('waitClose()');
    assert.deepEqual(closed, {
      code: 4001,
      reason: 'bye from ironsock',
      wasClean: true,
      errored: false,
    });
  });

  test('browser closes without a code: the server sees 1005 (§7.1.5)', T, async () => {
    const s = await site();
    await call('openWs()');
    const closed = await call('closeWs()');
    assert.equal(closed.wasClean, true);
    await waitUntil(() => s.closes.length > 0);
    assert.deepEqual([s.closes[0].code, s.closes[0].reason], [1005, '']);
  });

  test(
    'permessage-deflate with server parameters (no context takeover, 10-bit window) is accepted by Chromium',
    T,
    async () => {
      await site({
        perMessageDeflate: {
          serverNoContextTakeover: true,
          clientNoContextTakeover: true,
          serverMaxWindowBits: 10,
          threshold: 0,
        },
      });
      const opened = await call('openWs()');
      for (const param of [
        'permessage-deflate',
        'server_no_context_takeover',
        'client_no_context_takeover',
        'server_max_window_bits=10',
      ]) {
        assert.ok(opened.extensions.includes(param), `${param} in ${opened.extensions}`);
      }
      for (let i = 0; i < 3; i++) {
        await call(`sendRepeated('again and again ', 20000)`);
        assert.equal(
          (await call('nextMessage()')).sha256,
          digest(Buffer.from('again and again '.repeat(20000))),
        );
      }
      await call(`closeWs(1000)`);
    },
  );

  test('server shutdown: the browser sees 1001', T, async () => {
    const s = await site();
    await call('openWs()');
    s.wss.close();
    assert.equal((await call('waitClose()')).code, 1001);
  });

  test(
    'permessage-deflate (Chromium always offers it) is negotiated and round-trips',
    T,
    async () => {
      const s = await site({ perMessageDeflate: true });
      const opened = await call('openWs()');
      assert.match(opened.extensions, /permessage-deflate/);
      await call(`sendRepeated('compress me please ', 50000)`);
      const text = await call('nextMessage()');
      assert.equal(text.length, 'compress me please '.length * 50000);
      assert.equal(text.sha256, digest(Buffer.from('compress me please '.repeat(50000))));
      await call(`sendPattern(${4 * MiB})`);
      assert.equal((await call('nextMessage()')).sha256, digest(pattern(4 * MiB)));
      await call(`sendText('!info')`);
      assert.match(JSON.parse((await call('nextMessage()')).data).extensions, /permessage-deflate/);
      await call(`closeWs(1000, '')`);
      await waitUntil(() => s.closes.length > 0);
      assert.equal(s.closes[0].code, 1000);
    },
  );

  test('subprotocol negotiation: the browser offers a list, ironsock picks one', T, async () => {
    await site({
      handleProtocols: (offered: Set<string>) => (offered.has('chat.v1') ? 'chat.v1' : false),
    });
    const opened = await call(`openWs(undefined, ['chat.v2', 'chat.v1'])`);
    assert.deepEqual([opened.opened, opened.protocol], [true, 'chat.v1']);
    await call(`closeWs(1000)`);
  });

  test('a message over maxPayload: ironsock closes 1009, the browser sees it', T, async () => {
    const s = await site({ maxPayload: 1000 });
    await call('openWs()');
    await call('sendPattern(1001)');
    const closed = await call('waitClose()');
    assert.equal(closed.code, 1009);
    await waitUntil(() => s.closes.length > 0);
    assert.equal(s.closes[0].code, 1009);
  });

  test(
    'a cross-origin page is refused (403): the browser sees a failed connection, 1006',
    T,
    async () => {
      const target = await startSite();
      sites.push(target);
      await site(); // the page now comes from a different origin (another port)
      const result = await call(`openWs('ws://127.0.0.1:${new URL(target.origin).port}/ws')`);
      assert.equal(result.opened, false);
      assert.deepEqual(result.close, { code: 1006, reason: '', wasClean: false, errored: true });
      await delay(100);
      assert.equal(target.closes.length, 0, 'no connection reached the server');
      // What the browser cannot show: the refusal is an HTTP 403, not a silent drop.
      assert.equal(await upgradeStatus(target.origin, 'http://127.0.0.1:1'), 403);
      assert.equal(await upgradeStatus(target.origin, target.origin), 101);
    },
  );
});
