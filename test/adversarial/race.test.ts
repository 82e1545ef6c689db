/**
 * Checklist R9 (connection confusion, CVE-2022-25762 class): many clients send unique payloads
 * while the server closes them concurrently; no byte meant for one connection ever reaches
 * another, on either side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { arena, delay, once, waitFor } from './support.js';

const CLIENTS = 60;
const ROUNDS = 3;

test(`R9: ${CLIENTS} clients x ${ROUNDS} rounds sending unique payloads while the server closes them concurrently: every payload seen only on its own connection`, async () => {
  await arena({}, async (a) => {
    // Server side: each connection must only ever see one client's id.
    const serverViolations: string[] = [];
    a.wss.on('connection', (ws: WebSocket) => {
      let owner: string | null = null;
      ws.on('message', (data: Buffer) => {
        const id = data.toString().split(':')[0];
        if (owner === null) owner = id;
        else if (owner !== id) serverViolations.push(`server connection of ${owner} got ${id}`);
      });
      // Close at a random moment while the client is still sending.
      setTimeout(
        () => {
          if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'random close');
        },
        Math.floor(Math.random() * 60),
      );
    });
    const clientViolations: string[] = [];
    let echoes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const runs = Array.from({ length: CLIENTS }, async (_, i) => {
        const id = `r${round}c${i}-${randomBytes(4).toString('hex')}`;
        const ws = new WebSocket(a.url, { origin: a.url.replace(/^ws/, 'http') });
        ws.on('error', () => {});
        ws.on('message', (data: Buffer) => {
          if (!data.toString().startsWith(`${id}:`))
            clientViolations.push(`${id} got ${data.toString().slice(0, 40)}`);
          else echoes++;
        });
        const closed = once(ws, 'close', 10_000);
        try {
          await once(ws, 'open', 5000);
        } catch {
          return;
        }
        let seq = 0;
        while (ws.readyState === WebSocket.OPEN && seq < 200) {
          ws.send(`${id}:${seq++}:${randomBytes(8 + (seq % 50)).toString('hex')}`);
          if (seq % 4 === 0) await delay(1);
        }
        await closed;
      });
      await Promise.all(runs);
      await a.check();
    }
    await waitFor(() => a.wss.clients.size === 1, 5000, 'all closed');
    assert.deepEqual(serverViolations, []);
    assert.deepEqual(clientViolations, []);
    assert.ok(echoes > 0, 'some echoes arrived before the closes');
  });
});
