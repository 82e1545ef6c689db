/**
 * Keepalive: detects silent peers and half-open TCP connections (checklist R5), and keeps idle
 * connections open through proxies and load balancers that close connections idle for longer
 * than their timeout (nginx's `proxy_read_timeout` is 60 s). On by default on the server
 * (30 s / 20 s: the first ping leaves after at most 35 s of silence, well inside 60 s), off by
 * default on the client (as in browsers).
 *
 * Contract: any bytes received from the peer count as a sign of life (not only pongs; the
 * opening handshake too, so a new connection starts as active), so a busy connection is never
 * pinged; a connection whose reading is paused (by `pause()` or by backpressure) is not judged,
 * since it could not see the pong. When a connection has been silent for `interval` ms it is
 * sent a ping; if still nothing at all arrives within `timeout` ms after that ping, it is terminated
 * without a closing handshake and reported with the local code 1006. A half-open connection is
 * therefore detected within `interval + timeout + 2 × tick`, where `tick` is
 * `max(10, min(interval, timeout) / 4)` ms: at most 60 s with the defaults (30 + 20 + 2 × 5).
 *
 * Cost: connections sharing the same `(interval, timeout)` share one wheel with one unref'd
 * timer for the whole process, so an idle connection costs a Set entry and three fields, not a
 * timer of its own; the hot path only sets a boolean per received chunk; a sweep visits every
 * member once per tick (about 0.1 ms per 10,000 connections every 5 s). Measured with 10,000
 * idle connections: no difference in memory per connection or broadcast time (BENCHMARKS.md).
 *
 * Peers must answer pings (RFC 6455 §5.5.2 says they MUST; browsers, ws and the bench's load
 * generator do). A peer that stops reading for longer than `interval + timeout` cannot see the
 * ping and is dropped: raise the durations or pass `keepalive: false` for such clients. (The
 * first attempt to turn keepalive on by default was reverted because the benchmark's load
 * generator did not answer pings, so its idle connections were dropped after 50 s.)
 */
import { DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_KEEPALIVE_TIMEOUT_MS } from './limits.js';

/** Keepalive options (server and client). Units: milliseconds. */
export interface KeepaliveOptions {
  /** Silence before a ping is sent. Default 30 000 ms. */
  interval?: number;
  /** Time allowed after the ping for any byte to arrive. Default 20 000 ms. */
  timeout?: number;
}

/** What the wheel needs from a connection (implemented by the socket driver). */
export interface KeepaliveTarget {
  /** Set to true by the connection whenever bytes arrive; cleared by the wheel. */
  kaActive: boolean;
  /** Wheel time (ms, see `KeepaliveWheel.clock`) when the connection was last seen active. */
  kaLastSeen: number;
  /** Wheel time (ms) of the outstanding ping, or 0. */
  kaPingAt: number;
  /** Sends a keepalive ping. */
  keepalivePing(): void;
  /**
   * True while the connection does not read (paused by the application or by backpressure):
   * its pongs could not be seen, so it counts as alive.
   */
  readonly isPaused: boolean;
  /** No sign of life in time: terminate (local 1006). */
  keepaliveExpired(): void;
}

/**
 * Wheel times are milliseconds since `epoch`, kept below 2^29 so that V8 stores them as small
 * integers inside the connection object. `Date.now()` itself (about 1.7e12) does not fit: every
 * connection would then carry a boxed heap number for its last-seen time (about 16 bytes more
 * per idle connection, measured as a difference in the bench's idle-memory cell).
 */
const REBASE_AT = 2 ** 29;
/** After a rebase the wheel clock reads this (3.1 days of history stay exact). */
const REBASE_TO = 2 ** 28;

/** A set of connections checked by one shared, unref'd timer. */
export class KeepaliveWheel {
  readonly interval: number;
  readonly timeout: number;
  private readonly members = new Set<KeepaliveTarget>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly tickMs: number;
  private epoch = Date.now();

