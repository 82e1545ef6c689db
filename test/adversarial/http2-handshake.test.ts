/**
 * Checklist H1-H10 and the server's own refusals, replayed over HTTP/2 extended CONNECT
 * (RFC 8441) against a standalone `--http2`-style ironsock server: the same bad request gets
 * the same status as on HTTP/1.1, answered with a reason and END_STREAM, reported by
 * 'rejected', never a connection. A control WebSocket on the attacker's own HTTP/2 session
 * keeps echoing throughout (the checklist invariant, per connection: a refused stream must not
 * hurt its neighbours).
 *
 * Cases with no HTTP/2 form: the request line (method/version: the CONNECT is the only form),
 * `Upgrade`/`Connection` (connection-specific fields are malformed in HTTP/2, refused by
 * nghttp2 with RST_STREAM), `Sec-WebSocket-Key` (§5: not used), and head smuggling (HPACK has
 * no line syntax). The nearest HTTP/2 shapes are tested instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientHttp2Session, OutgoingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../../src/node/server.js';
import type { RejectionInfo, ServerOptions } from '../../src/node/server.js';
import type { WebSocket } from '../../src/node/websocket.js';
import { connectHeaders, h2Open, h2Session, selfSigned } from '../helpers/h2.js';
import type { RawH2Socket } from '../helpers/h2.js';
import { RawH2Connection } from '../../src/cli/audit/h2-wire.js';
import { once, parseFrames, stopServer, waitFor } from '../node/util.js';

interface H2Arena {
  wss: WebSocketServer;
  port: number;
  authority: string;
  session: ClientHttp2Session;
  rejections: RejectionInfo[];
  connections: number;
  cert: Buffer;
  /** The control WebSocket (same session) still echoes. */
  check(): Promise<void>;
}

