// The same kind of program as an ES module written for ws: the default import (the WebSocket
// class) and named imports. (ws's ES module default has no `Server` static: that is the
// CommonJS shape, used by the .cjs program.) Run once with 'ws' and once with 'ironsock'.
import WebSocket, { WebSocketServer, createWebSocketStream } from 'ws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
await new Promise((resolve) => wss.on('listening', resolve));
const seen = [];
wss.on('connection', (ws) => {
  ws.on('message', (data) => ws.send(String(data).toUpperCase()));
});
const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
ws.binaryType = 'arraybuffer';
await new Promise((resolve) => ws.on('open', resolve));
ws.send('shout');
const [reply, isBinary] = await new Promise((resolve) =>
  ws.once('message', (data, binary) => resolve([data, binary])),
);
seen.push(`${isBinary}:${Buffer.from(reply).toString()}`);
ws.close();
await new Promise((resolve) => ws.on('close', resolve));
await new Promise((resolve) => wss.close(resolve));
console.log(
  JSON.stringify({
    seen,
    isServer: wss instanceof WebSocketServer,
    open: WebSocket.OPEN,
    stream: typeof createWebSocketStream,
  }),
);
