/**
 * The topic hub of one `WebSocketServer`: exact-match topics, the subscriptions of its
 * connections, local fan-out, and (with an adapter) the bus to other nodes.
 *
 * Local fan-out is the encode-once path of `broadcast()`: one frame per publish, the same bytes
 * written to every open subscriber with the send gate's `writeEncoded`, which joins the
 * subscriber's open write batch (or its engine backlog) so that a publish keeps its place among
 * that subscriber's direct `send`s. What one publisher publishes to one topic therefore reaches
 * every subscriber in publish order, locally and (per node and channel) through the bus.
 *
 * Slow subscribers: a subscriber whose buffered output is at its `maxBufferedAmount` gets the
 * server's `bufferedAmountPolicy`: `'close'` (default) fails it with Close 1008 and drops its
 * socket, `'reject'` skips this message for it only. Either way the hub emits `'overflow'`, and
 * the other subscribers are not slowed (nothing waits for a slow socket, nothing queues for it
 * past its cap).
 *
 * Events: `'overflow'` ({@link OverflowInfo}), `'gap'` (GapInfo, bus.ts), `'bus'`
 * (BusStateInfo, bus.ts), `'error'` (adapter failures; only emitted when listened for).
 */
import { nodeEvents } from '../node/builtins.js';
import type { WebSocket } from '../node/websocket.js';
import { toSendBytes, type SendData } from '../node/websocket.js';
import { encodeServerFrame } from '../node/server.js';
import { writeEncoded } from '../node/send-gate.js';
import { UsageError } from '../protocol/errors.js';
import {
  DEFAULT_BUFFERED_AMOUNT_POLICY,
  DEFAULT_MAX_BUFFERED_AMOUNT,
  DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION,
  DEFAULT_MAX_TOPIC_BYTES,
  type BufferedAmountPolicy,
} from '../node/limits.js';
import type { BusAdapter } from './adapter.js';
import { Bus, type BusOptions, type BusStats } from './bus.js';

/** Pub/sub options of a `WebSocketServer` (`new WebSocketServer({ pubsub: {...} })`). */
export interface PubSubOptions extends BusOptions {
  /**
   * Carries topics to other nodes (processes or machines). Default: none, topics stay in this
   * process. See `ironsock/pubsub/redis`, `ironsock/pubsub/nats`, `memoryBus()`,
   * `clusterAdapter()`.
   */
  adapter?: BusAdapter;
  /** Longest topic, in UTF-8 bytes. Default 256 (limits.ts). */
  maxTopicBytes?: number;
  /** Most topics one connection may hold. Default 1024 (limits.ts). */
  maxSubscriptionsPerConnection?: number;
}

/** Options of `publish`. */
export interface PublishOptions {
  /** Send as binary (default: true for bytes, false for strings). */
  binary?: boolean;
  /** Do not deliver to this connection (what `ws.publish` uses to skip the sender). */
  except?: WebSocket | null;
  /** Deliver to this node's subscribers only; nothing goes to the bus. Default false. */
  local?: boolean;
}

/** A subscriber was at its buffered-output cap when a message for it was published. */
export interface OverflowInfo {
  topic: string;
  client: WebSocket;
  /** `'closed'` under the `'close'` policy (Close 1008), `'skipped'` otherwise. */
  action: 'closed' | 'skipped';
}

/** Counters of the hub (monotonic since the server started) plus the bus's. */
export interface PubSubStats extends Partial<BusStats> {
  /** `publish` calls. */
  published: number;
  /** Messages written to local subscribers. */
  delivered: number;
  /** Deliveries skipped because the subscriber was at its cap ('reject' policy) or mid-fragment. */
  skipped: number;
  /** Subscribers closed with 1008 because they were at their cap. */
  closed: number;
}

/** What the hub needs to know of its server's per-connection settings. */
export interface HubSettings {
  maxBufferedAmount?: number;
  bufferedAmountPolicy?: BufferedAmountPolicy;
}

const OPEN = 1;
const CLOSED = 3;

