/**
 * One node of the cross-process pub/sub benchmark (`--only bus`).
 *
 *   node bus-node.js pub <impl> <bus> <url> <payload bytes> <messages/s>
 *   node bus-node.js sub <impl> <bus> <url> <payload bytes> <messages/s> <seconds>
 *
 * impl `ironsock`: a WebSocketServer with the Redis or NATS adapter; the publisher calls
 * `wss.publish('bench', payload)` at a paced rate (the bus batches each turn).
 * impl `ws`: the way `ws` users fan out over Redis today: one `PUBLISH` per message, and on the
 * receiving side `for (const client of wss.clients) client.send(message)` per Redis message.
 *
 * The receiving node has one subscriber connection, whose client is a raw TCP socket in the same
 * process that only counts the bytes it reads: every server frame of a `size`-byte payload is
 * `2 + size` bytes, so delivered messages = bytes / (2 + size). The receiver prints `READY`, then
 * measures from the first delivered byte (after a 0.5 s warm-up) for `seconds` and prints
 * `RESULT <messages/s> <messages per CPU-second of this process>`. The publisher runs until
 * killed.
 */
import { connect as netConnect, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { connect as natsConnect } from '@nats-io/transport-node';
import WS, { WebSocketServer as WsServer } from 'ws';
import { WebSocketServer, type WebSocket } from '../../src/index.js';
import { redisAdapter } from '../../src/pubsub/redis.js';
import { natsAdapter, type NatsConnectionLike } from '../../src/pubsub/nats.js';
import type { BusAdapter } from '../../src/pubsub/adapter.js';

const [role, impl, bus, url, sizeArg, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 1_000_000);
const size = Number(sizeArg ?? 16);
const payload = Buffer.alloc(size, 'p');
const CHANNEL = 'ironsockbench:raw';

async function ironsockAdapter(): Promise<BusAdapter> {
  if (bus === 'redis') return redisAdapter(new Redis(url));
  const nc = await natsConnect({ servers: url });
  return natsAdapter(nc as unknown as NatsConnectionLike);
}

async function listen(server: WebSocketServer | WsServer): Promise<number> {
  // Both classes are EventEmitters; their typed `once` overloads do not unite into one signature.
  const emitter: NodeJS.EventEmitter = server;
  await new Promise<void>((resolve) => emitter.once('listening', () => resolve()));
  return (server.address() as AddressInfo).port;
}

/** Opens the counting client: a raw socket doing the WebSocket handshake, then counting bytes. */
function countingClient(port: number, onBytes: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let upgraded = false;
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      if (!upgraded) {
        const end = chunk.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = true;
        resolve();
        if (chunk.length > end + 4) onBytes(chunk.length - end - 4);
        return;
      }
      onBytes(chunk.length);
    });
  });
}

async function subscriber(): Promise<void> {
  const seconds = Number(secondsArg ?? 3);
  let subscribed: () => Promise<void>;
  let port: number;
  if (impl === 'ironsock') {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      pubsub: { adapter: await ironsockAdapter(), probeInterval: 0 },
    });
    wss.on('connection', (ws: WebSocket) => {
      ws.subscribe('bench');
    });
    port = await listen(wss);
    subscribed = () => wss.pubsub.ready();
  } else {
    const wss = new WsServer({ host: '127.0.0.1', port: 0 });
    const sub = new Redis(url);
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
      for (const client of wss.clients) if (client.readyState === WS.OPEN) client.send(message);
    });
    port = await listen(wss);
    subscribed = async () => {
      await sub.subscribe(CHANNEL);
    };
  }
  let bytes = 0;
  let started = 0;
  let startBytes = 0;
  let startCpu = process.cpuUsage();
  const frame = 2 + size;
  await countingClient(port, (n) => {
    bytes += n;
    if (started === 0) {
      started = -1;
      setTimeout(() => {
        started = performance.now();
        startBytes = bytes;
        startCpu = process.cpuUsage();
        setTimeout(() => {
          const elapsed = (performance.now() - started) / 1000;
          const messages = (bytes - startBytes) / frame;
          const cpu = process.cpuUsage(startCpu);
          const cpuSeconds = (cpu.user + cpu.system) / 1e6;
          process.stdout.write(
            `RESULT ${Math.round(messages / elapsed)} ${Math.round(messages / cpuSeconds)}\n`,
          );
          process.exit(0);
        }, seconds * 1000);
      }, 500);
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await subscribed();
  process.stdout.write('READY\n');
}

async function publisher(): Promise<void> {
  // Paced: `rate` messages per second, published every 10 ms in one turn (the ironsock bus
  // batches a turn into bus messages of up to 1,024).
  const perTick = Math.max(1, Math.round(rate / 100));
  if (impl === 'ironsock') {
    const wss = new WebSocketServer({
      noServer: true,
      pubsub: { adapter: await ironsockAdapter(), probeInterval: 0 },
    });
    await wss.pubsub.ready();
    process.stdout.write('READY\n');
    setInterval(() => {
      for (let i = 0; i < perTick; i++) wss.publish('bench', payload);
    }, 10);
  } else {
    const client = new Redis(url);
    await client.ping();
    const queue = client as unknown as { commandQueue: { length: number } };
    process.stdout.write('READY\n');
    setInterval(() => {
      // One PUBLISH per message; skip a tick while 100,000 commands wait (bounded memory).
      if (queue.commandQueue.length > 100_000) return;
      for (let i = 0; i < perTick; i++) void client.publish(CHANNEL, payload);
    }, 10);
  }
}

if (role === 'sub') await subscriber();
else await publisher();
