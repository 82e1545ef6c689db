/**
 * One probe connection: the opening handshake sent byte for byte, then a view of what the server
 * sends back (response head, frames, messages, its Close frame, TCP end).
 */
import { computeAccept, generateKey } from '../../protocol/handshake/index.js';
import { nodePlatform } from '../../node/platform.js';
import { RawSocket } from './raw-socket.js';
import {
  parseResponseHead,
  serializeRequest,
  type HeaderLine,
  type RawRequest,
  type ResponseHead,
} from './http.js';
import {
  craftFrame,
  Opcode,
  readClose,
  ServerFrameReader,
  type InClose,
  type InFrame,
  type InMessage,
  type OutFrame,
  type ReaderStop,
} from './frames.js';
import type { AuditTarget } from './target.js';

/** Settings every probe shares (from the command line). */
export interface ProbeSettings {
  target: AuditTarget;
  /** Per-step wait in milliseconds (connect, response, reaction). */
  timeoutMs: number;
  insecure: boolean;
  /** Most bytes read from one connection before it is dropped. */
  readCap: number;
  /** Extra header lines sent with every upgrade request (`--header`, `--protocol`). */
  extraHeaders?: readonly HeaderLine[];
}

/** Header overrides for {@link buildUpgradeRequest}: `null` removes a default header. */
export interface UpgradeRequestOptions {
  method?: string;
  version?: string;
  key?: string;
  /** Replace or remove default headers by lowercase name. */
  set?: Record<string, string | null>;
  /** Extra header lines appended as given (duplicates allowed). */
  extra?: readonly HeaderLine[];
  body?: Uint8Array;
}

/**
 * A well-formed upgrade request (§4.1) for the target, same-origin `Origin`, then the overrides.
 * Returns the request and the key it carries.
 */
export function buildUpgradeRequest(
  settings: ProbeSettings,
  options: UpgradeRequestOptions = {},
): { request: RawRequest; key: string } {
  const key = options.key ?? generateKey(nodePlatform);
  const defaults: Array<[string, string]> = [
    ['Host', settings.target.hostHeader],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', key],
    ['Sec-WebSocket-Version', '13'],
    ['Origin', settings.target.originBase],
    ['User-Agent', 'ironsock-audit'],
  ];
  const set = options.set ?? {};
  const headers: HeaderLine[] = [];
  for (const [name, value] of defaults) {
    const override = set[name.toLowerCase()];
    if (override === null) continue;
    headers.push([name, override ?? value]);
  }
  for (const [name, value] of Object.entries(set)) {
    if (value !== null && !defaults.some(([n]) => n.toLowerCase() === name))
      headers.push([name, value]);
  }
  headers.push(...(settings.extraHeaders ?? []), ...(options.extra ?? []));
  return {
    request: {
      method: options.method ?? 'GET',
      target: settings.target.path,
      version: options.version ?? 'HTTP/1.1',
      headers,
      body: options.body,
    },
    key,
  };
}

/** What the server did with a request, once its response head arrived (or did not). */
export interface HandshakeOutcome {
  /** Null when no complete response head came back before the timeout or TCP end. */
  response: ResponseHead | null;
  /** True for status 101. */
  upgraded: boolean;
  /** Whether `Sec-WebSocket-Accept` matched the key (only meaningful when upgraded). */
  acceptOk: boolean;
  /** The key the request carried (if any). */
  key: string | undefined;
}

/** One connection under test. Always call `close()` when done. */
export class Probe {
  private fedOffset = 0;
  private reader: ServerFrameReader;
  private readonly partial: Buffer[] = [];
  private partialBinary = false;
  private partialOpen = false;
  /** Frames the server sent after the head, in order. */
  readonly frames: InFrame[] = [];
  /** Complete data messages. */
  readonly messages: InMessage[] = [];
  /** The server's Close frame, once received. */
  closeFrame: InClose | null = null;
  /** When the Close frame arrived (`performance.now()` ms). */
  closeAt = 0;
  pings = 0;
  pongs = 0;
  /** Reply to pings with pongs (default on). */
  autoPong = true;
  /** A server frame declared more than the read cap. */
  oversizedFrame = false;
  /** Why reading the server's frames stopped (a frame it could not be read safely), if it did. */
  serverFrameProblem: ReaderStop | null = null;
  outcome: HandshakeOutcome = { response: null, upgraded: false, acceptOk: false, key: undefined };

  private constructor(
    readonly raw: RawSocket,
    readonly settings: ProbeSettings,
  ) {
    this.reader = new ServerFrameReader(settings.readCap);
  }

