import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { constants as zc, deflateRawSync, inflateRawSync } from 'node:zlib';
import { createDeflateExtension, type DeflateExtension } from '../../src/node/deflate-codec.js';
import { ZlibLimiter } from '../../src/node/zlib-limiter.js';
import { ExtensionError } from '../../src/protocol/extensions/extension.js';
import type {
  DeflateParams,
  PerMessageDeflateOptions,
  WindowBits,
} from '../../src/protocol/extensions/permessage-deflate.js';

const DEFAULTS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const concat = (parts: Uint8Array[]): Buffer => Buffer.concat(parts);

function decode(
  ext: DeflateExtension,
  payload: Uint8Array,
  fin = true,
  max = 1 << 20,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    ext.decode(payload, fin, max, (error, output) =>
      error ? reject(error) : resolve(concat(output)),
    );
  });
}

function encode(ext: DeflateExtension, data: Uint8Array, fin = true): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    ext.encode(data, fin, (error, output) => (error ? reject(error) : resolve(concat(output))));
  });
}

/** A server and a client codec that agree on `params`. */
function pair(params: DeflateParams = DEFAULTS, options: PerMessageDeflateOptions = {}) {
  const server = createDeflateExtension(params, 'server', options);
  const client = createDeflateExtension(params, 'client', options);
  const dispose = (): void => {
    server.dispose();
    client.dispose();
  };
  return { server, client, dispose };
}

function pseudoText(n: number, seed: number): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'websocket', 'deflate', 'frame', 'window'];
  const out: string[] = [];
  let x = seed;
  let len = 0;
  while (len < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const w = words[x % words.length]! + (x % 7 === 0 ? `${x % 1000}` : '');
    out.push(w);
    len += w.length + 1;
  }
  return Buffer.from(out.join(' ').slice(0, n));
}