export class TopicHub extends nodeEvents.EventEmitter {
  private readonly topics = new Map<string, Set<WebSocket>>();
  private readonly byClient = new Map<WebSocket, Set<string>>();
  private readonly maxTopicBytes: number;
  private readonly maxPerClient: number;
  private readonly cap: number;
  private readonly closeWhenFull: boolean;
  private readonly counters = { published: 0, delivered: 0, skipped: 0, closed: 0 };
  /** The bus to other nodes, when an adapter was given. */
  readonly bus: Bus | null;
  /**
   * While a bus batch is delivered: the sockets corked so far. A batch of 1,024 small messages
   * then leaves each subscriber's socket as one writev instead of 1,024 writes (Node's
   * cork/uncork nest, so this never reorders anything the driver writes itself).
   */
  private holding: Array<{ cork(): void; uncork(): void }> | null = null;
  private readonly corked = new WeakSet<object>();

  constructor(settings: HubSettings, options: PubSubOptions = {}) {
    super();
    this.maxTopicBytes = options.maxTopicBytes ?? DEFAULT_MAX_TOPIC_BYTES;
    this.maxPerClient =
      options.maxSubscriptionsPerConnection ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION;
    this.cap = settings.maxBufferedAmount ?? DEFAULT_MAX_BUFFERED_AMOUNT;
    this.closeWhenFull =
      (settings.bufferedAmountPolicy ?? DEFAULT_BUFFERED_AMOUNT_POLICY) === 'close';
    this.bus =
      options.adapter === undefined
        ? null
        : new Bus(
            options.adapter,
            {
              deliver: (topic, payload, isBinary) => {
                this.fanOut(topic, payload, isBinary, null);
              },
              batchStart: () => {
                this.holding = [];
              },
              batchEnd: () => this.releaseHeld(),
              gap: (info) => this.emit('gap', info),
              state: (info) => this.emit('bus', info),
              error: (error) => {
                if (this.listenerCount('error') > 0) this.emit('error', error);
              },
            },
            options,
          );
  }

  /** Counters of local delivery and of the bus. */
  get stats(): PubSubStats {
    return this.bus === null ? { ...this.counters } : { ...this.counters, ...this.bus.stats };
  }

  /** This node's id on the bus, or null without an adapter. */
  get nodeId(): string | null {
    return this.bus === null ? null : this.bus.nodeId;
  }