  /** Opens a connection (rejects when the server cannot be reached). */
  static async open(settings: ProbeSettings): Promise<Probe> {
    const raw = await RawSocket.connect(settings.target, {
      timeoutMs: settings.timeoutMs,
      insecure: settings.insecure,
      readCap: settings.readCap,
    });
    return new Probe(raw, settings);
  }

  /**
   * Opens a connection, sends `request` and waits for the response head. Never rejects for
   * what the server answers; rejects only when the server cannot be reached.
   */
  static async handshake(
    settings: ProbeSettings,
    options: UpgradeRequestOptions = {},
    request?: Buffer,
  ): Promise<Probe> {
    const probe = await Probe.open(settings);
    const built = buildUpgradeRequest(settings, options);
    await probe.sendHandshake(
      request ?? serializeRequest(built.request),
      request ? undefined : built.key,
    );
    return probe;
  }

  /** Sends a request head and waits for the response head (up to the timeout). */
  async sendHandshake(bytes: Uint8Array, key: string | undefined): Promise<HandshakeOutcome> {
    void this.raw.write(bytes);
    let response: ResponseHead | null = null;
    await this.raw.until(
      () => (response = parseResponseHead(this.raw.bytes())) !== null,
      this.settings.timeoutMs,
    );
    const head = response as ResponseHead | null;
    const upgraded = head !== null && head.status === 101;
    const accept = head?.headers.find(([n]) => n === 'sec-websocket-accept')?.[1];
    this.outcome = {
      response: head,
      upgraded,
      acceptOk: upgraded && key !== undefined && accept === computeAccept(key, nodePlatform),
      key,
    };
    if (upgraded && head !== null) {
      this.fedOffset = head.bodyOffset;
      this.pump();
    }
    return this.outcome;
  }

  /** Sends frames (each masked by default). */
  send(...frames: OutFrame[]): Promise<void> {
    return this.raw.write(frames.flatMap((frame) => craftFrame(frame)));
  }

  /** Sends a masked text message. */
  sendText(text: string): Promise<void> {
    return this.send({ opcode: Opcode.Text, payload: Buffer.from(text) });
  }

  /** True once the server sent a Close frame or the TCP connection ended. */
  get closed(): boolean {
    this.pump();
    return this.closeFrame !== null || this.raw.ended;
  }

  /** Waits until the server closes (Close frame or TCP end); `false` on timeout. */
  waitClosed(timeoutMs = this.settings.timeoutMs): Promise<boolean> {
    return this.raw.until(() => this.closed, timeoutMs);
  }

  /** Waits for a data message matching `predicate`; `false` on timeout or close. */
  waitMessage(
    predicate: (message: InMessage) => boolean,
    timeoutMs = this.settings.timeoutMs,
  ): Promise<boolean> {
    return this.raw.until(() => {
      this.pump();
      return this.messages.some(predicate);
    }, timeoutMs);
  }

  /** Whether a message with exactly this text payload arrived. */
  hasText(text: string): boolean {
    this.pump();
    return this.messages.some(
      (m) => !m.binary && m.data.toString('latin1') === Buffer.from(text).toString('latin1'),
    );
  }

  /** Ends the connection without ceremony. */
  close(): void {
    this.raw.destroy();
  }

  /** Parses newly arrived frames. */
  pump(): void {
    if (!this.outcome.upgraded) return;
    const bytes = this.raw.bytes();
    if (bytes.length <= this.fedOffset) return;
    this.reader.push(bytes.subarray(this.fedOffset));
    this.fedOffset = bytes.length;
    if (this.reader.stopped !== null) this.serverFrameProblem = this.reader.stopped;
    if (this.reader.stopped === 'oversized') this.oversizedFrame = true;
    for (const frame of this.reader.take()) this.onFrame(frame);
  }

  private onFrame(frame: InFrame): void {
    this.frames.push(frame);
    switch (frame.opcode) {
      case Opcode.Close:
        if (this.closeFrame === null) {
          this.closeFrame = readClose(frame.payload);
          this.closeAt = performance.now();
        }
        return;
      case Opcode.Ping:
        this.pings++;
        if (this.autoPong && this.closeFrame === null)
          void this.send({ opcode: Opcode.Pong, payload: frame.payload });
        return;
      case Opcode.Pong:
        this.pongs++;
        return;
      case Opcode.Text:
      case Opcode.Binary:
        this.partial.length = 0;
        this.partialBinary = frame.opcode === Opcode.Binary;
        this.partialOpen = true;
        break;
      case Opcode.Continuation:
        if (!this.partialOpen) return;
        break;
      default:
        return;
    }
    this.partial.push(frame.payload);
    if (frame.fin) {
      this.messages.push({ binary: this.partialBinary, data: Buffer.concat(this.partial) });
      this.partial.length = 0;
      this.partialOpen = false;
    }
  }
}
