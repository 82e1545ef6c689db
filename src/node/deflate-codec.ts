/**
 * The permessage-deflate codec (RFC 7692 §7.2) on Node's zlib, implementing the engine's
 * `Extension` contract for one connection.
 *
 * - Compression: raw DEFLATE with a sync flush per message, minus the 4-byte `00 00 ff ff` tail
 *   (§7.2.1). Context is kept between messages unless `*_no_context_takeover` was agreed, in
 *   which case the zlib stream is closed after each message (no memory held while idle).
 * - Decompression: the tail is appended at the end of the message (§7.2.2) and output is
 *   counted chunk by chunk (16 KiB by default); the moment it passes the caller's limit the
 *   zlib stream is destroyed and `too-big` is reported, so a small bomb never expands far.
 * - Every zlib job runs through a process-wide `ZlibLimiter` (FIFO, `concurrencyLimit` jobs).
 * - Within a direction, jobs run one at a time in call order; callbacks are asynchronous and
 *   called exactly once, in order.
 */
import type { DeflateRaw, InflateRaw, ZlibOptions } from 'node:zlib';
import { nodeZlib } from './builtins.js';
import {
  ExtensionError,
  type Extension,
  type TransformCallback,
} from '../protocol/extensions/extension.js';
import {
  PERMESSAGE_DEFLATE,
  deflateDirections,
  resolveDeflateOptions,
  type DeflateDirection,
  type DeflateParams,
  type PerMessageDeflateOptions,
  type ResolvedDeflateOptions,
} from '../protocol/extensions/permessage-deflate.js';
import { sharedZlibLimiter, type ZlibLimiter } from './zlib-limiter.js';

/** §7.2.1/§7.2.2: the empty stored block a sync flush ends with, removed on the wire. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * The `Extension` of a permessage-deflate connection, plus the question the engine asks before
 * compressing an outgoing message.
 */
export interface DeflateExtension extends Extension {
  /**
   * Whether a message of `length` payload bytes should be compressed: false below `threshold`
   * (default 1024), when our compressor's agreed window is 8 bits (see permessage-deflate.ts),
   * and after `dispose()`. A message sent uncompressed simply goes out with RSV1 clear (§6).
   */
  shouldCompress(length: number): boolean;
}

/** Extra knobs for tests and embedders. */
export interface DeflateCodecHooks {
  /** Use this limiter instead of the shared one for `concurrencyLimit`. */
  limiter?: ZlibLimiter;
  /** Called once, by the first `dispose()` (the server gives back its compression budget). */
  onDispose?: () => void;
}

type Job = (release: () => void) => void;

/** Runs one direction's jobs one at a time, each through the shared limiter. */
class Lane {
  #busy = false;
  #pending: Job[] = [];
  readonly #limiter: ZlibLimiter;

  constructor(limiter: ZlibLimiter) {
    this.#limiter = limiter;
  }

  push(job: Job): void {
    this.#pending.push(job);
    if (!this.#busy) this.#next();
  }

  #next(): void {
    const job = this.#pending.shift();
    if (job === undefined) return;
    this.#busy = true;
    this.#limiter.run((done) => {
      let released = false;
      job(() => {
        if (released) return;
        released = true;
        done();
        this.#busy = false;
        this.#next();
      });
    });
  }
}

/** The operation a zlib stream is working for right now. */
interface Operation {
  chunks: Buffer[];
  total: number;
  limit: number;
  finish(error: ExtensionError | null, output: Uint8Array[]): void;
}

class DeflateCodec implements DeflateExtension {
  readonly name = PERMESSAGE_DEFLATE;
  readonly #options: ResolvedDeflateOptions;
  readonly #deflateDir: DeflateDirection;
  readonly #inflateDir: DeflateDirection;
  readonly #encodeLane: Lane;
  readonly #decodeLane: Lane;
  #deflater: DeflateRaw | null = null;
  #inflater: InflateRaw | null = null;
  /** Bytes written to the current inflater, to spot the end of the peer's DEFLATE stream. */
  #inflaterInput = 0;
  #deflateOp: Operation | null = null;
  #inflateOp: Operation | null = null;
  #disposed = false;
  readonly #onDispose: (() => void) | undefined;

  constructor(
    params: DeflateParams,
    role: 'server' | 'client',
    options: ResolvedDeflateOptions,
    limiter: ZlibLimiter,
    onDispose?: () => void,
  ) {
    this.#options = options;
    this.#onDispose = onDispose;
    const dirs = deflateDirections(params, role);
    this.#deflateDir = dirs.deflate;
    this.#inflateDir = dirs.inflate;
    this.#encodeLane = new Lane(limiter);
    this.#decodeLane = new Lane(limiter);
  }

