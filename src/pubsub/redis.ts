/**
 * `ironsock/pubsub/redis`: carries topics over Redis Pub/Sub (or sharded Pub/Sub on Redis 7 and
 * Redis Cluster) with the user's own `ioredis` client. ironsock itself depends on nothing:
 * `ioredis` (>= 5.4) is an optional peer dependency, needed only by whoever imports this file.
 *
 * Why ioredis: measured on this machine (loopback redis-server 7.0, 3,000 PUBLISH of a 4 KiB
 * batch, subscriber in buffer mode, two rounds), ioredis 5.11 moved 17,000-22,000 batches/s
 * against 12,000-13,500 for node-redis 6.3; it resubscribes on reconnect by itself
 * (`autoResubscribe`), delivers raw Buffers (`messageBuffer`, no string decoding), and its
 * Cluster client carries sharded subscriptions (`shardedSubscribers`).
 *
 * Redis Pub/Sub delivers at most once: messages published while the subscriber connection is
 * down are lost. The bus reports every such loss with its exact size (`'gap'` events), and drops
 * the duplicates a resent PUBLISH can cause. For a resubscription within a second or two, keep
 * ioredis's default `retryStrategy` (50 ms steps up to 2 s) or a faster one.
 *
 * @example
 * import Redis from 'ioredis';
 * import { redisAdapter } from 'ironsock/pubsub/redis';
 * const wss = new WebSocketServer({ port: 8080, pubsub: { adapter: redisAdapter(new Redis()) } });
 */
import type { Cluster, Redis } from 'ioredis';
import type { BusAdapter, BusSink } from './adapter.js';

/** An ioredis client or cluster client. */
export type RedisClient = Redis | Cluster;

/** Options of {@link redisAdapter}. */
export interface RedisAdapterOptions {
  /**
   * The connection that subscribes (Redis needs one of its own). Default: `client.duplicate()`,
   * created, connected and closed by the adapter. A given one is never closed by the adapter.
   */
  subscriber?: RedisClient;
  /**
   * Sharded Pub/Sub (Redis 7: `SPUBLISH`/`SSUBSCRIBE`): a message travels only within the shard
   * that owns its channel's hash slot instead of to every node of a cluster. With a Cluster
   * client, create it with `shardedSubscribers: true`. Default false.
   */
  sharded?: boolean;
}

