import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import WS from 'ws';
import { WebSocketServer } from '../../src/node/server.js';
import type { WebSocket } from '../../src/node/websocket.js';
import { once, stopServer } from './util.js';
import { makeCert, type TestCert } from '../helpers/certs.js';

/** A self-signed certificate for 127.0.0.1, made with openssl at test time (null without openssl). */
function selfSigned(): TestCert | null {
  try {
    return makeCert('127.0.0.1', 'IP:127.0.0.1');
  } catch {
    return null;
  }
}

test('attach to an https server: wss echo, secure origin policy', async (t) => {
  const pair = selfSigned();
  if (pair === null) {
    if (process.env.CI === 'true') assert.fail('openssl is required under CI');
    t.skip('openssl not available to make a test certificate');
    return;
  }
  const server = https.createServer(pair);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => ws.send(data)));
  // Same-origin for a TLS server is https://host.
  const client = new WS(`wss://127.0.0.1:${port}`, {
    ca: pair.cert,
    origin: `https://127.0.0.1:${port}`,
  });
  await once(client, 'open');
  client.send('over tls');
  const [data] = await once<[Buffer]>(client, 'message');
  assert.equal(data.toString(), 'over tls');
  client.close();
  await once(client, 'close');
  // The http:// origin is another origin for a TLS server.
  const cross = new WS(`wss://127.0.0.1:${port}`, {
    ca: pair.cert,
    origin: `http://127.0.0.1:${port}`,
  });
  const [, res] = await once<[unknown, { statusCode: number }]>(cross, 'unexpected-response');
  assert.equal(res.statusCode, 403);
  cross.on('error', () => {});
  cross.terminate();
  await stopServer(wss);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
