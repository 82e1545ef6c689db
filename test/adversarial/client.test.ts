/**
 * Checklist K1-K10: the ironsock client against hostile servers (RFC 6455 §4.1, §5.1, §5.3,
 * §10.3), over real sockets. Each case runs beside an ironsock echo server whose control
 * connection must keep echoing (support.ts `arena`): a hostile peer of one client never
 * disturbs the rest of the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { nodePlatform } from '../../src/node/platform.js';
import { computeAccept, HttpHeadParser } from '../../src/protocol/handshake/index.js';
import type { RequestHead } from '../../src/protocol/handshake/index.js';
import {
  arena,
  assertMemoryBelow,
  closePayload,
  delay,
  frame,
  memoryNow,
  once,
  Op,
  parseFrames,
  waitFor,
} from './support.js';
import { FLOOD_BYTES, floodNotFound } from '../helpers/flood.js';

const MiB = 1024 * 1024;

/** A request seen by a hostile server. */
interface SeenRequest {
  head: RequestHead;
  socket: net.Socket;
  header(name: string): string | undefined;
  /** Bytes the client sent after the head. */
  after: Buffer;
  closed: boolean;
}

/** A hostile server: parses each request head with hs's parser and hands it to `onRequest`. */
async function hostile(
  onRequest: (request: SeenRequest) => void,
  tlsOptions?: tls.TlsOptions,
): Promise<{ port: number; requests: SeenRequest[]; close(): Promise<void> }> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  const handle = (socket: net.Socket): void => {
    socket.unref();
    sockets.add(socket);
    socket.on('error', () => {});
    const parser = new HttpHeadParser('request');
    let request: SeenRequest | null = null;
    socket.on('close', () => {
      sockets.delete(socket);
      if (request !== null) request.closed = true;
    });
    socket.on('data', (chunk: Buffer) => {
      if (request !== null) {
        request.after = Buffer.concat([request.after, chunk]);
        return;
      }
      let result;
      try {
        result = parser.feed(chunk);
      } catch {
        socket.destroy();
        return;
      }
      if (!result.done) return;
      const head = result.head;
      request = {
        head,
        socket,
        header: (name) => head.headers.find(([n]) => n === name)?.[1],
        after: Buffer.from(result.rest),
        closed: false,
      };
      requests.push(request);
      onRequest(request);
    });
  };
  const server =
    tlsOptions === undefined ? net.createServer(handle) : tls.createServer(tlsOptions, handle);
  // Never keeps the process alive if a failing test skipped its cleanup.
  server.unref();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A 101 answer for `request` with the right accept key, plus `extra` lines (or `replace`d lines). */
function switching(request: SeenRequest, extra: string[] = [], accept?: string | null): string {
  const key = request.header('sec-websocket-key') ?? '';
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade'];
  if (accept !== null)
    lines.push(`Sec-WebSocket-Accept: ${accept ?? computeAccept(key, nodePlatform)}`);
  return [...lines, ...extra, '', ''].join('\r\n');
}

/** What a client connection did until it closed. */
interface Outcome {
  opened: boolean;
  errors: Error[];
  code: number;
  messages: number;
}

/** Runs a client to its close; `closeOnOpen` terminates it as soon as it opens. */
async function outcome(
  url: string,
  options: Record<string, unknown> = {},
  protocols?: string[],
  closeOnOpen = false,
): Promise<Outcome> {
  const ws = new WebSocket(url, protocols ?? [], options);
  const result: Outcome = { opened: false, errors: [], code: 0, messages: 0 };
  ws.on('open', () => {
    result.opened = true;
    if (closeOnOpen) ws.terminate();
  });
  ws.on('error', (error: Error) => result.errors.push(error));
  ws.on('message', () => result.messages++);
  const [code] = await once<[number]>(ws, 'close', 10_000);
  result.code = code;
  return result;
}

test('K1: a 101 with a wrong, missing or other-key Sec-WebSocket-Accept fails: no open event, socket destroyed (§4.1)', async () => {
  await arena({}, async (a) => {
    for (const accept of [
      'd3JvbmcgYWNjZXB0IHZhbHVlIQ==',
      null,
      computeAccept('dGhlIHNhbXBsZSBub25jZQ==', nodePlatform),
    ]) {
      const server = await hostile((r) => r.socket.write(switching(r, [], accept)));
      try {
        const result = await outcome(`ws://127.0.0.1:${server.port}/`);
        assert.equal(result.opened, false);
        assert.equal(result.code, 1006);
        assert.ok(result.errors.length >= 1);
        await waitFor(() => server.requests[0].closed, 3000, 'the socket to be destroyed');
      } finally {
        await server.close();
      }
      await a.check();
    }
  });
});

