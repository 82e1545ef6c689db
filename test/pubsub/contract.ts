/**
 * The adapter contract suite: the same behaviour checked on every bus (in-process, node:cluster
 * IPC aside, Redis standalone and sharded, NATS), with real WebSocket clients (the `ws` package)
 * connected to real ironsock servers, each server one node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import WS from 'ws';
import { WebSocketServer } from '../../src/node/server.js';
import type { WebSocket } from '../../src/node/websocket.js';
import type { BusAdapter, BusSink } from '../../src/pubsub/adapter.js';
import type { BusOptions, GapInfo } from '../../src/pubsub/bus.js';
import type { PeerGate } from '../helpers/peers.js';
import { delay, once, waitFor } from '../node/util.js';

/** How a suite gets adapters for a bus. */
export interface BusFixture {
  /** A new node's adapter, on a fresh client connection. */
  adapter(): Promise<BusAdapter>;
  /** The bus channels the server has subscribers for (null when it cannot tell). */
  serverChannels(prefix: string): Promise<string[] | null>;
  /** Stops what `adapter()` created and the server. */
  cleanup(): Promise<void>;
}

/** One node: a server with its adapter, its clients and their server-side sockets. */
export interface TestNode {
  wss: WebSocketServer;
  url: string;
  gaps: GapInfo[];
  /** Server-side sockets, in connection order. */
  peers: WebSocket[];
  /** Arms the receive side to drop the next `n` data bus messages (a controlled loss). */
  dropIncoming(n: number): void;
}

/** A `ws` client that records every text message. */
export interface Collector {
  ws: WS;
  texts: string[];
}

let prefixCounter = 0;
/** A fresh channel prefix per test, so tests on one bus server never see each other. */
export function freshPrefix(): string {
  return `ct${process.pid}x${++prefixCounter}:`;
}

/** Wraps an adapter so the test can drop incoming data messages (not probes). */
function lossy(
  adapter: BusAdapter,
  prefix: string,
): { adapter: BusAdapter; drop(n: number): void } {
  let dropping = 0;
  return {
    drop(n) {
      dropping += n;
    },
    adapter: {
      name: adapter.name,
      open(sink: BusSink) {
        return adapter.open({
          ...sink,
          message(channel, message, position) {
            if (dropping > 0 && !channel.startsWith(`${prefix}n:`)) {
              dropping--;
              return;
            }
            sink.message(channel, message, position);
          },
        });
      },
      subscribe: (channel, from) => adapter.subscribe(channel, from),
      unsubscribe: (channel) => adapter.unsubscribe(channel),
      publish: (channel, message) => adapter.publish(channel, message),
      reconnect: () => adapter.reconnect?.(),
      close: () => adapter.close(),
    },
  };
}

/** Starts a node on `fixture` with channel prefix `prefix`. */
export async function startNode(
  fixture: BusFixture,
  prefix: string,
  extra: BusOptions = {},
): Promise<TestNode> {
  const wrapped = lossy(await fixture.adapter(), prefix);
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    pubsub: { adapter: wrapped.adapter, prefix, probeInterval: 0, ...extra },
  });
  const peers: WebSocket[] = [];
  const gaps: GapInfo[] = [];
  wss.on('connection', (ws: WebSocket) => peers.push(ws));
  wss.pubsub.on('gap', (info: GapInfo) => gaps.push(info));
  wss.pubsub.on('error', () => undefined);
  await once(wss, 'listening');
  await wss.pubsub.ready();
  const port = (wss.address() as AddressInfo).port;
  return { wss, url: `ws://127.0.0.1:${port}`, gaps, peers, dropIncoming: wrapped.drop };
}

/** Connects a `ws` client to `node`, subscribes its server side to `topics`, waits for the bus. */
export async function connectClient(node: TestNode, topics: string[]): Promise<Collector> {
  const before = node.peers.length;
  const ws = new WS(node.url);
  const texts: string[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) texts.push(data.toString('utf8'));
  });
  await once(ws, 'open');
  await waitFor(() => node.peers.length > before, 5000, 'server-side socket');
  const peer = node.peers[before];
  for (const topic of topics) peer.subscribe(topic);
  await node.wss.pubsub.ready();
  return { ws, texts };
}

