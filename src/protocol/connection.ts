/**
 * Connection: the sans-I/O WebSocket engine for one connection after the opening handshake.
 * Bytes in (`receiveData`), events and bytes out (the `ConnectionHandler`). No sockets, no
 * timers: the adapter owns those and calls in.
 */
import { CloseCode, Opcode } from './codes.js';
import { buildClosePayload, parseClosePayload } from './close.js';
import { ProtocolError, UsageError, type ProtocolViolationCode } from './errors.js';
import { encodeFrame, MAX_CONTROL_PAYLOAD } from './frame.js';
import { FrameParser, Next } from './frame-parser.js';
import { MessageAssembler } from './assembler.js';
import { MaskKeyPool } from './mask.js';
import { resolveLimits, type Limits } from './limits.js';
import { Utf8Validator, isValidUtf8Short } from './utf8.js';
import type { Extension, ExtensionError } from './extensions/extension.js';
import type { Platform } from './platform.js';

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
  /**
   * True when the peer's Close arrived in the middle of a fragmented message (§5.4 allows it):
   * the part received was dropped and never delivered. Absent otherwise.
   */
  incompleteMessage?: true;
}

/**
 * What the engine tells its adapter. Called synchronously from the engine's methods (or from an
 * extension's callback). Handlers must not throw.
 *
 * Lifetime of the views handlers receive: every `Uint8Array` given to `onMessage`, `onPing` and
 * `onPong` covers bytes the engine never writes to again, so the handler may keep it, forever,
 * without copying. Such a view may share its `ArrayBuffer` with other data (a range of a read
 * chunk passed to `receiveData`, which must therefore not be reused by the caller); only its
 * own range is the handler's. The `payload` given to `writeFrame` is the opposite: it is only
 * valid during the call.
 */
