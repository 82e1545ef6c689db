/**
 * Bounded concurrency for zlib work. Every compression and decompression job of every
 * connection goes through one limiter, so thousands of connections compressing at once run
 * at most `limit` jobs on libuv's thread pool and queue the rest (FIFO) instead of exhausting
 * memory with zlib output buffers or starving other thread-pool users (fs, dns).
 */

/** A job receives `done` and must call it exactly once when its zlib work is over. */
export type LimitedJob = (done: () => void) => void;

/** A FIFO gate letting at most `limit` jobs run at once. */
export class ZlibLimiter {
  /** Largest number of jobs running at once. */
  readonly limit: number;
  #running = 0;
  #queue: LimitedJob[] = [];
  #head = 0;
  #draining = false;

  /** @throws RangeError when `limit` is not an integer >= 1. */
  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`zlib concurrency limit must be an integer >= 1, got ${limit}`);
    }
    this.limit = limit;
  }

  /** Jobs currently running. */
  get running(): number {
    return this.#running;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Runs `job` now if a slot is free, otherwise after every job queued before it has started.
   * A second call of `done` is ignored. A job that throws synchronously releases its slot and
   * the error propagates to the caller of `run` (or of the `done` that started it).
   */
  run(job: LimitedJob): void {
    this.#queue.push(job);
    this.#drain();
  }

  #drain(): void {
    // Re-entrant calls (a job calling `done` synchronously) only update the count; the outer
    // loop starts the next jobs, so the stack never grows with the queue.
    if (this.#draining) return;
    this.#draining = true;
    let failure: { error: unknown } | undefined;
    try {
      while (this.#running < this.limit && this.#head < this.#queue.length) {
        const job = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as unknown as LimitedJob;
        if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        this.#running++;
        let finished = false;
        const done = (): void => {
          if (finished) return;
          finished = true;
          this.#running--;
          this.#drain();
        };
        try {
          job(done);
        } catch (error) {
          done();
          failure ??= { error };
        }
      }
    } finally {
      this.#draining = false;
    }
    if (failure !== undefined) throw failure.error;
  }
}

const shared = new Map<number, ZlibLimiter>();

/**
 * The process-wide limiter for a given limit: every codec created with the same
 * `concurrencyLimit` shares it (the default, 10, is shared by all default servers and clients).
 */
export function sharedZlibLimiter(limit: number): ZlibLimiter {
  let limiter = shared.get(limit);
  if (limiter === undefined) {
    limiter = new ZlibLimiter(limit);
    shared.set(limit, limiter);
  }
  return limiter;
}
