import net from 'node:net';
import { IncomingMessage } from 'node:http';
import { WebSocketServer } from '../dist/src/index.js';
import { HttpHeadParser } from '../dist/src/protocol/handshake/http-head.js';
const mode = process.argv[2];
let wss;
const onConn = (ws) => { ws.on('message', (d, b) => ws.send(d, { binary: b })); ws.on('error', () => {}); };
if (mode === 'http') {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => console.log('READY', wss.address().port));
  wss.on('connection', onConn);
} else {
  wss = new WebSocketServer({ noServer: true });
  const kState = Symbol();
  function onData(chunk) {
    const parser = this[kState];
    let r;
    try { r = parser.feed(chunk); } catch { this.destroy(); return; }
    if (!r.done) return;
    this.removeListener('data', onData);
    this[kState] = undefined;
    this.pause();
    const req = new IncomingMessage(this);
    const h = r.head;
    req.method = h.method; req.url = h.target; req.httpVersion = h.httpVersion; req.httpVersionMajor = 1; req.httpVersionMinor = 1;
    const raw = []; for (const [k, v] of h.headers) raw.push(k, v);
    req.rawHeaders = raw; req.upgrade = true; req.complete = true;
    wss.handleUpgrade(req, this, Buffer.from(r.rest), (ws) => onConn(ws));
  }
  const srv = net.createServer((socket) => {
    socket[kState] = new HttpHeadParser('request');
    socket.on('data', onData);
  });
  srv.listen(0, '127.0.0.1', 1024, () => console.log('READY', srv.address().port));
}
