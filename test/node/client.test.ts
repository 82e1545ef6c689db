/**
 * The client opening handshake over real sockets (RFC 6455 §4.1, checklist K1-K7, K10), against
 * servers written here with raw `net`/`tls` (every byte controlled) and against `ws` as a real peer.
 * The WebSocket object is a recording stand-in, so these tests pin the handshake contract alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as http from 'node:http';
import * as https from 'node:https';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { makeCert, type TestCert } from '../helpers/certs.js';
import {
  startClientHandshake,
  type ClientHandshakeResult,
  type ClientHandshakeTarget,
  type ClientOptions,
} from '../../src/node/client.js';
import { FLOOD_BYTES, floodNotFound } from '../helpers/flood.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptFor = (key: string): string =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');

// ---------------------------------------------------------------------------------------------
// A raw server: parses the request head, then hands the request to the test's handler.

interface RawRequest {
  readonly requestLine: string;
  readonly headers: Map<string, string[]>;
  readonly key: string;
  readonly socket: net.Socket;
  /** Resolves when the server side of this socket is closed. */
  readonly closed: Promise<void>;
  header(name: string): string | undefined;
}

interface RawServer {
  readonly port: number;
  readonly requests: RawRequest[];
  close(): Promise<void>;
}

type Handler = (request: RawRequest) => void;

function serveRaw(server: net.Server, handler: Handler, host: string): Promise<RawServer> {
  const requests: RawRequest[] = [];
  const sockets = new Set<net.Socket>();
  const onSocket = (socket: net.Socket): void => {
    sockets.add(socket);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map<string, string[]>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
      }
      const request: RawRequest = {
        requestLine: lines[0],
        headers,
        key: headers.get('sec-websocket-key')?.[0] ?? '',
        socket,
        closed,
        header: (name) => headers.get(name.toLowerCase())?.join(', '),
      };
      requests.push(request);
      handler(request);
    };
    socket.on('data', onData);
  };
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', onSocket);
  server.on('tlsClientError', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const listening = (): void => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : 0,
        requests,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    };
    // A host starting with '/' is a Unix domain socket path.
    if (host.startsWith('/')) server.listen(host, listening);
    else server.listen(0, host, listening);
  });
}

function rawServer(handler: Handler, host = '127.0.0.1'): Promise<RawServer> {
  return serveRaw(net.createServer(), handler, host);
}

/** A server answering 404 with a 100 MB body, written as fast as the client takes it. */
async function floodingServer(): Promise<{ server: RawServer; sent: () => number }> {
  let sent = (): number => 0;
  const server = await rawServer((request) => {
    sent = floodNotFound(request.socket);
  });
  return { server, sent: () => sent() };
}

/** A 101 answer for `request`, with `overrides` (null removes a header). */
function switching(
  request: RawRequest,
  overrides: Record<string, string | null> = {},
  extra = '',
): string {
  const headers: Record<string, string | null> = {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Accept': acceptFor(request.key),
    ...overrides,
  };
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (const [name, value] of Object.entries(headers))
    if (value !== null) head += `${name}: ${value}\r\n`;
  return `${head}${extra}\r\n`;
}

// ---------------------------------------------------------------------------------------------
// A recording WebSocket stand-in.

/** What an `unexpected-response` listener saw, reading the response as ws users do. */
interface ReadResponse {
  readonly request: http.ClientRequest;
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The body bytes the listener received. */
  readonly body: Buffer;
  /** True when the response was cut before its end ('aborted'). */
  readonly aborted: boolean;
}

type Outcome =
  | { ok: true; socket: Duplex; head: Buffer; result: ClientHandshakeResult }
  | {
      ok: false;
      error: Error & { code?: string; closeCode?: number; statusCode?: number };
      /** Set when an 'unexpected-response' listener had the response. */
      response?: ReadResponse;
      reported: boolean;
    };

interface Run {
  readonly outcome: Promise<Outcome>;
  readonly calls: { set: number; fail: number };
  readonly events: unknown[][];
  readonly handshake: ReturnType<typeof startClientHandshake>;
}

const openSockets = new Set<Duplex>();

/**
 * Starts a handshake against a recording stand-in. Unless `listen` is false, the stand-in has an
 * `unexpected-response` listener that reads the body as a ws user would (`res.on('data')`).
 */