type Listener = (...args: any[]) => void;
/** Channels remembered as routed (cluster); past this the memory is simply cleared. */
const MAX_WARM = 10_000;
interface Emitting {
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
}
interface PubSubCommands {
  publish(channel: string, message: Buffer): Promise<unknown>;
  spublish(channel: string, message: Buffer): Promise<unknown>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  ssubscribe(...channels: string[]): Promise<unknown>;
  sunsubscribe(...channels: string[]): Promise<unknown>;
  ping(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
  quit(): Promise<unknown>;
  status: string;
}

/**
 * Creates the Redis adapter over `client` (used to publish; it is never closed by the adapter).
 * @throws TypeError if `client` does not look like an ioredis client.
 */
export function redisAdapter(client: RedisClient, options: RedisAdapterOptions = {}): BusAdapter {
  const publisher = client as unknown as PubSubCommands & Emitting;
  if (typeof publisher.publish !== 'function' || typeof publisher.on !== 'function') {
    throw new TypeError('redisAdapter expects an ioredis client (new Redis(...) or Cluster)');
  }
  const sharded = options.sharded === true;
  const ownsSubscriber = options.subscriber === undefined;
  let subscriber: (PubSubCommands & Emitting) | null = null;
  let sink: BusSink | null = null;
  const listeners: Array<[string, Listener]> = [];
  const channels = new Set<string>();
  let closed = false;

  const onMessage: Listener = (channel: Buffer, message: Buffer) => {
    sink?.message(channel.toString('utf8'), message);
  };
  const onClose: Listener = () => {
    if (!closed) sink?.down('redis subscriber connection closed');
  };
  const onReady: Listener = () => {
    // ioredis resubscribes right after 'ready'; a PING queued behind those commands answers
    // once every channel is subscribed again.
    setImmediate(() => {
      if (closed || subscriber === null) return;
      subscriber.ping().then(
        () => sink?.up(),
        () => undefined,
      );
    });
  };
  const onError: Listener = (error: Error) => {
    sink?.error(error);
  };
  const cluster = typeof (client as { nodes?: unknown }).nodes === 'function';
  const warm = new Set<string>();
  const warming = new Map<string, Buffer[]>();
  const send = (channel: string, bytes: Buffer): Promise<unknown> =>
    sharded ? publisher.spublish(channel, bytes) : publisher.publish(channel, bytes);
  const publishFailed = (error: unknown): void => {
    sink?.error(error instanceof Error ? error : new Error(String(error)));
  };

  return {
    name: 'redis',
    async open(busSink) {
      sink = busSink;
      subscriber =
        options.subscriber === undefined
          ? ((client as unknown as { duplicate(): unknown }).duplicate() as PubSubCommands &
              Emitting)
          : (options.subscriber as unknown as PubSubCommands & Emitting);
      const events: Array<[string, Listener]> = [
        [sharded ? 'smessageBuffer' : 'messageBuffer', onMessage],
        ['close', onClose],
        ['ready', onReady],
        ['error', onError],
      ];
      for (const [event, listener] of events) {
        subscriber.on(event, listener);
        listeners.push([event, listener]);
      }
      // Both connections ready (a Cluster client also has its slot map): a publish issued before
      // that waits in the offline queue or takes a MOVED detour, and could overtake no other.
      await Promise.all([subscriber.ping(), publisher.ping()]);
    },
    async subscribe(channel) {
      if (subscriber === null) throw new Error('redis adapter is not open');
      channels.add(channel);
      if (sharded) await subscriber.ssubscribe(channel);
      else await subscriber.subscribe(channel);
    },
    async unsubscribe(channel) {
      if (subscriber === null || !channels.delete(channel)) return;
      if (sharded) await subscriber.sunsubscribe(channel);
      else await subscriber.unsubscribe(channel);
    },
    publish(channel, message) {
      const bytes = Buffer.isBuffer(message)
        ? message
        : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
      if (!cluster) {
        send(channel, bytes).catch(publishFailed);
        return;
      }
      // Cluster: the first publish to a channel may take a detour (a connection to the owning
      // node being opened, a MOVED redirection) that a second one would overtake. Later
      // publishes wait for the first to land, then go out pipelined in order.
      const queued = warming.get(channel);
      if (queued !== undefined) {
        queued.push(bytes);
        return;
      }
      if (warm.has(channel)) {
        send(channel, bytes).catch(publishFailed);
        return;
      }
      warming.set(channel, []);
      send(channel, bytes)
        .catch(publishFailed)
        .finally(() => {
          const waiting = warming.get(channel) ?? [];
          warming.delete(channel);
          if (warm.size >= MAX_WARM) warm.clear();
          warm.add(channel);
          for (const next of waiting) send(channel, next).catch(publishFailed);
        });
    },
    reconnect() {
      // Drop the deaf connection; ioredis reconnects and resubscribes every channel.
      subscriber?.disconnect(true);
    },
    async close() {
      if (closed) return;
      closed = true;
      const current = subscriber;
      subscriber = null;
      if (current === null) return;
      for (const [event, listener] of listeners) current.off(event, listener);
      if (ownsSubscriber) {
        await current.quit().catch(() => current.disconnect());
      } else if (channels.size > 0) {
        const list = [...channels];
        await (sharded ? current.sunsubscribe(...list) : current.unsubscribe(...list)).catch(
          () => undefined,
        );
      }
      channels.clear();
      sink = null;
    },
  };
}
