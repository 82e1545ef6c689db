// `ironsock serve --http2`: usage checks, and the demo page, /echo and /chat over HTTP/2 (raw
// node:http2 client) with HTTP/1.1 still accepted on the same port, and a clean shutdown.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WS from 'ws';
import { main } from '../../src/cli/main.js';
import { fakeIo, LISTENING } from './harness.js';
import { connectHeaders, h2Open, h2Session, selfSigned } from '../helpers/h2.js';
import { parseFrames, waitFor } from '../node/util.js';

test('serve --http2 without --tls-cert/--tls-key is a usage error (exit 2)', async () => {
  const fake = fakeIo();
  assert.equal(await main(['serve', '--http2'], fake.io), 2);
  assert.match(fake.stderr(), /--http2 needs TLS/);
});

test('serve --http2: page over HTTP/2, /echo over extended CONNECT and over HTTP/1.1 on the same port, clean stop', async (t) => {
  const pair = selfSigned();
  if (pair === null) {
    if (process.env.CI === 'true') assert.fail('openssl is required under CI');
    return t.skip('openssl not found');
  }
  const dir = await mkdtemp(join(tmpdir(), 'ironsock-serve-h2-'));
  await writeFile(join(dir, 'cert.pem'), pair.cert);
  await writeFile(join(dir, 'key.pem'), pair.key);
  const fake = fakeIo();
  const exit = main(
    [
      'serve',
      '--port',
      '0',
      '--http2',
      '--tls-cert',
      join(dir, 'cert.pem'),
      '--tls-key',
      join(dir, 'key.pem'),
    ],
    fake.io,
  );
  try {
    const match = await fake.waitForStdout(LISTENING, 15_000);
    const port = Number(match[1]);
    assert.match(fake.stdout(), /over HTTP\/2 and HTTP\/1\.1/);
    const session = await h2Session(port, pair.cert);
    assert.equal(session.remoteSettings.enableConnectProtocol, true);
    const page = session.request({ ':path': '/' });
    let html = '';
    page.setEncoding('utf8');
    page.on('data', (c: string) => (html += c));
    const [head] = await new Promise<[Record<string, unknown>]>((r) =>
      page.once('response', (h) => r([h])),
    );
    await new Promise((r) => page.once('end', r));
    assert.equal(head[':status'], 200);
    assert.match(String(head['content-security-policy']), /connect-src 'self'/);
    assert.match(html, /ironsock demo/);
    const socket = await h2Open(session, connectHeaders(`127.0.0.1:${port}`, {}, '/echo'));
    assert.equal(socket.status, 200);
    socket.frame(0x1, 'h2 echo');
    await waitFor(() => parseFrames(socket.data).length === 1, 5000, 'echo');
    assert.equal(parseFrames(socket.data)[0].payload.toString(), 'h2 echo');
    const h1 = new WS(`wss://127.0.0.1:${port}/echo`, { ca: pair.cert });
    const reply = await new Promise<string>((resolve, reject) => {
      h1.on('open', () => h1.send('h1 echo'));
      h1.on('message', (d: Buffer) => resolve(d.toString()));
      h1.on('error', reject);
    });
    assert.equal(reply, 'h1 echo');
    assert.match(fake.stdout(), /http=2\.0|"http":"2\.0"|2\.0/);
    fake.abort();
    // Clients get 1001 (answered here as a client would), then the process stops.
    await waitFor(() => parseFrames(socket.data).at(-1)?.opcode === 0x8, 5000, 'Close 1001');
    assert.equal(parseFrames(socket.data).at(-1)?.payload.readUInt16BE(0), 1001);
    socket.frame(0x8, Buffer.from([0x03, 0xe9]));
    assert.equal(await exit, 0);
    await waitFor(() => socket.closed || socket.ended, 5000, 'the stream to end');
    session.destroy();
    h1.terminate();
  } finally {
    fake.abort();
    await exit;
    await rm(dir, { recursive: true, force: true });
  }
});