function run(
  url: string,
  protocols?: string | string[],
  options: ClientOptions = {},
  listen = true,
): Run {
  const calls = { set: 0, fail: 0 };
  const events: unknown[][] = [];
  let resolve!: (outcome: Outcome) => void;
  const outcome = new Promise<Outcome>((r) => (resolve = r));
  let read: Promise<ReadResponse> | undefined;
  const ws: ClientHandshakeTarget = {
    setSocket(socket, head, result) {
      calls.set++;
      openSockets.add(socket);
      socket.on('error', () => {});
      // Like the real WebSocket: nothing is read until the new owner is ready.
      socket.pause();
      resolve({ ok: true, socket, head, result });
    },
    failHandshake(error, reported = false) {
      calls.fail++;
      const failed = { ok: false as const, error: error as Error & { code?: string }, reported };
      if (read === undefined) resolve(failed);
      else void read.then((response) => resolve({ ...failed, response }));
    },
    emit(event, ...args) {
      events.push([event, ...args]);
      if (event !== 'unexpected-response') return true;
      if (!listen) return false;
      const [request, response] = args as [http.ClientRequest, http.IncomingMessage];
      read = new Promise((done) => {
        const parts: Buffer[] = [];
        let aborted = false;
        response.on('data', (chunk: Buffer) => parts.push(chunk));
        response.on('aborted', () => (aborted = true));
        response.once('close', () =>
          done({
            request,
            statusCode: response.statusCode ?? 0,
            statusMessage: response.statusMessage ?? '',
            headers: response.headers,
            body: Buffer.concat(parts),
            aborted: aborted || !response.complete,
          }),
        );
      });
      return true;
    },
  };
  const handshake = startClientHandshake(ws, url, protocols, {
    handshakeTimeout: 5000,
    ...options,
  });
  return { outcome, calls, events, handshake };
}

async function expectFailure(r: Run, code: string): Promise<Outcome & { ok: false }> {
  const outcome = await r.outcome;
  if (outcome.ok) {
    outcome.socket.destroy();
    assert.fail(`expected failure ${code}, the handshake succeeded`);
  }
  assert.equal(outcome.error.code, code, outcome.error.message);
  // Exactly once, never open (K1): wait a little for stray calls.
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(r.calls, { set: 0, fail: 1 });
  return outcome;
}

async function expectOpen(r: Run): Promise<Outcome & { ok: true }> {
  const outcome = await r.outcome;
  if (!outcome.ok)
    assert.fail(`expected open, got ${outcome.error.code}: ${outcome.error.message}`);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(r.calls, { set: 1, fail: 0 });
  return outcome;
}

after(() => {
  for (const socket of openSockets) socket.destroy();
});

// ---------------------------------------------------------------------------------------------

describe('RFC 6455 §4.1 client request', () => {
  test('request line, Host, key, version, custom headers, Origin, subprotocols and the deflate offer', async () => {
    const server = await rawServer((request) => request.socket.write(switching(request)));
    try {
      const r = run(`ws://127.0.0.1:${server.port}/chat?room=1`, ['a', 'b.v2'], {
        headers: { 'X-Custom': 'yes', 'x-list': ['1', '2'] },
        origin: 'https://app.example',
      });
      const open = await expectOpen(r);
      open.socket.destroy();
      const request = server.requests[0];
      assert.equal(request.requestLine, 'GET /chat?room=1 HTTP/1.1');
      assert.equal(request.header('host'), `127.0.0.1:${server.port}`);
      assert.equal(request.header('upgrade')?.toLowerCase(), 'websocket');
      assert.match(request.header('connection') ?? '', /upgrade/i);
      assert.equal(request.header('sec-websocket-version'), '13');
      assert.equal(Buffer.from(request.key, 'base64').length, 16);
      assert.equal(request.header('x-custom'), 'yes');
      assert.equal(request.header('x-list'), '1, 2');
      assert.equal(request.header('origin'), 'https://app.example');
      assert.equal(request.header('sec-websocket-protocol'), 'a, b.v2');
      // Z4: offered by default, as browsers and ws do.
      assert.match(request.header('sec-websocket-extensions') ?? '', /^permessage-deflate/);
      assert.equal(r.handshake.url, `ws://127.0.0.1:${server.port}/chat?room=1`);
    } finally {
      await server.close();
    }
  });

  test('perMessageDeflate: false sends no offer; keys differ per connection', async () => {
    const server = await rawServer((request) => request.socket.write(switching(request)));
    try {
      for (let i = 0; i < 2; i++) {
        const open = await expectOpen(
          run(`ws://127.0.0.1:${server.port}/`, undefined, { perMessageDeflate: false }),
        );
        open.socket.destroy();
      }
      assert.equal(server.requests[0].header('sec-websocket-extensions'), undefined);
      assert.notEqual(server.requests[0].key, server.requests[1].key);
    } finally {
      await server.close();
    }
  });

  test('URL credentials become Basic Authorization for that host', async () => {
    const server = await rawServer((request) => request.socket.write(switching(request)));
    try {
      const open = await expectOpen(run(`ws://us%20er:p%40ss@127.0.0.1:${server.port}/`));
      open.socket.destroy();
      assert.equal(
        server.requests[0].header('authorization'),
        `Basic ${Buffer.from('us er:p@ss').toString('base64')}`,
      );
      assert.equal(server.requests[0].header('host'), `127.0.0.1:${server.port}`);
    } finally {
      await server.close();
    }
  });

  test('bytes after the 101 head are handed over as the first WebSocket bytes', async () => {
    const server = await rawServer((request) => {
      request.socket.write(
        Buffer.concat([Buffer.from(switching(request)), Buffer.from([0x81, 0x02, 0x68, 0x69])]),
      );
    });
    try {
      const open = await expectOpen(run(`ws://127.0.0.1:${server.port}/`));
      assert.deepEqual([...open.head], [0x81, 0x02, 0x68, 0x69]);
      assert.deepEqual(open.result, { protocol: '', extensions: '', extension: null });
      // The socket keeps flowing to whoever took it.
      const more = new Promise<Buffer>((resolve) => open.socket.once('data', resolve));
      open.socket.resume();
      server.requests[0].socket.write('more');
      assert.equal((await more).toString(), 'more');
      open.socket.destroy();
    } finally {
      await server.close();
    }
  });

  test('a response written 1 byte at a time, and in random splits, gives the same result', async () => {
    const frame = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    const splits: number[][] = [[1]];
    for (let i = 0; i < 4; i++)
      splits.push(Array.from({ length: 8 }, () => 1 + Math.floor(Math.random() * 40)));
    for (const sizes of splits) {
      const server = await rawServer((request) => {
        const bytes = Buffer.concat([
          Buffer.from(switching(request, { 'Sec-WebSocket-Protocol': 'p' })),
          frame,
        ]);
        let offset = 0;
        let turn = 0;
        const next = (): void => {
          if (offset >= bytes.length || request.socket.destroyed) return;
          const size = sizes[turn++ % sizes.length];
          request.socket.write(bytes.subarray(offset, offset + size));
          offset += size;
          setImmediate(next);
        };
        next();
      });
      try {
        const open = await expectOpen(run(`ws://127.0.0.1:${server.port}/`, ['p']));
        // Frame bytes come either with the head or later on the socket.
        const received = [open.head];
        await new Promise<void>((resolve) => {
          const check = (): void => {
            if (Buffer.concat(received).length < frame.length) return;
            open.socket.off('data', onData);
            resolve();
          };
          const onData = (chunk: Buffer): void => {
            received.push(chunk);
            check();
          };
          open.socket.on('data', onData);
          open.socket.resume();
          check();
        });
        assert.deepEqual(Buffer.concat(received), frame, `splits ${sizes.join(',')}`);
        assert.equal(open.result.protocol, 'p');
        open.socket.destroy();
      } finally {
        await server.close();
      }
    }
  });

  test('bad header values and options throw at the call, before connecting', () => {
    assert.throws(() =>
      run('ws://127.0.0.1:1/', undefined, { headers: { 'X-Bad': 'a\r\nInjected: 1' } }),
    );
    assert.throws(() => run('ws://127.0.0.1:1/', undefined, { handshakeTimeout: -1 }), RangeError);
    assert.throws(() => run('ws://127.0.0.1:1/', undefined, { maxRedirects: 1.5 }), RangeError);
  });
});

