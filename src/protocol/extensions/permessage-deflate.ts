/**
 * permessage-deflate (RFC 7692): option defaults and the pure, synchronous negotiation of its
 * parameters. No zlib here: the Node codec lives in `src/node/deflate-codec.ts` and receives the
 * `DeflateParams` this module agrees on.
 *
 * Every parameter rule is a row of `PARAM_RULES` below, with the section it comes from; the
 * server and client decisions are small functions over the parsed rows.
 *
 * Window bits 8. zlib 1.2.9+ refuses 8 for raw deflate; Node 20 accepts `windowBits: 8` but its
 * output is byte-identical to `windowBits: 9` (checked in the tests), a window larger than a peer
 * that agreed on 8 must accept (§7.1.2.1). We do not rely on zlib's matcher happening to keep
 * distances under 256 to make that safe: when the window agreed for *our* compressor is 8, we
 * accept the agreement (declining would also lose compression of the peer's messages) but send
 * every message uncompressed (RSV1 clear), which §6 allows for any message. Our decompressor
 * handles an 8-bit peer window: it inflates with at least 9 bits, which accepts every stream an
 * 8-bit window can produce and tolerates peers (like Node) that compress with 9 when 8 was agreed.
 */
import type { ExtensionOffer } from './extension.js';
import { UsageError } from '../errors.js';

/** The registered extension name (§5, §9). */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** LZ77 window size as a base-2 logarithm (§7.1.2): 8 (256 bytes) to 15 (32 KiB). */
export type WindowBits = 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15;

/** Tuning passed to the compressor (zlib names). Window bits always come from the negotiation. */
export interface DeflateTuning {
  /** Compression level 0-9 (zlib default -1 = 6). Higher costs more CPU per byte. */
  level?: number;
  /** Memory for the internal state, 1-9 (zlib default 8). Each step doubles the hash memory. */
  memLevel?: number;
  /** zlib strategy constant (default Z_DEFAULT_STRATEGY). */
  strategy?: number;
  /** Size of one output chunk in bytes (default 16 KiB). */
  chunkSize?: number;
}

/** Tuning passed to the decompressor. */
export interface InflateTuning {
  /**
   * Size of one output chunk in bytes (default 16 KiB). Output is checked against the message
   * limit after every chunk, so this is also the largest overshoot before `too-big` is reported.
   */
  chunkSize?: number;
}

/**
 * permessage-deflate options, with the names `ws` uses. Compression trades CPU and memory for
 * bandwidth. Measured server RSS per idle connection (15-bit windows, memLevel 8, both
 * directions having compressed, the connection itself included): 252 KiB with context
 * takeover, 67 KiB with `server_no_context_takeover` (only the client's window is kept), 30 KiB
 * with no context takeover, where the zlib streams are released after every message. The
 * server enables it only when asked to, and caps the total with `maxCompressionMemory`.
 */
export interface PerMessageDeflateOptions {
  /** Messages with fewer payload bytes than this are sent uncompressed. Default 1024. */
  threshold?: number;
  /**
   * Server: always ask to reset the server's compressor after every message (less memory per
   * idle connection, worse ratio). Client: offer `server_no_context_takeover` (§7.1.1.1).
   * Default false.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: make the client reset its compressor after every message (§7.1.1.2).
   * Client: offer `client_no_context_takeover` and reset our compressor per message. Default false.
   */
  clientNoContextTakeover?: boolean;
  /**
   * Largest window the server compresses with, 8-15 (§7.1.2.1). Server: caps its own window.
   * Client: offered as `server_max_window_bits`, which bounds the memory of our decompressor;
   * a server that cannot honour it declines. Default undefined (15).
   */
  serverMaxWindowBits?: number;
  /**
   * Largest window the client compresses with (§7.1.2.2). Client: `true` (the default when
   * undefined) offers the parameter without a value, as browsers do; a number 8-15 also
   * promises that bound. Server: a number makes the server require the client to use at most
   * that window; offers without the parameter are then declined (the operator asked for a
   * memory bound the client cannot promise). `true`/undefined on a server: no preference.
   */
  clientMaxWindowBits?: number | true;
  /** Compressor tuning (level, memLevel, strategy, chunkSize). Window bits are negotiated. */
  zlibDeflateOptions?: DeflateTuning;
  /** Decompressor tuning (chunkSize). Window bits are negotiated. */
  zlibInflateOptions?: InflateTuning;
  /**
   * Largest number of zlib jobs running at once in the process (shared by every connection
   * using the same value). Default 10. Blunts CPU and memory exhaustion when thousands of
   * connections compress at once; further jobs wait in a FIFO queue.
   */
  concurrencyLimit?: number;
}

