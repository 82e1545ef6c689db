/**
 * SocketDriver: the pump between a Node stream (net.Socket, tls.TLSSocket or any Duplex) and
 * the sans-I/O `Connection`. Bytes read go to the engine; what the engine writes goes to the
 * connection's `Outbox` (outbox.ts), which keeps it in order and batches it: the frames produced
 * while one read is processed leave in one write at the end of the read. The driver also owns
 * the lifecycle: starting and pausing reads, the close timeout, keepalive membership. Its parts
 * live beside it: the contract with its owner (driver-contract.ts), the send gate the owner
 * sends through (send-gate.ts: refusals, the outgoing-buffer cap, write barriers, the held pong),
 * the socket's adoption and listeners (socket-listeners.ts), the TCP close order
 * (transport-close.ts) and the control-frame rate limit (control-rate.ts).
 *
 * Speed: one driver per connection, no closures per connection or per message.
 */
import type { Duplex } from 'node:stream';
import { Connection } from '../protocol/connection.js';
import type { CloseInfo, ConnectionHandler, Role } from '../protocol/connection.js';
import type { Extension } from '../protocol/extensions/extension.js';
import { nodeNet } from './builtins.js';
import { nodePlatform } from './platform.js';
import type { KeepaliveTarget } from './keepalive.js';
import { PauseReason, closedWhileCompressingError, notOpenError } from './driver-contract.js';
import type { DriverConfig, DriverSink } from './driver-contract.js';
import { Outbox } from './outbox.js';
import { closeTransport } from './transport-close.js';
import { admitControlFrame } from './control-rate.js';
import { adoptSocket, listenToData, releaseSocket } from './socket-listeners.js';
import { afterEngineOutput, answerPing, sendHeldPong } from './send-gate.js';

export type { WriteCallback } from './outbox.js';
export { PauseReason, SendBufferFullError } from './driver-contract.js';
export type { DriverOptions, DriverSink } from './driver-contract.js';

const EMPTY = new Uint8Array(0);

function closeTimerFired(driver: SocketDriver): void {
  driver.handleCloseTimeout();
}
function resumeEngine(driver: SocketDriver): void {
  driver.resumeEngine();
}
function startDriver(driver: SocketDriver, head: Uint8Array | undefined): void {
  driver.startReading(head);
}
function rethrow(error: unknown): void {
  throw error;
}

/** Bits of `SocketDriver.bits`. */
const Bit = { Started: 1, SocketClosed: 2, CloseAfterDecode: 4 } as const;

/** Pumps one socket to and from one `Connection`. See the module comment. */
export class SocketDriver implements ConnectionHandler, KeepaliveTarget {
  readonly socket: Duplex;
  readonly conn: Connection;
  /** Final close information once the engine reported it. */
  closeInfo: CloseInfo | null = null;
  /** The first transport error, if any (reported for diagnostics; never thrown). */
  socketError: Error | null = null;
  kaActive = false;
  kaLastSeen = 0;
  kaPingAt = 0;

  private readonly sink: DriverSink;
  /** @internal The connection's ordered outgoing queue (outbox.ts). */
  readonly outbox: Outbox;
  /** Resolved settings, shared by all the drivers of a server (resolveDriverConfig). */
  private readonly config: DriverConfig;
  /** @internal The cap on `bufferedAmount`, read by every send (send-gate.ts). */
  readonly maxBuffered: number;
  /** @internal A fragmented message is being sent (send-gate.ts; written by every send). */
  fragmenting = false;
  /** @internal */
  controlCount = 0;
  /** @internal */
  controlWindowStart = 0;
  private pauseFlags = 0;
  /** Three booleans as bits (Bit), behind the accessors below. */
  private bits = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /**
   * @param config resolved settings (`resolveDriverConfig`), kept by reference: a server passes
   *   one object to all its drivers
   * @param extension the negotiated extension of this connection, if any
   */
  constructor(
    socket: Duplex,
    sink: DriverSink,
    config: DriverConfig,
    extension: Extension | null = null,
  ) {
    this.socket = socket;
    this.sink = sink;
    this.outbox = new Outbox(socket);
    this.config = config;
    this.maxBuffered = config.maxBuffered;
    this.conn = new Connection(
      {
        role: config.role,
        platform: nodePlatform,
        limits: config.limits,
        extension,
        // Pongs are written by the driver so that at most one unflushed pong is ever queued.
        autoPong: false,
        unsafeSkipUtf8Validation: config.skipUtf8,
      },
      this,
    );
    adoptSocket(socket, this);
    if (config.wheel !== null) config.wheel.add(this);
    if (socket.destroyed) {
      this.socketClosed = true;
      queueMicrotask(() => this.handleSocketClose());
    }
  }

