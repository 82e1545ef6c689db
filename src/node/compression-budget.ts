/**
 * The server-wide budget for permessage-deflate state (RFC 7692): the zlib contexts that
 * connections keep between messages under context takeover. Without a bound, every compressed
 * connection holds about 250 KiB of zlib state for as long as it stays open (measured, see
 * BENCHMARKS.md), so a few thousand idle clients exhaust a small server's memory.
 *
 * Each new connection reserves the worst-case size of the contexts it will keep (zlib's own
 * formulas for the agreed windows and the configured memLevel, plus the stream's overhead) and
 * gives it back when it closes. When the negotiated mode does not fit in what is left, the
 * offer is accepted with less state, in this order (§7.1.1: the server may always ask for it):
 *
 * | step | response adds | kept between messages |
 * |---|---|---|
 * | 1 | (as negotiated) | compressor + decompressor |
 * | 2 | `server_no_context_takeover` | decompressor only (the client's window) |
 * | 3 | `client_no_context_takeover` too | nothing: both zlib streams are released after each message |
 *
 * Step 3 always fits. The zlib streams that connections create while a message is being
 * compressed or decompressed are bounded separately, by `concurrencyLimit` (jobs at once).
 */
import {
  negotiateDeflateServer,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from '../protocol/extensions/permessage-deflate.js';
import type { ExtensionOffer } from '../protocol/extensions/extension.js';

/** Overhead of one Node zlib stream besides zlib's own buffers (handle, state, output chunk). */
const STREAM_OVERHEAD = 24 * 1024;

/**
 * Bytes a raw deflate stream holds (zlib's `deflateInit2`: window 2 × 2^w, prev 2 × 2^w, head
 * 2 × 2^(m+7), pending 4 × 2^(m+6); zlib uses 9 for an 8-bit window). 15/8: 256 KiB + overhead.
 */
export function deflateContextBytes(windowBits: number, memLevel = 8): number {
  const w = Math.max(9, windowBits);
  return 4 * 2 ** w + 2 ** (memLevel + 9) + STREAM_OVERHEAD;
}

/** Bytes a raw inflate stream holds: the window (2^w) plus zlib's ~7 KiB state and overhead. */
export function inflateContextBytes(windowBits: number): number {
  return 2 ** Math.max(9, windowBits) + 7 * 1024 + STREAM_OVERHEAD;
}

/** What a server connection keeps between messages under `params` (bytes). */
export function keptContextBytes(params: DeflateParams, memLevel = 8): number {
  let bytes = 0;
  if (!params.serverNoContextTakeover) {
    bytes += deflateContextBytes(params.serverMaxWindowBits, memLevel);
  }
  if (!params.clientNoContextTakeover) bytes += inflateContextBytes(params.clientMaxWindowBits);
  return bytes;
}

/** A negotiation admitted within the budget: the response, the parameters and the reservation. */
export interface AdmittedDeflate {
  response: string;
  params: DeflateParams;
  /** Bytes reserved; give them back with `release` when the connection's codec is disposed. */
  reserved: number;
}

/** The budget of one `WebSocketServer` (`maxCompressionMemory`). */
export class CompressionBudget {
  /** The limit in bytes (`Infinity`: no limit). */
  readonly limit: number;
  /** Bytes reserved by open connections. */
  used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /**
   * Negotiates permessage-deflate for `offers` (already known to be acceptable under `options`)
   * within what is left, reserving the state the result keeps. Returns null only if no offer can
   * be accepted at all.
   */
  admit(
    offers: readonly ExtensionOffer[],
    options: PerMessageDeflateOptions,
  ): AdmittedDeflate | null {
    const memLevel = options.zlibDeflateOptions?.memLevel ?? 8;
    const steps: PerMessageDeflateOptions[] = [
      options,
      { ...options, serverNoContextTakeover: true },
      { ...options, serverNoContextTakeover: true, clientNoContextTakeover: true },
    ];
    for (const step of steps) {
      const result = negotiateDeflateServer(offers, step);
      if (result === null) return null;
      const bytes = keptContextBytes(result.params, memLevel);
      if (bytes === 0 || this.used + bytes <= this.limit) {
        this.used += bytes;
        return { ...result, reserved: bytes };
      }
    }
    return null; // not reached: the last step keeps nothing
  }

  /** Gives back a reservation. */
  release(bytes: number): void {
    this.used -= bytes;
  }
}
