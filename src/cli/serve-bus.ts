/**
 * Scale-out for `ironsock serve`: `--redis`/`--nats` join a bus (the user installs `ioredis` or
 * `@nats-io/transport-node`; ironsock itself depends on neither), and `--workers N` runs N
 * processes on one port with node:cluster.
 *
 * Decision for `--workers N` without `--redis`/`--nats`: the workers share rooms through the
 * primary over IPC (`clusterRelay`/`clusterAdapter`), so one machine scales out with nothing
 * else installed; with `--redis`/`--nats` every worker is a node of that bus directly (and
 * shares rooms with other machines too).
 */
import type { Worker } from 'node:cluster';
import { nodeCluster, nodeUrl } from '../node/builtins.js';
import type { BusAdapter } from '../pubsub/adapter.js';
import { clusterAdapter, clusterRelay } from '../pubsub/cluster.js';
import { natsAdapter, type NatsConnectionLike } from '../pubsub/nats.js';
import { redisAdapter } from '../pubsub/redis.js';
import { ExitCode } from './args.js';
import type { CliIo } from './io.js';
import type { Logger } from './log.js';
import type { ServeSettings } from './serve-options.js';

/** A connected bus: the adapter for the server, and how to release the client behind it. */
export interface ServeBus {
  adapter: BusAdapter;
  close(): Promise<void>;
}

/** How long `serve` waits for Redis or NATS at startup before giving up. */
const CONNECT_TIMEOUT_MS = 5000;

async function importOptional<T>(name: string, flag: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch {
    throw new Error(`${flag} needs the '${name}' package: npm install ${name}`);
  }
}

/**
 * Connects the bus `settings` asks for: Redis, NATS, the cluster IPC bus in a worker, or none.
 * @throws Error with a one-line reason when the package is missing or the server unreachable.
 */
export async function connectBus(
  settings: ServeSettings,
  logger: Logger,
): Promise<ServeBus | null> {
  if (settings.bus?.kind === 'redis') {
    const { Redis } = await importOptional<typeof import('ioredis')>('ioredis', '--redis');
    const client = new Redis(settings.bus.url, {
      retryStrategy: (times: number) => Math.min(times * 50, 1000),
      connectTimeout: CONNECT_TIMEOUT_MS,
      lazyConnect: true,
    });
    let reported = false;
    client.on('error', (error: Error) => {
      // ioredis reports every failed reconnect attempt; one line per outage is enough.
      if (!reported) logger.log('warn', 'bus-error', 'redis error', { error: error.message });
      reported = true;
    });
    client.on('ready', () => {
      reported = false;
    });
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw new Error(`cannot reach redis at ${settings.bus.url}: ${(error as Error).message}`);
    }
    return {
      adapter: redisAdapter(client),
      close: async () => {
        await client.quit().catch(() => client.disconnect());
      },
    };
  }
  if (settings.bus?.kind === 'nats') {
    const nats = await importOptional<typeof import('@nats-io/transport-node')>(
      '@nats-io/transport-node',
      '--nats',
    );
    let nc: Awaited<ReturnType<typeof nats.connect>>;
    try {
      nc = await nats.connect({
        servers: settings.bus.url,
        reconnectTimeWait: 250,
        maxReconnectAttempts: -1,
        timeout: CONNECT_TIMEOUT_MS,
      });
    } catch (error) {
      throw new Error(`cannot reach nats at ${settings.bus.url}: ${(error as Error).message}`);
    }
    return {
      adapter: natsAdapter(nc as unknown as NatsConnectionLike),
      close: async () => {
        await nc.close();
      },
    };
  }
  const cluster = nodeCluster();
  if (cluster.isWorker) return { adapter: clusterAdapter(), close: () => Promise.resolve() };
  return null;
}

/**
 * The primary of `serve --workers N`: forks N workers running `serve` with the same arguments
 * (they share the listening port through node:cluster), relays the IPC bus when no Redis/NATS
 * is given, forwards their output, and on abort stops them (each closes its clients with 1001)
 * and waits. Returns 0, or 1 if every worker died on its own.
 */
export async function runWorkers(
  settings: ServeSettings,
  args: string[],
  io: CliIo,
  logger: Logger,
): Promise<number> {
  const cluster = nodeCluster();
  cluster.setupPrimary({
    exec: nodeUrl().fileURLToPath(new URL('./bin.js', import.meta.url)),
    args: ['serve', ...args],
    serialization: 'advanced',
    silent: true,
  });
  const stopRelay = settings.bus === null ? clusterRelay(cluster) : () => undefined;
  const workers: Worker[] = [];
  let stopping = false;
  const exits = [];
  for (let i = 0; i < settings.workers; i++) {
    const worker = cluster.fork();
    worker.process.stdout?.pipe(io.stdout, { end: false });
    worker.process.stderr?.pipe(io.stderr, { end: false });
    workers.push(worker);
    exits.push(
      new Promise<boolean>((resolve) =>
        worker.once('exit', (code, signal) => {
          if (!stopping) {
            logger.log('warn', 'worker-exit', 'worker exited', {
              pid: worker.process.pid,
              code,
              signal,
            });
          }
          resolve(stopping);
        }),
      ),
    );
  }
  logger.log('info', 'workers', `started ${settings.workers} workers`, {
    workers: settings.workers,
    bus: settings.bus?.kind ?? 'cluster-ipc',
  });
  const allDied = Promise.all(exits).then((results) => !results.some(Boolean));
  const aborted = new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const first = await Promise.race([aborted.then(() => 'abort' as const), allDied]);
  stopping = true;
  for (const worker of workers) {
    if (!worker.isDead()) worker.process.kill('SIGTERM');
  }
  await Promise.all(exits);
  stopRelay();
  return first === 'abort' ? ExitCode.Ok : ExitCode.Failure;
}