describe('RFC 7692 §7.2.3 examples', () => {
  test('§7.2.3.1 "Hello" compresses to f2 48 cd c9 c9 07 00 and decodes back', async () => {
    const { server, client, dispose } = pair();
    try {
      assert.deepEqual(await encode(server, Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'));
      assert.equal((await decode(client, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
    } finally {
      dispose();
    }
  });

  test('§7.2.3.2 sharing the window: the second "Hello" is f2 00 11 00 00', async () => {
    const { server, client, dispose } = pair();
    try {
      assert.deepEqual(await encode(server, Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'));
      assert.deepEqual(await encode(server, Buffer.from('Hello')), hex('f2 00 11 00 00'));
      assert.equal((await decode(client, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
      assert.equal((await decode(client, hex('f2 00 11 00 00'))).toString(), 'Hello');
    } finally {
      dispose();
    }
  });

  test('§7.2.3.2 without context takeover the second "Hello" is compressed alone again', async () => {
    const params = { ...DEFAULTS, serverNoContextTakeover: true };
    const { server, client, dispose } = pair(params);
    try {
      assert.deepEqual(await encode(server, Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'));
      assert.deepEqual(await encode(server, Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'));
      assert.equal((await decode(client, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
      assert.equal((await decode(client, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
    } finally {
      dispose();
    }
  });

  test('§7.2.3.3 a DEFLATE block with no compression decodes', async () => {
    const { client, dispose } = pair();
    try {
      assert.equal(
        (await decode(client, hex('00 05 00 fa ff 48 65 6c 6c 6f 00'))).toString(),
        'Hello',
      );
    } finally {
      dispose();
    }
  });

  test('§7.2.3.4 a block with BFINAL set decodes, and the next message starts a new stream', async () => {
    const { client, dispose } = pair();
    try {
      assert.equal((await decode(client, hex('f3 48 cd c9 c9 07 00 00'))).toString(), 'Hello');
      assert.equal((await decode(client, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
    } finally {
      dispose();
    }
  });

  test('§7.2.3.5 two DEFLATE blocks in one message decode', async () => {
    const { client, dispose } = pair();
    try {
      assert.equal(
        (await decode(client, hex('f2 48 05 00 00 00 ff ff ca c9 c9 07 00'))).toString(),
        'Hello',
      );
    } finally {
      dispose();
    }
  });

  test('§7.2.3.6 an empty message compresses to 00; 00 and an empty payload decode to nothing', async () => {
    const { server, client, dispose } = pair();
    try {
      assert.deepEqual(await encode(server, new Uint8Array(0)), hex('00'));
      assert.equal((await decode(client, hex('00'))).length, 0);
      assert.equal((await decode(client, new Uint8Array(0))).length, 0);
    } finally {
      dispose();
    }
  });
});

describe('RFC 7692 §7.2.1/§7.2.2 round trips', () => {
  for (let bits = 9; bits <= 15; bits++) {
    for (const noContextTakeover of [false, true]) {
      test(`window bits ${bits}, ${noContextTakeover ? 'no ' : ''}context takeover, both directions`, async () => {
        const params: DeflateParams = {
          serverNoContextTakeover: noContextTakeover,
          clientNoContextTakeover: noContextTakeover,
          serverMaxWindowBits: bits as WindowBits,
          clientMaxWindowBits: bits as WindowBits,
        };
        const { server, client, dispose } = pair(params);
        try {
          for (let i = 0; i < 6; i++) {
            const message = pseudoText(200 + i * 3000, i + bits);
            for (const [from, to] of [
              [server, client],
              [client, server],
            ] as const) {
              const wire = await encode(from, message);
              assert.notDeepEqual(wire.subarray(-4), hex('00 00 ff ff'));
              assert.deepEqual(await decode(to, wire), message);
              // The peer's window bound holds: an inflater with exactly `bits` accepts the
              // stream (with context, only together with earlier messages, so check alone only
              // without takeover).
              if (noContextTakeover) {
                const alone = inflateRawSync(Buffer.concat([wire, hex('00 00 ff ff')]), {
                  windowBits: bits,
                  finishFlush: zc.Z_SYNC_FLUSH,
                });
                assert.deepEqual(alone, message);
              }
            }
          }
        } finally {
          dispose();
        }
      });
    }
  }

  test('context takeover makes a repeated message smaller', async () => {
    const { server, dispose } = pair();
    try {
      const message = pseudoText(4000, 7);
      const first = await encode(server, message);
      const second = await encode(server, message);
      assert.ok(second.length < first.length / 4, `${second.length} vs ${first.length}`);
    } finally {
      dispose();
    }
  });

  test('a fragmented message: encode(…, fin=false) parts decode as fragments', async () => {
    const { server, client, dispose } = pair();
    try {
      const parts = [
        pseudoText(3000, 1),
        pseudoText(10, 2),
        new Uint8Array(0),
        pseudoText(5000, 3),
      ];
      const wire: Buffer[] = [];
      for (let i = 0; i < parts.length; i++)
        wire.push(await encode(server, parts[i]!, i === parts.length - 1));
      const out: Buffer[] = [];
      for (let i = 0; i < wire.length; i++)
        out.push(await decode(client, wire[i]!, i === wire.length - 1));
      assert.deepEqual(Buffer.concat(out), Buffer.concat(parts));
      // And the next message still shares the window.
      assert.deepEqual(await decode(client, await encode(server, parts[0]!)), parts[0]);
    } finally {
      dispose();
    }
  });

  test('interop with one-shot zlib (ws-like peer) in both directions', async () => {
    const { client, dispose } = pair();
    try {
      const message = pseudoText(20000, 11);
      const peer = deflateRawSync(message, { finishFlush: zc.Z_SYNC_FLUSH }).subarray(0, -4);
      assert.deepEqual(await decode(client, peer), message);
      const ours = await encode(client, message);
      assert.deepEqual(
        inflateRawSync(Buffer.concat([ours, hex('00 00 ff ff')]), { finishFlush: zc.Z_SYNC_FLUSH }),
        message,
      );
    } finally {
      dispose();
    }
  });

  test('Node compresses windowBits 8 exactly as 9 (why an 8-bit agreement means no compression)', () => {
    const block = pseudoText(300, 9);
    const data = Buffer.concat([block, block, block]);
    assert.deepEqual(
      deflateRawSync(data, { windowBits: 8 }),
      deflateRawSync(data, { windowBits: 9 }),
    );
  });

  test('an 8-bit inflate window accepts what Node produces for windowBits 8', async () => {
    const params = { ...DEFAULTS, clientMaxWindowBits: 8 as const, clientNoContextTakeover: true };
    const server = createDeflateExtension(params, 'server');
    try {
      const message = pseudoText(5000, 5);
      const peer = deflateRawSync(message, {
        windowBits: 8,
        finishFlush: zc.Z_SYNC_FLUSH,
      }).subarray(0, -4);
      assert.deepEqual(await decode(server, peer), message);
    } finally {
      server.dispose();
    }
  });
});

describe('threshold and shouldCompress', () => {
  test('default threshold 1024: smaller messages are not compressed', () => {
    const ext = createDeflateExtension(DEFAULTS, 'server');
    assert.equal(ext.shouldCompress(1023), false);
    assert.equal(ext.shouldCompress(1024), true);
    ext.dispose();
    assert.equal(ext.shouldCompress(1 << 20), false);
  });

  test('custom threshold 0 compresses everything', () => {
    const ext = createDeflateExtension(DEFAULTS, 'client', { threshold: 0 });
    assert.equal(ext.shouldCompress(0), true);
    ext.dispose();
  });

  test('an agreed 8-bit window for our compressor means never compressing', () => {
    const server = createDeflateExtension({ ...DEFAULTS, serverMaxWindowBits: 8 }, 'server', {
      threshold: 0,
    });
    const client = createDeflateExtension({ ...DEFAULTS, serverMaxWindowBits: 8 }, 'client', {
      threshold: 0,
    });
    assert.equal(server.shouldCompress(5000), false);
    assert.equal(client.shouldCompress(5000), true); // the client's window is still 15
    server.dispose();
    client.dispose();
  });
});

describe('decode limits and errors', () => {
  test('output over maxOutput -> too-big; exactly maxOutput -> ok', async () => {
    const message = Buffer.alloc(100_000, 0x61);
    const wire = deflateRawSync(message, { finishFlush: zc.Z_SYNC_FLUSH }).subarray(0, -4);
    const a = createDeflateExtension(DEFAULTS, 'server');
    await assert.rejects(
      decode(a, wire, true, 99_999),
      (e: unknown) => e instanceof ExtensionError && e.kind === 'too-big',
    );
    a.dispose();
    const b = createDeflateExtension(DEFAULTS, 'server');
    assert.equal((await decode(b, wire, true, 100_000)).length, 100_000);
    b.dispose();
  });

  test('corrupt data -> invalid', async () => {
    const ext = createDeflateExtension(DEFAULTS, 'server');
    await assert.rejects(
      decode(ext, hex('ff ff ff ff')),
      (e: unknown) => e instanceof ExtensionError && e.kind === 'invalid',
    );
    ext.dispose();
  });

  test('a back-reference before the start of the stream -> invalid', async () => {
    // Compressed against a preset dictionary the receiver never had (distance too far back).
    const dictionary = pseudoText(2000, 4);
    const wire = deflateRawSync(dictionary, { dictionary, finishFlush: zc.Z_SYNC_FLUSH }).subarray(
      0,
      -4,
    );
    const ext = createDeflateExtension(DEFAULTS, 'server');
    await assert.rejects(
      decode(ext, wire),
      (e: unknown) => e instanceof ExtensionError && e.kind === 'invalid',
    );
    ext.dispose();
  });
});

describe('callbacks and dispose', () => {
  test('callbacks are asynchronous, exactly once and in call order', async () => {
    const ext = createDeflateExtension(DEFAULTS, 'server');
    const order: number[] = [];
    let sync = true;
    const messages = Array.from({ length: 20 }, (_, i) => pseudoText(100 + i * 500, i));
    const wires: Buffer[] = [];
    await new Promise<void>((resolve) => {
      messages.forEach((m, i) =>
        ext.encode(m, true, (error, out) => {
          assert.equal(error, null);
          assert.equal(sync, false);
          order.push(i);
          wires[i] = concat(out);
          if (order.length === messages.length) resolve();
        }),
      );
      sync = false;
    });
    assert.deepEqual(order, [...messages.keys()]);
    const peer = createDeflateExtension(DEFAULTS, 'client');
    for (let i = 0; i < messages.length; i++)
      assert.deepEqual(await decode(peer, wires[i]!), messages[i]);
    ext.dispose();
    peer.dispose();
  });

  test('dispose ends pending operations with an error, in order, once', async () => {
    const limiter = new ZlibLimiter(1);
    const ext = createDeflateExtension(DEFAULTS, 'server', {}, { limiter });
    const seen: string[] = [];
    const wire = deflateRawSync(pseudoText(50_000, 3), { finishFlush: zc.Z_SYNC_FLUSH }).subarray(
      0,
      -4,
    );
    const done = new Promise<void>((resolve) => {
      for (let i = 0; i < 3; i++) {
        ext.decode(wire, true, 1 << 20, (error) => {
          seen.push(`d${i}:${error?.kind ?? 'ok'}`);
          if (seen.length === 5) resolve();
        });
      }
      for (let i = 0; i < 2; i++) {
        ext.encode(pseudoText(5000, i), true, (error) => {
          seen.push(`e${i}:${error?.kind ?? 'ok'}`);
          if (seen.length === 5) resolve();
        });
      }
    });
    ext.dispose();
    ext.dispose();
    await done;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.length, 5);
    const decodes = seen.filter((s) => s.startsWith('d'));
    assert.deepEqual(decodes, ['d0:invalid', 'd1:invalid', 'd2:invalid']);
    assert.equal(limiter.running, 0);
    assert.equal(limiter.queued, 0);
  });

  test('dispose while the first job still waits for a limiter slot keeps call order', async () => {
    const limiter = new ZlibLimiter(1);
    let releaseOther = (): void => {};
    limiter.run((done) => (releaseOther = done)); // another connection holds the only slot
    const ext = createDeflateExtension(DEFAULTS, 'client', {}, { limiter });
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      for (let i = 0; i < 3; i++) {
        ext.decode(hex('f2 48 cd c9 c9 07 00'), true, 1 << 20, (error) => {
          seen.push(`d${i}:${error?.kind ?? 'ok'}`);
          if (seen.length === 3) resolve();
        });
      }
    });
    ext.dispose();
    releaseOther();
    await done;
    assert.deepEqual(seen, ['d0:invalid', 'd1:invalid', 'd2:invalid']);
    assert.equal(limiter.running, 0);
  });

  test('dispose releases every zlib handle (async_hooks + gc)', async () => {
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const live = new Set<number>();
    const hook = createHook({
      init(id, type) {
        if (type === 'ZLIB') live.add(id);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    try {
      const codecs = Array.from({ length: 5 }, () => pair());
      for (const { server, client } of codecs) {
        await decode(client, await encode(server, pseudoText(3000, 1)));
        await decode(server, await encode(client, pseudoText(3000, 2)));
      }
      assert.ok(live.size >= 20, `expected live zlib handles, saw ${live.size}`);
      for (const c of codecs) c.dispose(); // codecs stay referenced: only dispose can free them
      for (let i = 0; i < 10 && live.size > 0; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(live.size, 0);
      assert.equal(codecs.length, 5);
    } finally {
      hook.disable();
    }
  });

  test('no context takeover holds no zlib state between messages', async () => {
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const live = new Set<number>();
    const hook = createHook({
      init(id, type) {
        if (type === 'ZLIB') live.add(id);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    const params = { ...DEFAULTS, serverNoContextTakeover: true, clientNoContextTakeover: true };
    const { server, client, dispose } = pair(params);
    try {
      await decode(client, await encode(server, pseudoText(3000, 1)));
      await decode(server, await encode(client, pseudoText(3000, 2)));
      for (let i = 0; i < 10 && live.size > 0; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(live.size, 0);
    } finally {
      hook.disable();
      dispose();
    }
  });
});
