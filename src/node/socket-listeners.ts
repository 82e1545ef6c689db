/**
 * The socket side of every driven connection: how a driver takes its socket over, and the
 * socket listeners, one set of functions shared by all sockets (no closure per connection),
 * each finding its driver through a symbol on the socket.
 */
import type { Duplex } from 'node:stream';

/** What a driver handles of its socket's events. */
export interface SocketEventHandler {
  handleData(chunk: Uint8Array): void;
  handleEnd(): void;
  handleError(error: Error): void;
  handleSocketClose(): void;
  handleDrain(): void;
}

const kDriver = Symbol('ironsock.driver');
type DrivenSocket = Duplex & { [kDriver]?: SocketEventHandler };

function socketOnData(this: DrivenSocket, chunk: Buffer): void {
  this[kDriver]?.handleData(chunk);
}
function socketOnEnd(this: DrivenSocket): void {
  this[kDriver]?.handleEnd();
}
function socketOnError(this: DrivenSocket, error: Error): void {
  this[kDriver]?.handleError(error);
}
function socketOnClose(this: DrivenSocket): void {
  this[kDriver]?.handleSocketClose();
}
function socketOnDrain(this: DrivenSocket): void {
  this[kDriver]?.handleDrain();
}

/**
 * Takes `socket` over for `handler`: routes its end, error, close and drain events to it (from
 * now on a socket error is never unhandled, checklist R8, until the socket is gone), turns off
 * Nagle's delay (every write is a finished batch of frames) and the idle timeout (the driver
 * keeps its own timers). Reading is left as it is: the driver's `start` decides when it
 * begins, once the owner's listeners can exist.
 */
export function adoptSocket(socket: Duplex, handler: SocketEventHandler): void {
  (socket as DrivenSocket)[kDriver] = handler;
  socket.on('error', socketOnError);
  socket.on('end', socketOnEnd);
  socket.on('close', socketOnClose);
  socket.on('drain', socketOnDrain);
  const net = socket as Duplex & {
    setNoDelay?(noDelay: boolean): void;
    setTimeout?(ms: number): void;
    timeout?: number;
  };
  net.setNoDelay?.(true);
  // `timeout` is undefined until a timeout is set (Node's documented meaning): then there is
  // none to turn off, and the socket gets no `timeout` property (memory per connection).
  if (net.timeout !== undefined && net.timeout !== 0) net.setTimeout?.(0);
}

/** Routes the socket's data too (reading starts once the owner's listeners exist). */
export function listenToData(socket: Duplex): void {
  socket.on('data', socketOnData);
}

/**
 * Detaches `handler` from its closed socket: true the first time, false when the socket was
 * already released or belongs to another handler (its events must not reach this one twice).
 */
export function releaseSocket(socket: Duplex, handler: SocketEventHandler): boolean {
  const driven = socket as DrivenSocket;
  if (driven[kDriver] !== handler) return false;
  driven[kDriver] = undefined;
  return true;
}
