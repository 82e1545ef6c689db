import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryBus } from '../../src/pubsub/memory.js';
import type { BusFixture } from './contract.js';
import {
  connectClient,
  freshPrefix,
  runContract,
  sequenceOf,
  startNode,
  stopNode,
} from './contract.js';
import { waitFor } from '../node/util.js';

function memoryFixture(): BusFixture {
  const bus = memoryBus();
  return {
    adapter: () => Promise.resolve(bus.adapter()),
    serverChannels: () => Promise.resolve(null),
    cleanup: () => Promise.resolve(),
  };
}

runContract('in-process bus', { skip: false }, () => Promise.resolve(memoryFixture()));
runContract(
  'in-process bus, topics hashed onto 4 partitions',
  { skip: false },
  () => Promise.resolve(memoryFixture()),
  { partitions: 4 },
);

test('one event-loop turn of publishes leaves as one bus message per channel (up to the batch limit)', async () => {
  const fixture = memoryFixture();
  const prefix = freshPrefix();
  const a = await startNode(fixture, prefix, { maxBatchMessages: 1024 });
  const b = await startNode(fixture, prefix, { maxBatchMessages: 1024 });
  try {
    const receiver = await connectClient(b, ['x', 'y']);
    for (let i = 0; i < 2500; i++) a.wss.publish('x', `A-${i}`);
    a.wss.publish('y', 'Y-0');
    await waitFor(() => receiver.texts.length === 2501, 5000);
    // 2,500 on channel x: 1,024 + 1,024 + 452; 1 on channel y.
    assert.equal(a.wss.pubsub.stats.batchesSent, 4);
    assert.equal(a.wss.pubsub.stats.messagesSent, 2501);
    assert.deepEqual(
      sequenceOf(receiver.texts, 'A'),
      Array.from({ length: 2500 }, (_, i) => i),
    );
    receiver.ws.close();
  } finally {
    await stopNode(a);
    await stopNode(b);
  }
});
