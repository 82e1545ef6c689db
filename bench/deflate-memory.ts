/**
 * RSS per idle compressed connection (RFC 7692 permessage-deflate): 1,000 connections to an
 * ironsock server and to a `ws` server, each having sent and received one compressed message
 * (so both directions hold a zlib context if the mode keeps one), measured in one run with
 * interleaved repetitions. The same `ws` client drives both servers.
 *
 *   node dist/bench/deflate-memory.js [--connections 1000] [--reps 3] [--mode MODE] [--budget BYTES]
 *
 * MODE: `takeover` (default: context takeover both ways), `server-no-takeover` (the server
 * resets its compressor after every message) or `no-takeover` (both directions reset).
 * `--budget` sets ironsock's `maxCompressionMemory` (default: Infinity, so that the mode asked
 * for is the mode measured; with the default budget the connections past it fall back).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocketClient from 'ws';

interface Stats {
  rss: number;
  heapUsed: number;
}

const SERVER_ROLE = process.env.IRONSOCK_BENCH_ROLE;

if (SERVER_ROLE !== undefined) {
  // Child: one server with permessage-deflate on, echoing; answers 'stats' after two GCs.
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const { WebSocketServer } = (
    SERVER_ROLE === 'ironsock' ? await import('../src/index.js') : await import('ws')
  ) as { WebSocketServer: new (options: object) => any };
  const mode = process.env.IRONSOCK_BENCH_MODE ?? 'takeover';
  const perMessageDeflate = {
    serverNoContextTakeover: mode !== 'takeover',
    clientNoContextTakeover: mode === 'no-takeover',
  };
  const budget = Number(process.env.IRONSOCK_BENCH_BUDGET ?? Infinity);
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate,
    ...(SERVER_ROLE === 'ironsock' ? { maxCompressionMemory: budget } : {}),
  });
  wss.on('connection', (ws: any) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
  wss.on('listening', () => process.send?.({ port: (wss.address() as { port: number }).port }));
  process.on('message', (message) => {
    if (message === 'stats') {
      gc();
      gc();
      const { rss, heapUsed } = process.memoryUsage();
      process.send?.({ rss, heapUsed } satisfies Stats);
    }
  });
} else {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '1000' },
      reps: { type: 'string', default: '3' },
      mode: { type: 'string', default: 'takeover' },
      budget: { type: 'string', default: 'Infinity' },
      servers: { type: 'string', default: 'ironsock,ws' },
    },
  });
  const count = Number(values.connections);
  const reps = Number(values.reps);
  const self = fileURLToPath(import.meta.url);
  const message = JSON.stringify({
    type: 'update',
    items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item ${i}` })),
  });

  const ask = <T>(child: ChildProcess, request: string): Promise<T> =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve(m as T));
      child.send(request);
    });

  async function measure(role: string): Promise<{ perConnection: number; extensions: string }> {
    const child = fork(self, [], {
      env: {
        ...process.env,
        IRONSOCK_BENCH_ROLE: role,
        IRONSOCK_BENCH_MODE: values.mode,
        IRONSOCK_BENCH_BUDGET: values.budget,
      },
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const { port } = await new Promise<{ port: number }>((resolve) =>
      child.once('message', (m) => resolve(m as { port: number })),
    );
    const before = await ask<Stats>(child, 'stats');
    const clients: WebSocketClient[] = [];
    let extensions = '';
    for (let i = 0; i < count; i += 50) {
      const batch = Array.from({ length: Math.min(50, count - i) }, async () => {
        const ws = new WebSocketClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
        clients.push(ws);
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => {
            if (role === 'ironsock') extensions = ws.extensions;
            ws.send(message);
          });
          ws.once('message', () => resolve());
          ws.once('error', reject);
        });
      });
      await Promise.all(batch);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await ask<Stats>(child, 'stats');
    for (const ws of clients) ws.terminate();
    child.kill();
    return { perConnection: (after.rss - before.rss) / count, extensions };
  }

  const servers = values.servers.split(',');
  const results: Record<string, number[]> = { ironsock: [], ws: [] };
  let negotiated = '';
  for (let rep = 0; rep < reps; rep++) {
    for (const role of servers) {
      const { perConnection, extensions } = await measure(role);
      results[role].push(perConnection);
      if (role === 'ironsock') negotiated = extensions;
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ws = results.ws.length > 0 ? median(results.ws) : NaN;
  console.log(
    `permessage-deflate idle memory, mode ${values.mode}, ${count} connections, ${reps} interleaved reps (Node ${process.version})`,
  );
  console.log(`negotiated (ironsock): ${negotiated}`);
  console.log('| server | RSS per connection (median) | runs | vs ws |');
  console.log('| --- | --- | --- | --- |');
  for (const role of servers) {
    const value = median(results[role]);
    const runs = results[role].map((x) => (x / 1024).toFixed(1)).join(', ');
    console.log(
      `| ${role} | ${(value / 1024).toFixed(1)} KiB | ${runs} | ${(ws / value).toFixed(2)}× |`,
    );
  }
}
