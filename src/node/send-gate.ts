/**
 * The send gate of a driven connection: what the owner may send now, what waits, and what is
 * refused. Everything the owner sends (`send`, `ping`, `pong`, broadcast frames, write
 * barriers) passes here on its way to the engine and the outbox, and so does the automatic pong:
 *
 * - a send on a connection that is not open is refused (its callback gets NOT_OPEN);
 * - the outgoing-buffer cap (`maxBufferedAmount`) and its policy: a send is refused once the
 *   backlog is already at the cap, so the backlog never exceeds the cap plus one message, and
 *   one message larger than the cap still goes out onto a smaller backlog. Under `'close'` the
 *   connection fails with SEND_BUFFER_FULL (1008) and the socket is destroyed; under `'reject'`
 *   the send's callback gets `SendBufferFullError` (thrown without a callback) and the
 *   connection stays open (checklist R4: a slow reader cannot make us buffer without bound);
 * - write barriers (`cb` of a send, `await ws.send()`) wait behind the engine's backlog
 *   (messages still in the compressor), then join the outbox;
 * - the automatic pong while the socket needs drain: one replaceable slot in the outbox,
 *   written on 'drain' (§5.5.3: only the newest ping needs an answer).
 *
 * Speed: functions over the driver's own fields (`SendSide`), no object per connection; the
 * checks on the hot path are two comparisons.
 */
import type { Duplex } from 'node:stream';
import type { Connection } from '../protocol/connection.js';
import { Opcode } from '../protocol/codes.js';
import { UsageError } from '../protocol/errors.js';
import {
  SendBufferFullError,
  closedWhileCompressingError,
  notOpenError,
} from './driver-contract.js';
import type { Outbox, WriteCallback } from './outbox.js';

/** What the gate reads and writes of a driver (its fields: the gate keeps no state of its own). */
export interface SendSide {
  readonly socket: Duplex;
  readonly conn: Connection;
  readonly outbox: Outbox;
  /** Bytes accepted and not yet handed to the kernel (socket, engine backlog, outbox). */
  readonly bufferedAmount: number;
  /** The cap on `bufferedAmount` (`Infinity`: none). */
  readonly maxBuffered: number;
  /** The cap's policy is `'reject'` (refuse the send) rather than `'close'` (fail the connection). */
  readonly rejectWhenFull: boolean;
  /** The last data frame sent had `fin` false: a whole message may not go in between. */
  fragmenting: boolean;
}

/**
 * Sends a message (or a fragment with `fin` false). `cb` runs once the bytes reached the
 * kernel, or with an error (not open; `SendBufferFullError` under the cap). Ownership of
 * `data`: see `WebSocket.send`.
 * @throws UsageError from the engine on misuse; SendBufferFullError with the `'reject'`
 *   policy when no callback is given.
 */
export function sendMessage(
  side: SendSide,
  data: Uint8Array,
  isBinary: boolean,
  fin: boolean,
  compress: boolean,
  cb?: WriteCallback,
): void {
  if (!admitSend(side, cb)) return;
  side.fragmenting = !fin;
  side.conn.send(data, isBinary, fin, compress);
  if (cb !== undefined) whenWritten(side, cb);
}

/**
 * Sends a ping, or a pong when `isPing` is false (payload <= 125 bytes); refusals as
 * `sendMessage`. @throws UsageError on misuse.
 */
export function sendControl(
  side: SendSide,
  isPing: boolean,
  payload: Uint8Array,
  cb?: WriteCallback,
): void {
  if (!admitSend(side, cb)) return;
  if (isPing) side.conn.ping(payload);
  else side.conn.pong(payload);
  if (cb !== undefined) whenWritten(side, cb);
}

/**
 * Calls `cb` once everything sent so far (including messages still in the compressor) has
 * been handed to the kernel: a write barrier, used by `await ws.send(...)`.
 */
export function whenWritten(side: SendSide, cb: WriteCallback): void {
  if (side.conn.pendingBytes > 0) side.outbox.park(cb);
  else side.outbox.barrier(cb, notOpenError);
}

/**
 * Writes an already-encoded server frame (broadcast fan-out), by reference. Returns false,
 * writing nothing, when the connection is not open, in the middle of a fragmented send, or
 * at the cap (which fails the connection under the `'close'` policy). While the engine has a
 * backlog the message is sent through the engine instead, to keep order.
 */
export function writeEncoded(
  side: SendSide,
  frame: Uint8Array,
  payload: Uint8Array,
  isBinary: boolean,
): boolean {
  if (side.conn.state !== 'open' || side.fragmenting || side.socket.destroyed) return false;
  if (side.bufferedAmount >= side.maxBuffered) {
    if (!side.rejectWhenFull) failBufferFull(side);
    return false;
  }
  if (side.conn.pendingBytes > 0) side.conn.send(payload, isBinary, true, false);
  else side.outbox.bytes(frame);
  return true;
}

/**
 * Answers a ping automatically (§5.5.2, also after our own Close until the peer's arrives). If
 * the socket is backed up the pong waits in the outbox's slot, replacing an older one (§5.5.3),
 * until 'drain' (`sendHeldPong`): at most one unflushed automatic pong per connection.
 */
export function answerPing(side: SendSide, payload: Uint8Array): void {
  if (side.socket.writableNeedDrain) side.outbox.setPong(payload);
  else side.conn.answerPing(payload);
}

/** The socket drained: the pong held by `answerPing`, if any, leaves now. */
export function sendHeldPong(side: SendSide): void {
  const pong = side.outbox.takePong();
  if (pong !== null) side.conn.answerPing(pong);
}

/**
 * The engine wrote a frame (`opcode`, or -1 for bytes) while barriers were parked behind its
 * backlog: once that backlog is written they join the outbox behind it. A Close written while
 * the engine is still `open` comes from `fail()`, which dropped the backlog: those barriers
 * fail instead (their messages never left).
 */
export function afterEngineOutput(side: SendSide, opcode: number): void {
  if (side.conn.pendingBytes > 0) return;
  if (opcode === Opcode.Close && side.conn.state === 'open') {
    side.outbox.failParked(
      new UsageError('NOT_OPEN', 'the connection failed before the message was sent'),
    );
  } else {
    // They waited for the compressor; if the socket went away meanwhile, ws's wording.
    side.outbox.unpark(closedWhileCompressingError);
  }
}

/** Whether a send may go ahead: the connection is open and the backlog is below the cap. */
function admitSend(side: SendSide, cb: WriteCallback | undefined): boolean {
  if (side.conn.state !== 'open') {
    if (cb !== undefined) process.nextTick(cb, notOpenError());
    return false;
  }
  // Refused only once the backlog is already at the cap: it never exceeds the cap plus one
  // message, and one message larger than the cap still goes out onto a smaller backlog.
  if (side.bufferedAmount < side.maxBuffered) return true;
  const error = new SendBufferFullError();
  if (side.rejectWhenFull) {
    if (cb === undefined) throw error;
  } else {
    failBufferFull(side);
  }
  if (cb !== undefined) process.nextTick(cb, error);
  return false;
}

/** The `'close'` policy: fails the connection (1008) and destroys the socket. */
function failBufferFull(side: SendSide): void {
  if (side.conn.state !== 'closed') side.conn.fail('SEND_BUFFER_FULL');
  // The socket is backed up: the Close frame would wait behind the backlog. Drop it all.
  side.outbox.drop(notOpenError);
  side.socket.destroy();
}