/** The agreed parameters of one connection, for both directions, with defaults applied. */
export interface DeflateParams {
  /** The server resets its compressor after each message (§7.1.1.1). */
  readonly serverNoContextTakeover: boolean;
  /** The client resets its compressor after each message (§7.1.1.2). */
  readonly clientNoContextTakeover: boolean;
  /** Largest window the server compresses with (§7.1.2.1); 15 when not negotiated. */
  readonly serverMaxWindowBits: WindowBits;
  /** Largest window the client compresses with (§7.1.2.2); 15 when not negotiated. */
  readonly clientMaxWindowBits: WindowBits;
}

/** What one side's compressor or decompressor must do. */
export interface DeflateDirection {
  /** Window bits for zlib. */
  readonly windowBits: WindowBits;
  /** Reset (or drop) the zlib state after each message. */
  readonly noContextTakeover: boolean;
}

/** Options with every default filled in and validated. */
export interface ResolvedDeflateOptions {
  readonly threshold: number;
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  readonly serverMaxWindowBits: WindowBits | undefined;
  readonly clientMaxWindowBits: WindowBits | true;
  readonly zlibDeflateOptions: Readonly<DeflateTuning>;
  readonly zlibInflateOptions: Readonly<InflateTuning>;
  readonly concurrencyLimit: number;
}

/** Default `threshold`: messages under 1024 bytes are sent uncompressed. */
export const DEFAULT_DEFLATE_THRESHOLD = 1024;
/** Default `concurrencyLimit`: 10 zlib jobs at once per process. */
export const DEFAULT_ZLIB_CONCURRENCY = 10;
/** Window bits when a side did not negotiate a smaller window (§7.1.2). */
export const DEFAULT_WINDOW_BITS: WindowBits = 15;

/** The client's response check failed; the client must _Fail the WebSocket Connection_ (§7). */
export class DeflateNegotiationError extends Error {
  /** Always `INVALID_EXTENSION_PARAMS`. */
  readonly code = 'INVALID_EXTENSION_PARAMS';
  constructor(message: string) {
    super(message);
    this.name = 'DeflateNegotiationError';
  }
}

/** §7.1.2.1/§7.1.2.2: a decimal integer 8-15 without leading zeros. */
function parseWindowBits(value: string): WindowBits | undefined {
  return /^(?:[89]|1[0-5])$/.test(value) ? (Number(value) as WindowBits) : undefined;
}

function isWindowBits(value: unknown): value is WindowBits {
  return typeof value === 'number' && Number.isInteger(value) && value >= 8 && value <= 15;
}

/**
 * Validates options and fills in defaults.
 * @throws UsageError `INVALID_DEFLATE_OPTIONS` for a window outside 8-15, a negative or
 *   non-integer threshold, a concurrency limit below 1, or zlib tuning outside zlib's ranges
 *   (level -1-9, memLevel 1-9, strategy 0-4, chunkSize 64 B-64 MiB).
 */
