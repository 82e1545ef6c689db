/**
 * Interop with the `ws` package (a peer nobody here wrote), in both directions:
 * ironsock server <-> ws client and ws server <-> ironsock client. Every case runs the
 * traffic both ways over the connection (client -> server and server -> client), so both
 * roles of ironsock send and receive against ws.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import * as ws from 'ws';
import * as impl from './impl.js';
import {
  Recorder,
  digest,
  listening,
  pseudoRandomBytes,
  shutdown,
  type ServerLike,
  type SocketLike,
  LARGE,
  LARGE_LIMITS,
  rawFrame,
} from './support.js';

interface Impl {
  name: 'ws' | 'ironsock';
  WebSocket: new (...args: any[]) => SocketLike;
  WebSocketServer: new (...args: any[]) => ServerLike;
}

const WS: Impl = {
  name: 'ws',
  WebSocket: ws.WebSocket as any,
  WebSocketServer: ws.WebSocketServer as any,
};
const IRONSOCK: Impl = {
  name: 'ironsock',
  WebSocket: impl.WebSocket as any,
  WebSocketServer: impl.WebSocketServer as any,
};

interface Pair {
  server: Impl;
  client: Impl;
}
const PAIRS: Pair[] = [
  { server: IRONSOCK, client: WS },
  { server: WS, client: IRONSOCK },
];

const T = { timeout: 30_000 };

/** Whether this machine can listen on the IPv6 loopback (some containers have no IPv6). */
const ipv6 = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});

interface Open {
  port: number;
  wss: ServerLike;
  client: Recorder;
  server: Recorder;
  /** The side implemented by ws (whose internal `_socket` we may poke at to misbehave). */
  wsSide: Recorder;
  /** The side implemented by ironsock. */
  ironSide: Recorder;
  /** [sender, receiver, label] for client -> server and server -> client. */
  directions: Array<[Recorder, Recorder, string]>;
}

interface OpenOptions {
  /** Loopback address to use (default 127.0.0.1). */
  host?: '127.0.0.1' | '::1';
  server?: Record<string, unknown>;
  client?: Record<string, unknown>;
  protocols?: string[];
}

async function withPair(
  pair: Pair,
  options: OpenOptions,
  body: (o: Open) => Promise<void>,
): Promise<void> {
  const wss = new pair.server.WebSocketServer({
    host: options.host ?? '127.0.0.1',
    port: 0,
    ...options.server,
  });
  let clientSocket: SocketLike | undefined;
  try {
    const port = await listening(wss);
    const connected = new Promise<Recorder>((resolve) =>
      wss.once('connection', (socket: SocketLike) => resolve(new Recorder(socket))),
    );
    clientSocket = new pair.client.WebSocket(
      `ws://${options.host === '::1' ? '[::1]' : '127.0.0.1'}:${port}/interop`,
      options.protocols ?? [],
      options.client ?? {},
    );
    const client = new Recorder(clientSocket);
    await client.opened();
    const server = await connected;
    const wsSide = pair.server.name === 'ws' ? server : client;
    const ironSide = wsSide === server ? client : server;
    await body({
      port,
      wss,
      client,
      server,
      wsSide,
      ironSide,
      directions: [
        [client, server, `${pair.client.name} client -> ${pair.server.name} server`],
        [server, client, `${pair.server.name} server -> ${pair.client.name} client`],
      ],
    });
  } finally {
    clientSocket?.terminate();
    await shutdown(wss);
  }
}

function send(
  socket: SocketLike,
  data: unknown,
  options: Record<string, unknown> = {},
): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(data, options, (err?: Error) => (err ? reject(err) : resolve())),
  );
}

/** Raw TCP socket of a ws-package WebSocket (an internal of the peer, used only to misbehave). */
function rawSocket(rec: Recorder): import('node:net').Socket {
  return (rec.socket as any)._socket;
}