  constructor(interval: number, timeout: number) {
    if (!(interval > 0) || !(timeout > 0)) {
      throw new RangeError('keepalive interval and timeout must be positive numbers of ms');
    }
    this.interval = interval;
    this.timeout = timeout;
    this.tickMs = Math.max(10, Math.floor(Math.min(interval, timeout) / 4));
  }

  /** Number of connections watched. */
  get size(): number {
    return this.members.size;
  }

  /** The wheel's clock: ms since its epoch (a small integer, see REBASE_AT). */
  clock(): number {
    // `| 0`: the difference of two doubles is itself a heap number in V8's baseline code, even
    // when small and integral; an int32 is stored untagged (a small integer) in the field.
    return (Date.now() - this.epoch) | 0;
  }

  /**
   * Starts watching `target`. It counts as active (its opening handshake was traffic): the next
   * sweep records the time, as for any connection that received bytes since the last one, so
   * adding a member reads no clock (a connect storm adds thousands per second).
   */
  add(target: KeepaliveTarget): void {
    target.kaActive = true;
    target.kaPingAt = 0;
    this.members.add(target);
    if (this.timer === null) {
      this.timer = setInterval(tickWheel, this.tickMs, this);
      this.timer.unref();
    }
  }

  /**
   * Stops watching `target`. The (unref'd) timer stops at its next tick if no member is left by
   * then: a server whose connections come and go (a connect storm) would otherwise create and
   * clear an interval every time its last connection closes.
   */
  delete(target: KeepaliveTarget): void {
    this.members.delete(target);
  }

  /** One pass over the members; `now` is wheel time (exposed for tests). */
  tick(now = this.clock()): void {
    if (this.members.size === 0) {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    if (now >= REBASE_AT) now = this.rebase(now);
    for (const target of this.members) {
      if (target.kaActive || target.isPaused) {
        target.kaActive = false;
        target.kaLastSeen = now;
        target.kaPingAt = 0;
      } else if (target.kaPingAt !== 0) {
        if (now - target.kaPingAt >= this.timeout) {
          this.delete(target);
          target.keepaliveExpired();
        }
      } else if (now - target.kaLastSeen >= this.interval) {
        target.kaPingAt = now;
        target.keepalivePing();
      }
    }
  }

  /**
   * Moves the epoch forward (once per 3.1 days of uptime) so that wheel times stay small
   * integers; returns `now` on the new clock. Members' times move with it. (An outstanding ping
   * older than the kept history, possible only with a timeout above 3.1 days, is clamped to the
   * oldest time kept, which can delay its expiry by the clamped amount.)
   */
  private rebase(now: number): number {
    const shift = now - REBASE_TO;
    this.epoch += shift;
    for (const target of this.members) {
      target.kaLastSeen -= shift;
      if (target.kaPingAt !== 0) target.kaPingAt = Math.max(1, target.kaPingAt - shift);
    }
    return REBASE_TO;
  }
}

function tickWheel(wheel: KeepaliveWheel): void {
  wheel.tick();
}

const wheels = new Map<string, KeepaliveWheel>();

/**
 * Returns the shared wheel for these options, or null when keepalive is off (`options` is
 * undefined, null or false). `true` means the defaults.
 * @throws RangeError for non-positive durations.
 */
export function keepaliveWheel(
  options: KeepaliveOptions | boolean | null | undefined,
): KeepaliveWheel | null {
  if (options === undefined || options === null || options === false) return null;
  const resolved = options === true ? {} : options;
  const interval = resolved.interval ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
  const timeout = resolved.timeout ?? DEFAULT_KEEPALIVE_TIMEOUT_MS;
  const key = `${interval}:${timeout}`;
  let wheel = wheels.get(key);
  if (wheel === undefined) {
    wheel = new KeepaliveWheel(interval, timeout);
    wheels.set(key, wheel);
  }
  return wheel;
}
