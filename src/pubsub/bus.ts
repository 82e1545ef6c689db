/**
 * The bus: what every adapter shares. It carries a node's publishes to the other nodes and
 * theirs to this node's hub, on top of any `BusAdapter`:
 *
 * - channels: one bus channel per topic (`<prefix>t:<topic>`), or, with `partitions: N`, topics
 *   hashed onto N channels (`<prefix>p:<n>`); a channel is subscribed while a local subscriber
 *   has a topic on it. Changes are reconciled once per turn, so subscribe/unsubscribe churn costs
 *   no bus traffic.
 * - batching: every publish of one event-loop turn for one channel leaves as one bus message
 *   (or earlier, at `maxBatchMessages`/`maxBatchBytes`).
 * - the envelope (`envelope.ts`): node id + per-node, per-channel sequence numbers. A receiver
 *   drops its own node's messages (local subscribers were served in-process), drops anything it
 *   has already seen (nothing is delivered twice), and reports a gap with the exact number of
 *   messages lost when numbers are skipped.
 * - liveness: a probe published to the node's private channel must come back within
 *   `probeTimeout`; otherwise the subscription is declared stalled and the adapter reconnects.
 *
 * Gap detection needs a later message from the same node on the same channel: a loss at the very
 * end of a burst is reported when that node next publishes on that channel.
 */
import { nodeCrypto } from '../node/builtins.js';
import type { BusAdapter, BusSink } from './adapter.js';
import {
  BatchWriter,
  EnvelopeKind,
  MAX_NODE_ID,
  encodeProbe,
  forEachMessage,
  readHeader,
} from './envelope.js';
import {
  DEFAULT_BUS_BATCH_BYTES,
  DEFAULT_BUS_BATCH_MESSAGES,
  DEFAULT_BUS_NODE_EXPIRY_MS,
  DEFAULT_BUS_PROBE_INTERVAL_MS,
  DEFAULT_BUS_PROBE_TIMEOUT_MS,
} from '../node/limits.js';

/** Options of the bus (given as `pubsub` options of the server). Durations in ms. */
export interface BusOptions {
  /** This node's id (1-64 printable ASCII characters). Default: 12 random hex digits per process start. */
  nodeId?: string;
  /** Prefix of every channel name. Default `'ironsock:'`. Nodes that share rooms share it. */
  prefix?: string;
  /**
   * 0 (default): one bus channel per topic. N > 0: topics are hashed onto N channels, so a node
   * holds at most N + 1 bus subscriptions however many topics it has; a node then also receives
   * (and drops) messages of topics that share a partition with its own. Every node on a bus
   * must use the same value.
   */
  partitions?: number;
  /** Most messages in one bus message. Default 1024. */
  maxBatchMessages?: number;
  /** Most topic + payload bytes in one bus message (a single larger message still goes alone). Default 256 KiB. */
  maxBatchBytes?: number;
  /** Period of the liveness probe; 0 disables it. Default 5000. */
  probeInterval?: number;
  /** Time a probe has to come back before the subscription is declared stalled. Default 3000. */
  probeTimeout?: number;
  /** A remote node silent on a channel for this long is forgotten (gap state). Default 10 min. */
  nodeExpiry?: number;
}

/** A loss found by sequence numbers: `lost` messages from `node` on `channel` never arrived. */
export interface GapInfo {
  node: string;
  channel: string;
  lost: number;
}

/** The bus link's state changes: `down`/`up` as the adapter reports them, `stalled` from the probe. */
export interface BusStateInfo {
  state: 'down' | 'up' | 'stalled';
  reason?: string;
}

/** Counters of the bus (monotonic since start). */
export interface BusStats {
  /** Bus messages (batches) sent and received (own echoes and probes excluded). */
  batchesSent: number;
  batchesReceived: number;
  /** Messages sent to and received from other nodes. */
  messagesSent: number;
  messagesReceived: number;
  /** Gaps found and the total number of messages they lost. */
  gaps: number;
  lost: number;
  /** Messages dropped because they had already been delivered. */
  duplicates: number;
  /** Bus messages that were not well-formed envelopes. */
  malformed: number;
  /** Times the liveness probe found the subscription stalled. */
  stalls: number;
  /**
   * Messages not sent to other nodes: published while the adapter was still opening and its
   * batch was already full, or after the adapter failed to open.
   */
  unsent: number;
}

/** What the bus tells its owner (the hub). */
export interface BusOwner {
  deliver(topic: string, payload: Buffer, isBinary: boolean): void;
  /** A batch of `deliver` calls begins / ends (the owner may hold writes back meanwhile). */
  batchStart(): void;
  batchEnd(): void;
  gap(info: GapInfo): void;
  state(info: BusStateInfo): void;
  error(error: Error): void;
}

