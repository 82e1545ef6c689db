/**
 * Reference server: a raw TCP echo with `node:net` (no WebSocket at all). The ceiling any
 * Node WebSocket server can approach on this machine.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { serveControl } from './control.js';

const sockets = new Set<Socket>();
const server = createServer({ noDelay: true }, (socket) => {
  sockets.add(socket);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => {});
  socket.on('close', () => sockets.delete(socket));
});
server.listen(0, '127.0.0.1', 1024, () => {
  serveControl((server.address() as AddressInfo).port, {
    broadcast: (data) => {
      for (const socket of sockets) socket.write(data);
    },
    connections: () => sockets.size,
  });
});
