/**
 * `ironsock audit`: argument handling, and a full audit of a `ws` WebSocketServer with default
 * options, whose known weaknesses (cross-origin upgrades, HTTP/1.0, hybi-08, 100 MiB limit, request
 * body delivered as a message) must be reported.
 */
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { inflateRawSync, constants as zlibConstants } from 'node:zlib';
import { WebSocketServer } from 'ws';
import { auditCommand } from '../../src/cli/audit.js';
import type { AuditJson } from '../../src/cli/audit/report.js';
import { parseAuditArgs, auditHelp } from '../../src/cli/audit/options.js';
import { parseTarget, swapScheme } from '../../src/cli/audit/target.js';
import { escapeText } from '../../src/cli/audit/describe.js';
import { ALL_CHECKS } from '../../src/cli/audit/registry.js';
import { parseResponseHead } from '../../src/cli/audit/http.js';
import { ServerFrameReader, craftFrame, closePayload } from '../../src/cli/audit/frames.js';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { TOY_TLS_CERT, TOY_TLS_KEY } from '../fixtures/toy-server-tls.js';

/** Runs the command with in-memory streams. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await auditCommand(args, {
    stdin: new PassThrough(),
    stdout,
    stderr,
    env: {},
    isTTY: false,
    signal: new AbortController().signal,
  });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** Small bounds so one full audit of a local server takes a few seconds. */
const FAST = [
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
];

function statusOf(report: AuditJson, id: string): string {
  const result = report.results.find((r) => r.id === id);
  assert.ok(result, `no result for ${id}`);
  return result.status;
}

async function startWs(
  options: ConstructorParameters<typeof WebSocketServer>[0] = {},
): Promise<{ url: string; server: WebSocketServer }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  server.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  return { url: `ws://127.0.0.1:${address.port}/`, server };
}

async function stopWs(server: WebSocketServer): Promise<void> {
  for (const client of server.clients) client.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('audit arguments and output helpers', () => {
  test('--help lists every check with its bounds and RFC section', async () => {
    const { code, stdout } = await run(['--help']);
    assert.equal(code, 0);
    for (const check of ALL_CHECKS) {
      assert.match(stdout, new RegExp(`\\b${check.id.replace('.', '\\.')}\\b`));
      assert.ok(stdout.includes(check.bounds), `bounds of ${check.id}`);
    }
    assert.equal(auditHelp(), stdout);
  });

  test('usage errors exit 2 with a message on stderr', async () => {
    for (const args of [
      [],
      ['http://example.com/'],
      ['--timeout', 'x', 'ws://a/'],
      ['--only', 'nope', 'ws://a/'],
      ['--frob', 'ws://a/'],
    ]) {
      const { code, stderr } = await run(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, /ironsock audit: /);
    }
  });

  test('an unreachable server exits 2', async () => {
    const { server } = await startWs();
    const address = server.address();
    assert.ok(typeof address === 'object' && address !== null);
    await stopWs(server);
    const { code, stderr } = await run(['--timeout', '500', `ws://127.0.0.1:${address.port}/`]);
    assert.equal(code, 2);
    assert.match(stderr, /cannot connect/);
  });

  test('options: defaults, --flag=value, bounds derived from --max-bytes', () => {
    const options = parseAuditArgs([
      '--timeout=250',
      '--max-bytes',
      '7000',
      '--only',
      'framing,accept',
      'ws://h/',
    ]);
    assert.equal(options.timeoutMs, 250);
    assert.deepEqual(options.only, ['framing', 'accept']);
    assert.equal(options.tuning.fragments, 1000);
    assert.equal(options.tuning.pings, 700);
  });

  test('target: Host header, default origin base, scheme swap (RFC 6455 §3, §4.1)', () => {
    const plain = parseTarget('ws://example.com:8080/chat?x=1');
    assert.equal(plain.hostHeader, 'example.com:8080');
    assert.equal(plain.path, '/chat?x=1');
    assert.equal(plain.originBase, 'http://example.com:8080');
    const secure = parseTarget('wss://[::1]/');
    assert.equal(secure.hostname, '::1');
    assert.equal(secure.port, 443);
    assert.equal(secure.originBase, 'https://[::1]');
    assert.equal(swapScheme('https://a.example'), 'http://a.example');
    assert.equal(parseTarget('ws://a/', 'https://app.example').originBase, 'https://app.example');
    assert.throws(() => parseTarget('ws://a/#frag'));
  });

  test('escapeText neutralises terminal control and bidi characters', () => {
    assert.equal(escapeText('a\x1b[31mb\r\n'), 'a\\x1b[31mb\\x0d\\x0a');
    assert.equal(escapeText('x\u202ey'), 'x\\u{202e}y');
    assert.equal(escapeText('κόσμε §'), 'κόσμε §');
    assert.equal(escapeText('z'.repeat(200), 10), `${'z'.repeat(10)}...`);
  });

  test('ServerFrameReader reads split and masked server frames, stops on unreadable ones (RFC 6455 §5.2)', () => {
    const reader = new ServerFrameReader(1000);
    const bytes = Buffer.concat([
      ...craftFrame({ opcode: 0x1, payload: Buffer.from('hello'), masked: true }),
      ...craftFrame({ opcode: 0x8, payload: closePayload(1002), masked: false }),
    ]);
    for (let i = 0; i < bytes.length; i++) reader.push(bytes.subarray(i, i + 1));
    const frames = reader.take();
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.masked, f.payload.toString('hex')]),
      [
        [0x1, true, Buffer.from('hello').toString('hex')],
        [0x8, false, '03ea'],
      ],
    );
    assert.equal(reader.stopped, null);
    const big = new ServerFrameReader(10);
    big.push(Buffer.concat(craftFrame({ opcode: 0x2, payload: Buffer.alloc(11), masked: false })));
    assert.equal(big.stopped, 'oversized');
    const control = new ServerFrameReader(1000);
    control.push(
      Buffer.concat(craftFrame({ opcode: 0x9, payload: Buffer.alloc(126), masked: false })),
    );
    assert.equal(control.stopped, 'control-too-long');
  });

  test('parseResponseHead waits for the blank line and keeps duplicates', () => {
    assert.equal(
      parseResponseHead(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n')),
      null,
    );
    const head = parseResponseHead(
      Buffer.from('HTTP/1.1 426 Upgrade Required\r\nA: 1\r\na: 2\r\n\r\nrest'),
    );
    assert.ok(head);
    assert.equal(head.status, 426);
    assert.deepEqual(head.headers, [
      ['a', '1'],
      ['a', '2'],
    ]);
    assert.equal(head.bodyOffset, 45);
    assert.equal(head.strictError, undefined);
  });

  test('parseResponseHead describes bare-LF heads and flags them via the strict parser', () => {
    const head = parseResponseHead(
      Buffer.from('HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n'),
    );
    assert.ok(head);
    assert.equal(head.status, 101);
    assert.match(head.strictError ?? '', /^[A-Z_]+: /);
  });
});

