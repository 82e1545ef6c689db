/**
 * Refusals a developer can see (src/node/refusals.ts): the 'rejected' event names the refused
 * Origin/Host and the option that allows it; with no listener, one process warning per kind;
 * plain requests get 426 (RFC 9110 §15.5.22) and handshakes during close() 503 + Retry-After.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { RejectionInfo } from '../../src/index.js';
import {
  RawClient,
  delay,
  rawUpgrade,
  startServer,
  stopServer,
  upgradeRequest,
  waitFor,
} from './util.js';

/** Collects the process warnings with our code emitted while `fn` runs. */
async function warningsDuring(fn: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (warning: Error & { code?: string }): void => {
    if (warning.code === 'IRONSOCK_HANDSHAKE_REFUSED') seen.push(warning);
  };
  process.on('warning', listener);
  try {
    await fn();
    await delay(20); // warnings are emitted on the next tick
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

async function handshakeStatus(port: number, extra: string[], host?: string): Promise<RawClient> {
  const raw = new RawClient(port);
  await raw.connected();
  let request = upgradeRequest(port, extra);
  if (host !== undefined) request = request.replace(/^Host: .*$/m, `Host: ${host}`);
  raw.socket.write(request);
  await raw.status();
  raw.destroy();
  return raw;
}

function get(
  port: number,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('refusals name what was refused and the option that allows it', () => {
  test("'rejected' carries the refused origin, the option, and a reason naming it", async () => {
    const { wss, port } = await startServer();
    const seen: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => seen.push(info));
    const raw = await handshakeStatus(port, ['Origin: http://localhost:5173']);
    assert.equal(Number(raw.text.slice(9, 12)), 403);
    await waitFor(() => seen.length === 1);
    assert.equal(seen[0].status, 403);
    assert.equal(seen[0].code, 'ORIGIN_NOT_ALLOWED');
    assert.equal(seen[0].origin, 'http://localhost:5173');
    assert.equal(seen[0].option, 'origins');
    assert.match(
      seen[0].reason,
      /Origin http:\/\/localhost:5173 is not allowed: add it to the origins option/,
    );
    // The response body, read by the peer, does not describe the configuration.
    assert.doesNotMatch(raw.text, /origins option/);
    await stopServer(wss);
  });

  test('a Host refusal carries the refused host and names allowedHosts', async () => {
    const { wss, port } = await startServer();
    const seen: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => seen.push(info));
    await handshakeStatus(port, [], 'rebound.example');
    await waitFor(() => seen.length === 1);
    assert.equal(seen[0].code, 'HOST_NOT_ALLOWED');
    assert.equal(seen[0].host, 'rebound.example');
    assert.equal(seen[0].option, 'allowedHosts');
    assert.match(seen[0].reason, /Host rebound\.example .*add it to the allowedHosts option/);
    await stopServer(wss);
  });

  test('with no listener, the first refusal of each kind is one process warning', async () => {
    const { wss, port } = await startServer();
    const warnings = await warningsDuring(async () => {
      await handshakeStatus(port, ['Origin: http://localhost:5173']);
      await handshakeStatus(port, ['Origin: http://localhost:5174']);
      await handshakeStatus(port, [], 'rebound.example');
      await handshakeStatus(port, [], 'rebound2.example');
    });
    assert.equal(warnings.length, 2, warnings.map((w) => w.message).join('\n'));
    assert.match(
      warnings[0].message,
      /403 \(ORIGIN_NOT_ALLOWED\): Origin http:\/\/localhost:5173 .*origins option/,
    );
    assert.match(
      warnings[1].message,
      /403 \(HOST_NOT_ALLOWED\): Host rebound\.example .*allowedHosts option/,
    );
    assert.match(warnings[0].message, /'rejected' event/);
    await stopServer(wss);
  });

  test("with a 'rejected' listener, no warning", async () => {
    const { wss, port } = await startServer();
    let events = 0;
    wss.on('rejected', () => events++);
    const warnings = await warningsDuring(async () => {
      await handshakeStatus(port, ['Origin: http://localhost:5173']);
    });
    assert.equal(warnings.length, 0);
    assert.equal(events, 1);
    await stopServer(wss);
  });
});

describe('non-upgrade requests to the standalone server', () => {
  test('a plain GET gets 426 with Upgrade: websocket and body Upgrade Required (as ws)', async () => {
    const { wss, port } = await startServer();
    const res = await get(port);
    assert.equal(res.status, 426);
    assert.equal(res.headers.upgrade, 'websocket');
    assert.equal(res.body, 'Upgrade Required');
    const head = await get(port, {}, 'HEAD');
    assert.equal(head.status, 426);
    assert.equal(head.body, '');
    await stopServer(wss);
  });

  test('Upgrade: websocket without the upgrade token in Connection: 426, reported with the usual cause', async () => {
    const { wss, port } = await startServer();
    const seen: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => seen.push(info));
    const res = await get(port, {
      Upgrade: 'websocket',
      Connection: 'keep-alive',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version': '13',
    });
    assert.equal(res.status, 426);
    assert.equal(res.headers.upgrade, 'websocket');
    assert.equal(res.body, 'Connection header must include Upgrade\n');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].code, 'MISSING_CONNECTION_UPGRADE');
    assert.match(seen[0].reason, /proxy_set_header Connection "upgrade"/);
    // A POST carrying handshake headers: the validator's 405 + Allow: GET (checklist H1).
    const post = await get(port, { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET');
    await stopServer(wss);
  });
});

describe('shutdown: handshakes during close() get 503 + Retry-After', () => {
  test('while close() waits for a client, a new handshake gets 503 with Retry-After', async () => {
    const { wss, port } = await startServer({ shutdownTimeout: 2000 });
    const seen: RejectionInfo[] = [];
    wss.on('rejected', (info: RejectionInfo) => seen.push(info));
    // A raw client that never answers the Close 1001: close() waits for it.
    const silent = await rawUpgrade(port);
    await waitFor(() => wss.clients.size === 1);
    let closed = false;
    wss.close(() => (closed = true));
    const late = new RawClient(port);
    await late.connected();
    late.socket.write(upgradeRequest(port));
    assert.equal(await late.status(), 503);
    assert.match(late.text, /\r\nRetry-After: 1\r\n/);
    assert.match(late.text, /\r\nConnection: close\r\n/);
    assert.equal(seen.at(-1)?.code, 'SERVER_CLOSING');
    const plain = await get(port);
    assert.equal(plain.status, 503);
    assert.equal(plain.headers['retry-after'], '1');
    assert.equal(closed, false, 'still waiting for the silent client');
    late.destroy();
    silent.destroy();
    await waitFor(() => closed, 5000, 'close');
  });
});
