/**
 * The bus adapter contract: what carries pub/sub messages between nodes (processes or machines).
 * The in-process bus, node:cluster IPC, Redis Pub/Sub and NATS implement it alike; one contract
 * suite (`test/pubsub/contract.ts`) runs against each on a real server.
 *
 * An adapter moves opaque byte strings on named channels and reports the health of its
 * receiving link. Everything else is the bus's job (`bus.ts`), identical for every adapter:
 * channel names, batching, the envelope with node id and sequence numbers, gap detection, the
 * echo filter and the liveness probe. Local subscribers never go through an adapter.
 */

/** Where a received message sits in a durable log (e.g. a Redis Streams entry id). */
export type BusPosition = string;

/** What an adapter reports to the bus. Implementations of the bus never throw from these. */
export interface BusSink {
  /**
   * One bus message arrived on a subscribed channel. `position` is given by durable adapters
   * (a later Redis Streams adapter) and absent for Redis Pub/Sub, NATS core and IPC.
   */
  message(channel: string, message: Uint8Array, position?: BusPosition): void;
  /** The receiving link is lost: messages published from now on may be lost until `up()`. */
  down(reason: string): void;
  /** Receiving again on every subscribed channel (after a reconnect and resubscription). */
  up(): void;
  /** A failure that does not stop the adapter (a failed publish, a protocol error). */
  error(error: Error): void;
}

/**
 * A transport for the bus. Channel names are printable strings chosen by the bus (prefix +
 * topic, or prefix + partition); an adapter that cannot carry some characters encodes them.
 *
 * Delivery contract (what the bus relies on):
 * - at most once: a message is never delivered twice by the adapter itself (the bus drops
 *   duplicates anyway);
 * - order: the messages one adapter publishes to one channel arrive at every subscriber in
 *   publish order;
 * - loss only around a `down()`: outside a reported outage nothing is lost silently. Whatever
 *   happens, the bus's sequence numbers find the loss and report its exact size.
 *
 * Room for durable adapters (a later Redis Streams adapter): a `resumable` adapter passes a
 * `position` with each message and, after its own reconnects, resumes each channel after the
 * last position it delivered (so nothing is lost and the bus sees no gap); `subscribe(channel,
 * from)` is the hook for resuming from a position kept elsewhere (e.g. across a node restart).
 * The bus does not pass `from` today; Pub/Sub, NATS core, IPC and in-process adapters ignore it.
 */
export interface BusAdapter {
  /** Short name for logs and errors: `'memory'`, `'cluster'`, `'redis'`, `'nats'`. */
  readonly name: string;
  /** True when messages carry positions and `subscribe(channel, from)` can resume. */
  readonly resumable?: boolean;
  /** Called once, before anything else. Resolves when the adapter can publish and subscribe. */
  open(sink: BusSink): Promise<void>;
  /**
   * Starts receiving `channel`; resolves once the subscription is active on the server. The bus
   * calls it once per channel (it counts interest itself); the adapter keeps the subscription
   * across reconnects.
   */
  subscribe(channel: string, from?: BusPosition): Promise<void>;
  /** Stops receiving `channel`. */
  unsubscribe(channel: string): Promise<void>;
  /**
   * Sends one bus message. Never throws: a failure goes to `sink.error`. The adapter owns
   * `message` from now on (the bus never reuses it).
   */
  publish(channel: string, message: Uint8Array): void;
  /**
   * Drops and re-establishes the receiving link: the bus calls it when the liveness probe finds
   * a subscription that is connected but receives nothing. Optional.
   */
  reconnect?(): void;
  /** Stops; releases what the adapter created itself (never the user's own client). */
  close(): Promise<void>;
}