  /** Client or server. */
  get role(): Role {
    return this.config.role;
  }
  /** @internal The cap's policy is `'reject'` rather than `'close'` (send-gate.ts). */
  get rejectWhenFull(): boolean {
    return this.config.rejectWhenFull;
  }
  /** @internal The control-frame rate limit (control-rate.ts). */
  get maxControl(): number {
    return this.config.maxControl;
  }
  private get started(): boolean {
    return (this.bits & Bit.Started) !== 0;
  }
  private set started(value: boolean) {
    this.setBit(Bit.Started, value);
  }
  private get socketClosed(): boolean {
    return (this.bits & Bit.SocketClosed) !== 0;
  }
  private set socketClosed(value: boolean) {
    this.setBit(Bit.SocketClosed, value);
  }
  /** The socket is gone and the engine reports its end once decoding is done (handleSocketClose). */
  private get closeAfterDecode(): boolean {
    return (this.bits & Bit.CloseAfterDecode) !== 0;
  }
  private set closeAfterDecode(value: boolean) {
    this.setBit(Bit.CloseAfterDecode, value);
  }
  private setBit(bit: number, value: boolean): void {
    this.bits = value ? this.bits | bit : this.bits & ~bit;
  }

  /**
   * Starts reading so that listeners attached in the 'connection' handler, or right after
   * `await WebSocket.connect()`, see every message.
   *
   * A server connection over TCP or TLS with no byte read past its handshake starts at once:
   * its next bytes come with a later read event, and Node runs the promise reactions of the
   * current callback (the 'connection' handler's) before it delivers another read. Otherwise
   * (bytes already read, a client, an HTTP/2 stream or another stream) the socket is paused
   * and reading starts once the current callbacks and promise reactions have run
   * (setImmediate), `head` (bytes that arrived with the handshake) first.
   */
  start(head?: Uint8Array): void {
    const socket = this.socket;
    if (
      this.config.role === 'server' &&
      (head === undefined || head.length === 0) &&
      socket.readableLength === 0 &&
      socket instanceof nodeNet.Socket
    ) {
      // No setImmediate, and when the socket is still flowing (the front handed it over in
      // its read) no pause and resume either (issue #12, connect storm).
      this.startReading(undefined);
      return;
    }
    socket.pause();
    setImmediate(startDriver, this, head);
  }

  /** @internal */
  startReading(head: Uint8Array | undefined): void {
    if (this.started || this.socketClosed) return;
    this.started = true;
    if (head !== undefined && head.length > 0) this.handleData(head);
    listenToData(this.socket);
    if ((this.pauseFlags & PauseReason.Engine) === 0 || this.conn.state === 'closed') {
      this.socket.resume();
    } else {
      this.socket.pause();
    }
  }

  /**
   * Exact number of bytes accepted by `send` and not yet handed to the kernel: the socket's
   * buffer, the engine's backlog (async extension) and the outbox (frames, held pong).
   */
  get bufferedAmount(): number {
    return this.socket.writableLength + this.conn.pendingBytes + this.outbox.size;
  }

  /** Whether reading is paused for any reason. */
  get isPaused(): boolean {
    return this.pauseFlags !== 0;
  }

