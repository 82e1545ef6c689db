/**
 * `ironsock audit` notices when it crashed the server: a default `ws` WebSocketServer whose
 * application attaches no 'error' listener dies (uncaught exception) on the first malformed frame.
 * The probe that killed it FAILs with the reason, every later check is SKIP with it, the exit
 * code is 1 (with --only too), and the text report starts with that verdict.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { auditCommand } from '../../src/cli/audit.js';
import type { AuditJson } from '../../src/cli/audit/report.js';
import { repoRoot, spawnReady, type ReadyProcess } from '../helpers/peers.js';

/** ws with default options and an echo handler, but no 'error' listener on its sockets. */
const FRAGILE_SERVER = `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
wss.on('listening', () => console.log('port ' + wss.address().port));
`;

async function startFragile(): Promise<{ server: ReadyProcess; url: string }> {
  const server = await spawnReady(process.execPath, ['-e', FRAGILE_SERVER], {
    ready: /^port (\d+)$/,
    cwd: repoRoot(),
    timeoutMs: 15_000,
  });
  return { server, url: `ws://127.0.0.1:${server.match[1]}/` };
}

async function audit(args: string[]): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await auditCommand(['--timeout', '1500', ...args], {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    env: {},
    isTTY: false,
    signal: new AbortController().signal,
  });
  return { code, stdout: Buffer.concat(chunks).toString() };
}

describe('audit of a server that dies on a malformed frame', { timeout: 60_000 }, () => {
  test('the probe that killed it FAILs, later checks SKIP with the reason, exit code 1', async () => {
    const { server, url } = await startFragile();
    try {
      const { code, stdout } = await audit(['--json', '--only', 'framing', url]);
      const report = JSON.parse(stdout) as AuditJson;
      assert.equal(code, 1);
      // The process really died: it is the uncaught 'error' of ws, not a refusal.
      assert.notEqual(await server.exited(), 0);
      const killer = report.results.find((r) => r.stoppedServer === true);
      assert.ok(killer, 'one check is marked as having stopped the server');
      assert.equal(killer.status, 'FAIL');
      assert.equal(killer.id, 'unmasked', 'the first malformed frame of the framing group');
      assert.match(
        killer.note ?? '',
        /the server stopped accepting connections after this probe \(a crash or a denial of service\)/,
      );
      const after = report.results.slice(report.results.indexOf(killer) + 1);
      assert.ok(after.length >= 10);
      for (const result of after) {
        assert.equal(result.status, 'SKIP', result.id);
        assert.equal(
          result.note,
          'not run: the server stopped accepting connections after unmasked',
        );
      }
      assert.equal(report.summary.FAIL, 1, 'no spurious FAILs blamed on later checks');
      assert.equal(report.verdict.status, 'FAIL');
      assert.equal(report.verdict.stoppedAfter, 'unmasked');
    } finally {
      await server.stop();
    }
  });

  test('with --only one check, a crash is still a FAIL and the exit code 1', async () => {
    const { server, url } = await startFragile();
    try {
      const { code, stdout } = await audit(['--json', '--only', 'opcode-reserved', url]);
      const report = JSON.parse(stdout) as AuditJson;
      assert.equal(code, 1);
      assert.deepEqual(
        report.results.map((r) => [r.id, r.status, r.stoppedServer]),
        [['opcode-reserved', 'FAIL', true]],
      );
    } finally {
      await server.stop();
    }
  });

  test('the text report gives the verdict first, what it means and how to fix it', async () => {
    const { server, url } = await startFragile();
    try {
      const { code, stdout } = await audit(['--only', 'rsv-bits,utf8-invalid,ping-flood', url]);
      assert.equal(code, 1);
      const lines = stdout.split('\n');
      assert.match(
        lines[2],
        /^Verdict: FAIL: the server stopped accepting connections after the "rsv-bits" check: one unauthenticated client sending this can take your whole server down .* The 2 checks after it could not run\.$/,
      );
      assert.equal(lines[3], '1 FAIL, 0 WARN, 0 PASS, 0 INFO, 2 SKIP');
      assert.equal(lines[5], 'What to fix:');
      assert.match(lines[6], /^ {2}FAIL rsv-bits: /);
      assert.match(
        lines[7],
        /^ {6}means: one unauthenticated client sending this can take your whole server down/,
      );
      assert.match(lines[8], /^ {6}fix: {3}handle 'error' events on every socket/);
      assert.match(
        stdout,
        /\nSKIP utf8-invalid +.*not run: the server stopped accepting connections after rsv-bits/,
      );
    } finally {
      await server.stop();
    }
  });
});
