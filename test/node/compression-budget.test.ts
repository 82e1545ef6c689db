/**
 * The server-wide permessage-deflate budget (src/node/compression-budget.ts, option
 * `maxCompressionMemory`): connections reserve the zlib state their agreed mode keeps; when it
 * does not fit, offers are accepted with less (server_no_context_takeover, then
 * client_no_context_takeover too), and every reservation comes back when the connection closes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WS from 'ws';
import {
  CompressionBudget,
  deflateContextBytes,
  inflateContextBytes,
  keptContextBytes,
} from '../../src/node/compression-budget.js';
import { DEFAULT_MAX_COMPRESSION_MEMORY } from '../../src/node/limits.js';
import { WebSocketServer } from '../../src/node/server.js';
import type { WebSocket } from '../../src/node/websocket.js';
import { once, startServer, stopServer, waitFor } from './util.js';

const FULL = keptContextBytes({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
});
const CLIENT_WINDOW = inflateContextBytes(15);

/** A ws client offering permessage-deflate, with the server's Sec-WebSocket-Extensions. */
async function open(url: string): Promise<{ client: WS; agreed: string }> {
  const client = new WS(url, { perMessageDeflate: true });
  client.on('error', () => {});
  let agreed = '';
  client.once('upgrade', (res: { headers: Record<string, string | undefined> }) => {
    agreed = res.headers['sec-websocket-extensions'] ?? '';
  });
  await once(client, 'open');
  return { client, agreed };
}

describe('compression memory budget', () => {
  test('costs follow zlib: 15-bit windows keep about 290 KiB both ways, 65 KiB for the client window', () => {
    assert.equal(deflateContextBytes(15, 8), 256 * 1024 + 24 * 1024);
    assert.equal(inflateContextBytes(15), 32 * 1024 + 31 * 1024);
    assert.equal(FULL, deflateContextBytes(15) + inflateContextBytes(15));
    // Smaller windows and memLevel keep less; an 8-bit window is 9 bits in zlib.
    assert.ok(deflateContextBytes(10, 4) < deflateContextBytes(15, 8) / 5);
    assert.equal(deflateContextBytes(8), deflateContextBytes(9));
    const windows = { serverMaxWindowBits: 15, clientMaxWindowBits: 15 } as const;
    assert.equal(
      keptContextBytes({
        ...windows,
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
      }),
      0,
    );
  });

  test('past the budget, offers get server_no_context_takeover, then no takeover at all; closing gives it back', async () => {
    const limit = 2 * FULL + CLIENT_WINDOW + 1000;
    const { wss, url } = await startServer({
      perMessageDeflate: true,
      maxCompressionMemory: limit,
    });
    const echo = (ws: WebSocket) =>
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    wss.on('connection', echo);
    const budget = wss.compressionBudget!;
    assert.equal(budget.limit, limit);
    const opened: Array<{ client: WS; agreed: string }> = [];
    for (let i = 0; i < 5; i++) opened.push(await open(url));
    const clients = opened.map((entry) => entry.client);
    const agreed = opened.map((entry) => entry.agreed);
    assert.equal(agreed[0], 'permessage-deflate');
    assert.equal(agreed[1], 'permessage-deflate');
    assert.equal(agreed[2], 'permessage-deflate; server_no_context_takeover');
    for (const value of agreed.slice(3)) {
      assert.equal(
        value,
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      );
    }
    assert.equal(budget.used, 2 * FULL + CLIENT_WINDOW);

    // Every mode still compresses and round-trips, several messages each (context or not).
    const text = 'the same words again and again, '.repeat(100);
    await Promise.all(
      clients.map(async (client, index) => {
        for (let k = 0; k < 3; k++) {
          const reply = once<[Buffer]>(client, 'message');
          client.send(`${index}:${k}:${text}`);
          const [data] = await reply;
          assert.equal(data.toString(), `${index}:${k}:${text}`);
        }
      }),
    );

    // Closing connections gives their reservation back; the next client gets takeover again.
    clients[0].close();
    clients[2].close();
    await waitFor(() => budget.used === FULL, 5000, 'the budget to be given back');
    const { client: again, agreed: againAgreed } = await open(url);
    assert.equal(againAgreed, 'permessage-deflate');
    assert.equal(budget.used, 2 * FULL);
    for (const client of [...clients, again]) client.terminate();
    await waitFor(() => budget.used === 0, 5000, 'every reservation to be given back');
    await stopServer(wss);
  });

  test('the default budget is 64 MiB and the option is validated', async () => {
    assert.equal(DEFAULT_MAX_COMPRESSION_MEMORY, 64 * 1024 * 1024);
    const { wss } = await startServer({ perMessageDeflate: true });
    assert.equal(wss.compressionBudget!.limit, DEFAULT_MAX_COMPRESSION_MEMORY);
    await stopServer(wss);
    const plain = await startServer({});
    assert.equal(plain.wss.compressionBudget, null, 'no budget without permessage-deflate');
    await stopServer(plain.wss);
    assert.throws(
      () => new WebSocketServer({ noServer: true, maxCompressionMemory: -1 }),
      /maxCompressionMemory must be a non-negative integer \(or Infinity\), got -1/,
    );
    assert.throws(
      () => new WebSocketServer({ noServer: true, maxCompressionMemory: '1' as never }),
      TypeError,
    );
  });

  test('a budget of 0 keeps nothing per connection, and offers are still accepted', () => {
    const budget = new CompressionBudget(0);
    const offer = [{ name: 'permessage-deflate', params: [] as Array<[string, string | true]> }];
    const admitted = budget.admit(offer as never, {});
    assert.ok(admitted !== null);
    assert.equal(admitted.reserved, 0);
    assert.equal(admitted.params.serverNoContextTakeover, true);
    assert.equal(admitted.params.clientNoContextTakeover, true);
    assert.equal(budget.used, 0);
  });
});
