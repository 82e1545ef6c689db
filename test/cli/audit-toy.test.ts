/**
 * `ironsock audit` against the deliberately broken toy server (test/fixtures/toy-server.ts): each
 * of its faults must be caught.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { auditCommand } from '../../src/cli/audit.js';
import type { AuditJson } from '../../src/cli/audit/report.js';
import { startToyServer, type ToyServer } from '../fixtures/toy-server.js';

async function runJson(args: string[]): Promise<{ code: number; report: AuditJson }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await auditCommand([...args, '--json'], {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    env: {},
    isTTY: false,
    signal: new AbortController().signal,
  });
  return { code, report: JSON.parse(Buffer.concat(chunks).toString()) as AuditJson };
}

describe('audit of the broken toy server', () => {
  let toy: ToyServer;
  let report: AuditJson;
  let exitCode = -1;
  const status = (id: string): string => {
    const result = report.results.find((r) => r.id === id);
    assert.ok(result, `no result for ${id}`);
    return result.status;
  };

  before(async () => {
    toy = await startToyServer();
    const result = await runJson([
      '--timeout',
      '1500',
      '--slowloris',
      '2',
      '--idle',
      '1',
      '--pings',
      '1000',
      '--fragments',
      '1000',
      toy.url,
    ]);
    exitCode = result.code;
    report = result.report;
  });
  after(() => toy.close());

  test('exit code 1', () => assert.equal(exitCode, 1));

  test('wrong Sec-WebSocket-Accept is FAIL (RFC 6455 §4.2.2)', () => {
    assert.equal(status('accept'), 'FAIL');
    assert.match(report.results.find((r) => r.id === 'accept')?.note ?? '', /Accept value/);
    // Checks still run on the upgraded connections, and the echo is detected.
    assert.equal(report.profile.echoes, true);
  });

  test('accepting any origin, method, key, version, HTTP/1.0 is FAIL (RFC 6455 §4.2.1, §4.4, §10.2)', () => {
    for (const id of [
      'origin-cross',
      'origin-null',
      'form-urlencoded',
      'form-multipart',
      'form-text-plain',
      'key-missing',
      'key-short',
      'key-long',
      'key-non-base64',
      'key-duplicate',
      'version-8',
      'version-12',
      'version-14',
      'version-missing',
      'http-1.0',
      'host-missing',
      'request-body',
    ]) {
      assert.equal(status(id), 'FAIL', id);
    }
    assert.equal(status('origin-scheme'), 'INFO');
    assert.equal(status('host-duplicate'), 'WARN');
    assert.equal(status('request-chunked'), 'WARN');
    assert.equal(status('large-head'), 'WARN');
    assert.equal(status('dns-rebinding'), 'WARN');
    assert.equal(status('plain-get'), 'PASS');
  });

  test('unmasked frames, reserved opcodes and RSV bits accepted are FAIL (RFC 6455 §5.1, §5.2)', () => {
    assert.equal(status('unmasked'), 'FAIL');
    assert.equal(status('opcode-reserved'), 'FAIL');
    assert.equal(status('rsv-bits'), 'FAIL');
    assert.equal(status('continuation-unexpected'), 'FAIL');
    assert.equal(status('fragment-interleaved'), 'FAIL');
    assert.equal(status('close-one-byte'), 'FAIL');
    assert.equal(status('length-msb'), 'WARN');
  });

  test('missing UTF-8 validation is FAIL (RFC 6455 §8.1)', () => {
    assert.equal(status('utf8-invalid'), 'FAIL');
    assert.equal(status('utf8-fail-fast'), 'FAIL');
    assert.equal(status('close-reason-utf8'), 'FAIL');
  });

  test('oversized and fragmented pings answered are FAIL (RFC 6455 §5.5)', () => {
    assert.equal(status('control-too-long'), 'FAIL');
    assert.equal(status('control-fragmented'), 'FAIL');
  });

  test('echoed invalid close codes are FAIL (RFC 6455 §7.4)', () => {
    assert.equal(status('close-codes'), 'FAIL');
    assert.match(report.results.find((r) => r.id === 'close-codes')?.received ?? '', /1005->1005/);
  });

  test('trusting a 2^40 declared length is WARN; the real-bytes probe finds the buffer cap (RFC 6455 §10.4)', () => {
    assert.equal(status('huge-length'), 'WARN');
    // The toy has no limit on declared lengths; its 1 MiB buffer cap drops the real-bytes probe.
    assert.match(
      report.results.find((r) => r.id === 'message-limit')?.received ?? '',
      /declared lengths not checked/,
    );
  });

  test('no handshake timeout is WARN; the toy survives every risky probe', () => {
    assert.equal(status('slowloris'), 'WARN');
    assert.ok(report.results.every((r) => r.status !== 'SKIP'));
  });
});

describe('health check after risky probes', () => {
  test('a server that dies on a 2^40-byte frame header makes huge-length FAIL and the rest SKIP', async () => {
    const toy = await startToyServer({ crashOnHugeFrame: true });
    try {
      const { code, report } = await runJson([
        '--timeout',
        '1500',
        '--only',
        'huge-length,ping-flood,idle-timeout',
        toy.url,
      ]);
      assert.equal(code, 1);
      const byId = new Map(report.results.map((r) => [r.id, r]));
      assert.equal(byId.get('huge-length')?.status, 'FAIL');
      assert.match(byId.get('huge-length')?.note ?? '', /a fresh client failed/);
      assert.match(
        byId.get('huge-length')?.note ?? '',
        /stopped accepting connections after this probe \(a crash or a denial of service\)/,
      );
      assert.equal(byId.get('huge-length')?.stoppedServer, true);
      assert.equal(report.verdict.stoppedAfter, 'huge-length');
      assert.equal(byId.get('ping-flood')?.status, 'SKIP');
      assert.equal(byId.get('idle-timeout')?.status, 'SKIP');
      assert.match(
        byId.get('idle-timeout')?.note ?? '',
        /stopped accepting connections after huge-length/,
      );
    } finally {
      await toy.close();
    }
  });
});
