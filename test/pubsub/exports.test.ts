import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as nats from '../../src/pubsub/nats.js';
import * as redis from '../../src/pubsub/redis.js';
import { repoRoot } from '../helpers/peers.js';

test('subpath exports ironsock/pubsub/redis and ironsock/pubsub/nats, optional peers only', () => {
  assert.deepEqual(Object.keys(redis).sort(), ['redisAdapter']);
  assert.deepEqual(Object.keys(nats).sort(), ['natsAdapter', 'natsSubject']);
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as {
    exports: Record<string, { default: string }>;
    dependencies?: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional: boolean }>;
  };
  assert.equal(pkg.exports['./pubsub/redis'].default, './dist/lib/pubsub/redis.js');
  assert.equal(pkg.exports['./pubsub/nats'].default, './dist/lib/pubsub/nats.js');
  assert.equal(pkg.dependencies, undefined, 'the runtime package has no dependencies');
  assert.equal(pkg.peerDependenciesMeta.ioredis.optional, true);
  assert.equal(pkg.peerDependenciesMeta['@nats-io/transport-node'].optional, true);
});

test('the shipped subpaths (bundles) export the same names', async () => {
  const byName = async (id: string): Promise<string[]> => Object.keys(await import(id)).sort();
  assert.deepEqual(await byName('ironsock/pubsub/redis'), Object.keys(redis).sort());
  assert.deepEqual(await byName('ironsock/pubsub/nats'), Object.keys(nats).sort());
});

test('the adapters refuse objects that are not clients', () => {
  assert.throws(() => redis.redisAdapter({} as never), TypeError);
  assert.throws(() => nats.natsAdapter({} as never), TypeError);
});

test('NATS subjects: topic characters never act as tokens or wildcards', () => {
  assert.equal(nats.natsSubject('ironsock:t:room-1_a'), 'ironsock:t:room-1_a');
  assert.equal(nats.natsSubject('p:a.b *>'), 'p:a%2Eb%20%2A%3E');
  assert.equal(nats.natsSubject('é'), '%C3%A9');
});
