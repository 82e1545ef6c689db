import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExtensionOffer } from '../../../src/protocol/extensions/extension.js';
import {
  DeflateNegotiationError,
  acceptDeflateResponse,
  createDeflateOffer,
  deflateDirections,
  negotiateDeflateServer,
  resolveDeflateOptions,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from '../../../src/protocol/extensions/permessage-deflate.js';
import { parseExtensionHeader } from '../../../src/protocol/handshake/index.js';

/** An element `permessage-deflate; a; b=1` as `el(['a'], ['b', '1'])`. */
function el(...params: Array<[string] | [string, string]>): ExtensionOffer {
  return { name: 'permessage-deflate', params: params.map(([n, v]) => [n, v ?? true] as const) };
}

const DEFAULTS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

function server(offers: ExtensionOffer[], options?: PerMessageDeflateOptions) {
  return negotiateDeflateServer(offers, options);
}

function rejects(
  response: ExtensionOffer,
  options?: PerMessageDeflateOptions,
  pattern?: RegExp,
): void {
  assert.throws(
    () => acceptDeflateResponse(response, options),
    (error: unknown) =>
      error instanceof DeflateNegotiationError &&
      error.code === 'INVALID_EXTENSION_PARAMS' &&
      (pattern === undefined || pattern.test(error.message)),
  );
}

describe('RFC 7692 §7.1 options', () => {
  test('defaults: threshold 1024, concurrency 10, client_max_window_bits offered without value', () => {
    const o = resolveDeflateOptions();
    assert.equal(o.threshold, 1024);
    assert.equal(o.concurrencyLimit, 10);
    assert.equal(o.clientMaxWindowBits, true);
    assert.equal(o.serverMaxWindowBits, undefined);
  });

  test('invalid options throw UsageError INVALID_DEFLATE_OPTIONS', () => {
    const bad: PerMessageDeflateOptions[] = [
      { serverMaxWindowBits: 7 },
      { serverMaxWindowBits: 16 },
      { serverMaxWindowBits: 9.5 },
      { clientMaxWindowBits: 16 },
      { clientMaxWindowBits: 0 },
      { threshold: -1 },
      { threshold: Number.NaN },
      { concurrencyLimit: 0 },
      { zlibDeflateOptions: { level: 10 } },
      { zlibDeflateOptions: { memLevel: 0 } },
      { zlibDeflateOptions: { strategy: 5 } },
      { zlibDeflateOptions: { chunkSize: 10 } },
      { zlibInflateOptions: { chunkSize: 1.5 } },
    ];
    for (const options of bad) {
      assert.throws(() => createDeflateOffer(options), {
        name: 'UsageError',
        code: 'INVALID_DEFLATE_OPTIONS',
      });
      assert.throws(() => negotiateDeflateServer([el()], options), {
        code: 'INVALID_DEFLATE_OPTIONS',
      });
    }
  });

  test('zlib tuning keeps only level/memLevel/strategy/chunkSize (no windowBits override)', () => {
    const o = resolveDeflateOptions({
      zlibDeflateOptions: { level: 1, windowBits: 9, dictionary: 'x' } as never,
      zlibInflateOptions: { chunkSize: 1024, windowBits: 8 } as never,
    });
    assert.deepEqual(o.zlibDeflateOptions, { level: 1 });
    assert.deepEqual(o.zlibInflateOptions, { chunkSize: 1024 });
  });
});

describe('RFC 7692 §7.1 client offer (createDeflateOffer)', () => {
  test('default offer has client_max_window_bits without a value (§7.1.2.2)', () => {
    assert.equal(createDeflateOffer(), 'permessage-deflate; client_max_window_bits');
  });

  test('every option appears in the offer', () => {
    assert.equal(
      createDeflateOffer({
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 12,
      }),
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    );
  });

  test('the offer parses back with the handshake parser', () => {
    const [offer] = parseExtensionHeader(createDeflateOffer({ serverMaxWindowBits: 9 }));
    assert.deepEqual(offer, el(['server_max_window_bits', '9'], ['client_max_window_bits']));
  });
});

describe('RFC 7692 §7.1 server negotiation', () => {
  test('a plain offer is accepted with defaults and an empty parameter list (§7)', () => {
    assert.deepEqual(server([el()]), { response: 'permessage-deflate', params: DEFAULTS });
  });

  test('other extensions are skipped; no permessage-deflate offer -> null', () => {
    assert.equal(server([{ name: 'x-webkit-deflate-frame', params: [] }]), null);
    assert.equal(server([]), null);
    const r = server([{ name: 'foo', params: [['a', true]] }, el()]);
    assert.equal(r?.response, 'permessage-deflate');
  });

  describe('§7.1.1.1 server_no_context_takeover', () => {
    test('offered -> MUST be in the response', () => {
      const r = server([el(['server_no_context_takeover'])]);
      assert.equal(r?.response, 'permessage-deflate; server_no_context_takeover');
      assert.equal(r?.params.serverNoContextTakeover, true);
    });
    test('not offered, server option -> MAY be in the response', () => {
      const r = server([el()], { serverNoContextTakeover: true });
      assert.equal(r?.response, 'permessage-deflate; server_no_context_takeover');
    });
    test('with a value -> offer declined', () => {
      assert.equal(server([el(['server_no_context_takeover', '1'])]), null);
    });
  });

  describe('§7.1.1.2 client_no_context_takeover', () => {
    test('offered -> echoed, client resets its context', () => {
      const r = server([el(['client_no_context_takeover'])]);
      assert.equal(r?.response, 'permessage-deflate; client_no_context_takeover');
      assert.equal(r?.params.clientNoContextTakeover, true);
    });
    test('not offered, server option -> in the response', () => {
      const r = server([el()], { clientNoContextTakeover: true });
      assert.equal(r?.response, 'permessage-deflate; client_no_context_takeover');
      assert.equal(r?.params.clientNoContextTakeover, true);
    });
    test('with a value -> offer declined', () => {
      assert.equal(server([el(['client_no_context_takeover', 'true'])]), null);
    });
  });

  describe('§7.1.2.1 server_max_window_bits', () => {
    test('offered 8..15 -> answered with the same value', () => {
      for (let bits = 8; bits <= 15; bits++) {
        const r = server([el(['server_max_window_bits', String(bits)])]);
        assert.equal(r?.response, `permessage-deflate; server_max_window_bits=${bits}`);
        assert.equal(r?.params.serverMaxWindowBits, bits);
      }
    });
    test('server option smaller than the offer -> the smaller value', () => {
      const r = server([el(['server_max_window_bits', '12'])], { serverMaxWindowBits: 10 });
      assert.equal(r?.response, 'permessage-deflate; server_max_window_bits=10');
    });
    test('server option larger than the offer -> the offered value', () => {
      const r = server([el(['server_max_window_bits', '9'])], { serverMaxWindowBits: 14 });
      assert.equal(r?.params.serverMaxWindowBits, 9);
    });
    test('not offered, server option -> included anyway (MAY)', () => {
      const r = server([el()], { serverMaxWindowBits: 11 });
      assert.equal(r?.response, 'permessage-deflate; server_max_window_bits=11');
    });
    test('without a value, out of range, leading zero, not a number -> declined', () => {
      for (const v of [
        undefined,
        '7',
        '16',
        '0',
        '08',
        '010',
        '1e1',
        '9.0',
        ' 9',
        '',
        '-9',
        'fifteen',
      ]) {
        const offer =
          v === undefined ? el(['server_max_window_bits']) : el(['server_max_window_bits', v]);
        assert.equal(server([offer]), null, `value ${String(v)}`);
      }
    });
  });

  describe('§7.1.2.2 client_max_window_bits', () => {
    test('offered without a value, no server preference -> not in the response, 15', () => {
      const r = server([el(['client_max_window_bits'])]);
      assert.equal(r?.response, 'permessage-deflate');
      assert.equal(r?.params.clientMaxWindowBits, 15);
    });
    test('offered without a value, server option -> answered with the option', () => {
      const r = server([el(['client_max_window_bits'])], { clientMaxWindowBits: 10 });
      assert.equal(r?.response, 'permessage-deflate; client_max_window_bits=10');
      assert.equal(r?.params.clientMaxWindowBits, 10);
    });
    test('offered with a value -> the client promised it (not echoed without a server preference)', () => {
      const r = server([el(['client_max_window_bits', '9'])]);
      assert.equal(r?.response, 'permessage-deflate');
      assert.equal(r?.params.clientMaxWindowBits, 9);
    });
    test('offered with a value, server option -> the smaller one', () => {
      assert.equal(
        server([el(['client_max_window_bits', '12'])], { clientMaxWindowBits: 10 })?.params
          .clientMaxWindowBits,
        10,
      );
      assert.equal(
        server([el(['client_max_window_bits', '9'])], { clientMaxWindowBits: 10 })?.response,
        'permessage-deflate; client_max_window_bits=9',
      );
    });
    test('not offered, server option -> MUST NOT answer it, so the offer is declined', () => {
      assert.equal(server([el()], { clientMaxWindowBits: 10 }), null);
    });
    test('not offered, server true/undefined -> accepted, 15', () => {
      assert.deepEqual(server([el()], { clientMaxWindowBits: true })?.params, DEFAULTS);
    });
    test('out of range or not a number -> declined', () => {
      for (const v of ['7', '16', '08', 'x', ''])
        assert.equal(server([el(['client_max_window_bits', v])]), null);
    });
  });

  describe('§7 invalid offers are declined and the next offer is tried', () => {
    test('unknown parameter', () => {
      assert.equal(server([el(['foo'])]), null);
      assert.equal(server([el(['__proto__', '1'])]), null);
      assert.equal(server([el(['constructor'])]), null);
    });
    test('duplicate parameter', () => {
      assert.equal(
        server([el(['server_no_context_takeover'], ['server_no_context_takeover'])]),
        null,
      );
      assert.equal(
        server([el(['client_max_window_bits'], ['client_max_window_bits', '10'])]),
        null,
      );
      assert.equal(
        server([el(['server_max_window_bits', '10'], ['server_max_window_bits', '10'])]),
        null,
      );
    });
    test('several offers: first valid one wins (§7.1.3 fallback example)', () => {
      const r = server([
        el(['foo']),
        el(['client_max_window_bits'], ['server_max_window_bits', '10']),
        el(['client_max_window_bits']),
      ]);
      assert.equal(r?.response, 'permessage-deflate; server_max_window_bits=10');
    });
    test('several offers where only the fallback is acceptable to a strict server', () => {
      const r = server([el(['server_max_window_bits', 'bad']), el(['client_max_window_bits'])], {
        clientMaxWindowBits: 11,
      });
      assert.equal(r?.response, 'permessage-deflate; client_max_window_bits=11');
    });
    test('a header with only bad offers gives no extension (not a failed handshake)', () => {
      const offers = parseExtensionHeader(
        'permessage-deflate; server_max_window_bits=99, permessage-deflate; bogus, permessage-deflate; client_no_context_takeover=1',
      );
      assert.equal(offers.length, 3);
      assert.equal(server(offers), null);
    });
    test('the RFC 7692 §7.1.3 example headers, parsed by the handshake parser', () => {
      const offers = parseExtensionHeader(
        'permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits',
      );
      assert.equal(server(offers)?.response, 'permessage-deflate; server_max_window_bits=10');
      const quoted = parseExtensionHeader('permessage-deflate; server_max_window_bits="10"');
      assert.equal(server(quoted)?.params.serverMaxWindowBits, 10);
    });
  });
});

describe('RFC 7692 §7.1 client validation of the response', () => {
  test('an empty response -> defaults', () => {
    assert.deepEqual(acceptDeflateResponse(el()), DEFAULTS);
  });

  test('another extension name -> fails', () => {
    rejects({ name: 'x-other', params: [] }, {}, /not offered/);
  });

  describe('§7.1.1.1 server_no_context_takeover', () => {
    test('present without being asked -> accepted (server MAY)', () => {
      assert.equal(
        acceptDeflateResponse(el(['server_no_context_takeover'])).serverNoContextTakeover,
        true,
      );
    });
    test('asked but missing -> fails', () => {
      rejects(el(), { serverNoContextTakeover: true }, /server_no_context_takeover missing/);
    });
    test('with a value or twice -> fails', () => {
      rejects(el(['server_no_context_takeover', '1']));
      rejects(el(['server_no_context_takeover'], ['server_no_context_takeover']), {}, /duplicate/);
    });
  });

  describe('§7.1.1.2 client_no_context_takeover', () => {
    test('present -> our compressor resets per message', () => {
      const params = acceptDeflateResponse(el(['client_no_context_takeover']));
      assert.equal(params.clientNoContextTakeover, true);
      assert.deepEqual(deflateDirections(params, 'client').deflate, {
        windowBits: 15,
        noContextTakeover: true,
      });
    });
    test('offered by us but not echoed -> we still keep our word', () => {
      assert.equal(
        acceptDeflateResponse(el(), { clientNoContextTakeover: true }).clientNoContextTakeover,
        true,
      );
    });
    test('with a value or twice -> fails', () => {
      rejects(el(['client_no_context_takeover', 'x']));
      rejects(el(['client_no_context_takeover'], ['client_no_context_takeover']));
    });
  });

  describe('§7.1.2.1 server_max_window_bits', () => {
    test('unasked, any 8..15 -> accepted', () => {
      for (let bits = 8; bits <= 15; bits++) {
        assert.equal(
          acceptDeflateResponse(el(['server_max_window_bits', String(bits)])).serverMaxWindowBits,
          bits,
        );
      }
    });
    test('asked N: same or smaller accepted, larger or missing fails', () => {
      assert.equal(
        acceptDeflateResponse(el(['server_max_window_bits', '10']), { serverMaxWindowBits: 10 })
          .serverMaxWindowBits,
        10,
      );
      assert.equal(
        acceptDeflateResponse(el(['server_max_window_bits', '9']), { serverMaxWindowBits: 10 })
          .serverMaxWindowBits,
        9,
      );
      rejects(el(['server_max_window_bits', '11']), { serverMaxWindowBits: 10 }, /exceeds/);
      rejects(el(), { serverMaxWindowBits: 10 }, /missing/);
    });
    test('no value, out of range, not a number, duplicate -> fails', () => {
      rejects(el(['server_max_window_bits']), {}, /needs a value/);
      for (const v of ['7', '16', '08', 'abc', ''])
        rejects(el(['server_max_window_bits', v]), {}, /8-15/);
      rejects(
        el(['server_max_window_bits', '10'], ['server_max_window_bits', '10']),
        {},
        /duplicate/,
      );
    });
  });

  describe('§7.1.2.2 client_max_window_bits', () => {
    test('offered without a value: any 8..15 accepted and applied to our compressor', () => {
      for (let bits = 8; bits <= 15; bits++) {
        const params = acceptDeflateResponse(el(['client_max_window_bits', String(bits)]));
        assert.equal(params.clientMaxWindowBits, bits);
        assert.equal(deflateDirections(params, 'client').deflate.windowBits, bits);
      }
    });
    test('offered N: absent -> N; smaller accepted; larger fails', () => {
      assert.equal(
        acceptDeflateResponse(el(), { clientMaxWindowBits: 10 }).clientMaxWindowBits,
        10,
      );
      assert.equal(
        acceptDeflateResponse(el(['client_max_window_bits', '9']), { clientMaxWindowBits: 10 })
          .clientMaxWindowBits,
        9,
      );
      rejects(el(['client_max_window_bits', '11']), { clientMaxWindowBits: 10 }, /exceeds/);
    });
    test('no value in a response, out of range, duplicate -> fails', () => {
      rejects(el(['client_max_window_bits']), {}, /needs a value/);
      rejects(el(['client_max_window_bits', '16']));
      rejects(el(['client_max_window_bits', '7']));
      rejects(
        el(['client_max_window_bits', '10'], ['client_max_window_bits', '10']),
        {},
        /duplicate/,
      );
    });
  });

  test('§7 unknown parameter -> fails', () => {
    rejects(el(['foo']), {}, /unknown/);
    rejects(el(['__proto__']), {}, /unknown/);
  });

  test('round trip: every server answer to our offer is accepted by the client', () => {
    const clientOptions: PerMessageDeflateOptions[] = [
      {},
      { serverNoContextTakeover: true },
      { clientNoContextTakeover: true },
      { serverMaxWindowBits: 9 },
      { clientMaxWindowBits: 10 },
      { serverNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 8 },
    ];
    const serverOptions: PerMessageDeflateOptions[] = [
      {},
      { serverNoContextTakeover: true },
      { clientNoContextTakeover: true },
      { serverMaxWindowBits: 10 },
      { clientMaxWindowBits: 9 },
      { clientMaxWindowBits: 15, serverMaxWindowBits: 8 },
    ];
    for (const c of clientOptions) {
      for (const s of serverOptions) {
        const offers = parseExtensionHeader(createDeflateOffer(c));
        const result = negotiateDeflateServer(offers, s);
        assert.ok(result, `server declined ${JSON.stringify(c)} with ${JSON.stringify(s)}`);
        const [response] = parseExtensionHeader(result.response);
        assert.deepEqual(acceptDeflateResponse(response!, c), result.params);
      }
    }
  });
});

describe('deflateDirections', () => {
  test('server compresses under server_*, client under client_*', () => {
    const params: DeflateParams = {
      serverNoContextTakeover: true,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 12,
    };
    assert.deepEqual(deflateDirections(params, 'server'), {
      deflate: { windowBits: 10, noContextTakeover: true },
      inflate: { windowBits: 12, noContextTakeover: false },
    });
    assert.deepEqual(deflateDirections(params, 'client'), {
      deflate: { windowBits: 12, noContextTakeover: false },
      inflate: { windowBits: 10, noContextTakeover: true },
    });
  });
});