interface ReceiveState {
  last: number;
  seen: number;
}
interface SendState {
  next: number;
  used: number;
}

const NODE_ID = /^[\x21-\x7e]{1,64}$/;

/** FNV-1a over UTF-16 code units: stable across nodes and processes. */
function hashTopic(topic: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    h ^= topic.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Bus {
  readonly nodeId: string;
  readonly stats: BusStats = {
    batchesSent: 0,
    batchesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    gaps: 0,
    lost: 0,
    duplicates: 0,
    malformed: 0,
    stalls: 0,
    unsent: 0,
  };
  private readonly adapter: BusAdapter;
  private readonly owner: BusOwner;
  private readonly idBytes: Buffer;
  private readonly prefix: string;
  private readonly partitions: number;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly probeInterval: number;
  private readonly probeTimeout: number;
  private readonly expiry: number;
  private readonly privateChannel: string;
  /** Channel → number of local topics on it. */
  private readonly interest = new Map<string, number>();
  /** Channels subscribed (or being subscribed) at the adapter. */
  private readonly active = new Set<string>();
  private readonly batches = new Map<string, BatchWriter>();
  private readonly sent = new Map<string, SendState>();
  private readonly received = new Map<string, ReceiveState>();
  private reconcileQueued = false;
  private flushQueued = false;
  private work: Promise<void> = Promise.resolve();
  private opened = false;
  private failed = false;
  private closed = false;
  private isDown = false;
  private probeToken = 0;
  private probeOutstanding = 0;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  private probeDeadline: ReturnType<typeof setTimeout> | null = null;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private readonly opening: Promise<void>;

  /** @throws TypeError for an invalid `nodeId`, `prefix` or `partitions`. */
  constructor(adapter: BusAdapter, owner: BusOwner, options: BusOptions = {}) {
    this.adapter = adapter;
    this.owner = owner;
    this.nodeId = options.nodeId ?? nodeCrypto.randomBytes(6).toString('hex');
    if (!NODE_ID.test(this.nodeId) || this.nodeId.length > MAX_NODE_ID) {
      throw new TypeError('pubsub nodeId must be 1-64 printable ASCII characters without spaces');
    }
    this.idBytes = Buffer.from(this.nodeId, 'latin1');
    this.prefix = options.prefix ?? 'ironsock:';
    if (typeof this.prefix !== 'string') throw new TypeError('pubsub prefix must be a string');
    this.partitions = options.partitions ?? 0;
    if (!Number.isInteger(this.partitions) || this.partitions < 0 || this.partitions > 65536) {
      throw new TypeError('pubsub partitions must be an integer from 0 to 65536');
    }
    this.maxMessages = Math.max(1, options.maxBatchMessages ?? DEFAULT_BUS_BATCH_MESSAGES);
    this.maxBytes = Math.max(1, options.maxBatchBytes ?? DEFAULT_BUS_BATCH_BYTES);
    this.probeInterval = options.probeInterval ?? DEFAULT_BUS_PROBE_INTERVAL_MS;
    this.probeTimeout = options.probeTimeout ?? DEFAULT_BUS_PROBE_TIMEOUT_MS;
    this.expiry = options.nodeExpiry ?? DEFAULT_BUS_NODE_EXPIRY_MS;
    this.privateChannel = `${this.prefix}n:${this.nodeId}`;
    this.opening = this.open();
    // A failed open is reported through the owner; `ready()` rethrows it.
    this.opening.catch((error: unknown) => {
      this.failed = true;
      this.stats.unsent += [...this.batches.values()].reduce((sum, b) => sum + b.count, 0);
      this.batches.clear();
      this.owner.error(asError(error));
    });
  }

  /** Resolves once the adapter is open and every subscription asked for so far is active. */
  async ready(): Promise<void> {
    await this.opening;
    for (;;) {
      const work = this.work;
      await work;
      if (work === this.work && !this.reconcileQueued) return;
      if (this.reconcileQueued) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The bus channel of `topic`. */
  channelOf(topic: string): string {
    return this.partitions === 0
      ? `${this.prefix}t:${topic}`
      : `${this.prefix}p:${hashTopic(topic) % this.partitions}`;
  }

  /** A topic got its first local subscriber. */
  addTopic(topic: string): void {
    const channel = this.channelOf(topic);
    this.interest.set(channel, (this.interest.get(channel) ?? 0) + 1);
    this.queueReconcile();
  }

  /** A topic lost its last local subscriber. */
  removeTopic(topic: string): void {
    const channel = this.channelOf(topic);
    const count = (this.interest.get(channel) ?? 0) - 1;
    if (count <= 0) this.interest.delete(channel);
    else this.interest.set(channel, count);
    this.queueReconcile();
  }

  /** Queues one message for the other nodes; it leaves with this turn's batch for its channel. */
  send(topic: string, payload: Uint8Array, isBinary: boolean): void {
    if (this.closed) return;
    if (this.failed) {
      this.stats.unsent++;
      return;
    }
    const channel = this.channelOf(topic);
    let batch = this.batches.get(channel);
    if (
      !this.opened &&
      batch !== undefined &&
      (batch.count >= this.maxMessages || batch.bytes >= this.maxBytes)
    ) {
      // Still opening: one full batch per channel waits, the rest is counted, not held.
      this.stats.unsent++;
      return;
    }
    if (batch === undefined) {
      batch = new BatchWriter(this.idBytes, 256 + payload.length * 4);
      this.batches.set(channel, batch);
    }
    batch.add(Buffer.from(topic, 'utf8'), payload, isBinary);
    if (batch.count >= this.maxMessages || batch.bytes >= this.maxBytes) {
      if (this.opened) this.flushChannel(channel, batch);
    } else if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(flushAll, this);
    }
  }

  /** Sends every pending batch now. */
  flush(): void {
    this.flushQueued = false;
    if (!this.opened) return;
    for (const [channel, batch] of this.batches) this.flushChannel(channel, batch);
  }

  /** Flushes pending batches, stops the probe and closes the adapter. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.opening;
    } catch {
      // closing a bus that never opened
    }
    this.flush();
    this.closed = true;
    this.stopTimers();
    await this.work.catch(() => undefined);
    await this.adapter.close();
  }

  // ---- internal ---------------------------------------------------------------------------------

  private async open(): Promise<void> {
    const sink: BusSink = {
      message: (channel, message) => this.receive(channel, message),
      down: (reason) => this.onDown(reason),
      up: () => this.onUp(),
      error: (error) => this.owner.error(error),
    };
    await this.adapter.open(sink);
    this.active.add(this.privateChannel);
    await this.adapter.subscribe(this.privateChannel);
    this.opened = true;
    if (this.closed) return;
    if (this.batches.size > 0) this.flush();
    if (this.probeInterval > 0) {
      this.probeTimer = setInterval(sendProbe, this.probeInterval, this);
      this.probeTimer.unref();
    }
    this.sweepTimer = setInterval(sweep, Math.max(1000, this.expiry / 4), this);
    this.sweepTimer.unref();
  }

  private flushChannel(channel: string, batch: BatchWriter): void {
    this.batches.delete(channel);
    let state = this.sent.get(channel);
    if (state === undefined) {
      state = { next: 1, used: 0 };
      this.sent.set(channel, state);
    }
    const first = state.next;
    state.next += batch.count;
    state.used = Date.now();
    this.stats.batchesSent++;
    this.stats.messagesSent += batch.count;
    this.adapter.publish(channel, batch.finish(first));
  }

  private queueReconcile(): void {
    if (this.reconcileQueued || this.closed) return;
    this.reconcileQueued = true;
    setImmediate(reconcileNow, this);
  }

  /** @internal Brings the adapter's subscriptions in line with local interest. */
  reconcile(): void {
    this.reconcileQueued = false;
    if (this.closed) return;
    const subscribe: string[] = [];
    const unsubscribe: string[] = [];
    for (const channel of this.interest.keys()) {
      if (!this.active.has(channel)) {
        this.active.add(channel);
        subscribe.push(channel);
      }
    }
    for (const channel of this.active) {
      if (channel !== this.privateChannel && !this.interest.has(channel)) {
        this.active.delete(channel);
        unsubscribe.push(channel);
        this.forgetChannel(channel);
      }
    }
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    const previous = this.work;
    this.work = (async () => {
      await previous;
      await this.opening;
      const calls: Promise<void>[] = [];
      for (const channel of unsubscribe) calls.push(this.adapter.unsubscribe(channel));
      for (const channel of subscribe) calls.push(this.adapter.subscribe(channel));
      const results = await Promise.allSettled(calls);
      for (const result of results) {
        if (result.status === 'rejected') this.owner.error(asError(result.reason));
      }
    })().catch((error: unknown) => this.owner.error(asError(error)));
  }

  private forgetChannel(channel: string): void {
    const suffix = `\n${channel}`;
    for (const key of this.received.keys()) if (key.endsWith(suffix)) this.received.delete(key);
  }

  private receive(channel: string, message: Uint8Array): void {
    const header = readHeader(message);
    if (header === null) {
      this.stats.malformed++;
      return;
    }
    if (header.nodeId === this.nodeId) {
      // Our own publishes: local subscribers were served in-process. A probe proves liveness.
      if (header.kind === EnvelopeKind.Probe && header.seq === this.probeOutstanding) {
        this.probeOutstanding = 0;
        if (this.probeDeadline !== null) {
          clearTimeout(this.probeDeadline);
          this.probeDeadline = null;
        }
      }
      return;
    }
    if (header.kind !== EnvelopeKind.Data || !this.interest.has(channel)) return;
    const key = `${header.nodeId}\n${channel}`;
    const state = this.received.get(key);
    const last = header.seq + header.count - 1;
    let skip = 0;
    const now = Date.now();
    if (state === undefined) {
      this.received.set(key, { last, seen: now });
    } else if (header.seq === 1) {
      // The sender started this channel's numbering again (it had forgotten it): a new baseline.
      state.last = last;
      state.seen = now;
    } else {
      if (last <= state.last) {
        this.stats.duplicates += header.count;
        return;
      }
      if (header.seq <= state.last) {
        skip = state.last - header.seq + 1;
        this.stats.duplicates += skip;
      } else if (header.seq > state.last + 1) {
        const lost = header.seq - state.last - 1;
        this.stats.gaps++;
        this.stats.lost += lost;
        this.owner.gap({ node: header.nodeId, channel, lost });
      }
      state.last = last;
      state.seen = now;
    }
    this.stats.batchesReceived++;
    this.stats.messagesReceived += header.count - skip;
    let index = 0;
    this.owner.batchStart();
    let ok = false;
    try {
      ok = forEachMessage(message, header, (topic, payload, isBinary) => {
        if (index++ >= skip) this.owner.deliver(topic, payload, isBinary);
      });
    } finally {
      this.owner.batchEnd();
    }
    if (!ok) this.stats.malformed++;
  }

  private onDown(reason: string): void {
    if (this.isDown || this.closed) return;
    this.isDown = true;
    this.clearProbe();
    this.owner.state({ state: 'down', reason });
  }

  private onUp(): void {
    if (this.closed) return;
    const wasDown = this.isDown;
    this.isDown = false;
    this.clearProbe();
    if (wasDown) this.owner.state({ state: 'up' });
  }

  private clearProbe(): void {
    this.probeOutstanding = 0;
    if (this.probeDeadline !== null) {
      clearTimeout(this.probeDeadline);
      this.probeDeadline = null;
    }
  }

  /** @internal One probe round: publish a token to our private channel and expect it back. */
  probe(): void {
    if (this.closed || this.isDown || this.probeOutstanding !== 0) return;
    this.probeToken = (this.probeToken % 0xffffffff) + 1;
    this.probeOutstanding = this.probeToken;
    this.probeDeadline = setTimeout(probeExpired, this.probeTimeout, this);
    this.probeDeadline.unref();
    this.adapter.publish(this.privateChannel, encodeProbe(this.idBytes, this.probeToken));
  }

  /** @internal The probe did not come back: the subscription is connected but deaf. */
  stalled(): void {
    this.probeDeadline = null;
    if (this.closed || this.probeOutstanding === 0) return;
    this.probeOutstanding = 0;
    this.stats.stalls++;
    this.owner.state({ state: 'stalled', reason: `probe not back within ${this.probeTimeout} ms` });
    this.adapter.reconnect?.();
  }

  /** @internal Forgets numbering state nobody used for `expiry` ms. */
  sweepNow(): void {
    const before = Date.now() - this.expiry;
    for (const [key, state] of this.received) if (state.seen < before) this.received.delete(key);
    for (const [key, state] of this.sent) if (state.used < before) this.sent.delete(key);
  }

  /** @internal Sizes of the bookkeeping maps (tests check that churn leaves nothing behind). */
  get footprint(): { interest: number; active: number; received: number; batches: number } {
    return {
      interest: this.interest.size,
      active: this.active.size,
      received: this.received.size,
      batches: this.batches.size,
    };
  }

  private stopTimers(): void {
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.probeTimer = null;
    this.sweepTimer = null;
    this.clearProbe();
  }
}

function flushAll(bus: Bus): void {
  bus.flush();
}
function reconcileNow(bus: Bus): void {
  bus.reconcile();
}
function sendProbe(bus: Bus): void {
  bus.probe();
}
function probeExpired(bus: Bus): void {
  bus.stalled();
}
function sweep(bus: Bus): void {
  bus.sweepNow();
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
