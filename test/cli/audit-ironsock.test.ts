/**
 * `ironsock audit` against ironsock's own WebSocketServer (echo on message): no check may FAIL.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { auditCommand } from '../../src/cli/audit.js';
import type { AuditJson } from '../../src/cli/audit/report.js';
import { WebSocketServer } from '../../src/index.js';

/** Runs `ironsock audit <args> --json ws://127.0.0.1:<port>/` against `server`; exit code and stdout. */
async function auditServer(
  server: WebSocketServer,
  args: string[],
): Promise<{ code: number; text: string }> {
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await auditCommand([...args, '--json', `ws://127.0.0.1:${address.port}/`], {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    env: {},
    isTTY: false,
    signal: new AbortController().signal,
  });
  return { code, text: Buffer.concat(chunks).toString() };
}

/** Stops `server` and whatever clients it still has. */
async function stop(server: WebSocketServer): Promise<void> {
  for (const client of server.clients) client.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('audit of an ironsock WebSocketServer', () => {
  let server: WebSocketServer;
  let report: AuditJson;
  let exitCode = -1;
  let text = '';

  before(async () => {
    // A 1 s handshake timeout so the shortened slowloris probe (2 s) sees the close.
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', handshakeTimeout: 1000 });
    server.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    ({ code: exitCode, text } = await auditServer(server, [
      '--timeout',
      '1500',
      '--slowloris',
      '2',
      '--idle',
      '1',
      '--pings',
      '2000',
      '--fragments',
      '2000',
    ]));
    report = JSON.parse(text) as AuditJson;
  });
  after(() => stop(server));

  test('no check FAILs and the exit code is 0', () => {
    const failed = report.results
      .filter((r) => r.status === 'FAIL')
      .map((r) => `${r.id}: ${r.received} (${r.note ?? ''})`);
    assert.deepEqual(failed, []);
    assert.equal(exitCode, 0);
  });

  test('secure defaults are visible: origin refused, 1 MiB limit, version 13 only (RFC 6455 §4.4, §10.2, §10.4)', () => {
    const status = (id: string): string | undefined =>
      report.results.find((r) => r.id === id)?.status;
    assert.equal(status('origin-cross'), 'PASS');
    assert.equal(status('version-8'), 'PASS');
    assert.equal(status('http-1.0'), 'PASS');
    assert.equal(status('message-limit'), 'INFO');
    const limit = report.profile.observedLimit ?? 0;
    assert.ok(limit >= 1024 * 1024 && limit < 2 * 1024 * 1024, `observed ${limit}`);
    assert.equal(report.profile.echoes, true);
  });
});

describe('audit of an ironsock server that does not echo', () => {
  test('violations are still judged by close codes: no FAIL', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (ws) => ws.on('error', () => {}));
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const { code, text } = await auditServer(server, [
        '--timeout',
        '1500',
        '--only',
        'echo,framing,huge-length',
      ]);
      const result = JSON.parse(text) as AuditJson;
      assert.equal(result.profile.echoes, false);
      assert.match(result.results.find((r) => r.id === 'echo')?.note ?? '', /not an echo server/);
      assert.deepEqual(
        result.results.filter((r) => r.status === 'FAIL').map((r) => r.id),
        [],
      );
      assert.equal(code, 0);
    } finally {
      await stop(server);
    }
  });
});

describe('audit of an ironsock server with permessage-deflate enabled (RFC 7692 §8.1)', () => {
  test('the decompression bomb is refused with 1009', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    server.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const { code, text } = await auditServer(server, [
        '--timeout',
        '1000',
        '--only',
        'deflate-bomb',
        '--bomb-mib',
        '8',
      ]);
      const result = JSON.parse(text) as AuditJson;
      assert.equal(result.results[0].status, 'PASS');
      assert.match(result.results[0].received, /Close 1009/);
      assert.equal(code, 0);
    } finally {
      await stop(server);
    }
  });
});
