/**
 * Outbox: the one ordered queue of outgoing bytes of a connection (see "Output order" in
 * docs/design.md). Everything a connection writes passes through it, in the order the engine
 * and the driver produced it:
 *
 * - small frames (up to `SMALL_FRAME` payload bytes), encoded in place into a region borrowed
 *   from the process-wide arena: one copy of the payload, no allocation per frame;
 * - larger buffers appended by reference (the payload of a large unmasked frame, behind its
 *   header in the arena; a broadcast frame);
 * - barriers: a callback as a zero-byte entry, called once everything before it was handed to
 *   the kernel (`send(data, cb)`, `await ws.send()`);
 * - the pending automatic pong, one replaceable slot (§5.5.3: only the newest ping needs an
 *   answer) kept while the socket is backed up.
 *
 * `flush` writes the queue in order: one `write` for a single region (the common case: every
 * frame produced while one read was processed), otherwise one `writev` (cork, writes, uncork).
 * Frames appended during a read are flushed at the end of the read; frames appended outside a
 * read at the end of the current tick, so a burst of sends leaves as one write.
 */
import { nodeNet } from './builtins.js';
import type { Duplex } from 'node:stream';
import { encodeFrameInto, headerSize, writeHeaderFields } from '../protocol/frame.js';
import { UsageError } from '../protocol/errors.js';

/** Callback of a write: called once the bytes were handed to the kernel, or with an error. */
export type WriteCallback = (error?: Error | null) => void;

/** Frames with payloads up to this size are copied into the arena; larger ones are referenced. */
export const SMALL_FRAME = 16 * 1024;
const ARENA_SIZE = 256 * 1024;
/** The byte a released region is filled with in the poisoning debug mode. */
export const POISON_BYTE = 0xdb;
const EMPTY = Buffer.alloc(0);

/**
 * One arena buffer. Regions are handed out at `used` (a bump allocator); `open` counts regions
 * handed out and not yet known to be written. When it falls to 0 every byte before `used` is
 * free again and the arena starts over at 0; a region written synchronously at the end of the
 * arena gives its bytes back at once. When full, the arena is replaced (the old one lives as
 * long as writes still use it).
 */
class ArenaBlock {
  readonly buffer = Buffer.allocUnsafeSlow(ARENA_SIZE);
  used = 0;
  open = 0;
  /** Releases one region; the write callback of a region that was not written synchronously. */
  readonly release = (): void => releaseRegions(this, 1);
}

/** The arena of plain TCP sockets, whose regions are reused once written. */
let shared = new ArenaBlock();
/**
 * The arena of other streams (TLS, user streams), which may keep a reference to a written chunk:
 * their regions are never reused, the arena is only replaced when full.
 */
let kept = new ArenaBlock();

let poisoning = process.env.IRONSOCK_POISON_ARENA === '1';

/**
 * Debug mode (`IRONSOCK_POISON_ARENA=1`, or this call): every arena region is filled with
 * `POISON_BYTE` before it is reused, so a region reused while a write still needs it shows up
 * as garbage on the wire instead of as another connection's bytes. @internal
 */
export function setArenaPoisoning(on: boolean): void {
  poisoning = on;
}

function releaseRegions(block: ArenaBlock, count: number): void {
  block.open -= count;
  if (block.open === 0 && block === shared) {
    if (poisoning) block.buffer.fill(POISON_BYTE, 0, block.used);
    block.used = 0;
  }
}

/** Releases the region [start, end), written synchronously: at the arena's end it is reused now. */
function releaseWritten(block: ArenaBlock, start: number, end: number): void {
  if (block.used === end && block.open > 1) {
    if (poisoning) block.buffer.fill(POISON_BYTE, start, end);
    block.used = start;
  }
  releaseRegions(block, 1);
}

/** Whether `bytes` is a region of the shared arena. */
function isSharedRegion(bytes: Uint8Array): boolean {
  return bytes.buffer === shared.buffer.buffer;
}

/**
 * `cb` as a write callback that tells a write cut by the connection's failure from a completed
 * one. Node calls back without an error when the socket was destroyed while the write was in
 * flight (a reset while the kernel's buffer was full, say): that write never reached the
 * kernel, and a reset discards what the kernel still held, so it gets the socket's error.
 */
function confirmWrite(socket: Duplex, cb: WriteCallback): WriteCallback {
  return (error) => {
    if (error == null && socket.destroyed && socket.errored !== null) cb(socket.errored);
    else cb(error);
  };
}

function flushTick(outbox: Outbox): void {
  outbox.scheduled = false;
  outbox.flush();
}

