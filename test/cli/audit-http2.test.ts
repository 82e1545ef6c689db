/**
 * `ironsock audit` over HTTP/2 (RFC 8441): an ironsock `--http2`-style server passes every check
 * of the http2 group; a server whose HTTP/2 path accepts what its HTTP/1.1 path refuses is
 * caught; one that advertises the setting and refuses is a FAIL; a TLS server without h2, or an
 * h2 server without the setting, is reported (INFO) without a finding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { auditCommand } from '../../src/cli/audit.js';
import { WebSocketServer } from '../../src/node/server.js';
import { selfSigned } from '../helpers/h2.js';
import { once } from '../node/util.js';

interface Result {
  id: string;
  status: string;
  received: string;
  note?: string;
}

async function audit(url: string, only = 'http2'): Promise<Map<string, Result>> {
  const stdout = new PassThrough();
  const out: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  await auditCommand(['--json', '--insecure', '--timeout', '2000', '--only', only, url], {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    env: {},
    isTTY: false,
    signal: new AbortController().signal,
  });
  const report = JSON.parse(Buffer.concat(out).toString()) as { results: Result[] };
  return new Map(report.results.map((r) => [r.id, r]));
}

function credentials(t: { skip(m: string): void }): { key: Buffer; cert: Buffer } | null {
  const pair = selfSigned();
  if (pair === null) {
    if (process.env.CI === 'true') assert.fail('openssl is required under CI');
    t.skip('openssl not found');
  }
  return pair;
}

const REPLAYS = [
  'h2-origin-cross',
  'h2-origin-null',
  'h2-origin-scheme',
  'h2-version-8',
  'h2-version-14',
  'h2-version-missing',
  'h2-dns-rebinding',
];

test('an ironsock HTTP/2 server: advertised and handled, every Origin/Host/version check gives the HTTP/1.1 verdict', async (t) => {
  const pair = credentials(t);
  if (pair === null) return;
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', http2: pair });
  wss.on('rejected', () => {});
  await once(wss, 'listening');
  try {
    const results = await audit(`wss://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
    assert.equal(
      results.get('h2-support')?.status,
      'PASS',
      JSON.stringify(results.get('h2-support')),
    );
    assert.match(
      results.get('h2-support')?.received ?? '',
      /SETTINGS_ENABLE_CONNECT_PROTOCOL=1, HTTP\/2 :status 200/,
    );
    for (const id of REPLAYS) {
      const result = results.get(id);
      assert.equal(result?.status, 'PASS', `${id}: ${JSON.stringify(result)}`);
    }
    assert.match(results.get('h2-version-8')?.received ?? '', /426.*sec-websocket-version: 13/);
  } finally {
    await new Promise((r) => wss.close(r));
  }
});

test('an HTTP/2 path that skips the Origin check is caught: HTTP/2 accepts what HTTP/1.1 refuses', async (t) => {
  const pair = credentials(t);
  if (pair === null) return;
  // HTTP/1.1 upgrades go to ironsock (strict); extended CONNECTs are accepted blindly.
  const server = http2.createSecureServer({
    ...pair,
    allowHTTP1: true,
    settings: { enableConnectProtocol: true },
  });
  server.on('stream', (stream, headers) => {
    if (headers[':protocol'] !== undefined) stream.respond({ ':status': 200 });
  });
  const wss = new WebSocketServer({ server, http2: false });
  wss.on('rejected', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const results = await audit(`wss://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    assert.equal(results.get('h2-support')?.status, 'PASS');
    const cross = results.get('h2-origin-cross');
    assert.equal(cross?.status, 'FAIL');
    assert.match(cross?.note ?? '', /HTTP\/2 accepts what HTTP\/1\.1 refuses/);
    assert.equal(results.get('h2-dns-rebinding')?.status, 'FAIL');
  } finally {
    await new Promise((r) => wss.close(r));
    await new Promise((r) => server.close(r));
  }
});

test('advertising the setting and refusing extended CONNECT is a FAIL; no h2, or h2 without the setting, is INFO', async (t) => {
  const pair = credentials(t);
  if (pair === null) return;
  const liar = http2.createSecureServer({
    ...pair,
    allowHTTP1: true,
    settings: { enableConnectProtocol: true },
  });
  liar.on('stream', (stream) => {
    stream.respond({ ':status': 404 });
    stream.end();
  });
  const plain = http2.createSecureServer({ ...pair, allowHTTP1: true }, (_req, res) =>
    res.end('page'),
  );
  const h1only = https.createServer(pair);
  const h1wss = new WebSocketServer({ server: h1only });
  for (const s of [liar, plain, h1only])
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = (s: { address(): unknown }): string =>
    `wss://127.0.0.1:${(s.address() as AddressInfo).port}/`;
  try {
    const lying = await audit(url(liar));
    assert.equal(lying.get('h2-support')?.status, 'FAIL');
    assert.match(lying.get('h2-support')?.note ?? '', /browsers will fail/);
    assert.equal(lying.get('h2-origin-cross')?.status, 'INFO');
    const without = await audit(url(plain));
    assert.equal(without.get('h2-support')?.status, 'INFO');
    assert.match(without.get('h2-support')?.received ?? '', /RST_STREAM|GOAWAY/);
    const noH2 = await audit(url(h1only));
    assert.equal(noH2.get('h2-support')?.status, 'INFO');
    assert.match(noH2.get('h2-support')?.received ?? '', /ALPN h2 not selected/);
  } finally {
    await new Promise((r) => h1wss.close(r));
    for (const s of [liar, plain, h1only]) {
      (s as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise((r) => s.close(r));
    }
  }
});
