/**
 * Every limit of the engine, with its default and the attack it blunts (STYLE.md §8).
 * The Node adapters add their own time and connection limits in `src/node/limits.ts`.
 */
export interface Limits {
  /**
   * Largest message, in payload bytes after decompression. Default 1 MiB.
   * Checked against a frame's declared length before any byte of it is buffered, and again
   * while inflating. Blunts memory exhaustion by huge declared lengths (CVE-2016-10542 class)
   * and decompression bombs. `0` means no limit, as in ws: an explicit opt-out whose cost is
   * that a peer may make this process hold any message it cares to send, however large
   * (the frame and message-cost limits then follow it unless given).
   */
  maxPayload: number;
  /** Largest single frame, in payload bytes. Default: `maxPayload`. */
  maxFrameSize: number;
  /**
   * Budget of one message counted as payload bytes plus `fragmentOverhead` per frame.
   * Default: 2 × `maxPayload`. Blunts the tiny-fragment amplification class (thousands of
   * 0- or 1-byte continuation frames that cost far more memory and CPU than their bytes).
   */
  maxMessageCost: number;
  /** Fixed cost charged per data frame of a message against `maxMessageCost`. Default 32. */
  fragmentOverhead: number;
}

export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
export const DEFAULT_FRAGMENT_OVERHEAD = 32;

/** Fills in the defaults; derived limits follow `maxPayload` unless given. */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const requested = partial.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  if (!Number.isSafeInteger(requested) || requested < 0) {
    throw new RangeError(`maxPayload must be a non-negative safe integer, got ${requested}`);
  }
  // 0 is ws's explicit "no limit" (an opt-out: a peer may then make us hold any message it sends).
  const maxPayload = requested === 0 ? Number.MAX_SAFE_INTEGER : requested;
  return {
    maxPayload,
    maxFrameSize: partial.maxFrameSize ?? maxPayload,
    maxMessageCost: partial.maxMessageCost ?? maxPayload * 2 + 4096,
    fragmentOverhead: partial.fragmentOverhead ?? DEFAULT_FRAGMENT_OVERHEAD,
  };
}