/** Calls every callback of a list with the same error. */
function callAll(callbacks: WriteCallback[], error: Error): void {
  for (const cb of callbacks) cb(error);
}

/** The ordered outbox of one connection. See the module comment. */
export class Outbox {
  /** Bytes queued here (frames, buffers and the pong slot), not yet given to the socket. */
  size = 0;
  /** A read is being processed: the driver flushes at its end, no tick is needed. */
  reading = false;
  /** A flush is scheduled for the end of the tick. @internal */
  scheduled = false;
  private readonly socket: Duplex;
  /** Whether a completed write proves the socket no longer needs the bytes (plain TCP). */
  private readonly reuses: boolean;
  /** Closed entries in order: buffers and barriers. The open region (if any) follows them. */
  private items: (Uint8Array | WriteCallback)[] | null = null;
  /** The open region: [regionStart, regionEnd) of `regionBlock`, growable while at its end. */
  private regionBlock: ArenaBlock | null = null;
  private regionStart = 0;
  private regionEnd = 0;
  /** The pending automatic pong (payload), replaced by each newer one. */
  private pong: Uint8Array | null = null;
  /** Barriers waiting for the engine's backlog (messages still in the compressor). */
  private parked: WriteCallback[] | null = null;

  constructor(socket: Duplex) {
    this.socket = socket;
    // Only a plain TCP/IPC socket copies the bytes into the kernel during a synchronous write
    // and calls back only once it is done with them; TLS or a user stream (PassThrough ...)
    // may keep a reference to the chunk.
    this.reuses = Object.getPrototypeOf(socket) === nodeNet.Socket.prototype;
  }

  /** Nothing is queued (the pong slot aside). */
  get empty(): boolean {
    return this.regionBlock === null && this.items === null;
  }

  /** Whether barriers wait for the engine's backlog. */
  get hasParked(): boolean {
    return this.parked !== null;
  }