async function h2Arena(
  options: Partial<ServerOptions>,
  fn: (a: H2Arena) => Promise<void>,
  control: { changes?: Record<string, string>; path?: string } = {},
): Promise<void> {
  const pair = selfSigned();
  if (pair === null) {
    if (process.env.CI === 'true') assert.fail('openssl is required under CI');
    return;
  }
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    ...options,
    http2: { ...pair, ...(typeof options.http2 === 'object' ? options.http2 : {}) },
  });
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  const rejections: RejectionInfo[] = [];
  wss.on('rejected', (info: RejectionInfo) => rejections.push(info));
  wss.on('error', () => {});
  const arena = {
    wss,
    port,
    authority: `127.0.0.1:${port}`,
    rejections,
    connections: 0,
    cert: pair.cert,
  } as H2Arena;
  wss.on('connection', (ws: WebSocket) => {
    arena.connections++;
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  const session = await h2Session(port, pair.cert);
  arena.session = session;
  try {
    const socket = await h2Open(
      session,
      connectHeaders(arena.authority, control.changes ?? {}, control.path ?? '/'),
    );
    assert.equal(socket.status, 200);
    const baseline = arena.connections;
    let round = 0;
    arena.check = async () => {
      round++;
      const before = parseFrames(socket.data).length;
      socket.frame(0x1, `control ${round}`);
      await waitFor(() => parseFrames(socket.data).length > before, 1000, 'control echo');
      assert.equal(parseFrames(socket.data).at(-1)?.payload.toString(), `control ${round}`);
    };
    await fn(arena);
    assert.equal(arena.connections, baseline, 'a refused handshake never becomes a connection');
    await arena.check();
  } finally {
    session.destroy();
    await stopServer(wss);
  }
}

/** Sends the extended CONNECT, expects `status`, a text reason and END_STREAM. */
async function expectRefused(
  a: H2Arena,
  headers: OutgoingHttpHeaders,
  status: number,
): Promise<RawH2Socket> {
  const count = a.rejections.length;
  const socket = await h2Open(a.session, headers);
  assert.equal(socket.status, status, `expected ${status}, got ${socket.status}: ${socket.text}`);
  await waitFor(() => socket.ended || socket.closed, 3000, 'END_STREAM');
  assert.ok(socket.text.length > 1, 'a reason in the body');
  assert.equal(socket.headers['sec-websocket-protocol'], undefined);
  assert.equal(a.rejections.length, count + 1, "reported on 'rejected'");
  assert.equal(a.rejections.at(-1)?.status, status);
  socket.stream.close();
  return socket;
}

test('H1 over HTTP/2: a :protocol other than websocket -> 400; plain requests to the socket path -> 426', async () => {
  await h2Arena({}, async (a) => {
    await expectRefused(a, connectHeaders(a.authority, { ':protocol': 'h2c' }), 400);
    await expectRefused(a, connectHeaders(a.authority, { ':protocol': 'connect-udp' }), 400);
    await a.check();
    // A GET for the WebSocket URL: 426 as on HTTP/1.1 (without Upgrade, forbidden in HTTP/2).
    const get = a.session.request({ ':path': '/' });
    const [head] = await once<[Record<string, unknown>]>(get, 'response');
    assert.equal(head[':status'], 426);
    get.close();
    // Connection-specific fields (the HTTP/1.1 upgrade tokens) are malformed in HTTP/2: the
    // raw connection's stream is reset by nghttp2 before any application code runs.
    const raw = await RawH2Connection.open({ host: '127.0.0.1', port: a.port, ca: a.cert }, 5000);
    assert.ok(raw !== null);
    try {
      raw.sendHeaders(1, [
        ...(Object.entries(connectHeaders(a.authority)) as Array<[string, string]>),
        ['upgrade', 'websocket'],
        ['connection', 'upgrade'],
      ]);
      const outcome = await raw.outcome(1, 3000);
      assert.ok(outcome.kind === 'rst' || outcome.kind === 'goaway', JSON.stringify(outcome));
    } finally {
      raw.close();
    }
  });
});

test('H2 over HTTP/2: missing/8/12/14/"13, 8"/duplicate sec-websocket-version -> 426 + sec-websocket-version: 13; no key needed (§5)', async () => {
  await h2Arena({}, async (a) => {
    const versions: Array<string | string[] | null> = [
      null,
      '8',
      '12',
      '14',
      '13, 8',
      ['13', '13'],
    ];
    for (const version of versions) {
      const socket = await expectRefused(
        a,
        connectHeaders(a.authority, { 'sec-websocket-version': version }),
        426,
      );
      assert.equal(socket.headers['sec-websocket-version'], '13', `for ${JSON.stringify(version)}`);
      assert.equal(socket.headers.upgrade, undefined);
    }
    await a.check();
    // The HTTP/1.1 key cases have no HTTP/2 meaning: a bad key is ignored, not refused.
    const withBadKey = await h2Open(
      a.session,
      connectHeaders(a.authority, { 'sec-websocket-key': '!!!' }),
    );
    assert.equal(withBadKey.status, 200);
    withBadKey.stream.close();
    await waitFor(() => a.wss.clients.size === 1, 3000, 'the keyless socket to go');
    a.connections--;
  });
});

test('H3 over HTTP/2: cross-origin -> 403, duplicate/unparsable -> 400, allow-listed/same-origin/absent -> 200, requireOrigin', async () => {
  await h2Arena({ origins: ['https://app.example'] }, async (a) => {
    for (const origin of [
      'https://evil.example',
      'null',
      'https://app.example.evil.example',
      'https://appXexample',
      'http://10.0.0.1',
      'http://app.example',
      `http://${a.authority}`,
    ]) {
      await expectRefused(a, connectHeaders(a.authority, { origin }), 403);
    }
    await a.check();
    await expectRefused(
      a,
      connectHeaders(a.authority, { origin: ['https://app.example', 'https://evil.example'] }),
      400,
    );
    await expectRefused(a, connectHeaders(a.authority, { origin: 'not a url' }), 400);
    const before = a.connections;
    for (const origin of ['https://app.example', `https://${a.authority}`, null]) {
      const ok = await h2Open(a.session, connectHeaders(a.authority, { origin }));
      assert.equal(ok.status, 200, `for ${origin}`);
      ok.stream.close();
    }
    await waitFor(() => a.connections === before + 3, 3000, 'three connections');
    a.connections = before;
  });
  await h2Arena(
    { requireOrigin: true, origins: ['https://localhost'] },
    async (a) => {
      await expectRefused(a, connectHeaders(a.authority), 403);
      assert.equal(a.rejections.at(-1)?.code, 'MISSING_ORIGIN');
    },
    { changes: { origin: 'https://localhost' } },
  );
});

test('H4 over HTTP/2: a content-length on the CONNECT -> 400, and its DATA is never parsed as frames', async () => {
  await h2Arena({}, async (a) => {
    let messages = 0;
    a.wss.on('connection', (ws: WebSocket) => ws.on('message', () => messages++));
    const stream = a.session.request(connectHeaders(a.authority, { 'content-length': '9' }), {
      endStream: false,
    });
    stream.on('error', () => {});
    stream.write(Buffer.from([0x81, 0x83, 1, 2, 3, 4, 0x69, 0x6b, 0x22]));
    const [head] = await once<[Record<string, unknown>]>(stream, 'response');
    assert.equal(head[':status'], 400);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(messages, 0);
    a.rejections.length = 0;
  });
});

test('H5 over HTTP/2: pathological subprotocol/extension values are answered promptly; bogus deflate offers declined', async () => {
  await h2Arena({ perMessageDeflate: true }, async (a) => {
    const started = Date.now();
    await expectRefused(
      a,
      connectHeaders(a.authority, { 'sec-websocket-protocol': 'a' + ' '.repeat(50_000) + ',b c' }),
      400,
    );
    await expectRefused(
      a,
      connectHeaders(a.authority, { 'sec-websocket-extensions': 'a;b="' + '\\c'.repeat(10_000) }),
      400,
    );
    assert.ok(Date.now() - started < 2000, 'linear parsing');
    const declined = await h2Open(
      a.session,
      connectHeaders(a.authority, {
        'sec-websocket-extensions': 'permessage-deflate; __proto__=1; constructor',
      }),
    );
    assert.ok(declined.status === 200 || declined.status === 400, String(declined.status));
    assert.equal(declined.headers['sec-websocket-extensions'], undefined);
    declined.stream.close();
    if (declined.status === 200) {
      await waitFor(() => a.wss.clients.size === 1, 3000, 'the socket to go');
      a.connections--;
    }
    a.rejections.length = 0;
  });
});

test('H9 over HTTP/2: DNS rebinding (:authority attacker.example on a loopback listener) -> 403; host field differing from :authority -> 400; allowedHosts', async () => {
  await h2Arena({}, async (a) => {
    await expectRefused(
      a,
      connectHeaders('attacker.example', { origin: 'https://attacker.example' }),
      403,
    );
    await expectRefused(a, connectHeaders(a.authority, { host: 'attacker.example' }), 400);
    await a.check();
  });
  await h2Arena({ allowedHosts: ['app.example', '127.0.0.1'] }, async (a) => {
    const ok = await h2Open(a.session, connectHeaders('app.example'));
    assert.equal(ok.status, 200);
    ok.stream.close();
    await waitFor(() => a.wss.clients.size === 1, 3000, 'the socket to go');
    a.connections--;
    await expectRefused(a, connectHeaders('attacker.example'), 403);
  });
});

test('H10 over HTTP/2: an unoffered subprotocol, CR/LF in a subprotocol or in an application header line -> 500, never on the wire', async () => {
  await h2Arena({ handleProtocols: (p) => (p.has('chat') ? 'evil' : false) }, async (a) => {
    await expectRefused(a, connectHeaders(a.authority, { 'sec-websocket-protocol': 'chat' }), 500);
  });
  await h2Arena(
    { handleProtocols: (p) => (p.has('chat') ? 'chat\r\nset-cookie: x=1' : false) },
    async (a) => {
      const s = await expectRefused(
        a,
        connectHeaders(a.authority, { 'sec-websocket-protocol': 'chat' }),
        500,
      );
      assert.equal(s.headers['set-cookie'], undefined);
    },
  );
  await h2Arena({}, async (a) => {
    a.wss.on('headers', (lines: string[]) => {
      lines.push('x-evil: a\r\nset-cookie: session=stolen');
    });
    const s = await expectRefused(a, connectHeaders(a.authority), 500);
    assert.equal(s.headers['set-cookie'], undefined);
  });
});

test('server refusals over HTTP/2: path 400, verifyClient 401/async code, maxConnections 503, WebSockets per session 503, handshake rate 429', async () => {
  await h2Arena(
    { path: '/ws' },
    async (a) => {
      await expectRefused(a, connectHeaders(a.authority, {}, '/other'), 400);
      assert.equal(a.rejections.at(-1)?.code, 'PATH_NOT_HANDLED');
    },
    { path: '/ws?x=1' },
  );
  await h2Arena(
    {
      verifyClient: (info: { req: { headers: Record<string, unknown> } }) =>
        info.req.headers['x-token'] !== 'bad',
    },
    async (a) => {
      await expectRefused(a, connectHeaders(a.authority, { 'x-token': 'bad' }), 401);
    },
  );
  await h2Arena(
    {
      verifyClient: (
        info: { req: { headers: Record<string, unknown> } },
        cb: (ok: boolean, code?: number, message?: string) => void,
      ) => setImmediate(() => cb(info.req.headers['x-token'] !== 'bad', 403, 'no entry')),
    },
    async (a) => {
      const s = await expectRefused(a, connectHeaders(a.authority, { 'x-token': 'bad' }), 403);
      assert.match(s.text, /no entry/);
    },
  );
  await h2Arena({ maxConnections: 1 }, async (a) => {
    await expectRefused(a, connectHeaders(a.authority), 503);
    assert.equal(a.rejections.at(-1)?.code, 'TOO_MANY_CONNECTIONS');
  });
  await h2Arena({ http2: { maxWebSocketsPerSession: 1 } }, async (a) => {
    await expectRefused(a, connectHeaders(a.authority), 503);
    assert.equal(a.rejections.at(-1)?.code, 'TOO_MANY_WEBSOCKETS_PER_SESSION');
    // Another session is not affected by this one's count.
    const other = await h2Session(a.port, a.cert);
    const ok = await h2Open(other, connectHeaders(a.authority));
    assert.equal(ok.status, 200);
    other.destroy();
    await waitFor(() => a.wss.clients.size === 1, 3000, 'the other socket to go');
    a.connections--;
  });
  // The per-session count is checked again once an asynchronous verifyClient has answered: two
  // streams that both arrived under the limit cannot both open.
  const held: Array<() => void> = [];
  let asked = 0;
  await h2Arena(
    {
      http2: { maxWebSocketsPerSession: 2 },
      verifyClient: (_info: unknown, cb: (ok: boolean) => void) => {
        held.push(() => cb(true));
        // The control socket passes at once; the next two wait for each other.
        asked++;
        if (asked === 1 || asked === 3) for (const go of held.splice(0)) go();
      },
    },
    async (a) => {
      const count = a.rejections.length;
      const [first, second] = await Promise.all([
        h2Open(a.session, connectHeaders(a.authority)),
        h2Open(a.session, connectHeaders(a.authority)),
      ]);
      assert.deepEqual([first.status, second.status], [200, 503]);
      assert.equal(a.rejections.length, count + 1);
      assert.equal(a.rejections.at(-1)?.code, 'TOO_MANY_WEBSOCKETS_PER_SESSION');
      first.stream.close();
      await waitFor(() => a.wss.clients.size === 1, 3000, 'the first socket to go');
      a.connections--;
    },
  );
  await h2Arena({ maxHandshakesPerSecond: 1 }, async (a) => {
    const s = await expectRefused(a, connectHeaders(a.authority), 429);
    assert.equal(s.headers['retry-after'], '1');
  });
});
