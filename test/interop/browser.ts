/**
 * Headless Chromium for the interop suites: launch with a fresh profile, and the page the
 * browser runs (plain JavaScript helpers around one browser WebSocket, in `window.S`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM } from '../helpers/peers.js';

/** Chromium flags: headless, no sandbox (root in CI), and no background network traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** A launched browser: its first page, and `close()` (which also removes the profile). */
export interface LaunchedBrowser {
  page: any;
  close(): Promise<void>;
}

/**
 * Launches /usr/bin/chromium through playwright-core with a fresh `--user-data-dir` (a temp
 * directory removed on `close()`). `ignoreHTTPSErrors` accepts self-signed test certificates
 * (for pages and wss: alike). Throws if the browser does not start within 60 s.
 */
export async function launchChromium(
  options: { ignoreHTTPSErrors?: boolean } = {},
): Promise<LaunchedBrowser> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'ironsock-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      args: [...CHROMIUM_ARGS],
      ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return {
      page,
      close: async () => {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The page's helpers (plain browser JavaScript). One socket at a time, in `window.S`.
 * Every helper returns JSON-able data so the test can assert on it.
 */
export const PAGE_SCRIPT = `
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (data) => hex(await crypto.subtle.digest('SHA-256', data));
function pattern(size) {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = i % 251;
  return out;
}
window.openWs = (url, protocols) => new Promise((resolve) => {
  const ws = new WebSocket(url || (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws', protocols);
  ws.binaryType = 'arraybuffer';
  const S = (window.S = { ws, queue: [], waiters: [], closed: null, closeWaiters: [], errored: false });
  ws.onmessage = (e) => { const w = S.waiters.shift(); if (w) w(e.data); else S.queue.push(e.data); };
  ws.onerror = () => { S.errored = true; };
  ws.onclose = (e) => {
    S.closed = { code: e.code, reason: e.reason, wasClean: e.wasClean, errored: S.errored };
    for (const w of S.closeWaiters.splice(0)) w(S.closed);
    resolve({ opened: false, close: S.closed });
  };
  ws.onopen = () => resolve({ opened: true, protocol: ws.protocol, extensions: ws.extensions });
});
window.nextMessage = async (ms = 20000) => {
  const data = S.queue.length ? S.queue.shift() : await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message within ' + ms + ' ms')), ms);
    S.waiters.push((d) => { clearTimeout(t); resolve(d); });
  });
  if (typeof data === 'string') return { type: 'text', length: data.length, data: data.length <= 1000 ? data : undefined, sha256: await sha256(new TextEncoder().encode(data)) };
  return { type: 'binary', length: data.byteLength, sha256: await sha256(data) };
};
window.sendText = (text) => S.ws.send(text);
window.sendRepeated = (unit, count) => S.ws.send(unit.repeat(count));
window.sendPattern = (size) => S.ws.send(pattern(size).buffer);
window.waitClose = (ms = 10000) => S.closed ? S.closed : new Promise((resolve) => {
  const t = setTimeout(() => resolve({ timeout: ms }), ms);
  S.closeWaiters.push((c) => { clearTimeout(t); resolve(c); });
});
window.closeWs = (code, reason) => { S.ws.close(code, reason); return window.waitClose(); };
window.buffered = () => S.ws.bufferedAmount;
`;
export const PAGE = `<!doctype html><meta charset="utf-8"><title>ironsock interop</title><script>${PAGE_SCRIPT}</script><p>ironsock interop</p>`;
