/**
 * The handshake policies of checklist H3, H6, H7 and H9 again, with the `WebSocketServer`
 * attached to an application's own `http.Server` (attach mode): the defaults must not depend on
 * who created the HTTP server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { arena, once, upgradeRequest } from './support.js';
import type { Arena } from './support.js';

async function withHttpServer(
  options: Record<string, unknown>,
  body: (a: Arena) => Promise<void>,
): Promise<void> {
  const server = http.createServer((_req, res) => res.end('app page\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await arena({ server, ...options }, body);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function status(a: Arena, request: string): Promise<number> {
  const attacker = await a.attack();
  attacker.write(request);
  const response = await attacker.status();
  await attacker.waitClosed(3000);
  return response;
}

test('H3/H9 (attach mode): foreign Origin -> 403, DNS-rebinding Host on a loopback listener -> 403, duplicate Host -> 400', async () => {
  await withHttpServer({}, async (a) => {
    assert.equal(
      await status(a, upgradeRequest(a.port, { extra: ['Origin: https://evil.example'] })),
      403,
    );
    assert.equal(
      await status(
        a,
        upgradeRequest(a.port, {
          omit: ['Host'],
          extra: ['Host: attacker.example', 'Origin: http://attacker.example'],
        }),
      ),
      403,
    );
    assert.equal(await status(a, upgradeRequest(a.port, { extra: ['Host: 127.0.0.1'] })), 400);
    await a.check();
  });
});

test('H6 (attach mode): an Origin after 1,100 or 2,100 filler headers (past what Node keeps by default) is never silently dropped', async () => {
  await withHttpServer({}, async (a) => {
    for (const n of [1100, 2100]) {
      const filler = Array.from({ length: n }, (_, i) => `x${i}: y`);
      const code = await status(
        a,
        upgradeRequest(a.port, { extra: [...filler, 'Origin: https://evil.example'] }),
      );
      assert.ok([400, 403, 431].includes(code), `${n} filler headers: status ${code}`);
    }
    await a.check();
  });
});

test('H7 (attach mode): a slowloris request is cut at the handshake deadline (handshakeTimeout shortened to 1 s)', async () => {
  await withHttpServer({ handshakeTimeout: 1000 }, async (a) => {
    const slow = await a.attack();
    const started = Date.now();
    const drip = slow.writeSlowly(upgradeRequest(a.port), 1, 200);
    await a.check();
    await slow.waitClosed(6000);
    await drip;
    const took = Date.now() - started;
    assert.ok(took >= 800 && took < 6000, `closed after ${took} ms`);
    await a.check();
  });
});
