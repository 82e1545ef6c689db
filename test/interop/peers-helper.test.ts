/**
 * The peer helpers themselves (test/helpers/peers.ts): the CI rule of requirePeer, free
 * ports, and spawnReady's ready/timeout/exit/cleanup behaviour.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  chromium,
  freePort,
  nginx,
  pythonWebsockets,
  repoRoot,
  requirePeer,
  spawnReady,
  waitForPort,
} from '../helpers/peers.js';

let unique = 0;
const name = (): string => `fake-peer-${process.pid}-${++unique}`;

function withCi<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.CI;
  if (value === undefined) delete process.env.CI;
  else process.env.CI = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
}

describe('requirePeer: missing peers skip locally and fail under CI', () => {
  test('an available peer never skips', () => {
    assert.deepEqual(
      withCi('true', () => requirePeer(name(), () => true)),
      { skip: false },
    );
  });

  test('a missing peer outside CI skips with a one-line reason naming it', () => {
    const peer = name();
    const gate = withCi(undefined, () =>
      requirePeer(peer, () => 'Traceback...\nModuleNotFoundError: no websockets'),
    );
    assert.equal(gate.skip, `${peer} unavailable: ModuleNotFoundError: no websockets`);
    assert.equal(withCi('false', () => requirePeer(name(), () => 'nope')).skip !== false, true);
  });

  test('a missing peer under CI=true throws (a test failure)', () => {
    assert.throws(
      () => withCi('true', () => requirePeer(name(), () => 'not installed')),
      /unavailable: not installed \(required under CI=true\)/,
    );
  });

  test('a probe that throws counts as missing', () => {
    const gate = withCi(undefined, () =>
      requirePeer(name(), () => {
        throw new Error('probe exploded');
      }),
    );
    assert.match(String(gate.skip), /probe exploded/);
  });

  test('the probe runs once per name', () => {
    const peer = name();
    let calls = 0;
    const check = (): true => {
      calls++;
      return true;
    };
    requirePeer(peer, check);
    requirePeer(peer, check);
    assert.equal(calls, 1);
  });

  test('the real probes answer true or a reason, never throw', () => {
    for (const probe of [pythonWebsockets, chromium, nginx]) {
      const result = probe();
      assert.ok(result === true || (typeof result === 'string' && result.length > 0));
    }
  });
});

describe('ports and processes', () => {
  test('repoRoot finds the package root', () => {
    assert.ok(existsSync(join(repoRoot(), 'package.json')));
    assert.ok(existsSync(join(repoRoot(), 'test', 'interop', 'python', 'echo_server.py')));
  });

  test('freePort returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await waitForPort(port);
    await new Promise((resolve) => server.close(resolve));
    // Port 1 (tcpmux) is closed on any test machine; a just-closed port could be reused at once.
    await assert.rejects(waitForPort(1, '127.0.0.1', 300), /nothing listening/);
  });

  test(
    'spawnReady resolves on the ready line, sees later lines, stop() ends the process',
    { timeout: 20_000 },
    async () => {
      const script =
        "console.log('booting'); setTimeout(() => console.log('READY 4242'), 50); setTimeout(() => console.log('later 7'), 300); setInterval(() => {}, 1000);";
      const proc = await spawnReady(process.execPath, ['-e', script], { ready: /^READY (\d+)$/ });
      assert.equal(proc.match[1], '4242');
      assert.equal((await proc.waitForLine(/^later (\d+)$/))[1], '7');
      assert.deepEqual(proc.lines.slice(0, 2), ['booting', 'READY 4242']);
      await proc.stop();
      assert.notEqual(
        proc.child.exitCode === null && proc.child.signalCode === null,
        true,
        'process ended',
      );
      await proc.stop(); // idempotent
    },
  );

  test(
    'spawnReady rejects with stderr when the process exits before ready',
    { timeout: 20_000 },
    async () => {
      await assert.rejects(
        spawnReady(process.execPath, ['-e', "console.error('bad config'); process.exit(3)"], {
          ready: /^READY/,
        }),
        /exited with 3 before ready; stderr: bad config/,
      );
    },
  );

  test('spawnReady kills a process that never gets ready', { timeout: 20_000 }, async () => {
    const started = Date.now();
    await assert.rejects(
      spawnReady(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
        ready: /^READY/,
        timeoutMs: 500,
      }),
      /no ready line matching/,
    );
    assert.ok(Date.now() - started < 10_000);
  });

  test('spawnReady can take the ready line from stderr', { timeout: 20_000 }, async () => {
    const proc = await spawnReady(
      process.execPath,
      ['-e', "console.error('[notice] start worker process 1'); setInterval(() => {}, 1000)"],
      {
        ready: /start worker process/,
        readyOnStderr: true,
      },
    );
    await proc.stop();
  });
});