test('K2: a 101 without Upgrade/Connection, or selecting an unoffered subprotocol or extension, or invalid deflate params, fails (§4.1, RFC 7692 §7)', async () => {
  await arena({}, async (a) => {
    const answers: Array<[(r: SeenRequest) => string, Record<string, unknown>, string[]?]> = [
      [(r) => switching(r).replace('Upgrade: websocket\r\n', ''), {}],
      [(r) => switching(r).replace('Connection: Upgrade\r\n', ''), {}],
      [(r) => switching(r, ['Sec-WebSocket-Protocol: evil']), {}, ['chat']],
      [(r) => switching(r, ['Sec-WebSocket-Protocol: chat']), {}],
      [(r) => switching(r, ['Sec-WebSocket-Extensions: x-unknown']), {}],
      [
        (r) => switching(r, ['Sec-WebSocket-Extensions: permessage-deflate']),
        { perMessageDeflate: false },
      ],
      [
        (r) =>
          switching(r, ['Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99']),
        {},
      ],
      [
        (r) =>
          switching(r, [
            'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_no_context_takeover',
          ]),
        {},
      ],
    ];
    for (const [answer, options, protocols] of answers) {
      const server = await hostile((r) => r.socket.write(answer(r)));
      try {
        const result = await outcome(`ws://127.0.0.1:${server.port}/`, options, protocols);
        assert.equal(result.opened, false, answer.toString());
        assert.equal(result.code, 1006);
      } finally {
        await server.close();
      }
    }
    await a.check();
  });
});

test('K3: a masked frame from the server -> Close 1002, no message (§5.1)', async () => {
  await arena({}, async (a) => {
    const server = await hostile((r) => {
      r.socket.write(switching(r));
      r.socket.write(frame(Op.Text, 'masked by the server', { mask: true }));
    });
    try {
      const result = await outcome(`ws://127.0.0.1:${server.port}/`);
      assert.equal(result.opened, true);
      assert.equal(result.messages, 0);
      assert.equal(result.code, 1002);
      const sent = parseFrames(server.requests[0].after).frames;
      assert.equal(sent.at(-1)?.opcode, Op.Close);
      assert.equal(sent.at(-1)?.payload.readUInt16BE(0), 1002);
    } finally {
      await server.close();
    }
    await a.check();
  });
});

test('K4: a non-101 response with a 100 MB body and a response head over 16 KiB fail with capped reads', async () => {
  await arena({}, async (a) => {
    let sent = (): number => 0;
    const server = await hostile((r) => {
      sent = floodNotFound(r.socket);
    });
    try {
      const before = memoryNow();
      const result = await outcome(`ws://127.0.0.1:${server.port}/`);
      assert.equal(result.opened, false);
      await a.check();
      await waitFor(() => server.requests[0].closed, 5000, 'the client to drop the socket');
      assert.ok(sent() < FLOOD_BYTES, `server sent ${sent()} bytes: the client kept reading`);
      assertMemoryBelow(before, 16 * MiB, 'large body');
    } finally {
      await server.close();
    }
    const big = await hostile((r) =>
      r.socket.write(switching(r, [`X-Big: ${'a'.repeat(17 * 1024)}`])),
    );
    try {
      const result = await outcome(`ws://127.0.0.1:${big.port}/`);
      assert.equal(result.opened, false);
      await waitFor(() => big.requests[0].closed, 3000, 'the socket to be destroyed');
    } finally {
      await big.close();
    }
  });
});

