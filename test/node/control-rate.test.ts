/**
 * The control-frame rate limit (src/node/control-rate.ts, checklists C3 and C4): the counter
 * itself on a stand-in window, then a ping flood over a real socket.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { admitControlFrame } from '../../src/node/control-rate.js';
import type { ControlWindow } from '../../src/node/control-rate.js';
import { CONTROL_FRAME_WINDOW_MS } from '../../src/node/limits.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { WebSocket } from '../../src/node/websocket.js';
import { once, rawUpgrade, startServer, stopServer } from './util.js';

/** A window of `maxControl` frames over a stand-in engine that records `fail` calls. */
function window(maxControl: number) {
  const failures: string[] = [];
  const conn = { state: 'open', fail: (code: string) => failures.push(code) };
  const w: ControlWindow = {
    conn: conn as unknown as Connection,
    maxControl,
    controlCount: 0,
    controlWindowStart: Date.now() & 0x3fffffff,
  };
  return { w, conn, failures };
}

describe('admitControlFrame', () => {
  test('admits max frames per window; the next one fails the connection once with CONTROL_FLOOD', () => {
    const { w, conn, failures } = window(3);
    assert.deepEqual(
      [1, 2, 3].map(() => admitControlFrame(w)),
      [true, true, true],
    );
    assert.equal(admitControlFrame(w), false);
    assert.deepEqual(failures, ['CONTROL_FLOOD']);
    conn.state = 'closed';
    assert.equal(admitControlFrame(w), false, 'still refused once closed');
    assert.deepEqual(failures, ['CONTROL_FLOOD'], 'a closed connection is not failed again');
  });

  test('a new window starts the count over', () => {
    const { w, failures } = window(2);
    admitControlFrame(w);
    admitControlFrame(w);
    w.controlWindowStart = (Date.now() - CONTROL_FRAME_WINDOW_MS - 1) & 0x3fffffff;
    assert.equal(admitControlFrame(w), true);
    assert.equal(w.controlCount, 1);
    assert.deepEqual(failures, []);
  });
});

describe('over a real socket (C4)', () => {
  test('a ping flood above the rate limit is failed with 1008 CONTROL_FLOOD', async () => {
    const { wss, port } = await startServer({ maxControlFramesPerSecond: 50 });
    const connected = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const raw = await rawUpgrade(port);
    const ws = await connected;
    let error: unknown;
    ws.on('error', (e: unknown) => (error = e));
    const closed = once<[number]>(ws, 'close');
    for (let i = 0; i < 200; i++) raw.frame(0x9, 'x');
    const [code] = await closed;
    assert.equal(code, 1008);
    assert.equal((error as { code: string }).code, 'CONTROL_FLOOD');
    raw.destroy();
    await stopServer(wss);
  });
});