describe('audit of a ws WebSocketServer with default options', () => {
  let url = '';
  let server: WebSocketServer;
  let report: AuditJson;
  let exitCode = -1;
  before(async () => {
    ({ url, server } = await startWs());
    const { code, stdout } = await run([...FAST, '--json', url]);
    exitCode = code;
    report = JSON.parse(stdout) as AuditJson;
  });
  after(() => stopWs(server));

  test('exit code is 1 because checks failed', () => {
    assert.equal(exitCode, 1);
    assert.ok(report.summary.FAIL > 0);
  });

  test('accepts the baseline with a correct Accept (RFC 6455 §4.2.2) and is an echo server', () => {
    assert.equal(statusOf(report, 'accept'), 'PASS');
    assert.equal(report.profile.echoes, true);
  });

  test('cross-origin and null-origin upgrades are FAIL (RFC 6455 §10.2)', () => {
    assert.equal(statusOf(report, 'origin-cross'), 'FAIL');
    assert.equal(statusOf(report, 'origin-null'), 'FAIL');
  });

  test('HTTP/1.0 and Sec-WebSocket-Version: 8 upgrades are FAIL (RFC 6455 §4.1, §4.4)', () => {
    assert.equal(statusOf(report, 'http-1.0'), 'FAIL');
    assert.equal(statusOf(report, 'version-8'), 'FAIL');
    assert.equal(statusOf(report, 'version-12'), 'PASS');
  });

  test('the 100 MiB message limit is WARN (RFC 6455 §10.4)', () => {
    assert.equal(statusOf(report, 'message-limit'), 'WARN');
    const result = report.results.find((r) => r.id === 'message-limit');
    // Exactly 100 MiB on an idle machine; a refusal slower than the 1 s quiet period under heavy
    // load can only make the bisection overshoot, never undershoot.
    const limit = report.profile.observedLimit ?? 0;
    assert.ok(limit >= 100 * 1024 * 1024 && limit < 128 * 1024 * 1024, `observed ${limit}`);
    assert.match(result?.received ?? '', /accepts 1\d\d(\.\d)? MiB/);
  });

  test('a request body delivered as a frame is FAIL', () => {
    assert.equal(statusOf(report, 'request-body'), 'FAIL');
    assert.equal(statusOf(report, 'request-chunked'), 'WARN');
    assert.equal(statusOf(report, 'large-head'), 'PASS');
  });

  test('DNS rebinding is WARN; a refused upgrade closes the connection', () => {
    assert.equal(statusOf(report, 'dns-rebinding'), 'WARN');
    assert.equal(statusOf(report, 'refusal-closes'), 'PASS');
  });

  test('framing violations are answered with the right close codes (RFC 6455 §5, §7.4, §8.1)', () => {
    for (const id of [
      'continuation-unexpected',
      'fragment-interleaved',
      'length-msb',
      'close-one-byte',
      'unmasked',
      'opcode-reserved',
      'rsv-bits',
      'utf8-invalid',
      'control-too-long',
      'control-fragmented',
      'close-codes',
      'close-reason-utf8',
      'huge-length',
    ]) {
      assert.equal(statusOf(report, id), 'PASS', id);
    }
  });

  test('the server stayed healthy after every risky probe', () => {
    assert.ok(report.results.every((r) => !/a fresh client failed/.test(r.note ?? '')));
    assert.equal(report.results.filter((r) => r.status === 'SKIP').length, 0);
  });

  test('text output: header, verdict first, what to fix with meaning and fix, then one line per check', async () => {
    const { code, stdout } = await run([
      ...FAST,
      '--only',
      'handshake',
      '--skip',
      'slowloris',
      url,
    ]);
    assert.equal(code, 1);
    const lines = stdout.trim().split('\n');
    const ids = ALL_CHECKS.filter((c) => c.group === 'handshake' && c.id !== 'slowloris').map(
      (c) => c.id,
    );
    assert.match(lines[0], /^ironsock audit ws:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(lines[1], '');
    // ws with default options accepts cross-origin pages: the verdict comes first.
    assert.match(lines[2], /^Verdict: FAIL: \d+ problems? to fix/);
    assert.match(lines[3], /^\d+ FAIL, \d+ WARN, \d+ PASS, \d+ INFO, \d+ SKIP$/);
    assert.equal(lines[5], 'What to fix:');
    const fix = stdout.slice(stdout.indexOf('What to fix:'), stdout.indexOf('Every check:'));
    assert.match(
      fix,
      /FAIL origin-cross: .*\n {6}means: any website your users visit can open a connection .*\n {6}fix: {3}check the Origin header/,
    );
    const every = lines.slice(lines.indexOf('Every check:') + 1);
    assert.equal(every.length, ids.length);
    for (const [i, id] of ids.entries())
      assert.match(every[i], new RegExp(`^(PASS|FAIL|WARN|INFO) ${id} `));
  });

  test('--origin-base makes a listed origin the expected one', async () => {
    const { stdout } = await run([
      ...FAST,
      '--json',
      '--only',
      'accept',
      '--origin-base',
      'https://evil.example',
      url,
    ]);
    const result = JSON.parse(stdout) as AuditJson;
    assert.equal(result.originBase, 'https://evil.example');
    assert.deepEqual(
      result.results.map((r) => r.id),
      ['accept'],
    );
  });
});

describe('audit of ws with permessage-deflate (RFC 7692 §8.1)', () => {
  test('a server with a small maxPayload refuses the bomb with 1009', async () => {
    const { url, server } = await startWs({ perMessageDeflate: true, maxPayload: 1024 * 1024 });
    try {
      const { code, stdout } = await run([
        ...FAST,
        '--json',
        '--only',
        'deflate-bomb',
        '--bomb-mib',
        '8',
        url,
      ]);
      const report = JSON.parse(stdout) as AuditJson;
      assert.equal(statusOf(report, 'deflate-bomb'), 'PASS');
      assert.match(report.results[0].received, /Close 1009/);
      assert.equal(code, 0);
    } finally {
      await stopWs(server);
    }
  });

  test('a server that inflates the whole bomb and echoes it is FAIL', async () => {
    const { url, server } = await startWs({
      perMessageDeflate: true,
      maxPayload: 64 * 1024 * 1024,
    });
    try {
      const { code, stdout } = await run([
        ...FAST,
        '--json',
        '--only',
        'deflate-bomb',
        '--bomb-mib',
        '4',
        '--max-bytes',
        '1048576',
        url,
      ]);
      const report = JSON.parse(stdout) as AuditJson;
      assert.equal(statusOf(report, 'deflate-bomb'), 'FAIL');
      assert.equal(code, 1);
    } finally {
      await stopWs(server);
    }
  });

  test('the bomb inflates to the announced size', async () => {
    const { deflateBomb } = await import('../../src/cli/audit/checks-limits.js');
    const bomb = deflateBomb(3 * 1024 * 1024);
    assert.ok(bomb.length < 16 * 1024);
    const inflated = inflateRawSync(Buffer.concat([bomb, Buffer.from([0, 0, 0xff, 0xff])]), {
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
    });
    assert.equal(inflated.length, 3 * 1024 * 1024);
    assert.ok(inflated.every((b) => b === 0));
  });
});

describe('audit over TLS (wss://)', () => {
  test('--insecure accepts a self-signed certificate; without it the server is unreachable', async () => {
    const https = createHttpsServer({ key: TOY_TLS_KEY, cert: TOY_TLS_CERT });
    const server = new WebSocketServer({ server: https });
    server.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', () => resolve()));
    const address = https.address();
    assert.ok(typeof address === 'object' && address !== null);
    const url = `wss://127.0.0.1:${address.port}/`;
    try {
      const strict = await run(['--timeout', '1000', '--only', 'accept', url]);
      assert.equal(strict.code, 2);
      assert.match(strict.stderr, /cannot connect/);
      const { code, stdout } = await run([
        ...FAST,
        '--insecure',
        '--json',
        '--only',
        'accept,origin-cross,origin-scheme,unmasked',
        url,
      ]);
      const report = JSON.parse(stdout) as AuditJson;
      assert.equal(report.originBase, `https://127.0.0.1:${address.port}`);
      assert.equal(statusOf(report, 'accept'), 'PASS');
      assert.equal(statusOf(report, 'unmasked'), 'PASS');
      assert.equal(statusOf(report, 'origin-cross'), 'FAIL');
      // An http:// page accepted by a wss:// server: WARN (INFO for the reverse on ws://).
      assert.equal(statusOf(report, 'origin-scheme'), 'WARN');
      assert.equal(code, 1);
    } finally {
      for (const client of server.clients) client.terminate();
      server.close();
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });
});

describe('audit of an authenticated endpoint', () => {
  test('--header and --protocol are sent on every handshake', async () => {
    const { url, server } = await startWs({
      verifyClient: (info: { req: { headers: Record<string, string | string[] | undefined> } }) =>
        info.req.headers['x-token'] === 'secret',
      handleProtocols: (protocols: Set<string>) => (protocols.has('chat') ? 'chat' : false),
    });
    try {
      const denied = await run([...FAST, '--json', '--only', 'accept', url]);
      assert.equal(statusOf(JSON.parse(denied.stdout) as AuditJson, 'accept'), 'FAIL');
      const allowed = await run([
        ...FAST,
        '--json',
        '--only',
        'accept,unmasked',
        '-H',
        'X-Token: secret',
        '--protocol',
        'chat',
        url,
      ]);
      const report = JSON.parse(allowed.stdout) as AuditJson;
      assert.equal(statusOf(report, 'accept'), 'PASS');
      assert.equal(statusOf(report, 'unmasked'), 'PASS');
      assert.equal(allowed.code, 0);
      assert.equal((await run(['-H', 'no colon', url])).code, 2);
    } finally {
      await stopWs(server);
    }
  });
});

describe('audit of a plain HTTP server (no WebSocket support)', () => {
  test('keep-alive after a refused upgrade is WARN; framing checks are SKIP', async () => {
    const http = createHttpServer((_request, response) => {
      response.statusCode = 400;
      response.end('no websockets here');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    const address = http.address();
    assert.ok(typeof address === 'object' && address !== null);
    try {
      const { code, stdout } = await run([
        ...FAST,
        '--json',
        '--only',
        'refusal-closes,unmasked,dns-rebinding',
        `ws://127.0.0.1:${address.port}/`,
      ]);
      const report = JSON.parse(stdout) as AuditJson;
      assert.equal(report.profile.upgrades, false);
      assert.equal(statusOf(report, 'refusal-closes'), 'WARN');
      assert.match(
        report.results.find((r) => r.id === 'refusal-closes')?.received ?? '',
        /second response|kept open/,
      );
      assert.equal(statusOf(report, 'unmasked'), 'SKIP');
      assert.equal(statusOf(report, 'dns-rebinding'), 'PASS');
      assert.equal(code, 0);
    } finally {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});

describe('audit of a server that answers pipelined requests after a refusal', () => {
  test('a second response to the smuggled request is WARN (RFC 9112 §9.6)', async () => {
    const sockets = new Set<Socket>();
    const server = createNetServer((socket) => {
      sockets.add(socket);
      let seen = '';
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        let end: number;
        while ((end = seen.indexOf('\r\n\r\n')) !== -1) {
          seen = seen.slice(end + 4);
          socket.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    assert.ok(typeof address === 'object' && address !== null);
    try {
      const { stdout } = await run([
        ...FAST,
        '--json',
        '--only',
        'refusal-closes',
        `ws://127.0.0.1:${address.port}/`,
      ]);
      const report = JSON.parse(stdout) as AuditJson;
      assert.equal(statusOf(report, 'refusal-closes'), 'WARN');
      assert.match(
        report.results[0].received,
        /then a second response \(HTTP\/1\.1 400 Bad Request\)/,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
