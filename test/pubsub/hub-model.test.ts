/**
 * Model test of the topic hub: random subscribe / unsubscribe / publish / ws.publish-style
 * (except) / close sequences against a plain model (a map from connection to its set of
 * topics). After every step the hub's answers (return values, subscriberCount, topicsOf,
 * isSubscribed) match the model; at the end every connection received exactly the messages
 * the model says, in order. 1,000 runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TopicHub } from '../../src/pubsub/hub.js';
import type { WebSocket } from '../../src/node/websocket.js';
import { parseFrames } from '../node/util.js';

const CLIENTS = 4;
const TOPICS = ['a', 'b', 'c'];

/**
 * A stand-in connection: the hub only reads readyState and hands frames to the send gate's
 * writeEncoded (send-gate.ts), which sees an open driver with no backlog and no cap and appends
 * the encoded frame to its outbox.
 */
function fakeClient(): { ws: WebSocket; received: string[]; close(): void } {
  const received: string[] = [];
  const fake = {
    readyState: 1,
    _driver: {
      conn: { state: 'open', pendingBytes: 0 },
      socket: { destroyed: false },
      fragmenting: false,
      bufferedAmount: 0,
      maxBuffered: Infinity,
      rejectWhenFull: false,
      outbox: {
        bytes(frame: Uint8Array): void {
          for (const { payload } of parseFrames(Buffer.from(frame))) {
            received.push(payload.toString('utf8'));
          }
        },
      },
    },
  };
  return {
    ws: fake as unknown as WebSocket,
    received,
    close() {
      fake.readyState = 3;
    },
  };
}

const command = fc.oneof(
  fc.record({
    op: fc.constant('subscribe' as const),
    client: fc.nat(CLIENTS - 1),
    topic: fc.constantFrom(...TOPICS),
  }),
  fc.record({
    op: fc.constant('unsubscribe' as const),
    client: fc.nat(CLIENTS - 1),
    topic: fc.constantFrom(...TOPICS),
  }),
  fc.record({
    op: fc.constant('publish' as const),
    topic: fc.constantFrom(...TOPICS),
    except: fc.option(fc.nat(CLIENTS - 1), { nil: null }),
  }),
  fc.record({ op: fc.constant('close' as const), client: fc.nat(CLIENTS - 1) }),
);

test('the hub behaves like its model (1,000 random sequences)', () => {
  fc.assert(
    fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
      const hub = new TopicHub({}, { maxSubscriptionsPerConnection: 2 });
      const clients = Array.from({ length: CLIENTS }, fakeClient);
      const model = clients.map(() => new Set<string>());
      const closed = clients.map(() => false);
      const expected: string[][] = clients.map(() => []);
      let n = 0;
      for (const c of commands) {
        if (c.op === 'subscribe') {
          const mine = model[c.client];
          if (!closed[c.client] && !mine.has(c.topic) && mine.size >= 2) {
            assert.throws(() => hub.subscribe(clients[c.client].ws, c.topic), {
              code: 'TOO_MANY_SUBSCRIPTIONS',
            });
            continue;
          }
          const added = !closed[c.client] && !mine.has(c.topic);
          assert.equal(hub.subscribe(clients[c.client].ws, c.topic), added);
          if (added) mine.add(c.topic);
        } else if (c.op === 'unsubscribe') {
          const had = model[c.client].delete(c.topic);
          assert.equal(hub.unsubscribe(clients[c.client].ws, c.topic), had);
        } else if (c.op === 'publish') {
          const text = `m${n++}`;
          let count = 0;
          model.forEach((topics, i) => {
            if (topics.has(c.topic) && i !== c.except) {
              expected[i].push(text);
              count++;
            }
          });
          const except = c.except === null ? null : clients[c.except].ws;
          assert.equal(hub.publish(c.topic, text, { except }), count);
        } else {
          clients[c.client].close();
          closed[c.client] = true;
          hub.removeClient(clients[c.client].ws);
          model[c.client].clear();
        }
        for (const topic of TOPICS) {
          const subscribers = model.filter((topics) => topics.has(topic)).length;
          assert.equal(hub.subscriberCount(topic), subscribers);
        }
        clients.forEach((client, i) => {
          assert.deepEqual(new Set(hub.topicsOf(client.ws)), model[i]);
          for (const topic of TOPICS)
            assert.equal(hub.isSubscribed(client.ws, topic), model[i].has(topic));
        });
      }
      clients.forEach((client, i) => assert.deepEqual(client.received, expected[i]));
      assert.equal(hub.topicCount, new Set(model.flatMap((topics) => [...topics])).size);
      assert.equal(hub.subscriberConnections, model.filter((topics) => topics.size > 0).length);
    }),
    { numRuns: 1000 },
  );
});