describe('RFC 6455 §3 / checklist K10: bad URLs fail before connecting', () => {
  test('fragment, unknown scheme, invalid URL, bad subprotocol: SyntaxError, nothing called', async () => {
    const server = await rawServer(() => {});
    try {
      for (const url of [
        `ws://127.0.0.1:${server.port}/#x`,
        `ftp://127.0.0.1:${server.port}/`,
        'ws://',
        '::',
      ]) {
        assert.throws(() => run(url), SyntaxError, url);
      }
      assert.throws(() => run(`ws://127.0.0.1:${server.port}/`, ['a', 'a']), SyntaxError);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(server.requests.length, 0);
    } finally {
      await server.close();
    }
  });
});

describe('RFC 6455 §4.1 response checks (checklist K1, K2)', () => {
  const cases: Array<[string, (request: RawRequest) => string]> = [
    [
      'wrong Sec-WebSocket-Accept',
      (q) => switching(q, { 'Sec-WebSocket-Accept': acceptFor('AAAAAAAAAAAAAAAAAAAAAA==') }),
    ],
    ['missing Sec-WebSocket-Accept', (q) => switching(q, { 'Sec-WebSocket-Accept': null })],
    [
      'Accept computed for another key',
      // Another valid key: change the first character (to 'x', or 'y' if it already is 'x').
      (q) =>
        switching(q, {
          'Sec-WebSocket-Accept': acceptFor((q.key[0] === 'x' ? 'y' : 'x') + q.key.slice(1)),
        }),
    ],
    ['missing Upgrade', (q) => switching(q, { Upgrade: null })],
    ['Upgrade: h2c', (q) => switching(q, { Upgrade: 'h2c' })],
    ['missing Connection', (q) => switching(q, { Connection: null })],
    ['Connection: keep-alive', (q) => switching(q, { Connection: 'keep-alive' })],
    ['subprotocol not offered', (q) => switching(q, { 'Sec-WebSocket-Protocol': 'other' })],
    ['subprotocol when none offered', (q) => switching(q, { 'Sec-WebSocket-Protocol': 'a' })],
    ['extension not offered', (q) => switching(q, { 'Sec-WebSocket-Extensions': 'x-custom' })],
    [
      'Sec-WebSocket-Accept twice',
      (q) => switching(q, {}, `Sec-WebSocket-Accept: ${acceptFor(q.key)}\r\n`),
    ],
    [
      'invalid permessage-deflate params',
      (q) =>
        switching(q, {
          'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=20',
        }),
    ],
    [
      'unknown permessage-deflate param',
      (q) => switching(q, { 'Sec-WebSocket-Extensions': 'permessage-deflate; foo' }),
    ],
    [
      'permessage-deflate twice',
      (q) => switching(q, { 'Sec-WebSocket-Extensions': 'permessage-deflate, permessage-deflate' }),
    ],
  ];
  for (const [name, respond] of cases) {
    test(`${name}: fail, no open, socket destroyed`, async () => {
      const server = await rawServer((request) => request.socket.write(respond(request)));
      try {
        const r = run(
          `ws://127.0.0.1:${server.port}/`,
          name.includes('when none') ? undefined : ['a'],
        );
        const outcome = await r.outcome;
        assert.equal(outcome.ok, false, `${name} was accepted`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(r.calls, { set: 0, fail: 1 });
        // 'upgrade' is only emitted for a 101 that passed every check.
        assert.deepEqual(
          r.events.filter(([event]) => event === 'upgrade'),
          [],
        );
        // The client destroyed its socket: the server sees the close.
        await server.requests[0].closed;
      } finally {
        await server.close();
      }
    });
  }

  test('a response without the 101 (server closes early): CONNECTION_CLOSED', async () => {
    const server = await rawServer((request) => request.socket.end('HTTP/1.1 101 Switch'));
    try {
      await expectFailure(run(`ws://127.0.0.1:${server.port}/`), 'CONNECTION_CLOSED');
    } finally {
      await server.close();
    }
  });

  test("a malformed status line fails with Node's parser code (HPE_*)", async () => {
    const server = await rawServer((request) => request.socket.write('HTTP/1.1 1O1 Nope\r\n\r\n'));
    try {
      const outcome = await r0fail(run(`ws://127.0.0.1:${server.port}/`));
      assert.equal(outcome.error.code, 'HPE_INVALID_STATUS');
      await server.requests[0].closed;
    } finally {
      await server.close();
    }
  });
});

async function r0fail(r: Run): Promise<Outcome & { ok: false }> {
  const outcome = await r.outcome;
  if (outcome.ok) {
    outcome.socket.destroy();
    assert.fail('expected a failure');
  }
  return outcome;
}

describe('subprotocol and extension negotiation', () => {
  test('the selected subprotocol is reported', async () => {
    const server = await rawServer((request) =>
      request.socket.write(switching(request, { 'Sec-WebSocket-Protocol': 'b.v2' })),
    );
    try {
      const open = await expectOpen(run(`ws://127.0.0.1:${server.port}/`, ['a', 'b.v2']));
      assert.equal(open.result.protocol, 'b.v2');
      open.socket.destroy();
    } finally {
      await server.close();
    }
  });

  test('permessage-deflate in the response when it was not offered: UNOFFERED_EXTENSION', async () => {
    const server = await rawServer((request) =>
      request.socket.write(
        switching(request, { 'Sec-WebSocket-Extensions': 'permessage-deflate' }),
      ),
    );
    try {
      await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`, undefined, { perMessageDeflate: false }),
        'UNOFFERED_EXTENSION',
      );
      await server.requests[0].closed;
    } finally {
      await server.close();
    }
  });

  test('permessage-deflate accepted by the server gives an extension instance', async () => {
    const server = await rawServer((request) =>
      request.socket.write(
        switching(request, {
          'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits=10',
        }),
      ),
    );
    try {
      const open = await expectOpen(run(`ws://127.0.0.1:${server.port}/`));
      assert.equal(open.result.extension?.name, 'permessage-deflate');
      assert.equal(open.result.extensions, 'permessage-deflate; client_max_window_bits=10');
      open.result.extension?.dispose();
      open.socket.destroy();
    } finally {
      await server.close();
    }
  });
});

describe('checklist K4: non-101 responses and oversized heads', () => {
  test('a 403 with a small body: UNEXPECTED_RESPONSE with status, headers and body', async () => {
    const server = await rawServer((request) =>
      request.socket.write(
        'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 4\r\n\r\nnope',
      ),
    );
    try {
      const failure = await expectFailure(
        run(`ws://127.0.0.1:${server.port}/x`),
        'UNEXPECTED_RESPONSE',
      );
      assert.equal(failure.error.statusCode, 403);
      assert.equal(failure.error.closeCode, 1006);
      assert.match(failure.error.message, /403/);
      const response = failure.response!;
      assert.equal(response.statusCode, 403);
      assert.equal(response.statusMessage, 'Forbidden');
      assert.equal(response.headers['content-type'], 'text/plain');
      assert.deepEqual(response.headers['set-cookie'], ['a=1', 'b=2']);
      assert.equal(response.body.toString(), 'nope');
      assert.equal(response.aborted, false);
      // The real objects, as ws gives them: the request that was sent and Node's response.
      assert.ok(response.request instanceof http.ClientRequest);
      assert.equal(response.request.path, '/x');
      assert.equal(failure.reported, true);
      // The response was read to its end: the handshake closes its connection.
      await server.requests[0].closed;
    } finally {
      await server.close();
    }
  });

  test('without an unexpected-response listener: the error names the status, nothing is read', async () => {
    const { server, sent } = await floodingServer();
    try {
      const failure = await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`, undefined, {}, false),
        'UNEXPECTED_RESPONSE',
      );
      assert.equal(failure.error.message, 'Unexpected server response: 404');
      assert.equal(failure.error.statusCode, 404);
      assert.equal(failure.reported, false);
      assert.equal(failure.response, undefined);
      await server.requests[0].closed;
      assert.ok(sent() < FLOOD_BYTES, `server sent ${sent()} bytes: the client kept reading`);
    } finally {
      await server.close();
    }
  });

  test('a body delimited by the connection close is read to the end', async () => {
    const server = await rawServer((request) =>
      request.socket.end('HTTP/1.1 400 Bad\r\n\r\nuntil close'),
    );
    try {
      const failure = await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`),
        'UNEXPECTED_RESPONSE',
      );
      assert.equal(failure.response?.body.toString(), 'until close');
      assert.equal(failure.response?.aborted, false);
    } finally {
      await server.close();
    }
  });

  test('a chunked error body is decoded', async () => {
    const server = await rawServer((request) =>
      request.socket.write(
        'HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
      ),
    );
    try {
      const failure = await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`),
        'UNEXPECTED_RESPONSE',
      );
      assert.equal(failure.response?.body.toString(), 'abcde');
    } finally {
      await server.close();
    }
  });

  test('a 100 MB body is read only up to the 1 MiB cap, then the socket is destroyed', async () => {
    const { server, sent } = await floodingServer();
    try {
      const failure = await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`),
        'UNEXPECTED_RESPONSE',
      );
      assert.equal(failure.response?.body.length, 1024 * 1024);
      assert.equal(failure.response?.aborted, true);
      await server.requests[0].closed;
      assert.ok(sent() < FLOOD_BYTES, `server sent ${sent()} bytes: the client kept reading`);
    } finally {
      await server.close();
    }
  });

  test('maxResponseBodyBytes lowers the cap', async () => {
    const server = await rawServer((request) =>
      request.socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\n0123456789'),
    );
    try {
      const failure = await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`, undefined, { maxResponseBodyBytes: 3 }),
        'UNEXPECTED_RESPONSE',
      );
      assert.equal(failure.response?.body.toString(), '012');
      assert.equal(failure.response?.aborted, true);
    } finally {
      await server.close();
    }
  });

  test('a body that never ends is delivered (truncated) at the handshake deadline', async () => {
    const server = await rawServer((request) =>
      request.socket.write('HTTP/1.1 503 Busy\r\n\r\npartial'),
    );
    try {
      const failure = await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`, undefined, { handshakeTimeout: 300 }),
        'UNEXPECTED_RESPONSE',
      );
      assert.equal(failure.response?.body.toString(), 'partial');
      assert.equal(failure.response?.aborted, true);
      await server.requests[0].closed;
    } finally {
      await server.close();
    }
  });

  test("response headers over 16 KiB: Node's HPE_HEADER_OVERFLOW, socket destroyed", async () => {
    const server = await rawServer((request) => {
      request.socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`,
      );
    });
    try {
      await expectFailure(run(`ws://127.0.0.1:${server.port}/`), 'HPE_HEADER_OVERFLOW');
      await server.requests[0].closed;
    } finally {
      await server.close();
    }
  });
});