export interface ConnectionHandler {
  /**
   * A complete message. `data` is a view for a message that arrived in one part, or a list of
   * views (in order) for a message assembled from several parts. The views point into buffers
   * the engine owns (received bytes it unmasked in place, or buffers it collected a message
   * in); the adapter may keep them (see the interface comment).
   */
  onMessage(data: Uint8Array | Uint8Array[], isBinary: boolean): void;
  /**
   * A ping arrived; when `autoPong` is on (default) the pong has already been written. The
   * payload may be kept (for a delayed pong, say): a ping split across reads gets bytes of its
   * own, one that arrived whole is a view of the read chunk; neither is ever overwritten.
   */
  onPing(payload: Uint8Array): void;
  /** A pong arrived (solicited or not, §5.5.3). The payload may be kept, as for `onPing`. */
  onPong(payload: Uint8Array): void;
  /** Bytes to write to the transport, in order. Ownership passes to the adapter. */
  onWrite(bytes: Uint8Array): void;
  /**
   * Optional fast path for output: encode this frame straight into the adapter's own output
   * buffer (with `encodeFrameInto`), saving the engine's allocation and the adapter's copy.
   * Return `false` to decline; the engine then encodes the frame and calls `onWrite`. A
   * payload of up to 125 bytes must be read before returning (the engine may reuse it); a
   * larger one may be kept by reference until written, as `encodeFrame` does (it is the
   * sender's buffer or the encoder's output, which the engine does not touch again).
   */
  writeFrame?(
    fin: boolean,
    rsv: number,
    opcode: number,
    payload: Uint8Array,
    mask: Uint8Array | null,
  ): boolean;
  /**
   * The WebSocket connection is closed (state is now `closed`). The adapter then ends the
   * transport: a server closes TCP at once (§7.1.1); a client waits (briefly) for the server to
   * close it, and closes it itself on failure or timeout.
   */
  onClose(info: CloseInfo): void;
  /**
   * Flow control: `true` when the engine holds received input (an extension transform is
   * running, or a message waits behind `pause()`): the adapter should stop reading. `false`
   * when it can take more. Called only on a change.
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

/** An outgoing frame waiting behind an asynchronous extension encoder. */
interface QueuedFrame {
  opcode: number;
  rsv: number;
  fin: boolean;
  data: Uint8Array;
  compress: boolean;
}

/**
 * The booleans of a `Connection`, as bits of its one `flags` field: 15 fields of 8 bytes each
 * would make every connection 112 bytes larger (they live as long as the connection, so a burst
 * of connections grows V8's young generation by that much more, BENCHMARKS.md "Burst memory").
 * Each is read and written through a private accessor of the same name, which V8 inlines.
 *
 * | bit | meaning |
 * | --- | --- |
 * | `isServer` | the server role (frames it receives must be masked) |
 * | `autoPong` | answer pings itself (option `autoPong`) |
 * | `skipUtf8` | option `unsafeSkipUtf8Validation` |
 * | `inMessage` | an incoming message is in progress (§5.4) |
 * | `messageBinary` | the incoming message is binary |
 * | `messageCompressed` | the incoming message is compressed (RSV1 on its first frame) |
 * | `frameFin` | the frame being received has FIN set |
 * | `decoding` | an asynchronous decode runs; input is held meanwhile |
 * | `readPaused` | what the adapter was last told through onReadPause |
 * | `parsing` | the parser runs (so that resume() from a handler does not re-enter it) |
 * | `sendingFragmented` | an outgoing fragmented message is open |
 * | `sendingCompressed` | that outgoing message is compressed |
 * | `encoding` | an asynchronous encode runs; frames queue behind it |
 * | `closeSent` | our Close frame was sent |
 * | `_endPending` | the end is reported once decoding finishes |
 */
const F_IS_SERVER = 1;
const F_AUTO_PONG = 2;
const F_SKIP_UTF8 = 4;
const F_IN_MESSAGE = 8;
const F_MESSAGE_BINARY = 16;
const F_MESSAGE_COMPRESSED = 32;
const F_FRAME_FIN = 64;
const F_DECODING = 128;
const F_READ_PAUSED = 256;
const F_PARSING = 512;
const F_SENDING_FRAGMENTED = 1024;
const F_SENDING_COMPRESSED = 2048;
const F_ENCODING = 4096;
const F_CLOSE_SENT = 8192;
const F_END_PENDING = 16384;

/**
 * The engine for one WebSocket connection (RFC 6455 §5-§8), for either role.
 *
 * @example
 * const conn = new Connection({ role: 'server', platform }, {
 *   onMessage: (data, isBinary) => conn.send(data as Uint8Array, isBinary),
 *   onPing() {}, onPong() {}, onWrite: (bytes) => socket.write(bytes),
 *   onClose: () => socket.end(),
 * });
 * socket.on('data', (chunk) => conn.receiveData(chunk));
 */
// Not `implements FrameSink`: its methods are internal (stripped from the published types);
// `new FrameParser(this, ...)` below still checks that the class is one.
export class Connection {
  readonly role: Role;
  private _state: ConnectionState = 'open';
  private readonly handler: ConnectionHandler;
  private readonly platform: Platform;
  private readonly limits: Limits;
  private readonly extension: Extension | null;
  private readonly parser: FrameParser;
  // Created on the first message that needs them, to keep idle connections small.
  private assemblerInstance: MessageAssembler | null = null;
  private utf8Instance: Utf8Validator | null = null;
  private readonly maskPool: MaskKeyPool | null;

  /** The booleans, one bit each (see F_* above). */
  private flags = 0;

  // Incoming message in progress (§5.4).
  private messageFrames = 0;
  private messageCost = 0;
  private compressedBytes = 0;
  private frameLength = 0;
  /** A single-frame message arriving over several reads, collected at its exact size. */
  private frameBuffer: Uint8Array | null = null;
  private frameFilled = 0;

  // Input held while an asynchronous decode runs or a message waits behind pause(); null when
  // nothing waits (the `readPaused` flag: what the adapter was last told through onReadPause).
  private held: Uint8Array[] | null = null;
  private heldOffset = 0;

  // Outgoing.
  private queue: QueuedFrame[] | null = null;
  private queuedBytes = 0;
  private pendingClose: CloseInfo | null = null;

  constructor(options: ConnectionOptions, handler: ConnectionHandler) {
    this.role = options.role;
    this.flags =
      (options.role === 'server' ? F_IS_SERVER : 0) |
      ((options.autoPong ?? true) ? F_AUTO_PONG : 0) |
      (options.unsafeSkipUtf8Validation === true ? F_SKIP_UTF8 : 0);
    this.handler = handler;
    this.platform = options.platform;
    this.limits = sharedLimits(options.limits);
    this.extension = options.extension ?? null;
    this.parser = new FrameParser(this, options.platform.unmask, options.platform.mask);
    // §5.3: a client masks every frame with a fresh, unpredictable key.
    this.maskPool = this.isServer ? null : maskPoolFor(options.platform);
  }