export async function stopNode(node: TestNode): Promise<void> {
  await new Promise<void>((resolve) => node.wss.close(() => resolve()));
}

/** Every `from-i` message of `texts`, as numbers, for one publisher tag. */
export function sequenceOf(texts: string[], from: string): number[] {
  const out: number[] = [];
  for (const text of texts) {
    const dash = text.lastIndexOf('-');
    if (text.slice(0, dash) === from) out.push(Number(text.slice(dash + 1)));
  }
  return out;
}

/** `0-39,80-99,...`: a sequence as runs, for readable failures. */
function runs(values: number[]): string {
  const out: string[] = [];
  let start = 0;
  for (let i = 1; i <= values.length; i++) {
    if (i === values.length || values[i] !== values[i - 1] + 1) {
      out.push(`${values[start]}-${values[i - 1]}`);
      start = i;
    }
  }
  return out.join(',');
}

const range = (n: number, start = 0): number[] => Array.from({ length: n }, (_, i) => start + i);

/** Runs the contract on `makeFixture()` (once per suite). */
export function runContract(
  title: string,
  gate: PeerGate,
  makeFixture: () => Promise<BusFixture>,
  options: BusOptions = {},
): void {
  describe(`pub/sub contract: ${title}`, gate, () => {
    let fixture: BusFixture;
    before(async () => {
      fixture = await makeFixture();
    });
    after(async () => {
      await fixture?.cleanup();
    });

    test('order per publisher and topic, exactly once per subscriber, only to subscribers', async () => {
      const prefix = freshPrefix();
      const a = await startNode(fixture, prefix, options);
      const b = await startNode(fixture, prefix, options);
      try {
        const a1 = await connectClient(a, ['room']);
        const b1 = await connectClient(b, ['room']);
        const b2 = await connectClient(b, ['room', 'other']);
        const elsewhere = await connectClient(a, ['other']);
        const N = 300;
        for (let i = 0; i < N; i++) {
          a.wss.publish('room', `A-${i}`);
          b.wss.publish('room', `B-${i}`);
          if (i % 40 === 39) await new Promise((resolve) => setImmediate(resolve));
        }
        for (const client of [a1, b1, b2]) {
          await waitFor(() => client.texts.length >= 2 * N, 10_000, 'all messages');
        }
        await delay(100);
        for (const client of [a1, b1, b2]) {
          assert.equal(client.texts.length, 2 * N, 'nothing twice');
          for (const from of ['A', 'B']) {
            const got = sequenceOf(client.texts, from);
            assert.deepEqual(got, range(N), `from ${from}: ${runs(got)}`);
          }
        }
        assert.deepEqual(elsewhere.texts, []);
        assert.equal(a.gaps.length + b.gaps.length, 0);
        for (const client of [a1, b1, b2, elsewhere]) client.ws.close();
      } finally {
        await stopNode(a);
        await stopNode(b);
      }
    });

    test('ws.publish skips the sender only; local subscribers are served in-process', async () => {
      const prefix = freshPrefix();
      const a = await startNode(fixture, prefix, options);
      const b = await startNode(fixture, prefix, options);
      try {
        const sender = await connectClient(a, ['room']);
        const neighbour = await connectClient(a, ['room']);
        const remote = await connectClient(b, ['room']);
        const written = a.peers[0].publish('room', 'S-0');
        assert.equal(written, 1, 'written to the one other local subscriber at once');
        a.wss.publish('room', 'W-0');
        await waitFor(() => remote.texts.length === 2 && neighbour.texts.length === 2);
        await waitFor(() => sender.texts.length === 1);
        await delay(100);
        assert.deepEqual(sender.texts, ['W-0']);
        assert.deepEqual(neighbour.texts, ['S-0', 'W-0']);
        assert.deepEqual(remote.texts, ['S-0', 'W-0']);
        for (const client of [sender, neighbour, remote]) client.ws.close();
      } finally {
        await stopNode(a);
        await stopNode(b);
      }
    });

    test('subscriptions end with the connection, on the node and on the bus', async () => {
      const prefix = freshPrefix();
      const a = await startNode(fixture, prefix, options);
      const b = await startNode(fixture, prefix, options);
      try {
        const leaving = await connectClient(a, ['room', 'lobby']);
        const staying = await connectClient(a, ['lobby']);
        assert.equal(a.wss.subscriberCount('room'), 1);
        const channels = await fixture.serverChannels(prefix);
        if (channels !== null) assert.ok(channels.includes(`${prefix}t:room`));
        leaving.ws.close();
        await waitFor(() => a.wss.subscriberCount('room') === 0, 5000, 'unsubscribe on close');
        assert.equal(a.wss.subscriberCount('lobby'), 1);
        await a.wss.pubsub.ready();
        const after = await fixture.serverChannels(prefix);
        if (after !== null) {
          assert.ok(!after.includes(`${prefix}t:room`), 'bus channel released');
          assert.ok(after.includes(`${prefix}t:lobby`));
        }
        b.wss.publish('lobby', 'B-0');
        await waitFor(() => staying.texts.length === 1);
        staying.ws.close();
      } finally {
        await stopNode(a);
        await stopNode(b);
      }
    });

    test('no leak after 10,000 subscribe/unsubscribe cycles', async () => {
      const prefix = freshPrefix();
      const a = await startNode(fixture, prefix, options);
      const b = await startNode(fixture, prefix, options);
      try {
        const client = await connectClient(a, []);
        const peer = a.peers[0];
        for (let i = 0; i < 10_000; i++) {
          const topic = `churn-${i % 64}`;
          assert.equal(peer.subscribe(topic), true);
          if (i % 1000 === 999) {
            // Let a reconcile run while subscribed, so the bus really subscribes and unsubscribes.
            await a.wss.pubsub.ready();
          }
          assert.equal(peer.unsubscribe(topic), true);
        }
        await a.wss.pubsub.ready();
        assert.deepEqual(peer.topics, []);
        assert.equal(a.wss.pubsub.topicCount, 0);
        assert.equal(a.wss.pubsub.subscriberConnections, 0);
        const footprint = a.wss.pubsub.bus?.footprint;
        assert.deepEqual(footprint, { interest: 0, active: 1, received: 0, batches: 0 });
        const channels = await fixture.serverChannels(prefix);
        if (channels !== null)
          assert.deepEqual(
            channels,
            [`${prefix}n:${a.wss.pubsub.nodeId}`, `${prefix}n:${b.wss.pubsub.nodeId}`].sort(),
          );
        // Still a working subscriber afterwards.
        peer.subscribe('final');
        await a.wss.pubsub.ready();
        b.wss.publish('final', 'B-0');
        await waitFor(() => client.texts.length === 1);
        client.ws.close();
      } finally {
        await stopNode(a);
        await stopNode(b);
      }
    });

    test('a loss is reported as a gap with the exact number of messages, never delivered twice', async () => {
      const prefix = freshPrefix();
      const a = await startNode(fixture, prefix, options);
      const b = await startNode(fixture, prefix, options);
      try {
        const receiver = await connectClient(b, ['feed']);
        const turns = 20;
        const perTurn = 10;
        for (let turn = 0; turn < turns; turn++) {
          if (turn === 5) {
            // Wait until what was sent so far arrived, then lose the next 3 bus messages.
            await waitFor(() => receiver.texts.length === 5 * perTurn);
            b.dropIncoming(3);
          }
          for (let i = 0; i < perTurn; i++) a.wss.publish('feed', `A-${turn * perTurn + i}`);
          // One bus message per turn: wait for the batch to leave before the next turn.
          await new Promise((resolve) => setImmediate(resolve));
          await delay(5);
        }
        const expected = [...range(5 * perTurn), ...range(12 * perTurn, 8 * perTurn)];
        await waitFor(() => receiver.texts.length >= expected.length, 10_000, 'messages');
        await delay(100);
        assert.deepEqual(sequenceOf(receiver.texts, 'A'), expected);
        assert.deepEqual(
          b.gaps.map((gap) => gap.lost),
          [3 * perTurn],
        );
        assert.equal(b.gaps[0].node, a.wss.pubsub.nodeId);
        assert.equal(b.wss.pubsub.stats.lost, 3 * perTurn);
        receiver.ws.close();
      } finally {
        await stopNode(a);
        await stopNode(b);
      }
    });
  });
}
