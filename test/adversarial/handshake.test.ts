/**
 * Checklist H1-H10: attacks on the server's opening handshake (RFC 6455 §4.2), over real sockets
 * against an ironsock echo server, each with the control-connection invariant (support.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Attacker, arena, delay, frame, Op, upgradeRequest, waitFor } from './support.js';
import type { Arena } from './support.js';

/**
 * Sends `request`, expects a refusal with `status` (or one of `status`), `Connection: close`,
 * never 101, and the server closing TCP. Returns the attacker for further checks.
 */
async function expectRefused(
  a: Arena,
  request: string | Buffer,
  status: number | number[],
): Promise<{ attacker: Attacker; header: (name: string) => string | undefined }> {
  const attacker = await a.attack();
  let connections = 0;
  const onConnection = (): void => {
    connections++;
  };
  a.wss.on('connection', onConnection);
  attacker.write(request);
  const response = await attacker.response();
  const statuses = Array.isArray(status) ? status : [status];
  assert.ok(
    statuses.includes(response.head.status),
    `expected ${statuses.join('/')}, got ${response.head.status}: ${attacker.text.slice(0, 300)}`,
  );
  assert.equal(response.header('connection')?.toLowerCase(), 'close');
  await attacker.waitClosed(3000);
  a.wss.off('connection', onConnection);
  assert.equal(connections, 0, 'a refused handshake never becomes a connection');
  return { attacker, header: response.header };
}

function key(): string {
  return randomBytes(16).toString('base64');
}

test('H1: POST/PUT, HTTP/1.0, missing or h2c Upgrade, Connection without upgrade are refused (405 + Allow: GET, 505, 426 + Upgrade: websocket), never 101', async () => {
  await arena({}, async (a) => {
    for (const method of ['POST', 'PUT']) {
      const request = upgradeRequest(a.port).replace(/^GET/, method);
      const { header } = await expectRefused(a, request, 405);
      assert.equal(header('allow'), 'GET');
      await a.check();
    }
    await expectRefused(a, upgradeRequest(a.port).replace('HTTP/1.1', 'HTTP/1.0'), [400, 505]);
    const missing = await expectRefused(
      a,
      upgradeRequest(a.port, { omit: ['Upgrade'] }),
      [400, 426],
    );
    assert.equal(missing.header('upgrade'), 'websocket');
    const h2c = await expectRefused(
      a,
      upgradeRequest(a.port, { omit: ['Upgrade'], extra: ['Upgrade: h2c'] }),
      [400, 426],
    );
    assert.equal(h2c.header('upgrade'), 'websocket');
    const noConn = await expectRefused(
      a,
      upgradeRequest(a.port, { omit: ['Connection'], extra: ['Connection: keep-alive'] }),
      [400, 426],
    );
    assert.equal(noConn.header('upgrade'), 'websocket');
    await a.check();
  });
});

test('H2: bad Sec-WebSocket-Key -> 400; bad/missing/duplicate Sec-WebSocket-Version -> 426 + Sec-WebSocket-Version: 13 (version 8 refused)', async () => {
  await arena({}, async (a) => {
    const goodKey = key();
    const badKeys: Array<{ omit?: string[]; extra?: string[] }> = [
      { omit: ['Sec-WebSocket-Key'] },
      { omit: ['Sec-WebSocket-Key'], extra: [`Sec-WebSocket-Key: ${goodKey.slice(0, 23)}`] },
      { omit: ['Sec-WebSocket-Key'], extra: [`Sec-WebSocket-Key: ${goodKey}A`] },
      { omit: ['Sec-WebSocket-Key'], extra: ['Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=='] },
      // 24 base64 chars decoding to 17 bytes is impossible; 'AAAA' x 6 decodes to 18 bytes.
      { omit: ['Sec-WebSocket-Key'], extra: ['Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA'] },
      {
        omit: ['Sec-WebSocket-Key'],
        extra: [`Sec-WebSocket-Key: ${key()}`, `Sec-WebSocket-Key: ${key()}`],
      },
    ];
    for (const shape of badKeys) {
      await expectRefused(a, upgradeRequest(a.port, shape), 400);
    }
    await a.check();
    const badVersions: string[][] = [
      [],
      ['Sec-WebSocket-Version: 8'],
      ['Sec-WebSocket-Version: 12'],
      ['Sec-WebSocket-Version: 14'],
      ['Sec-WebSocket-Version: 13, 8'],
      ['Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 13'],
    ];
    for (const extra of badVersions) {
      const { header } = await expectRefused(
        a,
        upgradeRequest(a.port, { omit: ['Sec-WebSocket-Version'], extra }),
        [400, 426],
      );
      assert.equal(header('sec-websocket-version'), '13', `for ${JSON.stringify(extra)}`);
    }
  });
});