  // ---- the flags, as fields ----------------------------------------------------------------
  private get isServer(): boolean {
    return (this.flags & F_IS_SERVER) !== 0;
  }
  private get autoPong(): boolean {
    return (this.flags & F_AUTO_PONG) !== 0;
  }
  private get skipUtf8(): boolean {
    return (this.flags & F_SKIP_UTF8) !== 0;
  }
  private get inMessage(): boolean {
    return (this.flags & F_IN_MESSAGE) !== 0;
  }
  private set inMessage(on: boolean) {
    this.setFlag(F_IN_MESSAGE, on);
  }
  private get messageBinary(): boolean {
    return (this.flags & F_MESSAGE_BINARY) !== 0;
  }
  private set messageBinary(on: boolean) {
    this.setFlag(F_MESSAGE_BINARY, on);
  }
  private get messageCompressed(): boolean {
    return (this.flags & F_MESSAGE_COMPRESSED) !== 0;
  }
  private set messageCompressed(on: boolean) {
    this.setFlag(F_MESSAGE_COMPRESSED, on);
  }
  private get frameFin(): boolean {
    return (this.flags & F_FRAME_FIN) !== 0;
  }
  private set frameFin(on: boolean) {
    this.setFlag(F_FRAME_FIN, on);
  }
  private get decoding(): boolean {
    return (this.flags & F_DECODING) !== 0;
  }
  private set decoding(on: boolean) {
    this.setFlag(F_DECODING, on);
  }
  private get readPaused(): boolean {
    return (this.flags & F_READ_PAUSED) !== 0;
  }
  private set readPaused(on: boolean) {
    this.setFlag(F_READ_PAUSED, on);
  }
  private get parsing(): boolean {
    return (this.flags & F_PARSING) !== 0;
  }
  private set parsing(on: boolean) {
    this.setFlag(F_PARSING, on);
  }
  private get sendingFragmented(): boolean {
    return (this.flags & F_SENDING_FRAGMENTED) !== 0;
  }
  private set sendingFragmented(on: boolean) {
    this.setFlag(F_SENDING_FRAGMENTED, on);
  }
  private get sendingCompressed(): boolean {
    return (this.flags & F_SENDING_COMPRESSED) !== 0;
  }
  private set sendingCompressed(on: boolean) {
    this.setFlag(F_SENDING_COMPRESSED, on);
  }
  private get encoding(): boolean {
    return (this.flags & F_ENCODING) !== 0;
  }
  private set encoding(on: boolean) {
    this.setFlag(F_ENCODING, on);
  }
  private get closeSent(): boolean {
    return (this.flags & F_CLOSE_SENT) !== 0;
  }
  private set closeSent(on: boolean) {
    this.setFlag(F_CLOSE_SENT, on);
  }
  private get _endPending(): boolean {
    return (this.flags & F_END_PENDING) !== 0;
  }
  private set _endPending(on: boolean) {
    this.setFlag(F_END_PENDING, on);
  }

  private setFlag(flag: number, on: boolean): void {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
  }

  /** `open`, `closing` (our Close sent, waiting for the peer's) or `closed`. */
  get state(): ConnectionState {
    return this._state;
  }

  /** Outgoing bytes of messages still waiting for the extension's encoder. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  private get assembler(): MessageAssembler {
    return (this.assemblerInstance ??= new MessageAssembler(this.platform.alloc));
  }

  private get utf8(): Utf8Validator {
    return (this.utf8Instance ??= new Utf8Validator(this.platform.isUtf8));
  }

  /** Payload bytes of the message in progress collected so far. */
  private collectedBytes(): number {
    const assembler = this.assemblerInstance;
    return assembler === null ? 0 : assembler.bytes;
  }

  /** The negotiated extension, if any. */
  get negotiatedExtension(): Extension | null {
    return this.extension;
  }

  // ---------------------------------------------------------------- receiving

  /**
   * Feeds bytes read from the transport. The engine may unmask them in place and keep views of
   * them, so pass buffers that nobody else uses. Never throws for bad input: a violation fails
   * the connection (§7.1.7) and is reported through `onClose`.
   */
  receiveData(bytes: Uint8Array): void {
    if (this._state === 'closed') return; // §5.5.1: nothing is processed after the closing handshake
    if (this.decoding || this.held !== null) {
      // Input already waits (a decode runs, or a message is held by pause): keep the order.
      (this.held ??= []).push(bytes);
      return;
    }
    this.parsing = true;
    const stopped = this.parser.push(bytes, 0);
    this.parsing = false;
    if (stopped >= 0 && stopped < bytes.length) {
      this.held = [bytes];
      this.heldOffset = stopped;
      this.setReadPaused(true);
    }
  }

