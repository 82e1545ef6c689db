/**
 * The ironsock echo server: default options (secure defaults, maxPayload 1 MiB), echoing each
 * message back with the same type; broadcast through `wss.broadcast(data)`. With
 * IRONSOCK_BENCH_PUBLISH=1 (the `ironsock-publish` server of the `publish` cells) every
 * connection subscribes to one topic and the broadcast goes through `wss.publish(topic, data)`.
 */
import type { AddressInfo } from 'node:net';
import type { WebSocket } from '../../src/index.js';
import { serveControl } from './control.js';
import { WebSocketServer } from './shipped.js';

// IRONSOCK_KEEPALIVE=0 (the opt-in 'ironsock-nokeepalive' server) measures the cost of the
// default keepalive by comparison.
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  backlog: 1024,
  ...(process.env.IRONSOCK_KEEPALIVE === '0' ? { keepalive: false } : {}),
});
const publish = process.env.IRONSOCK_BENCH_PUBLISH === '1';
wss.on('connection', (ws: WebSocket) => {
  if (publish) ws.subscribe('bench');
  ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => {
  serveControl((wss.address() as AddressInfo).port, {
    broadcast: publish ? (data) => wss.publish('bench', data) : (data) => wss.broadcast(data),
    connections: () => wss.clients.size,
  });
});