test('H3: cross-origin browsers -> 403 (400 for duplicate/unparsable); allow-listed, same-origin and absent Origin -> 101; requireOrigin refuses absent', async () => {
  await arena({ origins: ['https://app.example'] }, async (a) => {
    const refused = [
      'https://evil.example',
      'null',
      'https://app.example.evil.example',
      'https://appXexample',
      'http://10.0.0.1',
      'http://app.example',
    ];
    for (const origin of refused) {
      await expectRefused(a, upgradeRequest(a.port, { extra: [`Origin: ${origin}`] }), 403);
      assert.equal(a.rejections.at(-1)?.status, 403);
    }
    await a.check();
    await expectRefused(
      a,
      upgradeRequest(a.port, {
        extra: ['Origin: https://app.example', 'Origin: https://evil.example'],
      }),
      400,
    );
    await expectRefused(a, upgradeRequest(a.port, { extra: ['Origin: not a url'] }), 400);
    for (const extra of [
      ['Origin: https://app.example'],
      [`Origin: http://127.0.0.1:${a.port}`],
      [],
    ]) {
      const attacker = await a.attackOpen(extra);
      attacker.destroy();
    }
  });
  await arena({ requireOrigin: true }, async (a) => {
    await expectRefused(a, upgradeRequest(a.port), 403);
    assert.equal(a.rejections.at(-1)?.status, 403);
  });
});

test('H4: GET with a body (Content-Length frame, chunked) or smuggling-shaped heads -> 400, socket closed, body never parsed as frames', async () => {
  await arena({}, async (a) => {
    let messages = 0;
    a.wss.on('connection', (ws) => ws.on('message', () => messages++));
    const body = frame(Op.Text, 'hi!'); // 2 + 4 + 3 = 9 bytes; send exactly 8 declared
    const withLength = Buffer.concat([
      Buffer.from(upgradeRequest(a.port, { extra: ['Content-Length: 8'] }), 'latin1'),
      body.subarray(0, 8),
    ]);
    await expectRefused(a, withLength, 400);
    const chunked = upgradeRequest(a.port, { extra: ['Transfer-Encoding: chunked'] }) + '9\r\n';
    await expectRefused(
      a,
      Buffer.concat([Buffer.from(chunked, 'latin1'), body, Buffer.from('\r\n0\r\n\r\n')]),
      400,
    );
    const base = upgradeRequest(a.port);
    const shapes = [
      base.replace('Upgrade: websocket', 'Upgrade : websocket'),
      base.replace('Upgrade: websocket\r\n', 'Upgrade: websocket\n'),
      base.replace('Upgrade: websocket\r\n', 'Upgrade: websocket\r'),
      upgradeRequest(a.port, { extra: ['Content-Length: 0', 'Content-Length: 0'] }),
      upgradeRequest(a.port, { extra: [' Content-Length: 8'] }),
    ];
    for (const shape of shapes) {
      await expectRefused(a, shape, 400);
      await a.check();
    }
    await delay(50);
    assert.equal(messages, 0, 'no body byte was delivered as a message');
  });
});