export function resolveDeflateOptions(
  options: PerMessageDeflateOptions = {},
): ResolvedDeflateOptions {
  const bad = (what: string): never => {
    throw new UsageError('INVALID_DEFLATE_OPTIONS', `permessage-deflate: ${what}`);
  };
  const threshold = options.threshold ?? DEFAULT_DEFLATE_THRESHOLD;
  if (!Number.isSafeInteger(threshold) || threshold < 0)
    bad(`threshold must be an integer >= 0, got ${threshold}`);
  const serverBits = options.serverMaxWindowBits;
  if (serverBits !== undefined && !isWindowBits(serverBits)) {
    bad(`serverMaxWindowBits must be 8-15, got ${String(serverBits)}`);
  }
  const clientBits = options.clientMaxWindowBits ?? true;
  if (clientBits !== true && !isWindowBits(clientBits)) {
    bad(`clientMaxWindowBits must be 8-15 or true, got ${String(clientBits)}`);
  }
  const concurrencyLimit = options.concurrencyLimit ?? DEFAULT_ZLIB_CONCURRENCY;
  if (!Number.isSafeInteger(concurrencyLimit) || concurrencyLimit < 1) {
    bad(`concurrencyLimit must be an integer >= 1, got ${concurrencyLimit}`);
  }
  const d = options.zlibDeflateOptions ?? {};
  const i = options.zlibInflateOptions ?? {};
  // zlib's own ranges, checked here so a bad value throws now rather than inside a codec job.
  const range = (name: string, value: number | undefined, min: number, max: number): void => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      bad(`${name} must be an integer ${min}-${max}, got ${String(value)}`);
    }
  };
  range('zlibDeflateOptions.level', d.level, -1, 9);
  range('zlibDeflateOptions.memLevel', d.memLevel, 1, 9);
  range('zlibDeflateOptions.strategy', d.strategy, 0, 4);
  range('zlibDeflateOptions.chunkSize', d.chunkSize, 64, 64 * 1024 * 1024);
  range('zlibInflateOptions.chunkSize', i.chunkSize, 64, 64 * 1024 * 1024);
  // Only the tuning knobs are copied: a windowBits, dictionary or finishFlush smuggled in through
  // these objects would break the negotiated agreement.
  return {
    threshold,
    serverNoContextTakeover: options.serverNoContextTakeover === true,
    clientNoContextTakeover: options.clientNoContextTakeover === true,
    serverMaxWindowBits: serverBits as WindowBits | undefined,
    clientMaxWindowBits: clientBits as WindowBits | true,
    zlibDeflateOptions: {
      ...(d.level !== undefined && { level: d.level }),
      ...(d.memLevel !== undefined && { memLevel: d.memLevel }),
      ...(d.strategy !== undefined && { strategy: d.strategy }),
      ...(d.chunkSize !== undefined && { chunkSize: d.chunkSize }),
    },
    zlibInflateOptions: { ...(i.chunkSize !== undefined && { chunkSize: i.chunkSize }) },
    concurrencyLimit,
  };
}

/** How a parameter may appear: without a value, with window bits, or either. */
type ValueShape = 'none' | 'bits' | 'bits-or-none';

/**
 * The parameters of §7.1 and the shape each must have in an offer and in a response.
 * A name not in this table makes an offer invalid (server declines it, §7) and a response
 * invalid (client fails the connection, §7).
 */
const PARAM_RULES: ReadonlyMap<
  string,
  { readonly offer: ValueShape; readonly response: ValueShape }
> = new Map([
  // §7.1.1.1: no value, in offers and responses.
  ['server_no_context_takeover', { offer: 'none', response: 'none' }],
  // §7.1.1.2: no value, in offers and responses.
  ['client_no_context_takeover', { offer: 'none', response: 'none' }],
  // §7.1.2.1: an offer and a response carry a value 8-15.
  ['server_max_window_bits', { offer: 'bits', response: 'bits' }],
  // §7.1.2.2: an offer may omit the value ("I support this in the response"); a response has one.
  ['client_max_window_bits', { offer: 'bits-or-none', response: 'bits' }],
]);

/** The parameters of one offer or response after validation. */
interface ParsedParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: WindowBits | undefined;
  /** `true`: present without a value (offers only). */
  clientMaxWindowBits: WindowBits | true | undefined;
}

/**
 * Checks the parameters of one `permessage-deflate` element against `PARAM_RULES`.
 * Returns the parsed values, or a string saying why the element is invalid (§7: unknown name,
 * duplicate name, invalid value).
 */
function parseParams(
  params: ExtensionOffer['params'],
  side: 'offer' | 'response',
): ParsedParams | string {
  const parsed: ParsedParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    const rule = PARAM_RULES.get(name);
    if (rule === undefined) return `unknown parameter ${JSON.stringify(name)}`;
    // §7: "multiple extension parameters with the same name".
    if (seen.has(name)) return `duplicate parameter ${name}`;
    seen.add(name);
    const shape = rule[side];
    let bits: WindowBits | true;
    if (value === true) {
      if (shape === 'bits') return `${name} needs a value`;
      bits = true;
    } else {
      if (shape === 'none') return `${name} takes no value`;
      const n = parseWindowBits(value);
      if (n === undefined) return `${name} must be 8-15, got ${JSON.stringify(value)}`;
      bits = n;
    }
    switch (name) {
      case 'server_no_context_takeover':
        parsed.serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        parsed.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits':
        parsed.serverMaxWindowBits = bits as WindowBits;
        break;
      case 'client_max_window_bits':
        parsed.clientMaxWindowBits = bits;
        break;
    }
  }
  return parsed;
}

function serialize(params: ReadonlyArray<readonly [string, string | true]>): string {
  let out = PERMESSAGE_DEFLATE;
  for (const [name, value] of params) out += value === true ? `; ${name}` : `; ${name}=${value}`;
  return out;
}