  shouldCompress(length: number): boolean {
    return !this.#disposed && this.#deflateDir.windowBits >= 9 && length >= this.#options.threshold;
  }

  decode(payload: Uint8Array, fin: boolean, maxOutput: number, callback: TransformCallback): void {
    this.#decodeLane.push((release) =>
      this.#runInflate(payload, fin, maxOutput, callback, release),
    );
  }

  encode(data: Uint8Array, fin: boolean, callback: TransformCallback): void {
    this.#encodeLane.push((release) => this.#runDeflate(data, fin, callback, release));
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const gone = (): ExtensionError =>
      new ExtensionError('invalid', 'permessage-deflate codec disposed');
    // In-flight operations end now and release their slots. Queued ones still pass through
    // the limiter in order, each failing at once, so callbacks keep their call order.
    this.#inflateOp?.finish(gone(), []);
    this.#deflateOp?.finish(gone(), []);
    this.#dropInflater();
    this.#dropDeflater();
    this.#onDispose?.();
  }

  /** Starts an operation: `callback` is called once, asynchronously, then the slot is freed. */
  #operation(
    limit: number,
    callback: TransformCallback,
    release: () => void,
    clear: () => void,
  ): Operation {
    let settled = false;
    return {
      chunks: [],
      total: 0,
      limit,
      finish(error, output) {
        if (settled) return;
        settled = true;
        clear();
        // Always asynchronous, so the engine never sees a callback inside its own call; queued
        // before the slot is released, since releasing may start (and end) the next operation.
        queueMicrotask(() => callback(error, output));
        release();
      },
    };
  }

  #runInflate(
    payload: Uint8Array,
    fin: boolean,
    maxOutput: number,
    callback: TransformCallback,
    release: () => void,
  ): void {
    const op = this.#operation(maxOutput, callback, release, () => {
      if (this.#inflateOp === op) this.#inflateOp = null;
    });
    if (this.#disposed)
      return op.finish(new ExtensionError('invalid', 'permessage-deflate codec disposed'), []);
    try {
      this.#inflateOp = op;
      this.#startInflate(op, payload, fin);
    } catch (error) {
      // A zlib exception must never escape into the limiter (it would surface inside another
      // connection's callback): this operation fails instead.
      this.#dropInflater();
      op.finish(new ExtensionError('invalid', `decompression failed: ${String(error)}`), []);
    }
  }

  #startInflate(op: Operation, payload: Uint8Array, fin: boolean): void {
    const inflater = this.#getInflater();
    inflater.write(payload);
    this.#inflaterInput += payload.length;
    // §7.2.2: append 00 00 ff ff to the end of the message's payload before inflating.
    if (fin) {
      inflater.write(TAIL);
      this.#inflaterInput += TAIL.length;
    }
    inflater.flush(nodeZlib().constants.Z_SYNC_FLUSH, () => {
      if (this.#inflateOp !== op) return; // already failed (too big, corrupt, disposed)
      // §7.2.3.4: a block with BFINAL set ends the peer's DEFLATE stream; zlib then ignores the
      // rest of the input (here our appended empty block), so unread input means the stream
      // ended and the next message starts a new one with an empty window.
      const ended = inflater.bytesWritten < this.#inflaterInput;
      // §7.1.1: without context takeover the peer starts each message with an empty window.
      if (ended || (fin && this.#inflateDir.noContextTakeover)) this.#dropInflater();
      op.finish(null, op.chunks);
    });
  }

  #runDeflate(
    data: Uint8Array,
    fin: boolean,
    callback: TransformCallback,
    release: () => void,
  ): void {
    const op = this.#operation(Infinity, callback, release, () => {
      if (this.#deflateOp === op) this.#deflateOp = null;
    });
    if (this.#disposed)
      return op.finish(new ExtensionError('invalid', 'permessage-deflate codec disposed'), []);
    try {
      this.#deflateOp = op;
      this.#startDeflate(op, data, fin);
    } catch (error) {
      this.#dropDeflater();
      op.finish(new ExtensionError('invalid', `compression failed: ${String(error)}`), []);
    }
  }

  #startDeflate(op: Operation, data: Uint8Array, fin: boolean): void {
    const deflater = this.#getDeflater();
    deflater.write(data);
    deflater.flush(nodeZlib().constants.Z_SYNC_FLUSH, () => {
      if (this.#deflateOp !== op) return;
      // §7.2.1: a sync flush ends with an empty stored block; drop its 00 00 ff ff at the end of
      // the message. Fragments keep it (it is valid DEFLATE in the middle of the stream).
      const output = fin ? removeTail(op.chunks) : op.chunks;
      if (output === null) {
        this.#dropDeflater();
        return op.finish(
          new ExtensionError('invalid', 'compressor output lacks the sync-flush tail'),
          [],
        );
      }
      if (fin && this.#deflateDir.noContextTakeover) this.#dropDeflater();
      op.finish(null, output);
    });
  }

  #getInflater(): InflateRaw {
    if (this.#inflater !== null) return this.#inflater;
    const options: ZlibOptions = {
      ...this.#options.zlibInflateOptions,
      // An inflater with a larger window accepts every stream of a smaller one; 9 also accepts
      // peers that (like Node) compress with 9 when 8 was agreed.
      windowBits: Math.max(9, this.#inflateDir.windowBits),
    };
    const inflater = nodeZlib().createInflateRaw(options);
    this.#inflaterInput = 0;
    inflater.on('data', (chunk: Buffer) => {
      const op = this.#inflateOp;
      if (op === null || this.#inflater !== inflater) return;
      op.total += chunk.length;
      if (op.total > op.limit) {
        // Stop inflating at once: destroying the stream ends zlib's output loop.
        this.#dropInflater();
        op.finish(
          new ExtensionError('too-big', `decompressed message exceeds ${op.limit} bytes`),
          [],
        );
        return;
      }
      op.chunks.push(chunk);
    });
    inflater.on('error', (error: Error) => {
      const op = this.#inflateOp;
      if (this.#inflater === inflater) this.#dropInflater();
      op?.finish(new ExtensionError('invalid', `invalid compressed data: ${error.message}`), []);
    });
    this.#inflater = inflater;
    return inflater;
  }

  #getDeflater(): DeflateRaw {
    if (this.#deflater !== null) return this.#deflater;
    const options: ZlibOptions = {
      ...this.#options.zlibDeflateOptions,
      windowBits: this.#deflateDir.windowBits,
    };
    const deflater = nodeZlib().createDeflateRaw(options);
    deflater.on('data', (chunk: Buffer) => {
      if (this.#deflater !== deflater) return;
      this.#deflateOp?.chunks.push(chunk);
    });
    deflater.on('error', (error: Error) => {
      const op = this.#deflateOp;
      if (this.#deflater === deflater) this.#dropDeflater();
      op?.finish(new ExtensionError('invalid', `compression failed: ${error.message}`), []);
    });
    this.#deflater = deflater;
    return deflater;
  }

  #dropInflater(): void {
    const inflater = this.#inflater;
    if (inflater === null) return;
    this.#inflater = null;
    inflater.on('error', () => {}); // a late error of a dropped stream is not ours to report
    inflater.destroy();
  }

  #dropDeflater(): void {
    const deflater = this.#deflater;
    if (deflater === null) return;
    this.#deflater = null;
    deflater.on('error', () => {});
    deflater.destroy();
  }
}

/**
 * Removes the last 4 bytes (`00 00 ff ff`) from a list of chunks without copying the rest.
 * Returns null when the chunks do not end with them.
 */
function removeTail(chunks: Buffer[]): Uint8Array[] | null {
  let total = 0;
  for (const c of chunks) total += c.length;
  if (total < TAIL.length) return null;
  // Check the tail bytes across chunk boundaries.
  let ci = chunks.length - 1;
  let off = chunks[ci]!.length;
  for (let k = TAIL.length - 1; k >= 0; k--) {
    while (off === 0) off = chunks[--ci]!.length;
    if (chunks[ci]![--off] !== TAIL[k]) return null;
  }
  const out: Uint8Array[] = chunks.slice(0, ci);
  if (off > 0) out.push(chunks[ci]!.subarray(0, off));
  return out;
}

/**
 * Creates the permessage-deflate codec of one connection after a successful negotiation.
 * `params` come from `negotiateDeflateServer` (server) or `acceptDeflateResponse` (client);
 * `options` are the same options used for the negotiation (threshold, zlib tuning,
 * concurrencyLimit). Call `dispose()` when the connection is closed: it destroys the zlib
 * streams and ends pending operations with `ExtensionError('invalid')`.
 * @throws UsageError `INVALID_DEFLATE_OPTIONS` for invalid options.
 */
export function createDeflateExtension(
  params: DeflateParams,
  role: 'server' | 'client',
  options: PerMessageDeflateOptions = {},
  hooks: DeflateCodecHooks = {},
): DeflateExtension {
  const resolved = resolveDeflateOptions(options);
  const limiter = hooks.limiter ?? sharedZlibLimiter(resolved.concurrencyLimit);
  return new DeflateCodec(params, role, resolved, limiter, hooks.onDispose);
}