test('H5: pathological Sec-WebSocket-Protocol/Extensions values are answered promptly (linear parsing), prototype-named params are harmless, bogus deflate offers declined', async () => {
  await arena({ perMessageDeflate: true }, async (a) => {
    const timed = async (extra: string[], allowed: number[]): Promise<number> => {
      const attacker = await a.attack();
      const started = Date.now();
      attacker.write(upgradeRequest(a.port, { extra }));
      const response = await attacker.response();
      const took = Date.now() - started;
      assert.ok(allowed.includes(response.head.status), `status ${response.head.status}`);
      // Quadratic parsing of these inputs costs seconds; a generous bound on a shared machine.
      assert.ok(took < 1000, `answered in ${took} ms`);
      attacker.destroy();
      return response.head.status;
    };
    // The checklist sizes exceed the 16 KiB head limit (refused early), so also test sizes below it.
    await timed([`Sec-WebSocket-Protocol: a${' '.repeat(50_000)},b`], [400, 431]);
    await timed([`Sec-WebSocket-Protocol: a${' '.repeat(15_000)},b`], [101, 400]);
    await timed([`Sec-WebSocket-Extensions: a;b="${'\\c'.repeat(10_000)}`], [400, 431]);
    await timed([`Sec-WebSocket-Extensions: a;b="${'\\c'.repeat(7_000)}`], [101, 400]);
    await a.check();
    for (const value of [
      '__proto__; constructor=1, hasOwnProperty; __proto__=2',
      'permessage-deflate; __proto__=1; constructor',
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      'permessage-deflate; client_max_window_bits=99',
      'permessage-deflate; server_max_window_bits',
    ]) {
      const attacker = await a.attack();
      attacker.write(upgradeRequest(a.port, { extra: [`Sec-WebSocket-Extensions: ${value}`] }));
      const response = await attacker.response();
      assert.ok([101, 400].includes(response.head.status), `${value}: ${response.head.status}`);
      if (response.head.status === 101) {
        assert.equal(response.header('sec-websocket-extensions'), undefined, `${value} declined`);
      }
      attacker.destroy();
    }
    assert.equal(({} as Record<string, unknown>).constructor, Object, 'prototype untouched');
  });
});

test('H6: a header block over 16 KiB -> 400/431, no TypeError, process alive', async () => {
  await arena({}, async (a) => {
    await expectRefused(
      a,
      upgradeRequest(a.port, { extra: [`X-Big: ${'a'.repeat(17 * 1024)}`] }),
      [400, 431],
    );
    await a.check();
    assert.equal(a.serverErrors.length, 0);
  });
});

// Node truncates rawHeaders past maxHeadersCount silently; the server must refuse instead (431).
test('H6: 2,500 headers -> 400/431; headers past the header-count limit are never silently dropped (an Origin or second Host after 200 filler lines is refused)', async () => {
  await arena({}, async (a) => {
    const many = Array.from({ length: 2500 }, (_, i) => `x${i}: y`);
    const request = upgradeRequest(a.port, { omit: ['Upgrade', 'Connection'] }).replace(
      '\r\n\r\n',
      '\r\n' + [...many, 'Upgrade: websocket', 'Connection: Upgrade'].join('\r\n') + '\r\n\r\n',
    );
    await expectRefused(a, request, [400, 431]);
    await a.check();
    const filler = Array.from({ length: 200 }, (_, i) => `x${i}: y`);
    await expectRefused(
      a,
      upgradeRequest(a.port, { extra: [...filler, 'Origin: https://evil.example'] }),
      [400, 403, 431],
    );
    await expectRefused(
      a,
      upgradeRequest(a.port, { extra: [...filler, 'Host: attacker.example'] }),
      [400, 431],
    );
  });
});

test('H7: slowloris (1 byte per 200 ms), a silent TCP connection and 64 KiB of headers in 1-byte writes are cut at the handshake deadline (handshakeTimeout shortened to 1 s)', async () => {
  await arena({ handshakeTimeout: 1000 }, async (a) => {
    const slow = await a.attack();
    const silent = await a.attack();
    const started = Date.now();
    const drip = slow.writeSlowly(upgradeRequest(a.port), 1, 200);
    await a.check();
    await Promise.all([slow.waitClosed(4000), silent.waitClosed(4000)]);
    const took = Date.now() - started;
    assert.ok(took >= 800, `not closed before the deadline (${took} ms)`);
    await drip;
    await a.check();
    // 64 KiB of header bytes, 1 byte per write: the head limit or the deadline stops it.
    const flood = await a.attack();
    const head = 'GET / HTTP/1.1\r\n' + `X-A: ${'a'.repeat(64 * 1024)}\r\n`;
    const sending = flood.writeSlowly(head, 1, 0);
    await flood.waitClosed(5000);
    await sending;
    assert.ok(flood.data.length === 0 || /^HTTP\/1\.1 (400|408|431)/.test(flood.text), flood.text);
  });
});

