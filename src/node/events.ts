/**
 * WHATWG-style event objects for the `addEventListener` / `onmessage` members of `WebSocket`
 * (HTML Living Standard, "The WebSocket interface"). Plain classes: they are only created when
 * a WHATWG listener is registered, never on the ws-style `on('message')` path.
 */

/** Base event: `type` and `target`, like DOM `Event` (no bubbling or capture). */
export class WsEvent {
  /** The event name: `open`, `message`, `close` or `error`. */
  readonly type: string;
  /** The `WebSocket` the event belongs to. */
  readonly target: unknown;
  constructor(type: string, target: unknown) {
    this.type = type;
    this.target = target;
  }
}

/**
 * A received message. `data` is a string for a text message (as in browsers and ws), and for a
 * binary message follows the socket's `binaryType` (Buffer, ArrayBuffer, Buffer[] or Blob).
 */
export class MessageEvent extends WsEvent {
  readonly data: unknown;
  constructor(target: unknown, data: unknown) {
    super('message', target);
    this.data = data;
  }
}

/** The connection closed. `wasClean` is true when both Close frames were exchanged (§7.1.4). */
export class CloseEvent extends WsEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(target: unknown, code: number, reason: string, wasClean: boolean) {
    super('close', target);
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
  }
}

/** An error was reported; `error` is the `Error`, `message` its message. */
export class ErrorEvent extends WsEvent {
  readonly error: unknown;
  readonly message: string;
  constructor(target: unknown, error: unknown) {
    super('error', target);
    this.error = error;
    this.message = error instanceof Error ? error.message : String(error);
  }
}

/** A listener as accepted by `addEventListener`: a function or an object with `handleEvent`. */
export type EventListenerLike = ((event: any) => void) | { handleEvent(event: any): void };
