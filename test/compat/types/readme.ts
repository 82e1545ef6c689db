// The README's example, verbatim apart from this comment: it must compile under `strict`
// (issue #11: `TS7006: Parameter 'data' implicitly has an 'any' type` before listeners were typed).
import { WebSocketServer, WebSocket } from 'ironsock';

// A server: echo every message back. Same-origin browsers and non-browser clients may connect.
const wss = new WebSocketServer({ port: 8080, host: '127.0.0.1' });
wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

// A client, with the ws-compatible events...
const ws = new WebSocket('ws://127.0.0.1:8080/echo');
ws.on('open', () => ws.send('hello'));
ws.on('message', (data) => {
  console.log('echo:', data.toString());
  ws.close(1000, 'done');
});

// ...or the modern API: a promise for the connection, awaitable sends, async iteration
// ({ data, isBinary }; text arrives as a string). Reading pauses while the loop is busy.
const socket = await WebSocket.connect('ws://127.0.0.1:8080/echo');
await socket.send('hi again'); // resolves once the bytes are handed to the kernel
for await (const { data } of socket) {
  console.log(data);
  break;
}
socket.close();
