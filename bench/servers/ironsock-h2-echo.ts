/**
 * The ironsock echo server of the HTTP/2 cells: one standalone server created with `http2`
 * (TLS, ALPN h2 and http/1.1 on one port), so the same process serves the HTTP/1.1 upgrades and
 * the RFC 8441 extended CONNECT streams of the load generator. Certificate and key come from
 * IRONSOCK_BENCH_TLS_CERT / IRONSOCK_BENCH_TLS_KEY (PEM files made by the harness).
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from '../../src/index.js';
import { serveControl } from './control.js';
import { WebSocketServer } from './shipped.js';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  backlog: 1024,
  http2: {
    cert: readFileSync(process.env.IRONSOCK_BENCH_TLS_CERT ?? ''),
    key: readFileSync(process.env.IRONSOCK_BENCH_TLS_KEY ?? ''),
    maxWebSocketsPerSession: 2000,
    maxConcurrentStreams: 2100,
  },
});
wss.on('connection', (ws: WebSocket) => {
  ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => {
  serveControl((wss.address() as AddressInfo).port, {
    broadcast: (data) => wss.broadcast(data),
    connections: () => wss.clients.size,
  });
});
