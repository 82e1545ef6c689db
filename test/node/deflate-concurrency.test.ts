/**
 * Checklist Z3 over real sockets: many connections sending compressed messages at once. The
 * server's zlib work goes through the process-wide limiter (at most `concurrencyLimit` jobs),
 * every message comes back intact on its own connection, and a control connection keeps
 * answering. Latency is printed, and bounded only generously (shared CI machine).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WsWebSocket from 'ws';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { sharedZlibLimiter } from '../../src/node/zlib-limiter.js';

const CONNECTIONS = 200;
const MESSAGES = 2;
const LIMIT = 3; // a limit no other test file uses, so the shared limiter is this server's alone

describe('checklist Z3: many connections compressing at once', { timeout: 120_000 }, () => {
  test(`${CONNECTIONS} connections × ${MESSAGES} compressed 100 KB messages`, async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: { concurrencyLimit: LIMIT },
    });
    await once(wss, 'listening');
    wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (data: unknown, isBinary: boolean) =>
        ws.send(data as Buffer, { binary: isBinary }),
      );
      ws.on('error', () => {});
    });
    const port = (wss.address() as AddressInfo).port;
    const limiter = sharedZlibLimiter(LIMIT);
    let maxRunning = 0;
    let maxQueued = 0;
    const sampler = setInterval(() => {
      maxRunning = Math.max(maxRunning, limiter.running);
      maxQueued = Math.max(maxQueued, limiter.queued);
    }, 1);

    const clients: WsWebSocket[] = [];
    try {
      const control = new WsWebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
      clients.push(control);
      for (let i = 0; i < CONNECTIONS; i++) clients.push(new WsWebSocket(`ws://127.0.0.1:${port}`));
      await Promise.all(clients.map((c) => once(c, 'open')));

      const payload = (c: number, m: number): string =>
        `client ${c} message ${m}; `.repeat(5000).slice(0, 100_000);
      const traffic = Promise.all(
        clients.slice(1).map(
          (client, c) =>
            new Promise<void>((resolve, reject) => {
              let got = 0;
              client.on('message', (data) => {
                // R9: every payload comes back only on its own connection, in order.
                if (String(data) !== payload(c, got))
                  return reject(new Error(`cross-talk on ${c}`));
                if (++got === MESSAGES) resolve();
              });
              for (let m = 0; m < MESSAGES; m++) client.send(payload(c, m));
            }),
        ),
      );

      // The control connection echoes while the others compress.
      const latencies: number[] = [];
      let busy = true;
      void traffic.finally(() => (busy = false));
      while (busy) {
        const t0 = performance.now();
        const reply = once(control, 'message');
        control.send('ping');
        await reply;
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
      await traffic;
      const worst = Math.max(...latencies);
      console.log(
        `# ${CONNECTIONS}×${MESSAGES} compressed messages: limiter max running ${maxRunning}/${LIMIT}, max queued ${maxQueued}, control echoes ${latencies.length}, worst latency ${worst.toFixed(1)} ms`,
      );
      assert.ok(maxRunning <= LIMIT, `limiter ran ${maxRunning} jobs at once`);
      assert.ok(maxRunning > 0);
      assert.ok(worst < 10_000, `control latency ${worst} ms`);
    } finally {
      clearInterval(sampler);
      for (const c of clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