for (const pair of PAIRS) {
  describe(`interop: ${pair.server.name} server <-> ${pair.client.name} client`, () => {
    test('text messages (UTF-8, multi-byte) both ways', T, async () => {
      await withPair(pair, {}, async ({ directions }) => {
        for (const [from, to, label] of directions) {
          const text = `héllo wörld ✓ 🚀 ${label}`;
          from.socket.send(text);
          const got = await to.next('message');
          assert.equal(got.isBinary, false, label);
          assert.equal(got.data.toString('utf8'), text, label);
        }
      });
    });

    test('binary messages both ways', T, async () => {
      await withPair(pair, {}, async ({ directions }) => {
        for (const [from, to, label] of directions) {
          const bytes = pseudoRandomBytes(70_000, 7);
          from.socket.send(bytes);
          const got = await to.next('message');
          assert.equal(got.isBinary, true, label);
          assert.equal(digest(got.data), digest(bytes), label);
        }
      });
    });

    test('0-byte text and binary messages both ways', T, async () => {
      await withPair(pair, {}, async ({ directions }) => {
        for (const [from, to, label] of directions) {
          from.socket.send('');
          from.socket.send(Buffer.alloc(0));
          const text = await to.next('message');
          const binary = await to.next('message');
          assert.deepEqual([text.isBinary, text.data.length], [false, 0], label);
          assert.deepEqual([binary.isBinary, binary.data.length], [true, 0], label);
        }
      });
    });

    test('fragmented messages (send with fin: false) both ways', T, async () => {
      await withPair(pair, {}, async ({ directions }) => {
        for (const [from, to, label] of directions) {
          from.socket.send('frag-1 ', { fin: false });
          from.socket.send('frag-2 ✓ ', { fin: false });
          from.socket.send('end', { fin: true });
          const bin = pseudoRandomBytes(3000, 3);
          from.socket.send(bin.subarray(0, 1000), { binary: true, fin: false });
          from.socket.send(bin.subarray(1000, 1001), { binary: true, fin: false });
          from.socket.send(bin.subarray(1001), { binary: true, fin: true });
          from.socket.send('after');
          const text = await to.next('message');
          assert.equal(text.isBinary, false, label);
          assert.equal(text.data.toString('utf8'), 'frag-1 frag-2 ✓ end', label);
          const binary = await to.next('message');
          assert.equal(binary.isBinary, true, label);
          assert.equal(digest(binary.data), digest(bin), label);
          assert.equal((await to.next('message')).data.toString(), 'after', label);
        }
      });
    });

    test(
      '16 MiB binary and text messages with maxPayload raised on both sides',
      { timeout: 90_000 },
      async () => {
        const limit = LARGE_LIMITS;
        await withPair(pair, { server: limit, client: limit }, async ({ directions }) => {
          for (const [from, to, label] of directions) {
            const bytes = pseudoRandomBytes(LARGE, 11);
            await send(from.socket, bytes);
            const got = await to.next('message', 60_000);
            assert.equal(got.isBinary, true, label);
            assert.equal(got.data.length, LARGE, label);
            assert.equal(digest(got.data), digest(bytes), label);
          }
          const [from, to, label] = directions[0];
          const text = 'abcdefghijklmnop'.repeat(LARGE / 16);
          await send(from.socket, text);
          const got = await to.next('message', 60_000);
          assert.equal(got.isBinary, false, label);
          assert.equal(got.data.length, LARGE, label);
        });
      },
    );

    test('ping with payload is answered with a pong carrying it, both ways', T, async () => {
      await withPair(pair, {}, async ({ directions }) => {
        for (const [from, to, label] of directions) {
          const payload = Buffer.from(`ping ${label}`.slice(0, 125));
          from.socket.ping(payload);
          assert.equal((await to.next('ping')).toString(), payload.toString(), label);
          assert.equal((await from.next('pong')).toString(), payload.toString(), label);
          from.socket.ping();
          assert.equal((await to.next('ping')).length, 0, label);
          assert.equal((await from.next('pong')).length, 0, label);
        }
      });
    });

    test('client closes with code and reason (§7.1.2): both sides see it', T, async () => {
      await withPair(pair, {}, async ({ client, server }) => {
        client.socket.close(4000, 'bye from client ✓');
        assert.deepEqual(await server.next('close'), { code: 4000, reason: 'bye from client ✓' });
        // The closing side reports the code of the peer's Close, which echoes ours (§5.5.1).
        assert.equal((await client.next('close')).code, 4000);
      });
    });

    test('server closes with code and reason: both sides see it', T, async () => {
      await withPair(pair, {}, async ({ client, server }) => {
        server.socket.close(4001, 'bye from server');
        assert.deepEqual(await client.next('close'), { code: 4001, reason: 'bye from server' });
        assert.equal((await server.next('close')).code, 4001);
      });
    });

    test('close without a code is reported as 1005 by the peer (§7.1.5)', T, async () => {
      await withPair(pair, {}, async ({ directions }) => {
        const [from, to] = directions[0];
        from.socket.close();
        assert.deepEqual(await to.next('close'), { code: 1005, reason: '' });
      });
      await withPair(pair, {}, async ({ directions }) => {
        const [from, to] = directions[1];
        from.socket.close();
        assert.deepEqual(await to.next('close'), { code: 1005, reason: '' });
      });
    });

    test('server shutdown closes clients with 1001 (going away)', T, async () => {
      await withPair(pair, {}, async ({ wss, client, server }) => {
        if (pair.server.name === 'ws') {
          // ws 8 leaves connections open on wss.close(); an application closes them itself.
          server.socket.close(1001, 'server shutdown');
        }
        wss.close();
        assert.equal((await client.next('close')).code, 1001);
      });
    });

    // Each violation is written raw into the ws side's TCP socket; ironsock must fail the
    // connection with the listed code (§7.1.7) and report it, and ws must receive that Close.
    const violations: Array<{
      name: string;
      code: number;
      frame: (masked: boolean) => Buffer;
      only?: 'ws-client' | 'ws-server';
    }> = [
      {
        name: 'reserved opcode 0x3 (§5.2)',
        code: 1002,
        frame: (masked) => rawFrame({ opcode: 0x3, masked }),
      },
      {
        name: 'RSV1 set with no extension (§5.2)',
        code: 1002,
        frame: (masked) => rawFrame({ opcode: 0x1, rsv1: true, payload: Buffer.from('x'), masked }),
      },
      {
        name: 'fragmented ping (§5.5)',
        code: 1002,
        frame: (masked) => rawFrame({ opcode: 0x9, fin: false, masked }),
      },
      {
        name: 'ping with a 126-byte payload (§5.5)',
        code: 1002,
        frame: (masked) => rawFrame({ opcode: 0x9, payload: Buffer.alloc(126), masked }),
      },
      {
        name: 'continuation with no message in progress (§5.4)',
        code: 1002,
        frame: (masked) => rawFrame({ opcode: 0x0, payload: Buffer.from('x'), masked }),
      },
      {
        name: 'Close with 1-byte payload (§5.5.1)',
        code: 1002,
        frame: (masked) => rawFrame({ opcode: 0x8, payload: Buffer.from([3]), masked }),
      },
      {
        name: 'Close with the reserved code 1005 on the wire (§7.4.1)',
        code: 1002,
        frame: (masked) => rawFrame({ opcode: 0x8, payload: Buffer.from([0x03, 0xed]), masked }),
      },
      {
        name: 'text that is not UTF-8 (§8.1)',
        code: 1007,
        frame: (masked) =>
          rawFrame({ opcode: 0x1, payload: Buffer.from([0x68, 0xc0, 0x80, 0x69]), masked }),
      },
      {
        name: 'unmasked frame from a client (§5.1)',
        code: 1002,
        frame: () => rawFrame({ opcode: 0x1, payload: Buffer.from('x') }),
        only: 'ws-client',
      },
      {
        name: 'masked frame from a server (§5.1)',
        code: 1002,
        frame: () => rawFrame({ opcode: 0x1, payload: Buffer.from('x'), masked: true }),
        only: 'ws-server',
      },
    ];
    for (const violation of violations) {
      const wsRole = pair.client.name === 'ws' ? 'ws-client' : 'ws-server';
      if (violation.only && violation.only !== wsRole) continue;
      test(`protocol violation from ws: ${violation.name} -> ${violation.code}`, T, async () => {
        await withPair(pair, {}, async ({ wsSide, ironSide, client }) => {
          rawSocket(wsSide).write(violation.frame(wsSide === client));
          assert.equal(
            (await ironSide.next('close')).code,
            violation.code,
            'ironsock reports the code it failed with',
          );
          assert.equal(
            (await wsSide.next('close')).code,
            violation.code,
            `ws received a Close ${violation.code}`,
          );
        });
      });
    }

    test('a message over maxPayload is refused with 1009 (§7.4.1), both ways', T, async () => {
      const small = { maxPayload: 1000 };
      // ironsock receives too much
      const ironLimited = pair.server.name === 'ironsock' ? { server: small } : { client: small };
      await withPair(pair, ironLimited, async ({ wsSide, ironSide }) => {
        wsSide.socket.send(Buffer.alloc(1001));
        assert.equal((await ironSide.next('close')).code, 1009, 'ironsock closes 1009');
        assert.equal((await wsSide.next('close')).code, 1009, 'ws got Close 1009');
        assert.equal(ironSide.pending('message'), 0, 'nothing delivered');
      });
      // ws receives too much from ironsock
      const wsLimited = pair.server.name === 'ws' ? { server: small } : { client: small };
      await withPair(pair, wsLimited, async ({ ironSide }) => {
        ironSide.socket.send(Buffer.alloc(1001));
        assert.equal((await ironSide.next('close')).code, 1009, 'ironsock sees Close 1009 from ws');
      });
    });

    test('a TCP drop is reported as 1006 (§7.1.5) by the other side, both ways', T, async () => {
      await withPair(pair, {}, async ({ wsSide, ironSide }) => {
        wsSide.socket.terminate();
        assert.equal((await ironSide.next('close')).code, 1006, 'ironsock sees the ws drop');
      });
      await withPair(pair, {}, async ({ wsSide, ironSide }) => {
        ironSide.socket.terminate();
        assert.equal((await wsSide.next('close')).code, 1006, 'ws sees the ironsock drop');
      });
    });

    test(
      'IPv6 loopback: [::1] host and URL',
      { ...T, skip: ipv6 ? false : 'cannot listen on ::1 here' },
      async () => {
        await withPair(pair, { host: '::1' }, async ({ directions }) => {
          for (const [from, to, label] of directions) {
            from.socket.send(`over IPv6: ${label}`);
            assert.equal((await to.next('message')).data.toString(), `over IPv6: ${label}`);
          }
        });
      },
    );

    test('subprotocol negotiation (§4.2.2): the server picks from the offer', T, async () => {
      const handleProtocols = (offered: Set<string>): string | false =>
        offered.has('chat.v1') ? 'chat.v1' : false;
      await withPair(
        pair,
        { server: { handleProtocols }, protocols: ['chat.v2', 'chat.v1'] },
        async ({ client, server }) => {
          assert.equal(client.socket.protocol, 'chat.v1');
          assert.equal(server.socket.protocol, 'chat.v1');
          client.socket.send('in chat.v1');
          assert.equal((await server.next('message')).data.toString(), 'in chat.v1');
        },
      );
      await withPair(pair, { server: { handleProtocols } }, async ({ client, server }) => {
        assert.equal(client.socket.protocol, '');
        assert.equal(server.socket.protocol, '');
      });
    });

    describe('permessage-deflate (RFC 7692)', () => {
      // 8 KiB of text over a 16-letter alphabet: compressible to about half, and a second copy
      // compresses to almost nothing only if the LZ77 window (context takeover) still holds the first.
      const alphabet = 'abcdefghijklmnop';
      const chunk = Buffer.from(
        Array.from(pseudoRandomBytes(8192, 5), (b) => alphabet.charCodeAt(b & 15)),
      ).toString('latin1');

      const configs = [
        { name: 'defaults (context takeover on)', opts: {}, takeover: true },
        {
          name: 'no context takeover either way',
          opts: { serverNoContextTakeover: true, clientNoContextTakeover: true },
          takeover: false,
        },
        {
          name: 'max window bits 10',
          opts: { serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
          takeover: false,
        },
      ] as const;

      for (const config of configs) {
        test(
          `${config.name}: messages round-trip and ironsock's output honours the parameters`,
          { timeout: 60_000 },
          async () => {
            const deflate = { perMessageDeflate: { threshold: 0, ...config.opts } };
            await withPair(
              pair,
              { server: deflate, client: deflate },
              async ({ directions, client, server, wsSide, ironSide }) => {
                assert.match(
                  String(client.socket.extensions),
                  /permessage-deflate/,
                  'client negotiated permessage-deflate',
                );
                assert.match(
                  String(server.socket.extensions),
                  /permessage-deflate/,
                  'server negotiated permessage-deflate',
                );
                for (const [from, to, label] of directions) {
                  for (let i = 0; i < 3; i++) {
                    from.socket.send(chunk);
                    const got = await to.next('message');
                    assert.equal(got.isBinary, false, label);
                    assert.equal(got.data.toString('latin1'), chunk, `${label} #${i}`);
                  }
                  const bin = pseudoRandomBytes(256 * 1024, 13);
                  from.socket.send(bin);
                  assert.equal(digest((await to.next('message')).data), digest(bin), label);
                  from.socket.send('');
                  assert.equal((await to.next('message')).data.length, 0, label);
                }
                // Bytes on the wire for ironsock -> ws, measured on the ws side's TCP socket.
                const raw = rawSocket(wsSide);
                const sizes: number[] = [];
                for (let i = 0; i < 2; i++) {
                  const before = raw.bytesRead;
                  ironSide.socket.send(chunk);
                  await wsSide.next('message');
                  sizes.push(raw.bytesRead - before);
                }
                assert.ok(
                  sizes[0] < chunk.length * 0.75,
                  `first message compressed (${sizes[0]} bytes on the wire)`,
                );
                if (config.takeover)
                  assert.ok(
                    sizes[1] < sizes[0] / 4,
                    `second copy uses the shared window (${sizes.join(', ')})`,
                  );
                else
                  assert.ok(
                    sizes[1] > sizes[0] / 2,
                    `second copy may not reuse the window (${sizes.join(', ')})`,
                  );
              },
            );
          },
        );
      }

      test('fragmented compressed messages round-trip', T, async () => {
        const deflate = { perMessageDeflate: { threshold: 0 } };
        await withPair(pair, { server: deflate, client: deflate }, async ({ directions }) => {
          for (const [from, to, label] of directions) {
            from.socket.send(chunk, { fin: false });
            from.socket.send(chunk, { fin: false });
            from.socket.send('!', { fin: true });
            assert.equal(
              (await to.next('message')).data.toString('latin1'),
              chunk + chunk + '!',
              label,
            );
          }
        });
      });

      test(
        'compressed and uncompressed messages interleave (per-message compress option)',
        T,
        async () => {
          const deflate = { perMessageDeflate: { threshold: 0 } };
          await withPair(pair, { server: deflate, client: deflate }, async ({ directions }) => {
            for (const [from, to, label] of directions) {
              for (let i = 0; i < 6; i++)
                from.socket.send(`${i}:${chunk}`, { compress: i % 2 === 0 });
              for (let i = 0; i < 6; i++) {
                assert.equal(
                  (await to.next('message')).data.toString('latin1'),
                  `${i}:${chunk}`,
                  `${label} #${i}`,
                );
              }
            }
          });
        },
      );

      test('only one side enabling it means no extension, plain frames', T, async () => {
        for (const side of ['server', 'client'] as const) {
          await withPair(
            pair,
            {
              [side]: { perMessageDeflate: { threshold: 0 } },
              [side === 'server' ? 'client' : 'server']: { perMessageDeflate: false },
            },
            async ({ directions, client }) => {
              assert.equal(
                String(client.socket.extensions ?? ''),
                '',
                `only the ${side} enabled it`,
              );
              for (const [from, to, label] of directions) {
                from.socket.send(chunk);
                assert.equal((await to.next('message')).data.toString('latin1'), chunk, label);
              }
            },
          );
        }
      });
    });
  });
}
