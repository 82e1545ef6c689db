'use strict';
// A small CommonJS program written for ws, as ws's README writes one. The compatibility test runs
// it once with require('ws') and once with require('ironsock'): only the module name changes.
const WebSocket = require('ws');

const wss = new WebSocket.Server({ port: 0, host: '127.0.0.1' }, () => {
  const { port } = wss.address();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/path`);
  ws.on('open', () => {
    ws.send('hello');
    ws.send(Buffer.from([1, 2, 3]));
    ws.ping('p');
  });
  const seen = [];
  ws.on('pong', (data) => seen.push(`pong:${data}`));
  ws.on('message', (data, isBinary) => {
    seen.push(`${isBinary ? 'binary' : 'text'}:${isBinary ? data.toString('hex') : data}`);
    if (seen.filter((s) => !s.startsWith('pong')).length === 2) ws.close(1000, 'bye');
  });
  ws.on('close', (code, reason) => {
    seen.push(`close:${code}:${reason}`);
    console.log(
      JSON.stringify({
        seen,
        states: [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED],
        stream: typeof WebSocket.createWebSocketStream,
        same: WebSocket.WebSocket === WebSocket && WebSocket.WebSocketServer === WebSocket.Server,
      }),
    );
    wss.close();
  });
});
wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.send(`path ${req.url}`);
});
