// Listener types of every event of WebSocket and WebSocketServer, and ws's import forms.
import type { IncomingMessage, ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, createWebSocketStream } from 'ironsock';
import type { RawData, RejectionInfo } from 'ironsock';

// ws's default import and statics.
const viaStatic: WebSocketServer = new WebSocket.Server({ noServer: true });
const viaName: typeof WebSocketServer = WebSocket.WebSocketServer;
const same: typeof WebSocket = WebSocket.WebSocket;
const stream: typeof createWebSocketStream = WebSocket.createWebSocketStream;
void viaName;
void same;
void stream;

const ws = new WebSocket('ws://127.0.0.1:1');
ws.on('open', () => {});
ws.on('message', (data: RawData, isBinary: boolean) => void [data, isBinary]);
ws.once('close', (code, reason) => {
  const n: number = code;
  const b: Buffer = reason;
  void [n, b];
});
ws.off('error', (error) => void error.message);
ws.addListener('ping', (data) => void data.byteLength);
ws.removeListener('pong', (data) => void data.byteLength);
ws.prependListener('upgrade', (response: IncomingMessage) => void response.headers);
ws.prependOnceListener(
  'unexpected-response',
  (request: ClientRequest, response: IncomingMessage) => {
    void [request, response.statusCode];
  },
);
ws.on('redirect', (url, request) => void [url.length, request]);
// `this` is the socket in listeners, as in @types/ws.
ws.on('open', function () {
  this.send('from this');
});
// Events ironsock does not know stay allowed (a subclass may emit its own), as in @types/ws.
ws.on('custom', (...args) => void args);

// @ts-expect-error the close code is a number
ws.on('close', (code) => code.toUpperCase());
// @ts-expect-error the ping payload is a Buffer, not a string
ws.on('ping', (data) => data.toUpperCase());
// @ts-expect-error text or binary data is not a number
ws.on('message', (data) => data.toFixed());

viaStatic.on('connection', (socket, request) => {
  const s: WebSocket = socket;
  const r: IncomingMessage = request;
  void [s, r];
});
viaStatic.on('headers', (headers, request) => {
  headers.push('X-Extra: 1');
  void request.url;
});
viaStatic.on('wsClientError', (error: Error, socket: Duplex, request: IncomingMessage) => {
  void [error, socket, request];
});
viaStatic.on('rejected', (info: RejectionInfo) => void info.status);
viaStatic.once('listening', () => {});
viaStatic.prependListener('close', () => {});
viaStatic.on('error', (error) => void error.stack);
// @ts-expect-error 'connection' gives the socket first, not the request
viaStatic.on('connection', (socket) => void socket.headers);
// @ts-expect-error 'headers' gives an array of lines
viaStatic.on('headers', (headers) => headers.toFixed());

// The `WebSocket` option: connections are instances of the subclass, typed so.
class Tagged extends WebSocket {
  tag = 'tagged';
}
const tagged = new WebSocketServer({ noServer: true, WebSocket: Tagged });
tagged.on('connection', (socket) => void socket.tag.length);
for (const client of tagged.clients) void client.tag;

// Sends as ws accepts them.
ws.send(42);
ws.send(new Blob(['x']));
ws.send([Buffer.from('a'), Buffer.from('b')]);
ws.send(undefined);
ws.ping(7);
ws.send('x').then(() => {});
void ws.send('x').catch(() => {});
void ws.send('x').finally(() => {});
// @ts-expect-error plain objects are not sendable
ws.send({ not: 'sendable' });
