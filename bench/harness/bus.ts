/**
 * The cross-process pub/sub cells (`--only bus`): a redis-server and a nats-server on loopback
 * (temporary directories, free ports, generous Pub/Sub output limits so a momentarily slow
 * subscriber is not cut off), one receiving node and one publishing node (bench/servers/bus-node),
 * 16-byte messages offered at a fixed rate. Reported: messages delivered per second to the
 * receiving process's WebSocket subscriber, and the same per CPU-second of that process (the
 * figure that survives a busy machine). Beside it, `ws` with a hand-written Redis fan-out (one
 * PUBLISH per message, one `send` per received message).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SERVERS_DIR, type Placement } from './processes.js';
import type { Sample } from './workloads.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const NATS_SERVER = '/usr/sbin/nats-server';

/** One cross-process cell: which implementation, over which bus. */
export interface BusCell {
  impl: 'ironsock' | 'ws';
  bus: 'redis' | 'nats';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForLine(
  child: ChildProcess,
  prefix: string,
  ms: number,
  stream = child.stdout!,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${prefix}' line within ${ms} ms`)), ms);
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => {
      if (line.includes(prefix)) {
        clearTimeout(timer);
        lines.close();
        resolve(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before '${prefix}'`));
    });
  });
}

/** The bus servers of a run; `null` members are not installed. */
export interface BusServers {
  redis: string | null;
  nats: string | null;
  notes: string[];
  stop(): void;
}

/** Starts redis-server and nats-server when installed (for the whole `bus` workload). */
export async function startBusServers(): Promise<BusServers> {
  const dir = mkdtempSync(join(tmpdir(), 'ironsock-bench-bus-'));
  const children: ChildProcess[] = [];
  const notes: string[] = [];
  let redis: string | null = null;
  let nats: string | null = null;
  if (spawnSync(REDIS_SERVER, ['--version']).status === 0) {
    const port = await freePort();
    const child = spawn(REDIS_SERVER, [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--client-output-buffer-limit',
      'pubsub 512mb 256mb 60',
    ]);
    children.push(child);
    await waitForLine(child, 'Ready to accept connections', 10_000);
    redis = `redis://127.0.0.1:${port}`;
  } else notes.push('redis-server not installed: Redis bus cells not measured');
  if (spawnSync(NATS_SERVER, ['--version']).status === 0) {
    const port = await freePort();
    const config = join(dir, 'nats.conf');
    writeFileSync(config, `max_pending: 536870912\n`);
    const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-c', config]);
    children.push(child);
    await waitForLine(child, 'Server is ready', 10_000, child.stderr!);
    nats = `nats://127.0.0.1:${port}`;
  } else notes.push('nats-server not installed: NATS bus cells not measured');
  return {
    redis,
    nats,
    notes,
    stop() {
      for (const child of children) child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One run: receiver (pinned to CPU 0 when possible) and publisher (CPU 1); resolves with the
 * delivered rate once the receiver has measured for `seconds`.
 */
export async function runBusCell(
  cell: BusCell,
  url: string,
  size: number,
  rate: number,
  seconds: number,
  placement: Placement,
): Promise<Sample> {
  const script = join(SERVERS_DIR, 'bus-node.js');
  const pin = (cpu: number): string[] => (placement.pinned ? ['taskset', '-c', String(cpu)] : []);
  const start = (cpu: number, args: string[]): ChildProcess => {
    const argv = [...pin(cpu), process.execPath, script, ...args];
    return spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const common = [cell.impl, cell.bus, url, String(size), String(rate)];
  const sub = start(0, ['sub', ...common, String(seconds)]);
  let pub: ChildProcess | null = null;
  try {
    await waitForLine(sub, 'READY', 15_000);
    pub = start(1, ['pub', ...common]);
    await waitForLine(pub, 'READY', 15_000);
    const line = await waitForLine(sub, 'RESULT', (seconds + 15) * 1000);
    const [, delivered, perCpuSecond] = line.trim().split(/\s+/).map(Number);
    return {
      value: delivered,
      serverCpu: NaN,
      loadgenCpu: NaN,
      errors: 0,
      extra: { perCpuSecond, offered: rate },
    };
  } finally {
    pub?.kill('SIGKILL');
    sub.kill('SIGKILL');
  }
}
