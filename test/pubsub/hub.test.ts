/**
 * The topic API on one server: ws.subscribe/unsubscribe/isSubscribed/topics, wss.publish,
 * ws.publish, wss.subscriberCount, the limits, ordering among direct sends, slow subscribers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type WS from 'ws';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import type { WebSocketServer } from '../../src/node/server.js';
import type { OverflowInfo } from '../../src/pubsub/hub.js';
import { delay, once, startServer, stopServer, waitFor, wsClient } from '../node/util.js';

async function serverWithPeers(
  options: Parameters<typeof startServer>[0] = {},
): Promise<{ wss: WebSocketServer; url: string; peers: WebSocket[] }> {
  const { wss, url } = await startServer(options);
  const peers: WebSocket[] = [];
  wss.on('connection', (ws: WebSocket) => peers.push(ws));
  return { wss, url, peers };
}

async function connect(
  url: string,
  peers: WebSocket[],
  options: WS.ClientOptions = {},
): Promise<{ client: WS; peer: WebSocket; texts: string[] }> {
  const count = peers.length;
  const client = await wsClient(url, options);
  const texts: string[] = [];
  client.on('message', (data: Buffer, isBinary: boolean) => {
    texts.push(isBinary ? `bin:${data.length}` : data.toString('utf8'));
  });
  await waitFor(() => peers.length > count);
  return { client, peer: peers[count], texts };
}

describe('pub/sub on one server', () => {
  test('subscribe, isSubscribed, topics, unsubscribe, subscriberCount', async () => {
    const { wss, url, peers } = await serverWithPeers();
    try {
      const { client, peer } = await connect(url, peers);
      assert.deepEqual(peer.topics, []);
      assert.equal(peer.subscribe('a'), true);
      assert.equal(peer.subscribe('a'), false, 'already subscribed');
      assert.equal(peer.subscribe('b'), true);
      assert.equal(peer.isSubscribed('a'), true);
      assert.equal(peer.isSubscribed('c'), false);
      const topics: string[] = peer.topics;
      assert.deepEqual(topics, ['a', 'b']);
      topics.push('x');
      assert.deepEqual(peer.topics, ['a', 'b'], 'topics is a copy');
      assert.equal(wss.subscriberCount('a'), 1);
      assert.equal(peer.unsubscribe('a'), true);
      assert.equal(peer.unsubscribe('a'), false);
      assert.equal(wss.subscriberCount('a'), 0);
      assert.equal(wss.subscriberCount('never'), 0);
      client.close();
      await once(peer, 'close');
      assert.equal(wss.subscriberCount('b'), 0, 'subscriptions end with the connection');
      assert.equal(peer.subscribe('late'), false, 'a closed connection is not subscribed');
      assert.equal(wss.pubsub.topicCount, 0);
    } finally {
      await stopServer(wss);
    }
  });

  test('limits: topic length and subscriptions per connection; bad topics; client side', async () => {
    const { wss, url, peers } = await serverWithPeers({
      pubsub: { maxTopicBytes: 8, maxSubscriptionsPerConnection: 2 },
    });
    try {
      const { client, peer } = await connect(url, peers);
      assert.throws(() => peer.subscribe('x'.repeat(9)), { code: 'TOPIC_TOO_LONG' });
      assert.throws(() => peer.subscribe('ééééé'), { code: 'TOPIC_TOO_LONG' }, 'counted in bytes');
      assert.throws(() => wss.publish('x'.repeat(9), 'hi'), { code: 'TOPIC_TOO_LONG' });
      assert.throws(() => peer.subscribe(''), TypeError);
      assert.throws(() => peer.subscribe(42 as unknown as string), TypeError);
      peer.subscribe('one');
      peer.subscribe('two');
      assert.throws(() => peer.subscribe('three'), { code: 'TOO_MANY_SUBSCRIPTIONS' });
      assert.deepEqual(peer.topics, ['one', 'two']);
      const outside = new WebSocket(url);
      await once(outside, 'open');
      assert.throws(() => outside.subscribe('one'), { code: 'NOT_SERVER_SIDE' });
      assert.throws(() => outside.publish('one', 'x'), { code: 'NOT_SERVER_SIDE' });
      assert.deepEqual(outside.topics, []);
      outside.close();
      client.close();
    } finally {
      await stopServer(wss);
    }
  });

  test('publish reaches subscribers once; ws.publish skips the sender; binary kept', async () => {
    const { wss, url, peers } = await serverWithPeers();
    try {
      const a = await connect(url, peers);
      const b = await connect(url, peers);
      const c = await connect(url, peers);
      a.peer.subscribe('t');
      b.peer.subscribe('t');
      assert.equal(wss.publish('t', 'one'), 2);
      assert.equal(a.peer.publish('t', 'two'), 1);
      assert.equal(c.peer.publish('t', Buffer.alloc(3)), 2, 'the sender need not subscribe');
      assert.equal(wss.publish('t', 'three', { binary: true }), 2);
      await waitFor(() => b.texts.length === 4);
      await delay(50);
      assert.deepEqual(a.texts, ['one', 'bin:3', 'bin:5']);
      assert.deepEqual(b.texts, ['one', 'two', 'bin:3', 'bin:5']);
      assert.deepEqual(c.texts, []);
      for (const x of [a, b, c]) x.client.close();
    } finally {
      await stopServer(wss);
    }
  });

  for (const deflate of [false, true]) {
    test(`publishes keep their place among direct sends (deflate ${deflate})`, async () => {
      const { wss, url, peers } = await serverWithPeers({ perMessageDeflate: deflate });
      try {
        const a = await connect(url, peers, { perMessageDeflate: deflate });
        a.peer.subscribe('t');
        const expected: string[] = [];
        for (let i = 0; i < 200; i++) {
          const direct = `d${i}-${'x'.repeat(i % 3 === 0 ? 2000 : 10)}`;
          a.peer.send(direct);
          expected.push(direct);
          wss.publish('t', `p${i}`);
          expected.push(`p${i}`);
          if (i % 50 === 49) await delay(1);
        }
        await waitFor(() => a.texts.length === expected.length, 10_000);
        assert.deepEqual(a.texts, expected);
        a.client.close();
      } finally {
        await stopServer(wss);
      }
    });
  }

  for (const policy of ['close', 'reject'] as const) {
    test(`a slow subscriber does not slow the others or grow memory ('${policy}' policy)`, async () => {
      const cap = 64 * 1024;
      const { wss, url, peers } = await serverWithPeers({
        maxBufferedAmount: cap,
        bufferedAmountPolicy: policy,
        shutdownTimeout: 500,
      });
      try {
        const fast = await connect(url, peers);
        const slow = await connect(url, peers);
        fast.peer.subscribe('feed');
        slow.peer.subscribe('feed');
        const overflows: OverflowInfo[] = [];
        wss.pubsub.on('overflow', (info: OverflowInfo) => overflows.push(info));
        // The slow client stops reading: its kernel buffers fill, then the server's.
        (slow.client as unknown as { _socket: { pause(): void } })._socket.pause();
        // 24 MiB in all: more than loopback's socket buffers can absorb.
        const payload = 'y'.repeat(16 * 1024);
        const total = 1500;
        let maxBuffered = 0;
        for (let i = 0; i < total; i++) {
          wss.publish('feed', `${i}:${payload}`);
          maxBuffered = Math.max(maxBuffered, slow.peer.bufferedAmount);
          if (i % 50 === 49) await delay(2);
        }
        await waitFor(() => fast.texts.length === total, 15_000, 'fast subscriber');
        assert.deepEqual(
          fast.texts.map((text) => Number(text.slice(0, text.indexOf(':')))),
          Array.from({ length: total }, (_, i) => i),
        );
        assert.ok(overflows.length > 0, 'overflow reported');
        assert.ok(overflows.every((info) => info.client === slow.peer && info.topic === 'feed'));
        assert.ok(maxBuffered < cap + 17 * 1024, `slow backlog bounded (${maxBuffered} bytes)`);
        if (policy === 'close') {
          assert.equal(overflows.length, 1);
          assert.equal(overflows[0].action, 'closed');
          await waitFor(() => slow.peer.readyState === WebSocket.CLOSED);
          assert.equal(wss.subscriberCount('feed'), 1);
          assert.equal(wss.pubsub.stats.closed, 1);
        } else {
          assert.ok(overflows.every((info) => info.action === 'skipped'));
          assert.equal(slow.peer.readyState, WebSocket.OPEN);
          assert.equal(wss.pubsub.stats.skipped, overflows.length);
        }
        fast.client.close();
        slow.client.terminate();
      } finally {
        await stopServer(wss);
      }
    });
  }
});
