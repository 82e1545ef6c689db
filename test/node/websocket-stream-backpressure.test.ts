/**
 * Receive backpressure of WebSocketStream (issue #16): a server in a child process pushes
 * 200,000 messages of 1 KiB; the client reads one message per second for 5 s. The client's
 * memory (heap + external, after a full GC) grows by less than 2 MiB, and the server's
 * `bufferedAmount` rises because the client stopped reading from the socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocketStream } from '../../src/node/websocket-stream.js';
import { delay } from './util.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function usedMemory(): number {
  gc();
  gc();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

test(
  'a slow reader of 200,000 x 1 KiB keeps its memory flat and backs up the server',
  { timeout: 30_000 },
  async () => {
    const script = fileURLToPath(new URL('../fixtures/push-server.js', import.meta.url));
    const child = spawn(process.execPath, [script, '200000', '1024'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const reports: Array<{ bufferedAmount: number; sent: number }> = [];
      const port = await new Promise<number>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`push server exited (${code})`)));
        lines.on('line', (line) => {
          const message = JSON.parse(line) as {
            port?: number;
            bufferedAmount?: number;
            sent?: number;
          };
          if (message.port !== undefined) resolve(message.port);
          else reports.push(message as { bufferedAmount: number; sent: number });
        });
      });
      const before = usedMemory();
      const stream = new WebSocketStream(`ws://127.0.0.1:${port}/`);
      const { readable } = await stream.opened;
      const reader = readable.getReader();
      for (let second = 0; second < 5; second++) {
        const { value, done } = await reader.read();
        assert.equal(done, false);
        assert.equal((value as Uint8Array).byteLength, 1024);
        await delay(1000);
      }
      const growth = usedMemory() - before;
      const last = reports[reports.length - 1];
      const peak = Math.max(...reports.map((r) => r.bufferedAmount));
      console.log(
        `client memory growth ${(growth / 1024).toFixed(0)} KiB; server sent ${last.sent}, ` +
          `bufferedAmount ${last.bufferedAmount} (peak ${peak})`,
      );
      assert.ok(growth < 2 * 1024 * 1024, `client memory grew by ${growth} bytes`);
      assert.ok(peak > 4 * 1024 * 1024, `server bufferedAmount peaked at ${peak}`);
      assert.ok(last.sent < 200_000, 'the server could not push everything');
      stream.close();
      await stream.closed.catch(() => {});
    } finally {
      child.stdin.end();
      child.kill();
    }
  },
);
