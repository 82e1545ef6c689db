// The CommonJS entry as ws users write it: `require('ironsock')` is the WebSocket class.
import WebSocket = require('ironsock');

const wss = new WebSocket.Server({ port: 0 });
wss.on('connection', (ws, req) => {
  const socket: WebSocket = ws;
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  void req.url;
});
const other = new WebSocket.WebSocketServer({ noServer: true });
const client = new WebSocket('ws://127.0.0.1:1', { perMessageDeflate: false });
client.on('close', (code: number, reason: Buffer) => void [code, reason]);
const state: number = WebSocket.OPEN;
const options: WebSocket.ServerOptions = { noServer: true };
const closeCode: number = WebSocket.CloseCode.Normal;
const stream = WebSocket.createWebSocketStream(client);
void [other, state, options, closeCode, stream];
// @ts-expect-error the close code is a number
client.on('close', (code) => code.toUpperCase());