describe('checklist K5: redirects', () => {
  test('not followed by default: UNEXPECTED_RESPONSE with the 3xx', async () => {
    const server = await rawServer((request) =>
      request.socket.write('HTTP/1.1 302 Found\r\nLocation: /other\r\nContent-Length: 0\r\n\r\n'),
    );
    try {
      const failure = await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`),
        'UNEXPECTED_RESPONSE',
      );
      assert.equal(failure.response?.statusCode, 302);
      assert.equal(failure.response?.headers.location, '/other');
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });

  test('same-origin redirect keeps credentials; emits redirect; new URL requested', async () => {
    const server = await rawServer((request) => {
      if (request.requestLine.startsWith('GET /start ')) {
        request.socket.end(
          'HTTP/1.1 301 Moved\r\nLocation: /final?x=1\r\nContent-Length: 0\r\n\r\n',
        );
      } else {
        request.socket.write(switching(request));
      }
    });
    try {
      const r = run(`ws://u:p@127.0.0.1:${server.port}/start`, undefined, {
        followRedirects: true,
        headers: { Cookie: 'session=1' },
      });
      const open = await expectOpen(r);
      open.socket.destroy();
      assert.equal(server.requests.length, 2);
      assert.equal(server.requests[1].requestLine, 'GET /final?x=1 HTTP/1.1');
      assert.equal(
        server.requests[1].header('authorization'),
        `Basic ${Buffer.from('u:p').toString('base64')}`,
      );
      assert.equal(server.requests[1].header('cookie'), 'session=1');
      const redirects = r.events.filter(([event]) => event === 'redirect');
      assert.equal(redirects.length, 1);
      assert.equal(redirects[0][1], `ws://u:p@127.0.0.1:${server.port}/final?x=1`);
    } finally {
      await server.close();
    }
  });

  test('cross-origin redirect drops Authorization, Cookie and URL credentials', async () => {
    const target = await rawServer((request) => request.socket.write(switching(request)));
    const origin = await rawServer((request) =>
      request.socket.end(
        `HTTP/1.1 307 Temporary\r\nLocation: http://127.0.0.1:${target.port}/t\r\n\r\n`,
      ),
    );
    try {
      const r = run(`ws://u:p@127.0.0.1:${origin.port}/`, undefined, {
        followRedirects: true,
        headers: { Cookie: 'session=1', Authorization: 'Bearer secret', 'X-Keep': 'k' },
      });
      const open = await expectOpen(r);
      open.socket.destroy();
      assert.equal(origin.requests[0].header('authorization'), 'Bearer secret');
      const hop = target.requests[0];
      assert.equal(hop.header('authorization'), undefined);
      assert.equal(hop.header('cookie'), undefined);
      assert.equal(hop.header('x-keep'), 'k');
      assert.equal(hop.header('host'), `127.0.0.1:${target.port}`);
      // A redirect listener may still set headers for the next hop, deliberately.
      assert.equal(r.events.filter(([event]) => event === 'redirect').length, 1);
    } finally {
      await origin.close();
      await target.close();
    }
  });

  test('a redirect listener can change the next request', async () => {
    const server = await rawServer((request) => {
      if (request.requestLine.startsWith('GET /a '))
        request.socket.end('HTTP/1.1 302 F\r\nLocation: /b\r\n\r\n');
      else request.socket.write(switching(request));
    });
    try {
      const calls = { set: 0, fail: 0 };
      let resolve!: (value: boolean) => void;
      const done = new Promise<boolean>((r) => (resolve = r));
      startClientHandshake(
        {
          setSocket(socket) {
            calls.set++;
            socket.destroy();
            resolve(true);
          },
          failHandshake() {
            calls.fail++;
            resolve(false);
          },
          emit(event, _url, request) {
            if (event === 'redirect')
              (request as { setHeader(n: string, v: string): void }).setHeader('X-Hop', '2');
            return true;
          },
        },
        `ws://127.0.0.1:${server.port}/a`,
        undefined,
        { followRedirects: true },
      );
      assert.equal(await done, true);
      assert.equal(server.requests[1].header('x-hop'), '2');
    } finally {
      await server.close();
    }
  });

  test('non-WebSocket schemes refused', async () => {
    for (const location of ['file:///etc/passwd', 'ws+unix:/tmp/x.sock:/', 'ftp://127.0.0.1/']) {
      const server = await rawServer((request) =>
        request.socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\n\r\n`),
      );
      try {
        await expectFailure(
          run(`ws://127.0.0.1:${server.port}/`, undefined, { followRedirects: true }),
          'REDIRECT_INVALID',
        );
      } finally {
        await server.close();
      }
    }
  });

  test('hop limit: fails after maxRedirects with TOO_MANY_REDIRECTS', async () => {
    const server = await rawServer((request) =>
      request.socket.end('HTTP/1.1 302 Found\r\nLocation: /again\r\n\r\n'),
    );
    try {
      await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`, undefined, {
          followRedirects: true,
          maxRedirects: 3,
        }),
        'TOO_MANY_REDIRECTS',
      );
      assert.equal(server.requests.length, 4);
      const defaults = await rawServer((request) =>
        request.socket.end('HTTP/1.1 308 P\r\nLocation: /again\r\n\r\n'),
      );
      try {
        await expectFailure(
          run(`ws://127.0.0.1:${defaults.port}/`, undefined, { followRedirects: true }),
          'TOO_MANY_REDIRECTS',
        );
        assert.equal(defaults.requests.length, 11);
      } finally {
        await defaults.close();
      }
    } finally {
      await server.close();
    }
  });
});