  /**
   * Stops delivering messages until `resume()`: a pause between messages. Called from an
   * `onMessage` handler, no further message is delivered from the same read. The engine keeps
   * processing the control frames that come before the next data frame (pings are answered, a
   * Close completes the closing handshake); it stops at that data frame, holds the input from
   * there on, and asks the adapter to stop reading (`onReadPause(true)`). A ping or Close
   * behind a held message is processed after `resume()`, in order. No-op when already paused.
   */
  pause(): void {
    this.parser.holdData = true;
  }

  /**
   * Ends `pause()`: the held input is processed at once (messages delivered synchronously from
   * this call), or, when called from inside a handler, as soon as that handler returns.
   */
  resume(): void {
    if (!this.parser.holdData) return;
    this.parser.holdData = false;
    if (!this.parsing && !this.decoding && this._state !== 'closed') this.resumeHeld();
  }

  /** Whether `pause()` is in effect. */
  get paused(): boolean {
    return this.parser.holdData;
  }

  /** The transport ended (EOF or error). Reports 1006 unless the connection was already closed. */
  receiveEof(): void {
    if (this.decoding && this._state !== 'closed') {
      // The peer's bytes before its end are still being decoded (an asynchronous extension,
      // say a compressed message being inflated): they were sent, so they are processed
      // first, with any input held behind them (more messages, maybe the peer's Close); the
      // end is taken once the decoder is through (`resumeHeld`).
      this._endPending = true;
      return;
    }
    this.abort();
  }

  /** The transport ended while input was still being decoded; see `receiveEof`. */
  get endPending(): boolean {
    return this._endPending;
  }

  /** @internal FrameSink */
  onHeader(fin: boolean, rsv: number, opcode: number, masked: boolean, length: number): Next {
    // §5.1: clients MUST mask, servers MUST NOT.
    if (masked !== this.isServer) {
      return this.fail(this.isServer ? 'UNMASKED_CLIENT_FRAME' : 'MASKED_SERVER_FRAME');
    }
    if (opcode >= 0x8) {
      // §5.5: control frames: known opcode, no RSV, not fragmented, at most 125 bytes.
      if (opcode > Opcode.Pong) return this.fail('RESERVED_OPCODE', `opcode ${opcode}`);
      if (rsv !== 0) return this.fail('RESERVED_BITS', `rsv ${rsv}`);
      if (!fin) return this.fail('CONTROL_FRAGMENTED');
      if (length > MAX_CONTROL_PAYLOAD) return this.fail('CONTROL_TOO_LONG', `length ${length}`);
      return Next.Continue;
    }
    if (opcode > Opcode.Binary) return this.fail('RESERVED_OPCODE', `opcode ${opcode}`);
    // §5.2: RSV bits only when an extension defines them; RFC 7692 §6: RSV1 on the first frame only.
    if (rsv !== 0 && (rsv !== 4 || this.extension === null || opcode === Opcode.Continuation)) {
      return this.fail('RESERVED_BITS', `rsv ${rsv}`);
    }
    const limits = this.limits;
    if (opcode === Opcode.Continuation) {
      if (!this.inMessage) return this.fail('UNEXPECTED_CONTINUATION');
    } else {
      if (this.inMessage) return this.fail('EXPECTED_CONTINUATION', `opcode ${opcode}`);
      this.inMessage = true;
      this.messageBinary = opcode === Opcode.Binary;
      this.messageCompressed = rsv === 4;
      this.messageFrames = 0;
      this.messageCost = 0;
      this.compressedBytes = 0;
      if (!this.messageBinary) this.utf8Instance?.reset();
    }
    // Limits are checked against the declared length, before any payload is kept.
    // Compressed frames may be slightly larger than what they inflate to (incompressible data
    // grows by about 5 bytes per 16 KiB block), so they get a margin proportional to the limit;
    // the inflated size is held to the exact limit while decoding.
    const slack = this.messageCompressed ? (limits.maxPayload >>> 11) + 1024 : 0;
    if (length > limits.maxFrameSize + slack) return this.fail('FRAME_TOO_BIG');
    if (this.messageCompressed) {
      this.compressedBytes += length;
      if (this.compressedBytes > limits.maxPayload + slack) return this.fail('MESSAGE_TOO_BIG');
    } else if (this.collectedBytes() + length > limits.maxPayload) {
      return this.fail('MESSAGE_TOO_BIG');
    }
    this.messageFrames++;
    this.messageCost += limits.fragmentOverhead + length;
    if (this.messageCost > limits.maxMessageCost) return this.fail('MESSAGE_TOO_COSTLY');
    this.frameFin = fin;
    this.frameLength = length;
    return Next.Continue;
  }