  /**
   * Sets or clears one pause reason (`PauseReason`). The consumer's reasons (all but `Engine`)
   * pause the engine between messages (`Connection.pause`): no message is delivered, control
   * frames ahead of the next data frame are still processed, and the engine reports `Engine`
   * once it holds a data frame. Only `Engine` pauses the socket. Resuming the engine waits for
   * the next tick, so no message is delivered from inside `resume()`.
   */
  setPaused(reason: number, paused: boolean): void {
    const before = this.pauseFlags;
    const after = (this.pauseFlags = paused ? before | reason : before & ~reason);
    // ---- engine pause (consumer reasons) ----
    if (reason !== PauseReason.Engine) {
      if ((after & ~PauseReason.Engine) !== 0) this.conn.pause();
      else if ((before & ~PauseReason.Engine) !== 0) process.nextTick(resumeEngine, this);
      return;
    }
    // ---- socket pause (the engine holds input) ----
    if (!this.started || this.socketClosed || before === after) return;
    if (this.conn.state === 'closed') return;
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  /** @internal */
  resumeEngine(): void {
    if ((this.pauseFlags & ~PauseReason.Engine) === 0) this.conn.resume();
  }

  /**
   * Starts the closing handshake (§7.1.2) and the close timeout.
   * @throws UsageError for an invalid code or a reason over 123 bytes.
   */
  close(code?: number, reason?: string | Uint8Array): void {
    if (this.conn.state !== 'open') return;
    this.conn.close(code, reason);
    // The Close frame leaves now, not at the end of the tick: bufferedAmount right after close()
    // is then what the kernel did not take (ws's value, usually 0). Once per connection.
    if (!this.outbox.reading) this.outbox.flush();
    if ((this.conn.state as string) === 'closing' && this.timer === null) {
      this.timer = setTimeout(closeTimerFired, this.config.closeTimeout, this);
    }
  }

  /** Ends the connection at once without a Close frame (local 1006) and destroys the socket. */
  terminate(): void {
    if (this.closeInfo === null) this.conn.abort();
    this.socket.destroy();
  }

  // ---- ConnectionHandler -------------------------------------------------------------------

  onMessage(data: Uint8Array | Uint8Array[], isBinary: boolean): void {
    try {
      this.sink.driverMessage(data, isBinary);
    } catch (error) {
      // A throwing user listener must not corrupt the engine mid-parse: rethrow it outside.
      process.nextTick(rethrow, error);
    }
  }

  onPing(payload: Uint8Array): void {
    if (!admitControlFrame(this)) return;
    if (this.config.autoPong && this.conn.state !== 'closed') answerPing(this, payload);
    try {
      this.sink.driverPing(payload);
    } catch (error) {
      process.nextTick(rethrow, error);
    }
  }

  onPong(payload: Uint8Array): void {
    if (!admitControlFrame(this)) return;
    try {
      this.sink.driverPong(payload);
    } catch (error) {
      process.nextTick(rethrow, error);
    }
  }

  onWrite(bytes: Uint8Array): void {
    this.outbox.bytes(bytes);
    if (this.outbox.hasParked) afterEngineOutput(this, -1);
  }

  writeFrame(
    fin: boolean,
    rsv: number,
    opcode: number,
    payload: Uint8Array,
    mask: Uint8Array | null,
  ): boolean {
    this.outbox.frame(fin, rsv, opcode, payload, mask);
    if (this.outbox.hasParked) afterEngineOutput(this, opcode);
    return true;
  }

  onReadPause(paused: boolean): void {
    this.setPaused(PauseReason.Engine, paused);
  }

  onClose(info: CloseInfo): void {
    this.closeInfo = info;
    this.outbox.takePong();
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.config.wheel !== null) this.config.wheel.delete(this);
    try {
      this.sink.driverClosing(info);
    } catch (error) {
      process.nextTick(rethrow, error);
    }
    if (this.closeAfterDecode) {
      // The socket closed while the engine was still decoding what arrived before the end.
      this.closeAfterDecode = false;
      this.sink.driverClosed(info);
      return;
    }
    const socket = this.socket;
    if (this.socketClosed || socket.destroyed) return;
    if (info.code === 1006 && !info.wasClean) {
      // Sends still waiting for the compressor get ws's wording for that case.
      this.outbox.drop(notOpenError, closedWhileCompressingError);
    } else {
      // Our Close frame (or reply) may still be in the outbox: it goes before the FIN.
      this.outbox.flush();
    }
    // Waiting for the peer's FIN is bounded by the close timeout.
    if (closeTransport(socket, this.role, info, this.started, this.bufferedAmount === 0)) {
      this.timer = setTimeout(closeTimerFired, this.config.closeTimeout, this);
    }
  }

  // ---- socket events (shared listeners) -----------------------------------------------------

  /**
   * @internal SocketEventHandler (socket-listeners.ts): one read; everything it makes the
   * engine write leaves in one write at its end.
   */
  handleData(chunk: Uint8Array): void {
    this.kaActive = true;
    const outbox = this.outbox;
    if (outbox.reading) {
      this.conn.receiveData(chunk);
      return;
    }
    outbox.reading = true;
    try {
      this.conn.receiveData(chunk);
    } finally {
      outbox.reading = false;
      outbox.flush();
    }
  }

  /** @internal SocketEventHandler: the socket's 'end'. */
  handleEnd(): void {
    if (this.closeInfo === null) this.conn.receiveEof();
    else if (!this.socket.writableEnded) this.socket.end();
  }

  /** @internal SocketEventHandler: the socket's 'error'. */
  handleError(error: Error): void {
    if (this.socketError === null) this.socketError = error;
    if (this.closeInfo === null) this.conn.receiveEof();
    this.socket.destroy();
  }

  /** @internal SocketEventHandler: the socket's 'drain'. */
  handleDrain(): void {
    sendHeldPong(this);
  }

  /** @internal */
  handleCloseTimeout(): void {
    this.timer = null;
    this.terminate();
  }

  /** @internal SocketEventHandler: the socket's 'close'. */
  handleSocketClose(): void {
    if (!releaseSocket(this.socket, this)) return;
    this.socketClosed = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.config.wheel !== null) this.config.wheel.delete(this);
    if (this.closeInfo === null) this.conn.receiveEof();
    // Callbacks parked behind the compressor get ws's wording for this case.
    this.outbox.drop(notOpenError, closedWhileCompressingError);
    if (this.closeInfo === null && this.conn.endPending) {
      // Messages that arrived before the end are still being decoded: they are delivered
      // first, and `onClose` reports the end (bounded by the close timeout).
      this.closeAfterDecode = true;
      this.timer = setTimeout(closeTimerFired, this.config.closeTimeout, this);
      return;
    }
    this.sink.driverClosed(this.closeInfo ?? { code: 1006, reason: '', wasClean: false });
  }

  // ---- KeepaliveTarget ----------------------------------------------------------------------

  keepalivePing(): void {
    if (this.conn.state !== 'open') return;
    this.conn.ping(EMPTY);
  }

  keepaliveExpired(): void {
    this.terminate();
  }
}
