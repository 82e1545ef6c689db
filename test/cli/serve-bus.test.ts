/**
 * `ironsock serve` scale-out with the real binary: two servers on one Redis (then one NATS)
 * share a chat room (500 messages from a client on one reach a client on the other, in order,
 * once; a client in another room gets none), and `--workers 2` spans a room over two processes
 * through the primary's IPC bus.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import WS from 'ws';
import { spawnReady, type ReadyProcess } from '../helpers/peers.js';
import { natsGate, redisGate, startNats, startRedis, type BusServer } from '../pubsub/servers.js';
import { once, waitFor } from '../node/util.js';
import { BIN_PATH } from './harness.js';

interface Member {
  ws: WS;
  events: Array<Record<string, unknown>>;
  welcome: Record<string, unknown>;
}

const processes: ReadyProcess[] = [];
after(async () => {
  await Promise.all(processes.map((p) => p.stop()));
});

async function serve(args: string[]): Promise<{ port: number; proc: ReadyProcess }> {
  const proc = await spawnReady(process.execPath, [BIN_PATH, 'serve', '--port', '0', ...args], {
    ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/,
  });
  processes.push(proc);
  return { port: Number(proc.match[1]), proc };
}

async function join(port: number, room: string, name: string): Promise<Member> {
  const ws = new WS(`ws://127.0.0.1:${port}/chat?room=${room}&name=${name}`);
  const events: Array<Record<string, unknown>> = [];
  ws.on('message', (data: Buffer) => events.push(JSON.parse(data.toString('utf8'))));
  await once(ws, 'open');
  await waitFor(() => events.length > 0, 5000, 'welcome');
  assert.equal(events[0].type, 'welcome');
  return { ws, events, welcome: events[0] };
}

const messagesFrom = (member: Member, from: string): string[] =>
  member.events
    .filter((event) => event.type === 'message' && event.from === from && event.self !== true)
    .map((event) => String(event.text));

async function twoServersShareARoom(busArgs: string[]): Promise<void> {
  const one = await serve(busArgs);
  const two = await serve(busArgs);
  const alice = await join(one.port, 'r1', 'alice');
  const carol = await join(two.port, 'r2', 'carol');
  const bob = await join(two.port, 'r1', 'bob');
  // Alice sees Bob's join from the other server: the room spans both.
  await waitFor(() => alice.events.some((e) => e.type === 'join' && e.name === 'bob'), 5000);
  const bobJoin = alice.events.find((e) => e.type === 'join' && e.name === 'bob');
  assert.equal(bobJoin?.room, 'r1');
  assert.notEqual(bobJoin?.server, alice.welcome.server, 'the page learns the other server');
  const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);
  for (const text of sent) alice.ws.send(text);
  await waitFor(() => messagesFrom(bob, 'alice').length >= 500, 15_000, '500 messages');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(messagesFrom(bob, 'alice'), sent, 'in order, once');
  const fromAlice = bob.events.find((e) => e.type === 'message');
  assert.equal(fromAlice?.server, alice.welcome.server);
  assert.deepEqual(
    carol.events.filter((e) => e.type !== 'welcome'),
    [],
    'another room gets nothing',
  );
  for (const member of [alice, bob, carol]) member.ws.close();
  await Promise.all([one.proc.stop(), two.proc.stop()]);
}

describe('serve --redis', redisGate(), () => {
  let redis: BusServer | undefined;
  after(async () => {
    await redis?.stop();
  });
  test('two servers on one Redis share a room; other rooms stay apart', async () => {
    redis = await startRedis();
    await twoServersShareARoom(['--redis', redis.url]);
  });
});

describe('serve --nats', natsGate(), () => {
  let nats: BusServer | undefined;
  after(async () => {
    await nats?.stop();
  });
  test('two servers on one NATS share a room; other rooms stay apart', async () => {
    nats = await startNats();
    await twoServersShareARoom(['--nats', nats.url]);
  });
});

describe('serve --workers', () => {
  test('two workers share the port and a room spans them through the IPC bus', async () => {
    const { port, proc } = await serve(['--workers', '2']);
    await proc.waitForLine(/listening on http:\/\/127\.0\.0\.1:/, 10_000).catch(() => undefined);
    const members: Member[] = [];
    const servers = new Set<unknown>();
    for (let i = 0; i < 8 && servers.size < 2; i++) {
      const member = await join(port, 'w', `m${i}`);
      members.push(member);
      servers.add(member.welcome.server);
    }
    assert.equal(servers.size, 2, 'connections landed on both workers');
    const first = members[0];
    const other = members.find((m) => m.welcome.server !== first.welcome.server);
    assert.ok(other !== undefined);
    // Wait until the other worker's member is reachable (its join seen by the first worker).
    await waitFor(
      () => first.events.some((e) => e.type === 'join' && e.server === other.welcome.server),
      5000,
    );
    first.ws.send('hello');
    await waitFor(() => messagesFrom(other, String(first.welcome.name)).length === 1, 5000);
    assert.deepEqual(messagesFrom(other, String(first.welcome.name)), ['hello']);
    for (const member of members) member.ws.close();
    await proc.stop();
  });
});