  /** @internal FrameSink */
  onData(piece: Uint8Array, last: boolean, whole: boolean): Next {
    if (this.messageCompressed) return this.decode(piece, last && this.frameFin);
    const text = !this.messageBinary && !this.skipUtf8;
    if (whole && this.frameFin && this.messageFrames === 1) {
      // The common case: a whole message in one frame in one read. Delivered as a view.
      this.inMessage = false;
      if (text && !isValidUtf8Short(piece, this.platform.isUtf8)) return this.fail('INVALID_UTF8');
      this.handler.onMessage(piece, this.messageBinary);
      return this._state === 'closed' ? Next.Stop : Next.Continue;
    }
    // §8.1: validate as the bytes arrive, so an invalid sequence fails before the rest comes.
    if (text && !this.utf8.push(piece)) return this.fail('INVALID_UTF8');
    // A split single-frame message may get a buffer of its exact size (openFrameBuffer).
    const buffer = this.frameBuffer ?? this.openFrameBuffer(piece.length);
    if (buffer !== null) {
      // The parser may have unmasked the piece into place already (payloadTarget).
      if (
        piece.buffer !== buffer.buffer ||
        piece.byteOffset !== buffer.byteOffset + this.frameFilled
      ) {
        buffer.set(piece, this.frameFilled);
      }
      this.frameFilled += piece.length;
      if (!last) return Next.Continue;
      this.frameBuffer = null;
      return this.finishMessage(buffer);
    }
    this.assembler.add(piece, this.limits.maxPayload);
    if (last && this.frameFin) return this.finishMessage();
    return Next.Continue;
  }

  /** @internal FrameSink: the frame's own buffer, where the next `length` bytes go, if any. */
  payloadTarget(length: number): Uint8Array | null {
    if (this.messageCompressed || this._state === 'closed') return null;
    const buffer = this.frameBuffer ?? this.openFrameBuffer(length);
    if (buffer === null) return null;
    return buffer.subarray(this.frameFilled, this.frameFilled + length);
  }

  /**
   * A single-frame message split across reads is collected in one buffer of its exact size,
   * delivered without a second copy. The buffer is allocated once the frame's bytes received
   * (those collected and the `arriving` piece at hand) reach about half of its declared length,
   * so that a declared length alone never makes us allocate much more than has arrived
   * (checklist R1); what was collected before is copied into it, and the rest of the frame goes
   * straight into it: unmasked there by the parser for masked pieces of at least 4 KiB (the
   * server's common case), copied in as each piece is handed over otherwise. Returns null while
   * the frame does not qualify.
   */
  private openFrameBuffer(arriving: number): Uint8Array | null {
    if (!this.frameFin || this.messageFrames !== 1) return null;
    const collected = this.collectedBytes();
    if (this.frameLength > 2 * (collected + arriving + DIRECT_BUFFER_SLACK)) return null;
    const buffer = this.platform.alloc(this.frameLength);
    this.frameFilled = collected === 0 ? 0 : this.assembler.moveTo(buffer);
    this.frameBuffer = buffer;
    return buffer;
  }

  /** @internal FrameSink */
  onControl(opcode: number, payload: Uint8Array): Next {
    if (opcode === Opcode.Close) return this.receiveClose(payload);
    if (opcode === Opcode.Ping) {
      // §5.5.2: answer with a Pong carrying the same payload "unless it already received a
      // Close frame": also after our own Close (state closing), until the peer's arrives.
      if (this.autoPong) this.answerPing(payload);
      this.handler.onPing(payload);
    } else {
      // §5.5.3: unsolicited pongs are allowed and need no answer.
      this.handler.onPong(payload);
    }
    return this._state === 'closed' ? Next.Stop : Next.Continue;
  }

  /** @internal FrameSink */
  onLengthOverflow(): void {
    this.fail('LENGTH_MSB_SET');
  }