test('H8: a refused handshake (version 14) followed by a pipelined GET /internal: Connection: close, TCP closed, the second request never parsed', async () => {
  let internal = 0;
  await arena({}, async (a) => {
    const attacker = await a.attack();
    a.wss.on('headers', () => internal++);
    const first = upgradeRequest(a.port, {
      omit: ['Sec-WebSocket-Version'],
      extra: ['Sec-WebSocket-Version: 14'],
    });
    const second = upgradeRequest(a.port, { path: '/internal' });
    attacker.write(first + second);
    const response = await attacker.response();
    assert.equal(response.head.status, 426);
    assert.equal(response.header('connection'), 'close');
    await attacker.waitClosed(3000);
    assert.equal((attacker.text.match(/HTTP\/1\.1 /g) ?? []).length, 1, 'exactly one response');
    assert.equal(internal, 0, 'the pipelined request never reached the handshake');
    assert.equal(a.rejections.length, 1);
  });
});

test('H9: missing or duplicate Host -> 400; DNS rebinding (Host: attacker.example on a loopback listener) -> 403', async () => {
  await arena({}, async (a) => {
    await expectRefused(a, upgradeRequest(a.port, { omit: ['Host'] }), 400);
    await expectRefused(a, upgradeRequest(a.port, { extra: ['Host: 127.0.0.1'] }), 400);
    await expectRefused(
      a,
      upgradeRequest(a.port, {
        omit: ['Host'],
        extra: ['Host: attacker.example', 'Origin: http://attacker.example'],
      }),
      403,
    );
    assert.equal(a.rejections.at(-1)?.status, 403);
    await a.check();
  });
  await arena({ allowedHosts: ['app.example'] }, async (a) => {
    const ok = await a.attackOpen([]);
    ok.destroy();
    await expectRefused(
      a,
      upgradeRequest(a.port, { omit: ['Host'], extra: ['Host: attacker.example'] }),
      403,
    );
  });
});

test('H10: an unoffered subprotocol or CR/LF in an application header line -> 500, never written to the wire', async () => {
  await arena({ handleProtocols: () => 'evil' }, async (a) => {
    const { attacker } = await expectRefused(
      a,
      upgradeRequest(a.port, { extra: ['Sec-WebSocket-Protocol: chat'] }),
      500,
    );
    assert.ok(!/sec-websocket-protocol/i.test(attacker.text), attacker.text);
    assert.ok(a.serverErrors.length >= 1, 'reported as a server error');
  });
  await arena({ handleProtocols: () => 'chat\r\nSet-Cookie: x=1' }, async (a) => {
    const { attacker } = await expectRefused(
      a,
      upgradeRequest(a.port, { extra: ['Sec-WebSocket-Protocol: chat'] }),
      500,
    );
    assert.ok(!attacker.text.includes('Set-Cookie'), attacker.text);
  });
  await arena({}, async (a) => {
    a.wss.on('headers', (lines: string[], _req: IncomingMessage) => {
      lines.push('X-Evil: a\r\nSet-Cookie: session=stolen');
    });
    const { attacker } = await expectRefused(a, upgradeRequest(a.port), 500);
    assert.ok(!attacker.text.includes('Set-Cookie'), attacker.text);
    await waitFor(() => a.serverErrors.length >= 1, 1000, 'a server error');
  });
});

test('H3: an origin predicate gets the normalised origin and the request (IncomingMessage, as the ServerOptions type says)', async () => {
  const seen: unknown[] = [];
  await arena(
    {
      origins: [
        (origin: string, req: IncomingMessage) => {
          seen.push(origin, req.url);
          return req.url === '/partner';
        },
      ],
    },
    async (a) => {
      const attacker = await a.attack();
      attacker.write(
        upgradeRequest(a.port, {
          path: '/partner',
          extra: ['Origin: HTTPS://Partner.Example:443'],
        }),
      );
      assert.equal(await attacker.status(), 101);
      assert.deepEqual(seen, ['https://partner.example', '/partner']);
    },
  );
});