// `http:`/`https:` redirect targets are treated as `ws:`/`wss:` (WHATWG WebSocket URL rules, as
// ws does), so an `http:` Location to another host is followed like a `ws:` one: credentials
// are stripped (checked below with `ws://localhost`). The `wss:` -> `ws:` downgrade needs TLS:
// see test/node/client.test.ts 'checklist K5: redirects'.
test('K5: redirects are not followed by default; when enabled, non-ws schemes are refused, credentials stripped cross-origin, the hop limit enforced', async () => {
  await arena({}, async (a) => {
    const target = await hostile((r) => r.socket.write(switching(r)));
    const redirect = (location: string) => (r: SeenRequest) =>
      r.socket.write(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);
    try {
      const plain = await hostile(redirect(`ws://127.0.0.1:${target.port}/`));
      const notFollowed = await outcome(`ws://127.0.0.1:${plain.port}/`);
      assert.equal(notFollowed.opened, false);
      assert.equal(target.requests.length, 0, 'default: redirect not followed');
      await plain.close();
      for (const location of [
        'file:///etc/passwd',
        'ws+unix:///tmp/x.sock',
        'https+unix:///tmp/x.sock',
        'ftp://localhost/',
      ]) {
        const bad = await hostile(redirect(location));
        const result = await outcome(`ws://127.0.0.1:${bad.port}/`, { followRedirects: true });
        assert.equal(result.opened, false, location);
        await bad.close();
      }
      assert.equal(target.requests.length, 0, 'no refused scheme was followed');
      // Cross-origin (127.0.0.1 -> localhost): Authorization and Cookie are dropped.
      const cross = await hostile(redirect(`ws://localhost:${target.port}/next`));
      const followed = await outcome(
        `ws://127.0.0.1:${cross.port}/`,
        {
          followRedirects: true,
          headers: { Authorization: 'Bearer secret', Cookie: 'session=1' },
        },
        undefined,
        true,
      );
      assert.equal(followed.opened, true);
      assert.equal(cross.requests[0].header('authorization'), 'Bearer secret');
      const next = target.requests[0];
      assert.equal(next.head.target, '/next');
      assert.equal(next.header('authorization'), undefined);
      assert.equal(next.header('cookie'), undefined);
      await cross.close();
      // A redirect loop: fails after the hop limit (10).
      let hops = 0;
      const loop = await hostile((r) => {
        hops++;
        redirect(`ws://127.0.0.1:${loopPort}/`)(r);
      });
      const loopPort = loop.port;
      const looped = await outcome(`ws://127.0.0.1:${loop.port}/`, { followRedirects: true });
      assert.equal(looped.opened, false);
      assert.equal(hops, 11, 'the first request plus 10 redirects');
      await loop.close();
      await a.check();
    } finally {
      await target.close();
    }
  });
});

test('K6: a server that accepts TCP but never answers: the client fails at its handshake timeout (shortened to 500 ms)', async () => {
  await arena({}, async (a) => {
    const server = await hostile(() => {});
    try {
      const started = Date.now();
      const result = await outcome(`ws://127.0.0.1:${server.port}/`, { handshakeTimeout: 500 });
      const took = Date.now() - started;
      assert.equal(result.opened, false);
      assert.equal(result.code, 1006);
      assert.ok(took >= 400 && took < 5000, `failed after ${took} ms`);
      await waitFor(() => server.requests[0]?.closed === true, 3000, 'the socket to be destroyed');
      await a.check();
    } finally {
      await server.close();
    }
  });
});

