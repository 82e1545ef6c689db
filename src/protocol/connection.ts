/**
 * Connection: the sans-I/O WebSocket engine for one connection after the opening handshake.
 * Bytes in (`receiveData`), events and bytes out (the `ConnectionHandler`). No sockets, no
 * timers: the adapter owns those and calls in.
 */
import type { Extension } from './extensions/extension.js';
import type { Limits } from './limits.js';
import type { Platform } from './platform.js';
import type { ProtocolError, ProtocolViolationCode } from './errors.js';

export type Role = 'server' | 'client';

/** The WebSocket-level state (§4.1, §7). `closing`: we sent a Close and wait for the peer's. */
export type ConnectionState = 'open' | 'closing' | 'closed';

/** How the WebSocket connection ended. */
export interface CloseInfo {
  /**
   * The code of the peer's Close frame (1005 if it carried none); the code we sent when we
   * failed the connection; 1006 when the transport ended without a Close frame.
   */
  code: number;
  /** The reason of the peer's Close frame, or '' (decoded UTF-8). */
  reason: string;
  /** True when both Close frames were exchanged (§7.1.4 "cleanly"). */
  wasClean: boolean;
  /** The violation that made us fail the connection, if any. */
  error?: ProtocolError;
}

/**
 * What the engine tells its adapter. Called synchronously from the engine's methods (or from an
 * extension's callback). Handlers must not throw.
 */
export interface ConnectionHandler {
  /**
   * A complete message. `data` is a view for a message that arrived in one part, or a list of
   * views (in order) for a message assembled from several parts. The views point into buffers
   * the engine owns (received bytes it unmasked in place); the adapter may keep them.
   */
  onMessage(data: Uint8Array | Uint8Array[], isBinary: boolean): void;
  /** A ping arrived; when `autoPong` is on (default) the pong has already been written. */
  onPing(payload: Uint8Array): void;
  /** A pong arrived (solicited or not, §5.5.3). */
  onPong(payload: Uint8Array): void;
  /** Bytes to write to the transport, in order. Ownership passes to the adapter. */
  onWrite(bytes: Uint8Array): void;
  /**
   * The WebSocket connection is closed (state is now `closed`). The adapter then ends the
   * transport: a server closes TCP at once (§7.1.1); a client waits (briefly) for the server to
   * close it, and closes it itself on failure or timeout.
   */
  onClose(info: CloseInfo): void;
  /**
   * Flow control: `true` when the engine holds received input while an extension transform
   * is running (the adapter should pause reading), `false` when it can take more.
   */
  onReadPause?(paused: boolean): void;
}

export interface ConnectionOptions {
  role: Role;
  platform: Platform;
  /** See `Limits`; defaults from `resolveLimits()`. */
  limits?: Partial<Limits>;
  /** The negotiated extension (claims RSV1), if any. */
  extension?: Extension | null;
  /** Answer pings with pongs automatically (default true). */
  autoPong?: boolean;
  /** Skip UTF-8 validation of text messages and close reasons. Unsafe; default false. */
  unsafeSkipUtf8Validation?: boolean;
}
export type { ProtocolViolationCode };
