/**
 * What a `SocketDriver` (socket-driver.ts) promises its owner and asks of it: the options of one
 * driven connection and their resolved, shared form, the sink it reports to, the reasons reading
 * may be paused, and the errors a send can end with.
 */
import type { CloseInfo, Role } from '../protocol/connection.js';
import type { Limits } from '../protocol/limits.js';
import { UsageError } from '../protocol/errors.js';
import type { KeepaliveWheel } from './keepalive.js';
import type { BufferedAmountPolicy } from './limits.js';
import {
  DEFAULT_BUFFERED_AMOUNT_POLICY,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_BUFFERED_AMOUNT,
  DEFAULT_MAX_CONTROL_FRAMES_PER_WINDOW,
} from './limits.js';

/** A send was refused because the connection's outgoing backlog is at `maxBufferedAmount`. */
export class SendBufferFullError extends Error {
  readonly code = 'SEND_BUFFER_FULL';
  constructor(message = 'outgoing buffer limit (maxBufferedAmount) exceeded') {
    super(message);
    this.name = 'SendBufferFullError';
  }
}

/** What the driver reports to its owner (the `WebSocket`). Implementations must not throw. */
export interface DriverSink {
  driverMessage(data: Uint8Array | Uint8Array[], isBinary: boolean): void;
  driverPing(payload: Uint8Array): void;
  driverPong(payload: Uint8Array): void;
  /** The WebSocket connection is closed (Close frames exchanged, failed, or transport lost). */
  driverClosing(info: CloseInfo): void;
  /** The transport is closed too; `info` is the final close information. */
  driverClosed(info: CloseInfo): void;
}

/** Options of one driven connection. Durations in ms, sizes in bytes. */
export interface DriverOptions {
  role: Role;
  /** Engine limits (maxPayload ...), see `src/protocol/limits.ts`. */
  limits?: Partial<Limits>;
  /** Answer pings automatically (default true). At most one unflushed automatic pong is kept. */
  autoPong?: boolean;
  /** Skip UTF-8 validation of text (unsafe, default false). */
  unsafeSkipUtf8Validation?: boolean;
  /** Wait for the peer's Close (and, after the close, for its FIN) this long. Default 10 s. */
  closeTimeout?: number;
  /** Outgoing buffer cap (`bufferedAmount`), default 1 MiB; `Infinity` disables it. */
  maxBufferedAmount?: number;
  /** What to do when a send would pass the cap. Default `'close'`. */
  bufferedAmountPolicy?: BufferedAmountPolicy;
  /** Control frames accepted per second before CONTROL_FLOOD (1008). Default 256. */
  maxControlFramesPerSecond?: number;
  /** Shared keepalive wheel, or null. */
  keepalive?: KeepaliveWheel | null;
}

/** Reasons reading may be paused; reading resumes when none is left. */
export const PauseReason = { User: 1, Engine: 2, Iterator: 4, Stream: 8 } as const;

/** The error of a send, ping or pong made when the connection is not open (ws's wording). */
export function notOpenError(): UsageError {
  return new UsageError('NOT_OPEN', 'WebSocket is not open');
}

/** The error of a send still being compressed when the socket went away (ws's wording). */
export function closedWhileCompressingError(): Error {
  return new Error('The socket was closed while data was being compressed');
}

/**
 * The settings of a driven connection, resolved from its `DriverOptions`. A server resolves them
 * once and every one of its drivers shares the object: five fields fewer per connection (the
 * cap on `bufferedAmount`, read by every send, stays a field of the driver).
 */
export interface DriverConfig {
  readonly role: Role;
  readonly autoPong: boolean;
  readonly closeTimeout: number;
  readonly maxBuffered: number;
  readonly rejectWhenFull: boolean;
  readonly maxControl: number;
  readonly wheel: KeepaliveWheel | null;
  readonly limits: Partial<Limits> | undefined;
  readonly skipUtf8: boolean;
}

/** The settings `options` give, defaults filled in (read now: later changes are not seen). */
export function resolveDriverConfig(options: DriverOptions): DriverConfig {
  return {
    role: options.role,
    autoPong: options.autoPong ?? true,
    closeTimeout: options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT_MS,
    maxBuffered: options.maxBufferedAmount ?? DEFAULT_MAX_BUFFERED_AMOUNT,
    rejectWhenFull: (options.bufferedAmountPolicy ?? DEFAULT_BUFFERED_AMOUNT_POLICY) === 'reject',
    maxControl: options.maxControlFramesPerSecond ?? DEFAULT_MAX_CONTROL_FRAMES_PER_WINDOW,
    wheel: options.keepalive ?? null,
    limits: options.limits,
    skipUtf8: options.unsafeSkipUtf8Validation ?? false,
  };
}
