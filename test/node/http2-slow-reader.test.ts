/**
 * One HTTP/2 session carrying 1,000 WebSockets, one of which stops reading while the server
 * keeps sending to it: the server's memory stays bounded (that socket's `bufferedAmount`, which
 * counts what the HTTP/2 stream holds under flow control, stays within its cap), and the other
 * 999 sockets' round-trip p99 is unchanged, compared with a run of the same session without the
 * slow reader (a relative comparison, no absolute timing threshold).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../../src/node/server.js';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { http2SessionCount } from '../../src/node/client-http2.js';
import { selfSigned } from '../helpers/h2.js';
import { once, stopServer } from './util.js';

const SOCKETS = 1000;
const ROUNDS = 12;
const CAP = 1 << 20;

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
}

/** ROUNDS rounds; in each, every socket sends one message and waits for its echo. */
async function roundTrips(sockets: WebSocket[]): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(
      sockets.map(
        (ws, i) =>
          new Promise<void>((resolve, reject) => {
            const started = process.hrtime.bigint();
            const timer = setTimeout(() => reject(new Error(`socket ${i} stalled`)), 20_000);
            ws.once('message', () => {
              clearTimeout(timer);
              samples.push(Number(process.hrtime.bigint() - started) / 1e6);
              resolve();
            });
            ws.send(`r${round}s${i}`);
          }),
      ),
    );
  }
  return samples;
}

test(
  'a session with 1,000 WebSockets and one slow reader: memory bounded, the others round-trip as fast as without it',
  { timeout: 170_000 },
  async (t) => {
    const pair = selfSigned();
    if (pair === null) {
      if (process.env.CI === 'true') assert.fail('openssl is required under CI');
      return t.skip('openssl not found');
    }
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      http2: {
        ...pair,
        maxWebSocketsPerSession: SOCKETS + 1,
        maxConcurrentStreams: SOCKETS + 10,
      },
      maxConnections: SOCKETS + 10,
      // The slow reader's sends are refused at the cap instead of closing it, so that the
      // server keeps pushing against a full stream for the whole measurement.
      bufferedAmountPolicy: 'reject',
      maxBufferedAmount: CAP,
    });
    await once(wss, 'listening');
    const url = `wss://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const serverSide: WebSocket[] = [];
    wss.on('connection', (ws: WebSocket) => {
      serverSide.push(ws);
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    });
    const clients: WebSocket[] = [];
    let pusher: ReturnType<typeof setInterval> | null = null;
    try {
      for (let i = 0; i < SOCKETS; i += 100) {
        clients.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(100, SOCKETS - i) }, () =>
              WebSocket.connect(url, { ca: pair.cert, http2: true }),
            ),
          )),
        );
      }
      assert.equal(http2SessionCount(), 1, 'all on one HTTP/2 session');
      assert.equal(wss.clients.size, SOCKETS);
      const slowClient = clients[0];
      const others = clients.slice(1);
      // Warm-up, then the baseline: the same session, nobody slow.
      await roundTrips(others.slice(0, 100));
      const baseline = await roundTrips(others);

      // The slow reader: its client stops reading, the server keeps sending 64 KiB messages.
      slowClient.pause();
      const slowServer = serverSide[0];
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let accepted = 0;
      let refused = 0;
      let peakBuffered = 0;
      pusher = setInterval(() => {
        for (let i = 0; i < 4; i++) {
          slowServer.send(chunk, (error) => {
            if (error) refused++;
          });
          accepted++;
          peakBuffered = Math.max(peakBuffered, slowServer.bufferedAmount);
        }
      }, 2);
      await new Promise((r) => setTimeout(r, 300));
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      const withSlow = await roundTrips(others);
      global.gc?.();
      const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      clearInterval(pusher);
      pusher = null;

      // Memory: the slow socket holds at most its cap plus one message, whatever was pushed.
      assert.ok(refused > 0, 'the server kept sending past the cap');
      assert.ok(
        peakBuffered <= CAP + chunk.length,
        `bufferedAmount peaked at ${peakBuffered} (cap ${CAP})`,
      );
      assert.ok(
        slowServer.bufferedAmount >= CAP - chunk.length,
        `bufferedAmount counts what the HTTP/2 stream holds (${slowServer.bufferedAmount})`,
      );
      const pushed = accepted * chunk.length;
      assert.ok(
        heapAfter - heapBefore < 48 * 1024 * 1024,
        `heap grew by ${heapAfter - heapBefore} B while ${pushed} B were offered to the slow reader`,
      );
      // Latency: the other 999 streams are not stalled behind the slow one.
      const before = p99(baseline);
      const after = p99(withSlow);
      t.diagnostic(
        `p99 round trip without slow reader ${before.toFixed(1)} ms, with ${after.toFixed(1)} ms`,
      );
      assert.ok(
        after <= Math.max(3 * before, before + 100),
        `p99 ${after.toFixed(1)} ms with the slow reader vs ${before.toFixed(1)} ms without`,
      );
      // The slow reader itself recovers when it reads again.
      slowClient.resume();
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (slowServer.bufferedAmount === 0) resolve();
          else setTimeout(check, 20);
        };
        check();
      });
    } finally {
      if (pusher !== null) clearInterval(pusher);
      for (const ws of clients) ws.terminate();
      await stopServer(wss);
    }
  },
);