describe('checklist K6: handshake timeout', () => {
  test('a server that accepts TCP and never answers fails at handshakeTimeout', async () => {
    const server = await rawServer(() => {});
    try {
      const started = Date.now();
      const failure = await expectFailure(
        run(`ws://127.0.0.1:${server.port}/`, undefined, { handshakeTimeout: 200 }),
        'HANDSHAKE_TIMEOUT',
      );
      assert.ok(Date.now() - started >= 150);
      assert.equal(failure.error.closeCode, 1006);
      await server.requests[0].closed;
    } finally {
      await server.close();
    }
  });

  test('the default timeout is 10 s (checked by not failing early)', async () => {
    const server = await rawServer(() => {});
    try {
      const r = run(`ws://127.0.0.1:${server.port}/`, undefined, { handshakeTimeout: undefined });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(r.calls, { set: 0, fail: 0 });
      assert.equal(r.handshake.abort(), true);
      const failure = await expectFailure(r, 'ABORTED');
      assert.equal(failure.error.closeCode, 1006);
      assert.equal(r.handshake.abort(), false);
    } finally {
      await server.close();
    }
  });
});

describe('transport failures', () => {
  test('ws+unix: connects to a Unix domain socket with Host: localhost', async (t) => {
    if (process.platform === 'win32') {
      t.skip('no Unix domain sockets on Windows');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'ironsock-client-unix-'));
    const path = join(dir, 's.sock');
    const server = await serveRaw(
      net.createServer(),
      (request) => request.socket.write(switching(request)),
      path,
    );
    try {
      const open = await expectOpen(run(`ws+unix:${path}:/chat?x=1`));
      open.socket.destroy();
      assert.equal(server.requests[0].requestLine, 'GET /chat?x=1 HTTP/1.1');
      assert.equal(server.requests[0].header('host'), 'localhost');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the auth option is sent as Basic Authorization; URL credentials win over it (as ws)', async () => {
    const server = await rawServer((request) => request.socket.write(switching(request)));
    try {
      const open = await expectOpen(
        run(`ws://127.0.0.1:${server.port}/`, undefined, { auth: 'a:b' }),
      );
      open.socket.destroy();
      assert.equal(
        server.requests[0].header('authorization'),
        `Basic ${Buffer.from('a:b').toString('base64')}`,
      );
      const both = await expectOpen(
        run(`ws://x:y@127.0.0.1:${server.port}/`, undefined, { auth: 'a:b' }),
      );
      both.socket.destroy();
      assert.equal(
        server.requests[1].header('authorization'),
        `Basic ${Buffer.from('x:y').toString('base64')}`,
      );
    } finally {
      await server.close();
    }
  });

  test("an 'upgrade' listener that aborts: failHandshake, never setSocket", async () => {
    const server = await rawServer((request) => request.socket.write(switching(request)));
    try {
      const calls = { set: 0, fail: 0 };
      let resolve!: (error: Error & { code?: string }) => void;
      const failed = new Promise<Error & { code?: string }>((r) => (resolve = r));
      const handshake = startClientHandshake(
        {
          setSocket(socket) {
            calls.set++;
            socket.destroy();
          },
          failHandshake(error) {
            calls.fail++;
            resolve(error);
          },
          emit(event) {
            if (event === 'upgrade') handshake.abort();
            return true;
          },
        },
        `ws://127.0.0.1:${server.port}/`,
        undefined,
        {},
      );
      assert.equal((await failed).code, 'ABORTED');
      await server.requests[0].closed;
      assert.deepEqual(calls, { set: 0, fail: 1 });
    } finally {
      await server.close();
    }
  });

  test('handshakeTimeout must be a positive integer that fits a timer', () => {
    for (const handshakeTimeout of [0, -5, 1.5, Number.NaN, 2 ** 31]) {
      assert.throws(
        () => run('ws://127.0.0.1:1/', undefined, { handshakeTimeout }),
        RangeError,
        String(handshakeTimeout),
      );
    }
  });

  test("connection refused keeps Node's error code", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expectFailure(run(`ws://127.0.0.1:${port}/`), 'ECONNREFUSED');
  });

  test('IPv6 literal to a server on ::1', async (t) => {
    let server: RawServer;
    try {
      server = await rawServer((request) => request.socket.write(switching(request)), '::1');
    } catch (error) {
      t.skip(`::1 is unavailable here (${(error as Error).message})`);
      return;
    }
    try {
      const open = await expectOpen(run(`ws://[::1]:${server.port}/v6`));
      open.socket.destroy();
      assert.equal(server.requests[0].header('host'), `[::1]:${server.port}`);
      assert.equal(server.requests[0].requestLine, 'GET /v6 HTTP/1.1');
    } finally {
      await server.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// TLS (checklist K7). Certificates are made at test time with openssl into a temp dir.

describe('checklist K7: wss: certificate verification', () => {
  let good: TestCert;
  let other: TestCert;
  let opensslMissing = '';

  before(() => {
    try {
      good = makeCert('localhost', 'DNS:localhost,IP:127.0.0.1');
      other = makeCert('other.example', 'DNS:other.example');
    } catch (error) {
      opensslMissing = `openssl unavailable: ${(error as Error).message}`;
    }
  });

  const tlsRaw = (
    pair: { key: Buffer; cert: Buffer },
    handler: Handler,
  ): Promise<RawServer & { names: unknown[] }> => {
    const names: unknown[] = [];
    const server = tls.createServer({ key: pair.key, cert: pair.cert });
    server.on('secureConnection', (socket) => names.push(socket.servername));
    return serveRaw(server, handler, '127.0.0.1').then((raw) => Object.assign(raw, { names }));
  };

  const skipIfNoOpenssl = (t: { skip(reason: string): void }): boolean => {
    if (opensslMissing === '') return false;
    if (process.env.CI === 'true') assert.fail(opensslMissing);
    t.skip(opensslMissing);
    return true;
  };

  test('self-signed certificate without ca: TLS_FAILED, local close 1015', async (t) => {
    if (skipIfNoOpenssl(t)) return;
    const server = await tlsRaw(good, (request) => request.socket.write(switching(request)));
    try {
      const failure = await expectFailure(run(`wss://localhost:${server.port}/`), 'TLS_FAILED');
      assert.equal(failure.error.closeCode, 1015);
      assert.match(
        String((failure.error.cause as { code?: string }).code),
        /SELF_SIGNED|UNABLE_TO_VERIFY/,
      );
      assert.equal(server.requests.length, 0);
    } finally {
      await server.close();
    }
  });

  test('with ca: opens; SNI carries the host name, not an IP literal', async (t) => {
    if (skipIfNoOpenssl(t)) return;
    const server = await tlsRaw(good, (request) => request.socket.write(switching(request)));
    try {
      const byName = await expectOpen(
        run(`wss://localhost:${server.port}/`, undefined, { ca: good.cert }),
      );
      byName.socket.destroy();
      const byIp = await expectOpen(
        run(`wss://127.0.0.1:${server.port}/`, undefined, { ca: good.cert }),
      );
      byIp.socket.destroy();
      assert.deepEqual(server.names, ['localhost', false]);
      assert.equal(server.requests[0].header('host'), `localhost:${server.port}`);
    } finally {
      await server.close();
    }
  });

  test('certificate for another name, and an IP without a matching SAN: TLS_FAILED', async (t) => {
    if (skipIfNoOpenssl(t)) return;
    const server = await tlsRaw(other, (request) => request.socket.write(switching(request)));
    try {
      for (const host of ['localhost', '127.0.0.1']) {
        const failure = await expectFailure(
          run(`wss://${host}:${server.port}/`, undefined, { ca: other.cert }),
          'TLS_FAILED',
        );
        assert.equal(
          (failure.error.cause as { code?: string }).code,
          'ERR_TLS_CERT_ALTNAME_INVALID',
        );
      }
      assert.equal(server.requests.length, 0);
    } finally {
      await server.close();
    }
  });

  test('rejectUnauthorized: false is the only way to skip verification (NODE_TLS_REJECT_UNAUTHORIZED=0 ignored; Node prints a warning)', async (t) => {
    if (skipIfNoOpenssl(t)) return;
    const server = await tlsRaw(other, (request) => request.socket.write(switching(request)));
    try {
      await expectFailure(
        run(`wss://localhost:${server.port}/`, undefined, { rejectUnauthorized: undefined }),
        'TLS_FAILED',
      );
      // The environment switch that turns verification off in Node does not apply here.
      const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
      try {
        await expectFailure(run(`wss://localhost:${server.port}/`), 'TLS_FAILED');
      } finally {
        if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
        else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
      }
      const open = await expectOpen(
        run(`wss://localhost:${server.port}/`, undefined, { rejectUnauthorized: false }),
      );
      open.socket.destroy();
    } finally {
      await server.close();
    }
  });

  test('abort() while the TLS handshake is in progress: ABORTED, socket destroyed', async (t) => {
    if (skipIfNoOpenssl(t)) return;
    // A TCP server that never speaks TLS: the client waits in the TLS handshake.
    const server = await rawServer(() => {});
    try {
      const r = run(`wss://localhost:${server.port}/`, undefined, { ca: good.cert });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(r.handshake.abort(), true);
      await expectFailure(r, 'ABORTED');
    } finally {
      await server.close();
    }
  });

  test('a wss: to ws: redirect is refused', async (t) => {
    if (skipIfNoOpenssl(t)) return;
    const plain = await rawServer((request) => request.socket.write(switching(request)));
    const server = await tlsRaw(good, (request) =>
      request.socket.end(`HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:${plain.port}/\r\n\r\n`),
    );
    try {
      await expectFailure(
        run(`wss://localhost:${server.port}/`, undefined, { ca: good.cert, followRedirects: true }),
        'REDIRECT_DOWNGRADE',
      );
      assert.equal(plain.requests.length, 0);
    } finally {
      await server.close();
      await plain.close();
    }
  });

  test('ws WebSocketServer over https as a real peer', async (t) => {
    if (skipIfNoOpenssl(t)) return;
    const httpsServer = https.createServer({ key: good.key, cert: good.cert });
    const wss = new WebSocketServer({ server: httpsServer });
    await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
    const port = (httpsServer.address() as net.AddressInfo).port;
    try {
      const open = await expectOpen(run(`wss://localhost:${port}/`, undefined, { ca: good.cert }));
      open.socket.destroy();
    } finally {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => httpsServer.close(() => resolve()));
    }
  });
});

describe('ws WebSocketServer as a real peer', () => {
  test('subprotocol and permessage-deflate negotiated; the server sees the upgrade', async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: true,
      handleProtocols: (protocols) => (protocols.has('b') ? 'b' : false),
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as net.AddressInfo).port;
    const connected = new Promise<string>((resolve) =>
      wss.once('connection', (_ws, request) => resolve(request.headers.origin ?? '')),
    );
    try {
      const open = await expectOpen(
        run(`ws://127.0.0.1:${port}/`, ['a', 'b'], { origin: 'http://me.example' }),
      );
      assert.equal(open.result.protocol, 'b');
      assert.equal(open.result.extension?.name, 'permessage-deflate');
      assert.match(open.result.extensions, /^permessage-deflate/);
      assert.equal(await connected, 'http://me.example');
      open.result.extension?.dispose();
      open.socket.destroy();
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  test('a ws server that rejects the upgrade: UNEXPECTED_RESPONSE 401', async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      verifyClient: (_info, callback) => callback(false, 401, 'Unauthorized'),
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as net.AddressInfo).port;
    try {
      const failure = await expectFailure(run(`ws://127.0.0.1:${port}/`), 'UNEXPECTED_RESPONSE');
      assert.equal(failure.response?.statusCode, 401);
      assert.equal(failure.response?.body.toString(), 'Unauthorized');
    } finally {
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
