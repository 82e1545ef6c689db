/**
 * The node:cluster bus: the workers of one machine share topics through the primary over IPC,
 * with no Redis or NATS. This is what `ironsock serve --workers N` uses when no `--redis`/`--nats`
 * is given. Every bus message a worker publishes goes to the primary, which relays it to every
 * other worker; a worker keeps the messages of the channels it subscribed.
 *
 * IPC delivers in order and does not drop messages while both processes live, so this bus has
 * no outages to report; a worker that dies loses its connections and its subscriptions with it.
 * Payloads cross IPC as bytes under `serialization: 'advanced'` (set it in `cluster.setupPrimary`)
 * and as base64 under the default JSON serialization.
 *
 * @example
 * // primary
 * cluster.setupPrimary({ serialization: 'advanced' });
 * clusterRelay(cluster);
 * for (let i = 0; i < 4; i++) cluster.fork();
 * // worker
 * const wss = new WebSocketServer({ port: 8080, pubsub: { adapter: clusterAdapter() } });
 */
import type { Cluster, Worker } from 'node:cluster';
import type { BusAdapter } from './adapter.js';

const TAG = 'ironsock.bus';

interface BusIpcMessage {
  [TAG]: 1;
  channel: string;
  data: Uint8Array | string;
}

function isBusMessage(value: unknown): value is BusIpcMessage {
  return typeof value === 'object' && value !== null && (value as BusIpcMessage)[TAG] === 1;
}

/**
 * Primary side: relays bus messages between the workers of `cluster` (present and future).
 * Returns a function that stops relaying.
 */
export function clusterRelay(cluster: Cluster): () => void {
  const onMessage = (from: Worker, message: unknown): void => {
    if (!isBusMessage(message)) return;
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker !== undefined && worker !== from && worker.isConnected()) {
        worker.send(message);
      }
    }
  };
  cluster.on('message', onMessage);
  return () => {
    cluster.off('message', onMessage);
  };
}

/**
 * Worker side: the adapter of this worker. Throws if the process has no IPC channel (not
 * started by node:cluster or `child_process.fork`).
 */
export function clusterAdapter(): BusAdapter {
  if (typeof process.send !== 'function') {
    throw new Error('clusterAdapter() needs an IPC channel: run it in a node:cluster worker');
  }
  const advanced = process.env.NODE_CHANNEL_SERIALIZATION_MODE === 'advanced';
  const channels = new Set<string>();
  let onMessage: ((message: unknown) => void) | null = null;
  return {
    name: 'cluster',
    open(sink) {
      onMessage = (message: unknown) => {
        if (!isBusMessage(message) || !channels.has(message.channel)) return;
        const data =
          typeof message.data === 'string' ? Buffer.from(message.data, 'base64') : message.data;
        sink.message(message.channel, data);
      };
      process.on('message', onMessage);
      return Promise.resolve();
    },
    subscribe(channel) {
      channels.add(channel);
      return Promise.resolve();
    },
    unsubscribe(channel) {
      channels.delete(channel);
      return Promise.resolve();
    },
    publish(channel, message) {
      const data = advanced ? message : Buffer.from(message).toString('base64');
      process.send?.({ [TAG]: 1, channel, data } satisfies BusIpcMessage);
      // Like Redis and NATS, a subscriber also gets its own publishes (the bus drops its own
      // data and needs its own liveness probe back).
      if (channels.has(channel) && onMessage !== null) {
        const deliver = onMessage;
        queueMicrotask(() => deliver({ [TAG]: 1, channel, data: message }));
      }
    },
    close() {
      if (onMessage !== null) process.off('message', onMessage);
      onMessage = null;
      channels.clear();
      return Promise.resolve();
    },
  };
}
