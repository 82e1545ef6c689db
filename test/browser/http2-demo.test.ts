// RFC 8441 in a real browser: headless Chromium (Debian's /usr/bin/chromium) loads the demo
// page of `ironsock serve --http2` over HTTP/2 and its WebSocket arrives as an extended CONNECT
// stream on that same connection, counted on the server side from the JSON log ("http": "2.0").
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { killQuietly, spawnServe, withTimeout } from '../cli/harness.js';
import { CHROMIUM_ARGS } from '../interop/browser.js';
import { selfSigned } from '../helpers/h2.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const skip =
  !available && !inCi
    ? `chromium not found at ${CHROMIUM} (set CI=true to make this a failure)`
    : false;

/** The JSON log lines of the server with `event` (one object per line). */
function events(stdout: string, event: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry.event === event) out.push(entry);
  }
  return out;
}

test(
  'serve --http2: Chromium loads the demo page over HTTP/2 and its WebSockets use extended CONNECT on it',
  { skip, timeout: 120_000 },
  async () => {
    assert.ok(available, `chromium is required under CI=true but ${CHROMIUM} is missing`);
    const pair = selfSigned();
    assert.ok(pair !== null, 'openssl is needed for the test certificate');
    const dir = await mkdtemp(join(tmpdir(), 'ironsock-h2-browser-'));
    await writeFile(join(dir, 'cert.pem'), pair.cert);
    await writeFile(join(dir, 'key.pem'), pair.key);
    const server = await spawnServe([
      '--http2',
      '--tls-cert',
      join(dir, 'cert.pem'),
      '--tls-key',
      join(dir, 'key.pem'),
      '--json-log',
    ]);
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(join(dir, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: [...CHROMIUM_ARGS],
        ignoreHTTPSErrors: true,
        timeout: 60_000,
      });
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`https://127.0.0.1:${server.port}/`);
      assert.equal(await page.title(), 'ironsock demo');
      const protocol = await page.evaluate(
        "performance.getEntriesByType('navigation')[0].nextHopProtocol",
      );
      assert.equal(protocol, 'h2', 'the page came over HTTP/2');

      // Echo through the page's own UI, then two more sockets opened by script.
      await page.locator('label:has(#mode-echo)').click();
      await page.locator('#connect').click();
      await page.locator('#status[data-state="open"]').waitFor({ timeout: 20_000 });
      await page.locator('#message').fill('hello over h2');
      await page.locator('#message').press('Enter');
      await page.locator('.msg.in', { hasText: 'hello over h2' }).waitFor({ timeout: 20_000 });
      // Browser code as a string: this file is compiled without the DOM library.
      const echoes = await page.evaluate(`(async () => {
        const one = (text) => new Promise((resolve, reject) => {
          const ws = new WebSocket('wss://' + location.host + '/echo');
          ws.onopen = () => ws.send(text);
          ws.onmessage = (e) => { resolve(String(e.data)); ws.close(1000); };
          ws.onerror = () => reject(new Error('websocket error'));
        });
        return Promise.all([one('a'), one('b')]);
      })()`);
      assert.deepEqual(echoes, ['a', 'b']);

      const stdout = server.stdout();
      const opens = events(stdout, 'open');
      assert.equal(opens.length, 3, stdout);
      assert.deepEqual(
        opens.map((o) => o.http),
        ['2.0', '2.0', '2.0'],
        'every WebSocket arrived on the HTTP/2 path',
      );
      assert.deepEqual(events(stdout, 'rejected'), []);
    } finally {
      await context?.close().catch(() => {});
      server.child.kill('SIGTERM');
      await withTimeout(server.exited, 15_000, 'serve exit').catch(() => {});
      killQuietly(server);
      await rm(dir, { recursive: true, force: true });
    }
  },
);