/**
 * The client's `Sec-WebSocket-Extensions` value offering permessage-deflate (§5.1, §7.1).
 * `client_max_window_bits` is always offered (without a value unless `clientMaxWindowBits` is a
 * number), so a server may shrink our compressor's window.
 * @example createDeflateOffer({}) // 'permessage-deflate; client_max_window_bits'
 * @throws UsageError `INVALID_DEFLATE_OPTIONS` for invalid options.
 */
export function createDeflateOffer(options: PerMessageDeflateOptions = {}): string {
  const o = resolveDeflateOptions(options);
  const params: Array<[string, string | true]> = [];
  if (o.serverNoContextTakeover) params.push(['server_no_context_takeover', true]);
  if (o.clientNoContextTakeover) params.push(['client_no_context_takeover', true]);
  if (o.serverMaxWindowBits !== undefined)
    params.push(['server_max_window_bits', String(o.serverMaxWindowBits)]);
  params.push([
    'client_max_window_bits',
    o.clientMaxWindowBits === true ? true : String(o.clientMaxWindowBits),
  ]);
  return serialize(params);
}

/**
 * The server's decision on one valid offer, or `null` to decline it.
 * Returns the response parameters and the agreed values.
 */
function acceptOffer(
  offer: ParsedParams,
  o: ResolvedDeflateOptions,
): { params: DeflateParams; response: Array<[string, string | true]> } | null {
  const response: Array<[string, string | true]> = [];

  // §7.1.1.1: a server accepting an offer with server_no_context_takeover MUST include it;
  // it MAY include it even if not offered (our option).
  const serverNoContextTakeover = offer.serverNoContextTakeover || o.serverNoContextTakeover;
  if (serverNoContextTakeover) response.push(['server_no_context_takeover', true]);

  // §7.1.1.2: the server MAY include client_no_context_takeover; when the client offered it
  // (a hint that it will not take over anyway) we echo it so both sides agree on it.
  const clientNoContextTakeover = offer.clientNoContextTakeover || o.clientNoContextTakeover;
  if (clientNoContextTakeover) response.push(['client_no_context_takeover', true]);

  // §7.1.2.1: accept an offered server_max_window_bits by answering with the same or a smaller
  // value; the server MAY include it unasked to cap its own window.
  let serverMaxWindowBits = DEFAULT_WINDOW_BITS;
  if (offer.serverMaxWindowBits !== undefined || o.serverMaxWindowBits !== undefined) {
    serverMaxWindowBits = Math.min(
      offer.serverMaxWindowBits ?? DEFAULT_WINDOW_BITS,
      o.serverMaxWindowBits ?? DEFAULT_WINDOW_BITS,
    ) as WindowBits;
    response.push(['server_max_window_bits', String(serverMaxWindowBits)]);
  }

  // §7.1.2.2: without client_max_window_bits in the offer the response MUST NOT include it.
  // With a value, the client already promised that bound; the server may answer a value <= it.
  let clientMaxWindowBits: WindowBits =
    offer.clientMaxWindowBits === true ? 15 : (offer.clientMaxWindowBits ?? 15);
  if (o.clientMaxWindowBits !== true) {
    // The operator requires a bound the client cannot be told about: decline this offer.
    if (offer.clientMaxWindowBits === undefined) return null;
    clientMaxWindowBits = Math.min(clientMaxWindowBits, o.clientMaxWindowBits) as WindowBits;
    response.push(['client_max_window_bits', String(clientMaxWindowBits)]);
  }

  return {
    params: {
      serverNoContextTakeover,
      clientNoContextTakeover,
      serverMaxWindowBits,
      clientMaxWindowBits,
    },
    response,
  };
}

/**
 * Server side of the negotiation (§5.1, §7). Walks the offers in order and accepts the first
 * `permessage-deflate` offer it can; offers for other extensions are ignored here.
 *
 * An offer with an unknown parameter, a duplicate parameter, a value out of range or not a
 * decimal integer, a value on a parameter that takes none, or no value where one is needed is
 * invalid and declined (§7: "A server MUST decline an extension negotiation offer" in those
 * cases); the next offer is tried. When every offer is declined the result is `null`: the
 * handshake still succeeds, just without the extension (§7, RFC 6455 §9.1: the server does not
 * list an extension it did not accept). We chose this over a 400 because declining is what
 * §7 prescribes and it keeps clients that send junk alongside a good offer working.
 *
 * @returns the `Sec-WebSocket-Extensions` response element and the agreed parameters, or null.
 * @throws UsageError `INVALID_DEFLATE_OPTIONS` for invalid server options (never for offers).
 */
