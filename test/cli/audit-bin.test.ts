/**
 * The real `ironsock` executable dispatches `audit` to the audit command (exit codes and JSON
 * survive the process boundary).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startToyServer } from '../fixtures/toy-server.js';

const bin = fileURLToPath(new URL('../../cli/bin.js', import.meta.url));

function runBin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test(
  'ironsock audit through the executable: FAIL exits 1, --help exits 0',
  { skip: existsSync(bin) ? false : 'src/cli/bin.ts is not built yet' },
  async () => {
    const help = await runBin(['audit', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: ironsock audit/);
    const toy = await startToyServer();
    try {
      const result = await runBin([
        'audit',
        '--json',
        '--timeout',
        '1500',
        '--only',
        'accept,unmasked,version-8',
        toy.url,
      ]);
      assert.equal(result.code, 1, result.stderr);
      const report = JSON.parse(result.stdout) as {
        results: Array<{ id: string; status: string }>;
      };
      assert.deepEqual(
        report.results.map((r) => [r.id, r.status]),
        [
          ['accept', 'FAIL'],
          ['version-8', 'FAIL'],
          ['unmasked', 'FAIL'],
        ],
      );
    } finally {
      await toy.close();
    }
  },
);
