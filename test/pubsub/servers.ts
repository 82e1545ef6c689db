/**
 * Real bus servers for the pub/sub tests: Debian's redis-server (standalone, or a small Redis
 * Cluster for sharded Pub/Sub) and nats-server, started on loopback ports with a temporary
 * directory and stopped with the test. Under CI=true a missing server fails the suite (see
 * `requirePeer`); elsewhere the suite is skipped with one line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  requirePeer,
  spawnReady,
  type PeerGate,
  type ReadyProcess,
} from '../helpers/peers.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_CLI = '/usr/bin/redis-cli';
export const NATS_SERVER = '/usr/sbin/nats-server';

function probe(command: string, args: string[]): true | string {
  const out = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  if (out.error) return `${command}: ${out.error.message}`;
  if (out.status !== 0) return `${command} ${args.join(' ')} exited ${out.status}`;
  return true;
}

/** Gate: redis-server 7 (sharded Pub/Sub needs 7.0) and the ioredis dev dependency. */
export function redisGate(): PeerGate {
  return requirePeer('redis-server', () => {
    const ok = probe(REDIS_SERVER, ['--version']);
    if (ok !== true) return ok;
    const version = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' }).stdout;
    const major = Number(/v=(\d+)/.exec(version)?.[1] ?? 0);
    return major >= 7 ? true : `redis-server ${major} is older than 7`;
  });
}

/** Gate: nats-server runs. */
export function natsGate(): PeerGate {
  return requirePeer('nats-server', () => probe(NATS_SERVER, ['--version']));
}

/** A bus server process that can be killed and started again on the same port. */
export interface BusServer {
  readonly port: number;
  readonly url: string;
  /** The running process (null while stopped). */
  process(): ReadyProcess | null;
  /** SIGKILL (no goodbye to clients) and wait for the exit. */
  kill(): Promise<void>;
  /** Starts again on the same port. */
  start(): Promise<void>;
  /** Stops for good and removes the temporary directory. */
  stop(): Promise<void>;
}

async function managed(
  prefix: string,
  launch: (port: number, dir: string) => Promise<ReadyProcess>,
  scheme: string,
): Promise<BusServer> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const port = await freePort();
  let current: ReadyProcess | null = null;
  const start = async (): Promise<void> => {
    current = await launch(port, dir);
  };
  await start();
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    process: () => current,
    async kill() {
      const running = current;
      current = null;
      if (running === null) return;
      running.child.kill('SIGKILL');
      await running.exited();
    },
    start,
    async stop() {
      const running = current;
      current = null;
      await running?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function redisArgs(port: number, dir: string, extra: string[] = []): string[] {
  return [
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
    '--protected-mode',
    'no',
    ...extra,
  ];
}

/** A standalone redis-server on a free loopback port. */
export function startRedis(): Promise<BusServer> {
  return managed(
    'ironsock-redis-',
    (port, dir) =>
      spawnReady(REDIS_SERVER, redisArgs(port, dir), { ready: /Ready to accept connections/ }),
    'redis',
  );
}

/** A nats-server on a free loopback port. */
export function startNats(): Promise<BusServer> {
  return managed(
    'ironsock-nats-',
    (port) =>
      spawnReady(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port)], {
        ready: /Server is ready/,
        readyOnStderr: true,
      }),
    'nats',
  );
}

/** Runs redis-cli and returns its stdout (throws on failure). */
export function redisCli(port: number, args: string[]): string {
  const out = spawnSync(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (out.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${out.stderr}`);
  return out.stdout;
}

/** A Redis Cluster of `size` masters (no replicas) on loopback, for sharded Pub/Sub. */
export interface RedisCluster {
  readonly ports: number[];
  stop(): Promise<void>;
}

/** Starts a Redis Cluster of `size` masters and waits for `cluster_state:ok`. */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'ironsock-redis-cluster-'));
  const nodes: ReadyProcess[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const port = await freePort();
      const busPort = await freePort();
      ports.push(port);
      nodes.push(
        await spawnReady(
          REDIS_SERVER,
          redisArgs(port, dir, [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            '2000',
          ]),
          { ready: /Ready to accept connections/ },
        ),
      );
    }
    redisCli(ports[0], [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const states = ports.map((port) =>
        /cluster_state:ok/.test(redisCli(port, ['cluster', 'info'])),
      );
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error('redis cluster did not reach cluster_state:ok');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    ports,
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