export function negotiateDeflateServer(
  offers: readonly ExtensionOffer[],
  options: PerMessageDeflateOptions = {},
): { response: string; params: DeflateParams } | null {
  const o = resolveDeflateOptions(options);
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const parsed = parseParams(offer.params, 'offer');
    if (typeof parsed === 'string') continue; // §7: decline invalid offers.
    const accepted = acceptOffer(parsed, o);
    if (accepted === null) continue;
    return { response: serialize(accepted.response), params: accepted.params };
  }
  return null;
}

/**
 * Client side: validates the server's `permessage-deflate` response element against what
 * `createDeflateOffer(options)` offered (§7, §7.1.1.1-§7.1.2.2) and returns the agreed
 * parameters.
 *
 * Throws when the response has an unknown or duplicate parameter, an invalid value, lacks
 * `server_no_context_takeover` or `server_max_window_bits` we required, answers a
 * `server_max_window_bits` larger than offered, or a `client_max_window_bits` larger than
 * the value we offered. The client must then _Fail the WebSocket Connection_ (§7).
 * @throws DeflateNegotiationError (code `INVALID_EXTENSION_PARAMS`).
 * @throws UsageError `INVALID_DEFLATE_OPTIONS` for invalid options.
 */
export function acceptDeflateResponse(
  response: ExtensionOffer,
  options: PerMessageDeflateOptions = {},
): DeflateParams {
  const o = resolveDeflateOptions(options);
  const fail = (why: string): never => {
    throw new DeflateNegotiationError(`invalid permessage-deflate response: ${why}`);
  };
  if (response.name !== PERMESSAGE_DEFLATE)
    fail(`extension ${JSON.stringify(response.name)} was not offered`);
  const r = parseParams(response.params, 'response');
  if (typeof r === 'string') return fail(r);

  // §7.1.1.1: a server accepting our server_no_context_takeover MUST include it.
  if (o.serverNoContextTakeover && !r.serverNoContextTakeover)
    fail('server_no_context_takeover missing');

  // §7.1.2.1: our server_max_window_bits must be answered with the same or a smaller value;
  // unasked, the server MAY include any valid value.
  if (o.serverMaxWindowBits !== undefined) {
    if (r.serverMaxWindowBits === undefined) fail('server_max_window_bits missing');
    else if (r.serverMaxWindowBits > o.serverMaxWindowBits) {
      fail(
        `server_max_window_bits=${r.serverMaxWindowBits} exceeds the offered ${o.serverMaxWindowBits}`,
      );
    }
  }

  // §7.1.2.2: we always offer client_max_window_bits; an answered value must not exceed the
  // value we offered. Without one we keep the bound we promised (or 15).
  const promised = o.clientMaxWindowBits === true ? DEFAULT_WINDOW_BITS : o.clientMaxWindowBits;
  const answered = r.clientMaxWindowBits as WindowBits | undefined; // 'bits' shape: never true here
  if (answered !== undefined && answered > promised) {
    fail(`client_max_window_bits=${answered} exceeds the offered ${promised}`);
  }

  return {
    serverNoContextTakeover: r.serverNoContextTakeover,
    // We hinted it in the offer (§7.1.1.2), so we keep our word even if the server did not echo it.
    clientNoContextTakeover: r.clientNoContextTakeover || o.clientNoContextTakeover,
    serverMaxWindowBits: r.serverMaxWindowBits ?? DEFAULT_WINDOW_BITS,
    clientMaxWindowBits: answered ?? promised,
  };
}

/**
 * Which agreement applies to each half of one side's codec: a server compresses under the
 * `server_*` parameters and decompresses under the `client_*` ones; a client the reverse.
 */
export function deflateDirections(
  params: DeflateParams,
  role: 'server' | 'client',
): { deflate: DeflateDirection; inflate: DeflateDirection } {
  const server: DeflateDirection = {
    windowBits: params.serverMaxWindowBits,
    noContextTakeover: params.serverNoContextTakeover,
  };
  const client: DeflateDirection = {
    windowBits: params.clientMaxWindowBits,
    noContextTakeover: params.clientNoContextTakeover,
  };
  return role === 'server'
    ? { deflate: server, inflate: client }
    : { deflate: client, inflate: server };
}
