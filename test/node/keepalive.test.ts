import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeepaliveWheel, keepaliveWheel } from '../../src/node/keepalive.js';
import type { KeepaliveTarget } from '../../src/node/keepalive.js';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import {
  delay,
  once,
  parseFrames,
  rawUpgrade,
  startServer,
  stopServer,
  waitFor,
  wsClient,
} from './util.js';

function target(): KeepaliveTarget & { pings: number; expired: boolean; isPaused: boolean } {
  return {
    isPaused: false,
    kaActive: false,
    kaLastSeen: 0,
    kaPingAt: 0,
    pings: 0,
    expired: false,
    keepalivePing() {
      this.pings++;
    },
    keepaliveExpired() {
      this.expired = true;
    },
  };
}

describe('keepalive wheel (R5)', () => {
  test('pings after interval of silence, expires after timeout without traffic', () => {
    const wheel = new KeepaliveWheel(1000, 500);
    const t = target();
    wheel.add(t);
    const start = 10_000;
    wheel.tick(start); // a new member counts as active: this sweep records when it was seen
    assert.equal(t.kaLastSeen, start);
    wheel.tick(start + 999);
    assert.equal(t.pings, 0);
    wheel.tick(start + 1000);
    assert.equal(t.pings, 1);
    wheel.tick(start + 1400);
    assert.equal(t.expired, false);
    wheel.tick(start + 1500);
    assert.equal(t.expired, true);
    assert.equal(wheel.size, 0, 'an expired member leaves the wheel (and its timer stops)');
  });

  test('the shared timer stops at the first tick with no member and restarts with the next', () => {
    const wheel = new KeepaliveWheel(1000, 500);
    const timer = (): unknown => (wheel as unknown as { timer: unknown }).timer;
    const a = target();
    wheel.add(a);
    assert.notEqual(timer(), null);
    // Connections that come and go do not clear and re-create the interval each time.
    wheel.delete(a);
    assert.notEqual(timer(), null);
    const b = target();
    wheel.add(b);
    wheel.delete(b);
    wheel.tick();
    assert.equal(timer(), null, 'an empty wheel stops its timer at the next tick');
    assert.equal(wheel.size, 0);
    const c = target();
    wheel.add(c);
    assert.notEqual(timer(), null);
    wheel.delete(c);
    wheel.tick();
    assert.equal(timer(), null);
  });

  test('any received traffic counts as alive and clears an outstanding ping', () => {
    const wheel = new KeepaliveWheel(1000, 500);
    const t = target();
    wheel.add(t);
    const start = 10_000;
    wheel.tick(start);
    wheel.tick(start + 1000);
    assert.equal(t.pings, 1);
    t.kaActive = true;
    wheel.tick(start + 1600);
    assert.equal(t.expired, false);
    assert.equal(t.kaPingAt, 0);
    wheel.tick(start + 2599);
    assert.equal(t.pings, 1);
    wheel.tick(start + 2600);
    assert.equal(t.pings, 2);
    wheel.delete(t);
  });

  test('a paused connection is not judged (it could not read the pong)', () => {
    const wheel = new KeepaliveWheel(1000, 500);
    const t = target();
    wheel.add(t);
    const start = 10_000;
    wheel.tick(start);
    t.isPaused = true;
    wheel.tick(start + 5000);
    assert.equal(t.pings, 0);
    assert.equal(t.expired, false);
    t.isPaused = false;
    wheel.tick(start + 6000);
    assert.equal(t.pings, 1);
    wheel.delete(t);
  });

  test('wheels are shared per (interval, timeout); off by default', () => {
    assert.equal(keepaliveWheel(undefined), null);
    assert.equal(keepaliveWheel(false), null);
    assert.equal(keepaliveWheel(true), keepaliveWheel({}));
    assert.equal(keepaliveWheel({ interval: 30000, timeout: 20000 }), keepaliveWheel(true));
    assert.throws(() => keepaliveWheel({ interval: 0 }), RangeError);
  });
});

describe('keepalive wheel: new members', () => {
  test('a member counts as active when added: its silence is measured from the next sweep', () => {
    const wheel = new KeepaliveWheel(1000, 500);
    const t = target();
    wheel.add(t);
    assert.equal(t.kaActive, true, 'added as active: no clock read per connection');
    // However long ago the wheel last swept, the new member is not pinged at the next sweep.
    wheel.tick(50_000);
    assert.equal(t.pings, 0);
    assert.equal(t.kaActive, false);
    assert.equal(t.kaLastSeen, 50_000);
    wheel.tick(50_999);
    assert.equal(t.pings, 0);
    wheel.tick(51_000);
    assert.equal(t.pings, 1, 'pinged one interval after the sweep that saw it');
    wheel.delete(t);
  });
});

