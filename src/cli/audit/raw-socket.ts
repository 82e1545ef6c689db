/**
 * A raw TCP/TLS connection for probes: writes exact bytes, records what comes back (up to a
 * byte cap) and lets a probe wait for a condition with a deadline. No HTTP, no WebSocket logic.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { AuditTarget } from './target.js';

/** How to open a raw connection. */
export interface RawConnectOptions {
  /** Give up connecting after this many milliseconds. */
  timeoutMs: number;
  /** Skip TLS certificate verification (`--insecure`). */
  insecure: boolean;
  /**
   * Stop reading after this many received bytes: the socket is destroyed and `capped` is set,
   * so a server that streams forever cannot make the audit buffer without bound.
   */
  readCap: number;
}

/** One connection under a probe's control. Never throws from its event handlers. */
export class RawSocket {
  /** Received bytes live in one growing buffer (doubling), so `bytes()` is a cheap view. */
  private store: Buffer = Buffer.alloc(0);
  private used = 0;
  private waiters = new Set<() => void>();
  private pendingWrites = new Set<() => void>();
  /** Bytes received so far (also counts bytes beyond the cap that were dropped). */
  receivedBytes = 0;
  /** True once the peer ended or reset the connection (or we destroyed it). */
  ended = false;
  /** When `ended` became true (`performance.now()` ms), for timing reports. */
  endedAt = 0;
  /** True when the read cap was reached. */
  capped = false;
  /** The socket error, if one occurred (ECONNRESET, EPIPE, ...). */
  error: Error | null = null;
  /** Bytes written so far. */
  sentBytes = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly readCap: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.receivedBytes += chunk.length;
      if (this.receivedBytes > this.readCap) {
        this.capped = true;
        this.markEnded();
        socket.destroy();
        return;
      }
      if (this.used + chunk.length > this.store.length) {
        const grown = Buffer.allocUnsafe(
          Math.max(4096, this.store.length * 2, this.used + chunk.length),
        );
        this.store.copy(grown, 0, 0, this.used);
        this.store = grown;
      }
      chunk.copy(this.store, this.used);
      this.used += chunk.length;
      this.notify();
    });
    socket.on('end', () => this.markEnded());
    socket.on('close', () => this.markEnded());
    socket.on('error', (error) => {
      this.error = error;
      this.markEnded();
    });
  }

  /**
   * Connects to the target. Rejects with an `Error` naming the cause when the connection (or
   * the TLS handshake) fails or takes longer than `timeoutMs`.
   */
  static connect(target: AuditTarget, options: RawConnectOptions): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = target.secure
        ? tlsConnect({
            host: target.hostname,
            port: target.port,
            servername: isIpLiteral(target.hostname) ? undefined : target.hostname,
            rejectUnauthorized: !options.insecure,
            ALPNProtocols: ['http/1.1'],
          })
        : netConnect({ host: target.hostname, port: target.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new Error(
            `connecting to ${target.hostname}:${target.port} timed out after ${options.timeoutMs} ms`,
          ),
        );
      }, options.timeoutMs);
      const onError = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`cannot connect to ${target.hostname}:${target.port}: ${error.message}`));
      };
      socket.once('error', onError);
      socket.once(target.secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new RawSocket(socket, options.readCap));
      });
    });
  }

  /** Everything received so far, as a view (valid until more bytes arrive). */
  bytes(): Buffer {
    return this.store.subarray(0, this.used);
  }

  /** Writes bytes as they are; ignored once the connection ended. Resolves when flushed. */
  write(bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const list = bytes instanceof Uint8Array ? [bytes] : bytes;
    if (this.ended || this.socket.destroyed) return Promise.resolve();
    let last: Promise<void> = Promise.resolve();
    for (const chunk of list) {
      this.sentBytes += chunk.length;
      last = new Promise((resolve) => {
        // Resolves on flush, or when the connection ends first (a destroyed socket may never
        // call back).
        const done = (): void => {
          this.pendingWrites.delete(done);
          resolve();
        };
        this.pendingWrites.add(done);
        this.socket.write(chunk, done);
      });
    }
    return last;
  }

  /**
   * Resolves `true` as soon as `condition()` holds (checked now, on every arrival and at the
   * end of the connection), or `false` after `timeoutMs`.
   */
  until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (condition()) finish(true);
        else if (this.ended) finish(condition());
      };
      const finish = (value: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
      if (this.ended) check();
    });
  }

  /** Waits until the connection ended; `false` on timeout. */
  waitEnd(timeoutMs: number): Promise<boolean> {
    return this.until(() => this.ended, timeoutMs);
  }

  /** Destroys the socket (idempotent). */
  destroy(): void {
    this.socket.destroy();
    this.markEnded();
  }

  private markEnded(): void {
    if (!this.ended) {
      this.ended = true;
      this.endedAt = performance.now();
    }
    this.notify();
  }

  private notify(): void {
    if (this.ended) for (const done of [...this.pendingWrites]) done();
    for (const waiter of [...this.waiters]) waiter();
  }
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
