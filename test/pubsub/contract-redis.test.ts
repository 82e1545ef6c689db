import { Cluster, Redis } from 'ioredis';
import { redisAdapter } from '../../src/pubsub/redis.js';
import { runContract } from './contract.js';
import { redisCli, redisGate, startRedis, startRedisCluster } from './servers.js';

/** Channels with subscribers under `prefix`, as Redis sees them. */
function channels(port: number, command: string[], prefix: string): string[] {
  return redisCli(port, [...command, `${prefix}*`])
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}

runContract('Redis Pub/Sub (redis-server, ioredis)', redisGate(), async () => {
  const server = await startRedis();
  const clients: Redis[] = [];
  return {
    adapter: () => {
      const client = new Redis(server.port, '127.0.0.1', { lazyConnect: false });
      clients.push(client);
      return Promise.resolve(redisAdapter(client));
    },
    serverChannels: (prefix) =>
      Promise.resolve(channels(server.port, ['pubsub', 'channels'], prefix)),
    cleanup: async () => {
      for (const client of clients) client.disconnect();
      await server.stop();
    },
  };
});

runContract(
  'Redis sharded Pub/Sub (3-node Redis Cluster, SSUBSCRIBE/SPUBLISH)',
  redisGate(),
  async () => {
    const cluster = await startRedisCluster(3);
    const clients: Cluster[] = [];
    return {
      adapter: () => {
        const client = new Cluster(
          cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
          { shardedSubscribers: true },
        );
        clients.push(client);
        return Promise.resolve(redisAdapter(client, { sharded: true }));
      },
      serverChannels: (prefix) =>
        Promise.resolve(
          cluster.ports
            .flatMap((port) => channels(port, ['pubsub', 'shardchannels'], prefix))
            .sort(),
        ),
      cleanup: async () => {
        for (const client of clients) client.disconnect();
        await cluster.stop();
      },
    };
  },
);