  private finishMessage(whole?: Uint8Array): Next {
    if (!this.messageBinary && !this.skipUtf8 && !this.utf8.complete) {
      return this.fail('INVALID_UTF8', 'message ends inside a code point');
    }
    this.inMessage = false;
    this.handler.onMessage(whole ?? this.assembler.take(), this.messageBinary);
    return this._state === 'closed' ? Next.Stop : Next.Continue;
  }

  private receiveClose(payload: Uint8Array): Next {
    const parsed = parseClosePayload(payload, this.platform.isUtf8, this.skipUtf8);
    if (!parsed.ok) {
      const code = parsed.violation === 'INVALID_CLOSE_CODE' ? (payload[0] << 8) | payload[1] : -1;
      return this.fail(parsed.violation, code === -1 ? undefined : `code ${code}`);
    }
    const info: CloseInfo = { code: parsed.code, reason: parsed.reason, wasClean: true };
    // §5.4 allows control frames, Close included, between the fragments of a message: a Close
    // there is a legal end of the connection that abandons the message (design.md, "A Close in
    // the middle of a fragmented message"). The part received is dropped, never delivered.
    if (this.inMessage) info.incompleteMessage = true;
    if (this._state === 'open') {
      // §5.5.1: answer with a Close, echoing the status code received.
      // Echo the code and reason (already validated) back; an empty Close gets an empty one.
      const answer = payload.length === 0 ? EMPTY : copyOf(payload, this.platform.alloc);
      this.closeSent = true;
      this.output(Opcode.Close, 0, true, answer, false);
    }
    this.finish(info);
    return Next.Stop;
  }

  /** Runs the extension's decoder on a piece of a compressed message; pauses input while it works. */
  private decode(piece: Uint8Array, fin: boolean): Next {
    if (piece.length === 0 && !fin) return Next.Continue;
    const extension = this.extension as Extension;
    let synchronous = true;
    let result: Next = Next.Continue;
    this.decoding = true;
    extension.decode(
      piece,
      fin,
      this.limits.maxPayload - this.collectedBytes(),
      (error, output) => {
        this.decoding = false;
        if (this._state === 'closed') return;
        const next = this.decoded(error, output, fin);
        if (synchronous) result = next;
        else if (next !== Next.Stop) this.resumeHeld();
      },
    );
    synchronous = false;
    if (this.decoding) {
      this.setReadPaused(true);
      return Next.Pause;
    }
    return result;
  }

  private decoded(error: ExtensionError | null, output: Uint8Array[], fin: boolean): Next {
    if (error !== null) {
      return this.fail(error.kind === 'too-big' ? 'EXTENSION_TOO_BIG' : 'EXTENSION_ERROR');
    }
    const text = !this.messageBinary && !this.skipUtf8;
    const maxPayload = this.limits.maxPayload;
    for (let i = 0; i < output.length; i++) {
      const part = output[i];
      if (this.assembler.bytes + part.length > maxPayload) return this.fail('EXTENSION_TOO_BIG');
      if (text && !this.utf8.push(part)) return this.fail('INVALID_UTF8');
      this.assembler.add(part, maxPayload);
    }
    return fin ? this.finishMessage() : Next.Continue;
  }

  /** Continues with input held during an asynchronous decode or by `pause()`. */
  private resumeHeld(): void {
    const held = this.held;
    if (held !== null) {
      this.parsing = true;
      while (held.length > 0 && !this.decoding && this._state !== 'closed') {
        const chunk = held[0];
        const stopped = this.parser.push(chunk, this.heldOffset);
        if (stopped < 0) break; // closed: finish() dropped the held input
        if (stopped < chunk.length) {
          this.heldOffset = stopped; // paused again (a decode, or pause())
          break;
        }
        held.shift();
        this.heldOffset = 0;
      }
      this.parsing = false;
      if (held.length === 0 && this.held === held) this.held = null;
    }
    if (!this.decoding && this.held === null && this._state !== 'closed' && !this._endPending) {
      this.setReadPaused(false);
    }
    if (this._endPending && !this.decoding) {
      // What arrived before the end has been processed (or waits behind `pause()`, and is
      // dropped as on any end): now the end itself.
      this._endPending = false;
      this.abort();
    }
  }