test('K7: wss: to a self-signed certificate, a certificate for another name, an IP without a matching SAN fails (local 1015); SNI sent for host names', async (t) => {
  let dir = '';
  try {
    dir = mkdtempSync(join(tmpdir(), 'ironsock-sec-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=other.example',
        '-addext',
        'subjectAltName=DNS:other.example',
      ],
      { stdio: 'ignore' },
    );
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    t.skip(`openssl unavailable: ${(error as Error).message}`);
    return;
  }
  try {
    await arena({}, async (a) => {
      let servername: string | false | null | undefined;
      const server = await hostile(
        (r) => {
          servername = (r.socket as tls.TLSSocket).servername;
          r.socket.write(switching(r));
        },
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      );
      try {
        for (const url of [`wss://127.0.0.1:${server.port}/`, `wss://localhost:${server.port}/`]) {
          const result = await outcome(url);
          assert.equal(result.opened, false, url);
          assert.equal(result.code, 1015, url);
        }
        // Trusting the CA but connecting under another name still fails (hostname check).
        const ca = readFileSync(join(dir, 'cert.pem'));
        const wrongName = await outcome(`wss://localhost:${server.port}/`, { ca });
        assert.equal(wrongName.opened, false);
        assert.equal(wrongName.code, 1015);
        const right = await outcome(
          `wss://other.example:${server.port}/`,
          {
            ca,
            // net.connect asks for every address (`all: true`).
            lookup: (
              _h: string,
              o: { all?: boolean },
              cb: (e: null, a: unknown, f?: number) => void,
            ) =>
              o.all === true
                ? cb(null, [{ address: '127.0.0.1', family: 4 }])
                : cb(null, '127.0.0.1', 4),
          },
          undefined,
          true,
        );
        assert.equal(right.opened, true, 'the same server with the right name and CA is accepted');
        assert.equal(servername, 'other.example', 'SNI carries the host name');
        await a.check();
      } finally {
        await server.close();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('K8: 100,000 client frames use fresh CSPRNG mask keys (no repeats beyond chance); the wire payload is the data at send() time even if the buffer is mutated right after', async () => {
  await arena({}, async (a) => {
    const server = await hostile((r) => r.socket.write(switching(r)));
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      ws.on('error', () => {});
      await once(ws, 'open');
      const mutated = Buffer.from('original payload');
      ws.send(mutated);
      mutated.fill(0x21);
      for (let i = 0; i < 100_000; i++) ws.send('k');
      const request = server.requests[0];
      await waitFor(() => request.after.length >= 100_001 * 7, 15_000, '100,001 frames');
      const { frames } = parseFrames(request.after);
      assert.equal(frames[0].payload.toString(), 'original payload');
      const keys = new Set<number>();
      let offset = 0;
      let repeats = 0;
      // Mask keys sit at offset 2 of each short client frame.
      for (let i = 0; i < 100_001; i++) {
        const len = request.after[offset + 1] & 0x7f;
        const key = request.after.readUInt32BE(offset + 2);
        if (keys.has(key)) repeats++;
        keys.add(key);
        offset += 6 + len;
      }
      // Expected repeats among 100,001 random 32-bit keys: about 1.2.
      assert.ok(repeats <= 10, `${repeats} repeated mask keys`);
      ws.terminate();
      await a.check();
    } finally {
      await server.close();
    }
  });
});

test('K9: a server message over the client maxPayload -> Close 1009 (decompression bomb: see Z4)', async () => {
  await arena({}, async (a) => {
    const server = await hostile((r) => {
      r.socket.write(switching(r));
      r.socket.write(frame(Op.Binary, Buffer.alloc(1024 * 1024 + 1), { mask: false }));
    });
    try {
      const result = await outcome(`ws://127.0.0.1:${server.port}/`);
      assert.equal(result.messages, 0);
      assert.equal(result.code, 1009);
      await waitFor(
        () => parseFrames(server.requests[0].after).frames.some((f) => f.opcode === Op.Close),
        3000,
        'the Close frame',
      );
      const close = parseFrames(server.requests[0].after).frames.find((f) => f.opcode === Op.Close);
      assert.deepEqual(close?.payload.subarray(0, 2), closePayload(1009));
      await a.check();
    } finally {
      await server.close();
    }
  });
});

test('K10: a URL with a #fragment or an unknown scheme throws SyntaxError before connecting; URL credentials never reach a redirect target', async () => {
  await arena({}, async (a) => {
    let connections = 0;
    const probe = await hostile(() => {});
    const counter = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    counter.listen(0, '127.0.0.1');
    await once(counter, 'listening');
    const port = (counter.address() as AddressInfo).port;
    try {
      for (const url of [
        `ws://127.0.0.1:${port}/#frag`,
        `ftp://127.0.0.1:${port}/`,
        `gopher://127.0.0.1:${port}/`,
      ]) {
        assert.throws(() => new WebSocket(url), SyntaxError, url);
      }
      await delay(50);
      assert.equal(connections, 0, 'nothing connected');
      const target = await hostile((r) => r.socket.write(switching(r)));
      const first = await hostile((r) =>
        r.socket.write(
          `HTTP/1.1 302 Found\r\nLocation: ws://localhost:${target.port}/\r\nContent-Length: 0\r\n\r\n`,
        ),
      );
      const result = await outcome(
        `ws://user:pass@127.0.0.1:${first.port}/`,
        { followRedirects: true },
        undefined,
        true,
      );
      assert.equal(result.opened, true);
      assert.match(first.requests[0].header('authorization') ?? '', /^Basic /);
      assert.equal(target.requests[0].header('authorization'), undefined);
      await first.close();
      await target.close();
    } finally {
      await probe.close();
      counter.close();
    }
    await a.check();
  });
});