describe('keepalive wheel clock', () => {
  test('wheel times are small integers (no boxed heap number per connection)', () => {
    const wheel = new KeepaliveWheel(1000, 500);
    const t = target();
    wheel.add(t);
    assert.ok(Number.isInteger(t.kaLastSeen) && t.kaLastSeen >= 0 && t.kaLastSeen < 2 ** 29);
    wheel.delete(t);
  });

  test('after 2^29 ms of uptime the epoch moves forward and members keep their timing', () => {
    const wheel = new KeepaliveWheel(1000, 500);
    const silent = target();
    const busy = target();
    wheel.add(silent);
    wheel.add(busy);
    wheel.tick(2 ** 29 - 600); // both seen (new members count as active)
    busy.kaActive = true;
    // A sweep at wheel time 2^29 + 500 (6.2 days): the clock is rebased to 2^28.
    wheel.tick(2 ** 29 + 500);
    assert.equal(busy.kaLastSeen, 2 ** 28, 'the busy member was seen at the rebased now');
    assert.equal(silent.pings, 1, 'the silent member is pinged');
    assert.equal(silent.kaPingAt, 2 ** 28);
    wheel.tick(2 ** 28 + 499);
    assert.equal(silent.expired, false);
    wheel.tick(2 ** 28 + 500);
    assert.equal(silent.expired, true, 'and expires one timeout after the ping');
    assert.equal(busy.pings, 0);
    wheel.tick(2 ** 28 + 1000);
    assert.equal(busy.pings, 1, 'the busy member, silent since, is pinged one interval later');
    wheel.delete(busy);
  });
});

describe('keepalive over real sockets', () => {
  test('a silent peer (no pongs) is terminated with local 1006 within interval + timeout', async () => {
    const { wss, port } = await startServer({ keepalive: { interval: 100, timeout: 100 } });
    const closed = new Promise<[number, number]>((resolve) =>
      wss.on('connection', (ws: WebSocket) => {
        const start = Date.now();
        ws.on('close', (code: number) => resolve([code, Date.now() - start]));
      }),
    );
    const raw = await rawUpgrade(port); // reads, but never answers pings
    const [code, elapsed] = await closed;
    assert.equal(code, 1006);
    assert.ok(elapsed >= 150 && elapsed < 2000, `terminated after ${elapsed} ms`);
    assert.ok(
      parseFrames(raw.frames).some((f) => f.opcode === 9),
      'a ping was sent first',
    );
    await waitFor(() => raw.closed, 2000);
    await stopServer(wss);
  });

  test('a peer that answers pings stays connected', async () => {
    const { wss, url } = await startServer({ keepalive: { interval: 50, timeout: 100 } });
    let closed = false;
    let pings = 0;
    wss.on('connection', (ws: WebSocket) => ws.on('close', () => (closed = true)));
    const client = await wsClient(url);
    client.on('ping', () => pings++);
    await delay(600);
    assert.equal(closed, false);
    assert.ok(pings >= 2, `${pings} pings`);
    client.close();
    await once(client, 'close');
    await stopServer(wss);
  });

  test('client-side keepalive detects a server that stops answering', async () => {
    const { wss, url } = await startServer({ autoPong: false });
    const client = await WebSocket.connect(url, { keepalive: { interval: 100, timeout: 100 } });
    const [code] = await once<[number]>(client, 'close', 5000);
    assert.equal(code, 1006);
    await stopServer(wss);
  });
});

describe('server keepalive is on by default (30 s / 20 s)', () => {
  test('a default server watches its connections; keepalive: false does not', async () => {
    const wheel = keepaliveWheel(true);
    assert.ok(wheel !== null);
    assert.equal(wheel.interval, 30_000);
    assert.equal(wheel.timeout, 20_000);
    const base = wheel.size;
    const on = await startServer();
    const off = await startServer({ keepalive: false });
    const a = await wsClient(on.url);
    await waitFor(() => wheel.size === base + 1, 2000, 'the connection joins the default wheel');
    const b = await wsClient(off.url);
    await waitFor(() => off.wss.clients.size === 1);
    await delay(50);
    assert.equal(wheel.size, base + 1, 'keepalive: false keeps the connection out of the wheel');
    a.close();
    b.close();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
    await waitFor(() => wheel.size === base, 2000, 'a closed connection leaves the wheel');
    await stopServer(on.wss);
    await stopServer(off.wss);
  });

  test('after 30 s of silence a client is pinged; without any answer 20 s later it is dropped (1006)', async () => {
    const wheel = keepaliveWheel(true)!;
    const { wss, port, url } = await startServer();
    const serverClosed = new Promise<number>((resolve) =>
      wss.on('connection', (ws: WebSocket) => ws.on('close', (code: number) => resolve(code))),
    );
    const answering = await wsClient(url); // ws answers pings (autoPong)
    const pinged = once(answering, 'ping');
    const silent = await rawUpgrade(port); // reads but never answers
    await waitFor(() => wss.clients.size === 2);
    // Drive the shared wheel with a clock 30 s ahead instead of waiting (same code path as its timer).
    const t0 = wheel.clock();
    wheel.tick(t0); // new members count as active: this sweep records them as seen now
    wheel.tick(t0 + 30_000);
    await pinged;
    await waitFor(() => parseFrames(silent.frames).some((f) => f.opcode === 9), 2000, 'ping');
    await delay(50); // the ws client's pong arrives: it counts as alive at the next sweep
    wheel.tick(t0 + 30_000 + 20_000);
    assert.equal(await serverClosed, 1006);
    await waitFor(() => silent.closed, 2000, 'the silent socket is closed');
    assert.equal(answering.readyState, answering.OPEN, 'the client that answered stays open');
    answering.close();
    await once(answering, 'close');
    await stopServer(wss);
  });
});