  /**
   * Subscribes `client` to `topic`. Returns false if it already was, or if the connection is
   * already closed (nothing to clean up later).
   * @throws TypeError for a topic that is not a non-empty string; UsageError `TOPIC_TOO_LONG`
   *   past `maxTopicBytes`, `TOO_MANY_SUBSCRIPTIONS` past `maxSubscriptionsPerConnection`.
   */
  subscribe(client: WebSocket, topic: string): boolean {
    this.checkTopic(topic);
    if (client.readyState === CLOSED) return false;
    let mine = this.byClient.get(client);
    if (mine?.has(topic)) return false;
    if (mine === undefined) {
      mine = new Set();
      this.byClient.set(client, mine);
    } else if (mine.size >= this.maxPerClient) {
      throw new UsageError(
        'TOO_MANY_SUBSCRIPTIONS',
        `a connection may subscribe to at most ${this.maxPerClient} topics`,
      );
    }
    mine.add(topic);
    let subscribers = this.topics.get(topic);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.topics.set(topic, subscribers);
      this.bus?.addTopic(topic);
    }
    subscribers.add(client);
    return true;
  }

  /** Unsubscribes `client` from `topic`; returns false if it was not subscribed. */
  unsubscribe(client: WebSocket, topic: string): boolean {
    const mine = this.byClient.get(client);
    if (mine === undefined || !mine.delete(topic)) return false;
    if (mine.size === 0) this.byClient.delete(client);
    this.dropSubscriber(topic, client);
    return true;
  }

  /** Whether `client` is subscribed to `topic`. */
  isSubscribed(client: WebSocket, topic: string): boolean {
    return this.byClient.get(client)?.has(topic) ?? false;
  }

  /** The topics of `client`, in subscription order (a copy). */
  topicsOf(client: WebSocket): string[] {
    const mine = this.byClient.get(client);
    return mine === undefined ? [] : [...mine];
  }

  /** Ends every subscription of `client` (called when it closes). */
  removeClient(client: WebSocket): void {
    const mine = this.byClient.get(client);
    if (mine === undefined) return;
    this.byClient.delete(client);
    for (const topic of mine) this.dropSubscriber(topic, client);
  }

  /** Local subscribers of `topic` (this node only). */
  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  /** Number of topics with at least one local subscriber. */
  get topicCount(): number {
    return this.topics.size;
  }

  /** Number of connections with at least one subscription. */
  get subscriberConnections(): number {
    return this.byClient.size;
  }

  /**
   * Publishes to every subscriber of `topic`: local ones now (encode once, same bytes to all),
   * other nodes through the bus with this turn's batch. Returns the number of local subscribers
   * the message was written to.
   * @throws TypeError for data that is not a string or binary, or an invalid topic;
   *   UsageError `TOPIC_TOO_LONG`.
   */
  publish(topic: string, data: SendData, options: PublishOptions = {}): number {
    this.checkTopic(topic);
    const payload = toSendBytes(data);
    const isBinary = options.binary ?? typeof data !== 'string';
    this.counters.published++;
    if (this.bus !== null && options.local !== true) this.bus.send(topic, payload, isBinary);
    return this.fanOut(topic, payload, isBinary, options.except ?? null);
  }

  /** Resolves once the bus is open and every bus subscription asked for so far is active. */
  async ready(): Promise<void> {
    await this.bus?.ready();
  }

  /** Closes the bus (flushing what is pending); local topics keep working. */
  async close(): Promise<void> {
    await this.bus?.close();
  }

  private fanOut(
    topic: string,
    payload: Uint8Array,
    isBinary: boolean,
    except: WebSocket | null,
  ): number {
    const subscribers = this.topics.get(topic);
    if (subscribers === undefined) return 0;
    let frame: Uint8Array | null = null;
    let count = 0;
    for (const client of subscribers) {
      if (client === except || client.readyState !== OPEN) continue;
      const driver = client._driver;
      if (driver === null) continue;
      frame ??= encodeServerFrame(payload, isBinary);
      if (this.holding !== null) this.hold(client);
      if (writeEncoded(driver, frame, payload, isBinary)) {
        count++;
        continue;
      }
      // Not written: at the cap (policy applied by the send gate), or in the middle of a
      // fragmented send (skipped: a whole message cannot go between two fragments).
      if (client.readyState !== OPEN) {
        this.counters.closed++;
        this.emit('overflow', { topic, client, action: 'closed' } satisfies OverflowInfo);
      } else {
        this.counters.skipped++;
        if (driver.bufferedAmount >= this.cap || !this.closeWhenFull) {
          this.emit('overflow', { topic, client, action: 'skipped' } satisfies OverflowInfo);
        }
      }
    }
    this.counters.delivered += count;
    return count;
  }

  private hold(client: WebSocket): void {
    const socket = client._socket as { cork?(): void; uncork?(): void } | null;
    if (socket === null || typeof socket.cork !== 'function' || this.corked.has(socket)) return;
    socket.cork();
    this.corked.add(socket);
    this.holding!.push(socket as { cork(): void; uncork(): void });
  }

  private releaseHeld(): void {
    const held = this.holding;
    this.holding = null;
    if (held === null) return;
    for (const socket of held) {
      this.corked.delete(socket);
      socket.uncork();
    }
  }

  private dropSubscriber(topic: string, client: WebSocket): void {
    const subscribers = this.topics.get(topic);
    if (subscribers === undefined) return;
    subscribers.delete(client);
    if (subscribers.size === 0) {
      this.topics.delete(topic);
      this.bus?.removeTopic(topic);
    }
  }

  private checkTopic(topic: string): void {
    if (typeof topic !== 'string' || topic.length === 0) {
      throw new TypeError('topic must be a non-empty string');
    }
    if (topic.length > this.maxTopicBytes || Buffer.byteLength(topic) > this.maxTopicBytes) {
      throw new UsageError('TOPIC_TOO_LONG', `topic longer than ${this.maxTopicBytes} bytes`);
    }
  }
}
