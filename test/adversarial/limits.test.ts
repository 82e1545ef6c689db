/**
 * Checklist R1-R8: resource limits (message size, fragment budget, slow readers, silent peers,
 * connection caps, churn, injected socket errors) over real sockets against an ironsock echo
 * server, with the control-connection invariant and memory bounds of support.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from '../../src/node/websocket.js';
import {
  arena,
  assertMemoryBelow,
  Attacker,
  closePayload,
  delay,
  frame,
  memoryNow,
  Op,
  upgradeRequest,
  waitFor,
} from './support.js';

const MiB = 1024 * 1024;

test('R1: a header announcing 2^53-1 bytes, or 1 MiB + 1, with no payload -> Close 1009 at once, nothing allocated for it; 1 MiB + 1 across fragments -> 1009; exactly 1 MiB accepted', async () => {
  await arena({ maxBufferedAmount: 4 * MiB }, async (a) => {
    const before = memoryNow();
    for (const length of ['001fffffffffffff', '0000000000100001']) {
      const attacker = await a.attackOpen();
      attacker.write(Buffer.from(`82ff${length}00000000`, 'hex'));
      const close = await attacker.closeFrame(3000);
      assert.equal(close.code, 1009);
      await attacker.waitClosed(3000);
    }
    assertMemoryBelow(before, 8 * MiB, 'declared lengths');
    await a.check();
    const fragmented = await a.attackOpen();
    fragmented.write(frame(Op.Binary, Buffer.alloc(MiB / 2), { fin: false }));
    fragmented.write(frame(Op.Cont, Buffer.alloc(MiB / 2 + 1)));
    assert.equal((await fragmented.closeFrame(5000)).code, 1009);
    const exact = await a.attackOpen();
    const server = a.serverSockets.at(-1) as WebSocket;
    const received = new Promise<number>((resolve) =>
      server.once('message', (data: Buffer) => resolve(data.length)),
    );
    exact.write(frame(Op.Binary, Buffer.alloc(MiB / 2, 1), { fin: false }));
    exact.write(frame(Op.Cont, Buffer.alloc(MiB / 2, 2)));
    assert.equal(await received, MiB);
  });
});

test('R2: FIN=0 then 1-byte continuations forever (under the byte limit) -> Close 1009 at the message budget, memory bounded; a frame in 1-byte TCP writes is delivered', async () => {
  await arena({}, async (a) => {
    const attacker = await a.attackOpen();
    const before = memoryNow();
    const parts = [frame(Op.Text, 'a', { fin: false })];
    // Budget 2 MiB + 4 KiB at 33 per 1-byte part: closes after ~63,700 parts; send 80,000.
    for (let i = 0; i < 80_000; i++) parts.push(frame(Op.Cont, 'a', { fin: false }));
    const wire = Buffer.concat(parts);
    parts.length = 0;
    attacker.write(wire);
    await a.check();
    const close = await attacker.closeFrame(10_000);
    assert.equal(close.code, 1009);
    assertMemoryBelow(before, 2 * MiB + 16 * MiB, 'tiny fragments');
    await a.check();
    const slow = await a.attackOpen();
    const payload = Buffer.alloc(4096, 0x61);
    await slow.writeSlowly(frame(Op.Text, payload), 1);
    const echo = await slow.nextFrame(5000);
    assert.equal(echo.payload.length, 4096);
  });
});

test('R3: unbounded empty continuation frames are counted and closed (1009) at the part budget', async () => {
  await arena({}, async (a) => {
    const attacker = await a.attackOpen();
    const parts = [frame(Op.Binary, '', { fin: false })];
    // Budget (2 MiB + 4 KiB) / 32 per empty part = 65,664 parts; send 70,000.
    for (let i = 0; i < 70_000; i++) parts.push(frame(Op.Cont, '', { fin: false }));
    attacker.write(Buffer.concat(parts));
    const close = await attacker.closeFrame(10_000);
    assert.equal(close.code, 1009);
    await a.check();
  });
});

test('R4: a slow reader (never reads) while the server broadcasts: its queue is capped, it is closed 1008, the control keeps up', async () => {
  await arena({}, async (a) => {
    const attacker = await a.attackOpen();
    attacker.socket.pause();
    const server = a.serverSockets[1];
    const closed = new Promise<number>((resolve) =>
      server.once('close', (code: number) => resolve(code)),
    );
    const before = memoryNow();
    let controlBytes = 0;
    a.control.on('message', (data: Buffer) => (controlBytes += data.length));
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const controlSide = a.serverSockets[0];
    while (server.readyState === WebSocket.OPEN && sent < 1000) {
      // A well-behaved sender paces itself on the reader that keeps up (the control).
      await waitFor(() => controlSide.bufferedAmount < 256 * 1024, 5000, 'the control to drain');
      a.wss.broadcast(chunk);
      sent++;
    }
    const code = await closed;
    assert.equal(code, 1008, `server-side close code ${code} after ${sent} broadcasts`);
    assert.ok(sent < 1000, 'the slow reader was cut off');
    assert.ok(server.bufferedAmount <= 2 * MiB);
    assertMemoryBelow(before, 2 * MiB + 24 * MiB, 'slow reader');
    await waitFor(
      () => controlBytes >= sent * chunk.length,
      10_000,
      'the control to receive every broadcast',
    );
    attacker.socket.resume();
    await attacker.waitClosed(5000);
  });
});

test('R5: a silent peer after the handshake is pinged at the keepalive interval and terminated after the pong timeout (shortened to 300 ms / 300 ms)', async () => {
  await arena({ keepalive: { interval: 300, timeout: 300 } }, async (a) => {
    const attacker = await a.attackOpen();
    const server = a.serverSockets[1];
    const started = Date.now();
    const closed = new Promise<number>((resolve) =>
      server.once('close', (code: number) => resolve(code)),
    );
    const ping = await attacker.nextFrame(3000);
    assert.equal(ping.opcode, Op.Ping);
    assert.equal(await closed, 1006);
    assert.ok(Date.now() - started >= 500, 'not terminated before interval + timeout');
    await attacker.waitClosed(3000);
    // The control answers pings automatically and survives several rounds.
    await delay(700);
  });
});

test('R6: N+1 connections from one address with maxConnectionsPerAddress N -> 503 before any WebSocket state; maxConnections likewise', async () => {
  // The control counts as one connection from 127.0.0.1.
  await arena({ maxConnectionsPerAddress: 3 }, async (a) => {
    const first = await a.attackOpen();
    const second = await a.attackOpen();
    const clientsBefore = a.wss.clients.size;
    const excess = await a.attack();
    excess.write(upgradeRequest(a.port));
    assert.equal(await excess.status(), 503);
    await excess.waitClosed(3000);
    assert.equal(a.wss.clients.size, clientsBefore);
    assert.equal(a.rejections.at(-1)?.code, 'TOO_MANY_CONNECTIONS');
    first.destroy();
    await waitFor(() => a.wss.clients.size === clientsBefore - 1, 3000, 'a slot to free');
    const again = await a.attackOpen();
    again.destroy();
    second.destroy();
  });
  await arena({ maxConnections: 2 }, async (a) => {
    const one = await a.attackOpen();
    const excess = await a.attack();
    excess.write(upgradeRequest(a.port));
    assert.equal(await excess.status(), 503);
    one.destroy();
  });
});

test('R6: a handshake burst above maxHandshakesPerSecond (10) from one address -> 429 + Retry-After before any WebSocket state', async () => {
  await arena({ maxHandshakesPerSecond: 10 }, async (a) => {
    let refused = 0;
    let accepted = 0;
    const connections = a.serverSockets.length;
    for (let i = 0; i < 30; i++) {
      const attacker = await a.attack();
      attacker.write(upgradeRequest(a.port));
      const response = await attacker.response();
      if (response.head.status === 429) {
        refused++;
        assert.equal(response.header('retry-after'), '1');
        assert.equal(a.rejections.at(-1)?.code, 'TOO_MANY_HANDSHAKES');
      } else {
        assert.equal(response.head.status, 101);
        accepted++;
      }
      attacker.destroy();
    }
    assert.ok(refused > 0, 'some handshakes refused');
    // Fixed 1 s windows: a burst can straddle two of them (and the control used one slot).
    assert.ok(accepted <= 20, `${accepted} accepted`);
    assert.equal(
      a.serverSockets.length - connections,
      accepted,
      'refused ones never became connections',
    );
    await a.check();
  });
});

test('R7: open/close 1,000 connections by every path (clean, RST, timeout, rejection, mid-handshake abort; 200 each, scaled down from 10,000): clients, slots, timers and memory back to baseline', async () => {
  await arena({ handshakeTimeout: 500, closeTimeout: 500 }, async (a) => {
    const internal = a.wss as unknown as {
      slots: number;
      perAddress: Map<string, number>;
      live: Set<unknown>;
    };
    const timers = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const timersBefore = timers();
    const handlesBefore = (
      process as unknown as { _getActiveHandles(): unknown[] }
    )._getActiveHandles().length;
    const memoryBefore = memoryNow();
    const listenersBefore = a.wss
      .eventNames()
      .map((e) => a.wss.listenerCount(e))
      .join(',');
    const N = 200;
    const batch = async (fn: () => Promise<void>): Promise<void> => {
      for (let i = 0; i < N; i += 20)
        await Promise.all(Array.from({ length: Math.min(20, N - i) }, fn));
    };
    await batch(async () => {
      const c = await Attacker.open(a.port);
      c.write(frame(Op.Close, closePayload(1000)));
      await c.waitClosed(5000);
      c.destroy();
    });
    await batch(async () => {
      const c = await Attacker.open(a.port);
      c.socket.resetAndDestroy();
    });
    await batch(async () => {
      const c = await Attacker.connect(a.port);
      c.write('GET / HTTP/1.1\r\n');
      await c.waitClosed(5000);
      c.destroy();
    });
    await batch(async () => {
      const c = await Attacker.connect(a.port);
      c.write(upgradeRequest(a.port, { extra: ['Origin: https://evil.example'] }));
      await c.waitClosed(5000);
      c.destroy();
    });
    await batch(async () => {
      const c = await Attacker.connect(a.port);
      c.write(upgradeRequest(a.port).slice(0, 40));
      c.socket.resetAndDestroy();
    });
    await a.check();
    await waitFor(
      () => a.wss.clients.size === 1 && internal.slots === 1 && internal.live.size === 1,
      5000,
      'baseline',
    );
    assert.equal(internal.perAddress.size, 0);
    await delay(200);
    const handlesAfter = (
      process as unknown as { _getActiveHandles(): unknown[] }
    )._getActiveHandles().length;
    assert.ok(handlesAfter <= handlesBefore + 2, `handles ${handlesBefore} -> ${handlesAfter}`);
    // Grace timers of refused sockets last 1 s (REJECT_GRACE_MS) and are cleared on close.
    await waitFor(
      () => timers() <= timersBefore + 2,
      3000,
      `timers back to baseline (${timersBefore})`,
    );
    assert.equal(
      a.wss
        .eventNames()
        .map((e) => a.wss.listenerCount(e))
        .join(','),
      listenersBefore,
    );
    assertMemoryBelow(memoryBefore, 16 * MiB, 'churn');
  });
});

test('R8: RST and garbage injected before headers, during the handshake, after 101, mid-frame and during close: no exit, no unhandled error, local close 1006', async () => {
  await arena({ closeTimeout: 1000 }, async (a) => {
    const rst = async (prepare: (c: Attacker) => Promise<void> | void): Promise<void> => {
      const c = await Attacker.connect(a.port);
      await prepare(c);
      await delay(20);
      c.socket.resetAndDestroy();
      await c.waitClosed(3000);
    };
    await rst(() => {});
    await rst((c) => c.write('GET / HT'));
    await rst((c) => c.write(upgradeRequest(a.port)));
    const garbage = await Attacker.connect(a.port);
    garbage.write(Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]));
    await garbage.waitClosed(3000);
    await a.check();
    const opened = a.serverCloses.length;
    const after101 = await Attacker.open(a.port);
    after101.socket.resetAndDestroy();
    const midFrame = await a.attackOpen();
    midFrame.write(frame(Op.Binary, Buffer.alloc(1000)).subarray(0, 500));
    await delay(20);
    midFrame.socket.resetAndDestroy();
    const garbageAfter = await a.attackOpen();
    garbageAfter.write(Buffer.alloc(64, 0xff));
    const duringClose = await a.attackOpen();
    const server = a.serverSockets.at(-1) as WebSocket;
    server.close(1000);
    await duringClose.closeFrame(3000);
    duringClose.socket.resetAndDestroy();
    await waitFor(() => a.serverCloses.length >= opened + 4, 5000, 'four server-side closes');
    const codes = a.serverCloses.slice(opened).map((c) => c.code);
    assert.equal(codes.filter((c) => c === 1006).length >= 3, true, `codes ${codes.join(',')}`);
    await a.check();
  });
});
