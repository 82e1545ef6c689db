/**
 * The `ws` echo server, as its users run it: default options (maxPayload 100 MiB, no
 * permessage-deflate on the server by default), with the optional native `bufferutil` addon.
 * Exits with an error if `bufferutil` would be the JavaScript fallback, so a ws number is never
 * taken without the accelerator. (On Node >= 18.14 ws validates UTF-8 with `buffer.isUtf8`
 * and does not load `utf-8-validate` at all.)
 */
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WebSocketServer } from 'ws';
import { serveControl } from './control.js';

const require = createRequire(import.meta.url);
const bufferUtil = require('bufferutil') as { mask: (...args: unknown[]) => void };
const wsBufferUtil = require(join(dirname(require.resolve('ws')), 'lib', 'buffer-util.js')) as {
  mask: { toString(): string };
};
if (!bufferUtil.mask.toString().includes('[native code]')) {
  process.stderr.write('ws-echo: bufferutil is the JavaScript fallback, refusing to benchmark\n');
  process.exit(3);
}
if (!wsBufferUtil.mask.toString().includes('bufferUtil.mask') || process.env.WS_NO_BUFFER_UTIL) {
  process.stderr.write('ws-echo: ws is not using bufferutil\n');
  process.exit(3);
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 1024 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => {
  serveControl((wss.address() as AddressInfo).port, {
    // ws's documented broadcast pattern.
    broadcast: (data) => wss.clients.forEach((client) => client.send(data)),
    connections: () => wss.clients.size,
  });
});
