// The demo page of `ironsock serve` in a real browser: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core. Echo in one tab, chat between two tabs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { killQuietly, spawnServe, withTimeout } from '../cli/harness.js';
import { CHROMIUM_ARGS } from '../interop/browser.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const skip =
  !available && !inCi
    ? `chromium not found at ${CHROMIUM} (set CI=true to make this a failure)`
    : false;

async function connect(page: Page, mode: 'echo' | 'chat'): Promise<void> {
  await page.locator(`label:has(#mode-${mode})`).click();
  await page.locator('#connect').click();
  await page.locator('#status[data-state="open"]').waitFor({ timeout: 20_000 });
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

test(
  'demo page: echo in one tab, chat between two tabs (headless Chromium)',
  { skip, timeout: 120_000 },
  async () => {
    assert.ok(available, `chromium is required under CI=true but ${CHROMIUM} is missing`);
    const server = await spawnServe();
    const profile = await mkdtemp(join(tmpdir(), 'ironsock-chromium-'));
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 900, height: 680 },
        args: [...CHROMIUM_ARGS],
        timeout: 60_000,
      });
      const url = `http://127.0.0.1:${server.port}/`;
      const errors: string[] = [];
      const first = await context.newPage();
      first.on('pageerror', (error) => errors.push(error.message));
      first.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      await first.goto(url);
      assert.equal(await first.title(), 'ironsock demo');

      // Echo: what we send comes back as an incoming bubble.
      await connect(first, 'echo');
      await send(first, 'hello from chromium');
      await first
        .locator('.msg.in', { hasText: 'hello from chromium' })
        .waitFor({ timeout: 20_000 });

      // Chat: two tabs see each other's messages and join notices.
      await connect(first, 'chat');
      await first
        .locator('.msg.sys', { hasText: /You are guest-\d+ in #lobby @ \S+#\d+/ })
        .waitFor({ timeout: 20_000 });
      const second = await context.newPage();
      await second.goto(url);
      await connect(second, 'chat');
      await first
        .locator('.msg.sys', { hasText: /joined @ \S+#\d+ · 2 on that server/ })
        .waitFor({ timeout: 20_000 });
      await send(first, 'hi from tab one');
      await second.locator('.msg.in', { hasText: 'hi from tab one' }).waitFor({ timeout: 20_000 });
      await send(second, 'and hello back from tab two');
      await first
        .locator('.msg.in', { hasText: 'and hello back from tab two' })
        .waitFor({ timeout: 20_000 });
      await send(first, '<img src=x onerror=alert(1)> stays text');
      await second
        .locator('.msg.in', { hasText: '<img src=x onerror=alert(1)> stays text' })
        .waitFor({ timeout: 20_000 });
      assert.equal(
        await second.locator('#log img').count(),
        0,
        'peer text is never parsed as HTML',
      );

      await mkdir(resolve('artifacts'), { recursive: true });
      await first.screenshot({ path: resolve('artifacts/demo.png') });
      assert.deepEqual(errors, [], 'no page errors (CSP violations would show here)');
    } finally {
      await context?.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
      server.child.kill('SIGTERM');
      await withTimeout(server.exited, 15_000, 'serve exit').catch(() => {});
      killQuietly(server);
    }
  },
);