  /** Tells the adapter when the engine starts or stops holding input (`onReadPause`). */
  private setReadPaused(paused: boolean): void {
    if (this.readPaused === paused) return;
    this.readPaused = paused;
    this.handler.onReadPause?.(paused);
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends a data message, or one fragment of it when `fin` is false (§5.4: later calls send
   * continuation frames until one with `fin`). `compress` asks the extension to compress it.
   * The engine never modifies `data`. Throws `UsageError` unless the state is `open`.
   */
  send(data: Uint8Array, isBinary: boolean, fin = true, compress = true): void {
    if (this._state !== 'open') {
      throw new UsageError('NOT_OPEN', `cannot send: the connection is ${this._state}`);
    }
    let opcode: number = Opcode.Continuation;
    let rsv = 0;
    if (!this.sendingFragmented) {
      opcode = isBinary ? Opcode.Binary : Opcode.Text;
      const extension = this.extension;
      this.sendingCompressed =
        compress && extension !== null && (extension.shouldCompress?.(data.length) ?? true);
      if (this.sendingCompressed) rsv = 4;
    }
    this.sendingFragmented = !fin;
    this.output(opcode, rsv, fin, data, this.sendingCompressed);
  }

  /** Sends a Ping (§5.5.2) with at most 125 bytes of payload. */
  ping(payload: Uint8Array = EMPTY): void {
    this.control(Opcode.Ping, payload);
  }

  /** Sends a Pong (§5.5.3); unsolicited pongs serve as a unidirectional heartbeat. */
  pong(payload: Uint8Array = EMPTY): void {
    this.control(Opcode.Pong, payload);
  }

  /**
   * Sends the Pong that answers a received ping (§5.5.2), for adapters that answer pings
   * themselves (`autoPong: false`, or a pong delayed until the transport drains). Unlike
   * `pong()`, it is allowed after our own Close (state `closing`): an endpoint answers pings
   * until it has received the peer's Close. A no-op once `closed`. Throws `UsageError` for a
   * payload over 125 bytes.
   */
  answerPing(payload: Uint8Array): void {
    if (this._state !== 'closed') this.writeControl(Opcode.Pong, payload);
  }

  /**
   * Starts the closing handshake (§7.1.2): sends a Close frame and moves to `closing`. With no
   * `code` the frame is empty (the peer reports 1005). A no-op once closing or closed. Throws
   * `UsageError` for a code that may not be sent or a reason over 123 bytes.
   */
  close(code?: number, reason?: string | Uint8Array): void {
    if (this._state !== 'open') return;
    const payload = buildClosePayload(code, reason, this.platform.alloc);
    this.closeSent = true;
    this._state = 'closing';
    this.output(Opcode.Close, 0, true, payload, false);
  }

  /**
   * Fails the connection for a local reason (§7.1.7): sends a Close with the violation's code
   * unless one was sent already, drops queued output, and reports `onClose`.
   */
  fail(code: ProtocolViolationCode, detail?: string): Next {
    if (this._state === 'closed') return Next.Stop;
    const error = new ProtocolError(code, detail);
    this.queue = null;
    this.queuedBytes = 0;
    if (!this.closeSent) {
      this.closeSent = true;
      // The reason stays empty: details help an attacker fingerprint; they go to the error.
      this.writeFrame(
        Opcode.Close,
        0,
        true,
        buildClosePayload(error.closeCode, undefined, this.platform.alloc),
      );
    }
    this.finish({ code: error.closeCode, reason: '', wasClean: false, error });
    return Next.Stop;
  }

  /** Ends the connection without a Close frame (terminate, transport gone): reports 1006. */
  abort(): void {
    if (this._state === 'closed') {
      // Closed but still flushing queued output: the transport is gone, report now.
      const pending = this.pendingClose;
      if (pending !== null) {
        this.queue = null;
        this.queuedBytes = 0;
        this.pendingClose = null;
        this.closed(pending);
      }
      return;
    }
    this.queue = null;
    this.queuedBytes = 0;
    this.finish({ code: CloseCode.Abnormal, reason: '', wasClean: false });
  }

  private control(opcode: number, payload: Uint8Array): void {
    if (this._state !== 'open') {
      throw new UsageError(
        'NOT_OPEN',
        `cannot send a control frame: the connection is ${this._state}`,
      );
    }
    this.writeControl(opcode, payload);
  }

  private writeControl(opcode: number, payload: Uint8Array): void {
    if (payload.length > MAX_CONTROL_PAYLOAD) {
      throw new UsageError(
        'CONTROL_PAYLOAD_TOO_LONG',
        'control frame payloads are at most 125 bytes (§5.5)',
      );
    }
    this.output(opcode, 0, true, payload, false);
  }

  /** Writes a frame now, or queues it behind an encoder at work so that order is kept. */
  private output(
    opcode: number,
    rsv: number,
    fin: boolean,
    data: Uint8Array,
    compress: boolean,
  ): void {
    if (!compress && this.queue === null) {
      this.writeFrame(opcode, rsv, fin, data);
      return;
    }
    if (this.queue === null) this.queue = [];
    // Copy: the caller may reuse its buffer before the encoder reads it (§10.3 / checklist K8).
    const copy = this.platform.alloc(data.length);
    copy.set(data);
    this.queue.push({ opcode, rsv, fin, data: copy, compress });
    this.queuedBytes += data.length;
    this.pump();
  }

  private pump(): void {
    const extension = this.extension as Extension;
    for (;;) {
      const queue = this.queue;
      if (queue === null) return;
      if (queue.length === 0) break;
      if (this.encoding) return;
      const item = queue[0];
      if (!item.compress) {
        queue.shift();
        this.queuedBytes -= item.data.length;
        this.writeFrame(item.opcode, item.rsv, item.fin, item.data);
        continue;
      }
      let synchronous = true;
      let done = false;
      this.encoding = true;
      extension.encode(item.data, item.fin, (error, output) => {
        this.encoding = false;
        if (this.queue !== queue) return; // failed or aborted meanwhile
        if (error !== null) {
          this.fail('ENCODER_ERROR', error.message);
          return;
        }
        queue.shift();
        this.queuedBytes -= item.data.length;
        this.writeFrame(item.opcode, item.rsv, item.fin, joinParts(output, this.platform.alloc));
        if (synchronous) done = true;
        else this.pump();
      });
      synchronous = false;
      if (!done) return;
    }
    this.queue = null;
    const pending = this.pendingClose;
    if (pending !== null) {
      this.pendingClose = null;
      this.closed(pending);
    }
  }

  private writeFrame(opcode: number, rsv: number, fin: boolean, payload: Uint8Array): void {
    const mask = this.maskPool === null ? null : this.maskPool.next();
    if (this.handler.writeFrame?.(fin, rsv, opcode, payload, mask) === true) return;
    const out = encodeFrame(fin, rsv, opcode, payload, mask, this.platform.alloc);
    if (out instanceof Uint8Array) {
      this.handler.onWrite(out);
    } else {
      this.handler.onWrite(out[0]);
      this.handler.onWrite(out[1]);
    }
  }

  /** Moves to `closed`; reports it once queued output (including our Close) has been written. */
  private finish(info: CloseInfo): void {
    this._state = 'closed';
    this.inMessage = false;
    this.assemblerInstance?.reset();
    this.frameBuffer = null;
    this.held = null;
    this.heldOffset = 0;
    if (this.queue !== null) {
      this.pendingClose = info;
      return;
    }
    this.closed(info);
  }

  private closed(info: CloseInfo): void {
    this.extension?.dispose();
    this.handler.onClose(info);
  }
}

const EMPTY = new Uint8Array(0);
/** How far past twice its bytes received a split single-frame message may be and still get its own buffer. */
const DIRECT_BUFFER_SLACK = 16 * 1024;

/** Resolved limits per input object: connections configured alike share one object. */
const resolvedLimits = new WeakMap<Partial<Limits>, Limits>();
const DEFAULT_LIMITS = resolveLimits();

function sharedLimits(partial: Partial<Limits> | undefined): Limits {
  if (partial === undefined) return DEFAULT_LIMITS;
  let limits = resolvedLimits.get(partial);
  if (limits === undefined) {
    limits = resolveLimits(partial);
    resolvedLimits.set(partial, limits);
  }
  return limits;
}

/** One key pool per platform: every client connection draws from the same CSPRNG output. */
const maskPools = new WeakMap<Platform, MaskKeyPool>();

function maskPoolFor(platform: Platform): MaskKeyPool {
  let pool = maskPools.get(platform);
  if (pool === undefined) {
    pool = new MaskKeyPool((bytes) => platform.randomFill(bytes));
    maskPools.set(platform, pool);
  }
  return pool;
}

function copyOf(bytes: Uint8Array, alloc: (size: number) => Uint8Array): Uint8Array {
  const copy = alloc(bytes.length);
  copy.set(bytes);
  return copy;
}

function joinParts(parts: Uint8Array[], alloc: (size: number) => Uint8Array): Uint8Array {
  if (parts.length === 1) return parts[0];
  let total = 0;
  for (const part of parts) total += part.length;
  const out = alloc(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