  /**
   * Appends one frame. A small payload is encoded into the arena; a larger unmasked payload is
   * appended by reference behind its header (the caller must not modify it until written); a
   * larger masked payload is masked into a buffer of its own.
   */
  frame(
    fin: boolean,
    rsv: number,
    opcode: number,
    payload: Uint8Array,
    mask: Uint8Array | null,
  ): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    const length = payload.length;
    const header = headerSize(length, mask !== null);
    if (length <= SMALL_FRAME) {
      const block = this.claim(header + length);
      const end = encodeFrameInto(block.buffer, this.regionEnd, fin, rsv, opcode, payload, mask);
      this.regionEnd = block.used = end;
      this.size += header + length;
    } else if (mask === null) {
      const block = this.claim(header);
      const end = writeHeaderFields(block.buffer, this.regionEnd, fin, rsv, opcode, length, null);
      this.regionEnd = block.used = end;
      this.size += header;
      this.push(payload);
    } else {
      // A large client frame: masking needs a copy anyway (the caller's memory is never modified).
      const out = Buffer.allocUnsafe(header + length);
      encodeFrameInto(out, 0, fin, rsv, opcode, payload, mask);
      this.push(out);
    }
    this.schedule();
  }

  /**
   * Appends bytes by reference (the caller must not modify them until written). With nothing
   * queued and no read in progress they are written at once (broadcast: no tick per socket).
   */
  bytes(bytes: Uint8Array): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    if (this.empty && !this.reading) {
      socket.write(bytes);
      return;
    }
    this.push(bytes);
    this.schedule();
  }

  /**
   * Appends a barrier: `cb` runs once everything queued before it was handed to the kernel, or
   * with `error()` when the connection is gone first.
   */
  barrier(cb: WriteCallback, error: () => Error): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) {
      process.nextTick(cb, error());
      return;
    }
    const confirmed = confirmWrite(socket, cb);
    if (this.empty) {
      // Nothing of ours is ahead: the socket completes its writes in order.
      socket.write(EMPTY, confirmed);
      return;
    }
    this.closeRegion();
    (this.items ??= []).push(confirmed);
    this.schedule();
  }

  /** Keeps a barrier until the engine's backlog is written (`unpark`) or dropped. */
  park(cb: WriteCallback): void {
    (this.parked ??= []).push(cb);
  }

  /** The engine's backlog is written: parked barriers join the queue behind it. */
  unpark(error: () => Error): void {
    const parked = this.parked;
    this.parked = null;
    if (parked !== null) for (const cb of parked) this.barrier(cb, error);
  }

  /** Keeps `payload` as the pending pong, replacing an older one. */
  setPong(payload: Uint8Array): void {
    if (this.pong !== null) this.size -= this.pong.length + 2;
    // Its own copy: the view the engine handed over may not outlive the call.
    this.pong = Buffer.from(payload);
    this.size += payload.length + 2;
  }

  /** Takes the pending pong (null if none). */
  takePong(): Uint8Array | null {
    const pong = this.pong;
    if (pong !== null) {
      this.pong = null;
      this.size -= pong.length + 2;
    }
    return pong;
  }

  /** Writes everything queued, in order, with one write (one region) or one writev. */
  flush(): void {
    const block = this.regionBlock;
    const items = this.items;
    if (items === null && block === null) return;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) {
      this.drop(socketGone);
      return;
    }
    if (items === null) {
      // The common case: the frames of one read or one tick, in one region.
      this.regionBlock = null;
      this.writeRegion(block as ArenaBlock, this.regionStart, this.regionEnd);
      return;
    }
    this.closeRegion();
    this.items = null;
    this.size = this.pong === null ? 0 : this.pong.length + 2;
    socket.cork();
    for (const item of items) {
      if (typeof item === 'function') socket.write(EMPTY, item);
      else socket.write(item);
    }
    socket.uncork();
    if (!this.reuses) return;
    let regions = 0;
    for (const item of items) if (typeof item !== 'function' && isSharedRegion(item)) regions++;
    if (regions === 0) return;
    if (socket.writableLength === 0) {
      releaseRegions(shared, regions);
    } else {
      // Still queued in the socket: each region is released when the writes complete.
      for (let i = 0; i < regions; i++) socket.write(EMPTY, shared.release);
    }
  }

  /**
   * Forgets everything queued (the connection is being torn down): the arena regions are
   * released, queued barriers are called with `error()` and parked ones (waiting behind data
   * still being compressed) with `parkedError()` (default: the same).
   */
  drop(error: () => Error, parkedError: () => Error = error): void {
    const block = this.regionBlock;
    if (block !== null) {
      this.regionBlock = null;
      releaseRegions(block, 1);
    }
    const items = this.items;
    this.items = null;
    this.pong = null;
    this.size = 0;
    // Parked barriers wait behind the engine's backlog (data still being compressed).
    const parked = this.parked;
    this.parked = null;
    if (parked !== null) process.nextTick(callAll, parked, parkedError());
    let barriers: WriteCallback[] | null = null;
    if (items !== null) {
      for (const item of items) {
        if (typeof item === 'function') (barriers ??= []).push(item);
        else if (isSharedRegion(item)) releaseRegions(shared, 1);
      }
    }
    if (barriers !== null) process.nextTick(callAll, barriers, error());
  }

  /** Fails the parked barriers only (the engine dropped its backlog). */
  failParked(error: Error): void {
    const parked = this.parked;
    this.parked = null;
    if (parked !== null) process.nextTick(callAll, parked, error);
  }

  /** Returns the arena block in which `size` more bytes go at `regionEnd`. */
  private claim(size: number): ArenaBlock {
    let block = this.reuses ? shared : kept;
    if (
      this.regionBlock === block &&
      this.regionEnd === block.used &&
      ARENA_SIZE - block.used >= size
    ) {
      return block;
    }
    this.closeRegion();
    if (ARENA_SIZE - block.used < size) {
      block = new ArenaBlock();
      if (this.reuses) shared = block;
      else kept = block;
    }
    block.open++;
    this.regionBlock = block;
    this.regionStart = this.regionEnd = block.used;
    return block;
  }

  /** Turns the open region into a closed entry (something follows it, or another writer moved on). */
  private closeRegion(): void {
    const block = this.regionBlock;
    if (block === null) return;
    this.regionBlock = null;
    (this.items ??= []).push(block.buffer.subarray(this.regionStart, this.regionEnd));
  }

  private push(bytes: Uint8Array): void {
    this.closeRegion();
    (this.items ??= []).push(bytes);
    this.size += bytes.length;
  }

  private schedule(): void {
    if (this.reading || this.scheduled) return;
    this.scheduled = true;
    process.nextTick(flushTick, this);
  }

  private writeRegion(block: ArenaBlock, start: number, end: number): void {
    const socket = this.socket;
    const region = block.buffer.subarray(start, end);
    this.size -= end - start;
    if (!this.reuses) {
      socket.write(region);
      return;
    }
    if (socket.writableLength > 0) {
      // Behind other writes: the region is free once this write completes.
      socket.write(region, block.release);
      return;
    }
    socket.write(region);
    // Written synchronously and completely: the kernel has the bytes.
    if (socket.writableLength === 0) releaseWritten(block, start, end);
    else socket.write(EMPTY, block.release);
  }
}

function socketGone(): Error {
  return new UsageError('NOT_OPEN', 'WebSocket is not open');
}
