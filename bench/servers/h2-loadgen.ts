/**
 * A load generator for the HTTP/2 echo cells (the C load generator speaks neither TLS nor
 * HTTP/2): `connections` WebSockets to an ironsock server over TLS, either as extended CONNECT
 * streams of ONE HTTP/2 connection (`h2`) or as HTTP/1.1 upgrades on their own TLS connections
 * (`h1`), each keeping `window` echo messages in flight. Both modes share everything else (the
 * pre-masked frame, the frame counter, the timing), so their ratio is the cost of the transport.
 *
 *   node h2-loadgen.js <h1|h2> <port> <connections> <size> <window> <warmMs> <measureMs>
 *
 * Prints `PHASE measure`, `PHASE end`, then `RESULT {"msgsPerSec","messages","cpuShare","errors"}`
 * and exits when stdin ends (the harness's protocol for load generators).
 */
import http2 from 'node:http2';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';

const [mode, portText, connText, sizeText, windowText, warmText, measureText] =
  process.argv.slice(2);
const port = Number(portText);
const connections = Number(connText);
const size = Number(sizeText);
const window = Number(windowText);
const warmMs = Number(warmText);
const measureMs = Number(measureText);

/** One masked binary frame of `size` bytes, sent again and again (the server unmasks a copy). */
function maskedFrame(): Buffer {
  const header = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const frame = Buffer.alloc(header + 4 + size);
  frame[0] = 0x82;
  if (size < 126) frame[1] = 0x80 | size;
  else if (size < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(size, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(size), 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, header);
  const payload = Buffer.alloc(size, 0x61);
  for (let i = 0; i < size; i++) frame[header + 4 + i] = payload[i] ^ mask[i & 3];
  return frame;
}
const FRAME = maskedFrame();

let counting = false;
let messages = 0;
let errors = 0;

/** Counts the server's (unmasked) frames as they stream in and sends one frame per echo. */
function drive(stream: Duplex): void {
  const head = Buffer.alloc(10);
  let headLength = 0;
  let need = 2;
  let remaining = 0;
  stream.on('data', (chunk: Buffer) => {
    let echoes = 0;
    let i = 0;
    while (i < chunk.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - i);
        remaining -= take;
        i += take;
        if (remaining === 0) echoes++;
        continue;
      }
      head[headLength++] = chunk[i++];
      if (headLength === 2) {
        const len7 = head[1] & 0x7f;
        need = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      }
      if (headLength < need) continue;
      const len7 = head[1] & 0x7f;
      const length =
        len7 === 126 ? head.readUInt16BE(2) : len7 === 127 ? Number(head.readBigUInt64BE(2)) : len7;
      headLength = 0;
      need = 2;
      if (length === 0) echoes++;
      else remaining = length;
    }
    if (echoes > 0) {
      if (counting) messages += echoes;
      for (let k = 0; k < echoes; k++) stream.write(FRAME);
    }
  });
  stream.on('error', () => {
    errors++;
  });
  for (let k = 0; k < window; k++) stream.write(FRAME);
}

async function openH2(): Promise<Duplex[]> {
  const session = http2.connect(`https://127.0.0.1:${port}`, {
    rejectUnauthorized: false,
    settings: { enablePush: false, initialWindowSize: 1 << 20 },
  });
  session.on('error', () => errors++);
  session.once('localSettings', () => session.setLocalWindowSize(16 << 20));
  await new Promise((resolve) => session.once('remoteSettings', resolve));
  return Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Duplex>((resolve, reject) => {
          const stream = session.request(
            {
              ':method': 'CONNECT',
              ':protocol': 'websocket',
              ':scheme': 'https',
              ':path': '/',
              ':authority': `127.0.0.1:${port}`,
              'sec-websocket-version': '13',
            },
            { endStream: false },
          );
          stream.once('response', (h) =>
            h[':status'] === 200 ? resolve(stream) : reject(new Error(`status ${h[':status']}`)),
          );
          stream.once('error', reject);
        }),
    ),
  );
}

async function openH1(): Promise<Duplex[]> {
  return Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Duplex>((resolve, reject) => {
          const socket = tls.connect({
            host: '127.0.0.1',
            port,
            rejectUnauthorized: false,
            ALPNProtocols: ['http/1.1'],
          });
          socket.setNoDelay(true);
          socket.once('secureConnect', () => {
            socket.write(
              `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
            );
          });
          let head = '';
          const onData = (chunk: Buffer): void => {
            head += chunk.toString('latin1');
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) return;
            socket.off('data', onData);
            if (!head.startsWith('HTTP/1.1 101')) reject(new Error(head.split('\r\n')[0]));
            else resolve(socket);
          };
          socket.on('data', onData);
          socket.once('error', reject);
        }),
    ),
  );
}

const streams = mode === 'h2' ? await openH2() : await openH1();
for (const stream of streams) drive(stream);
await new Promise((r) => setTimeout(r, warmMs));
const cpuBefore = process.cpuUsage();
const start = process.hrtime.bigint();
counting = true;
process.stdout.write('PHASE measure\n');
await new Promise((r) => setTimeout(r, measureMs));
counting = false;
const wallNs = Number(process.hrtime.bigint() - start);
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write('PHASE end\n');
process.stdout.write(
  `RESULT ${JSON.stringify({
    msgsPerSec: (messages * 1e9) / wallNs,
    messages,
    cpuShare: ((cpu.user + cpu.system) * 1000) / wallNs,
    errors,
  })}\n`,
);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
