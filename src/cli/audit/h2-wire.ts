/**
 * Just enough HTTP/2 on the wire (RFC 9113 §4, §6; RFC 7541 literals) for the audit to look at
 * what Node's own client hides or refuses to send: the raw SETTINGS frame (is
 * SETTINGS_ENABLE_CONNECT_PROTOCOL there?), an extended CONNECT to a server that did not
 * advertise it, or a request with two `:authority` fields. Requests are encoded as HPACK
 * literals without indexing or Huffman coding (always valid); responses are not decoded, only
 * their frame types, flags and error codes are read.
 */
import tls from 'node:tls';

/** Frame types (RFC 9113 §6). */
export const H2FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
} as const;

/** SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3). */
export const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** One frame as read. */
export interface H2Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** Encodes one frame. */
export function encodeH2Frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer,
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A header block of "literal header field without indexing, new name" entries (§6.2.2). */
export function encodeHeaderBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name.toLowerCase(), 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(Buffer.from([0x00, ...hpackInt(n.length, 7, 0)]), n);
    parts.push(Buffer.from(hpackInt(v.length, 7, 0)), v);
  }
  return Buffer.concat(parts);
}

/** The parameters of a SETTINGS payload, by identifier. */
export function parseSettings(payload: Buffer): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i + 6 <= payload.length; i += 6)
    out.set(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
  return out;
}

/** A raw HTTP/2 connection over TLS (ALPN h2) that records every frame it receives. */
export class RawH2Connection {
  readonly frames: H2Frame[] = [];
  readonly socket: tls.TLSSocket;
  closed = false;
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 9) {
        const length = this.buffer.readUIntBE(0, 3);
        if (this.buffer.length < 9 + length) break;
        const frame: H2Frame = {
          type: this.buffer[3],
          flags: this.buffer[4],
          stream: this.buffer.readUInt32BE(5) & 0x7fffffff,
          payload: Buffer.from(this.buffer.subarray(9, 9 + length)),
        };
        this.buffer = this.buffer.subarray(9 + length);
        this.frames.push(frame);
        // Acknowledge the server's SETTINGS, as a client must (§6.5.3).
        if (frame.type === H2FrameType.SETTINGS && (frame.flags & 0x1) === 0) {
          socket.write(encodeH2Frame(H2FrameType.SETTINGS, 0x1, 0, Buffer.alloc(0)));
        }
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  /**
   * Connects with ALPN `h2`, sends the preface and an empty SETTINGS. Resolves with null when
   * the server does not select `h2` (or refuses the offer with a no_application_protocol alert).
   */
  static async open(
    options: tls.ConnectionOptions,
    timeoutMs: number,
  ): Promise<RawH2Connection | null> {
    const socket = tls.connect({ ...options, ALPNProtocols: ['h2'] });
    const ok = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('TLS connection timed out'));
      }, timeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(socket.alpnProtocol === 'h2');
      });
      socket.once('error', (error: Error & { code?: string }) => {
        clearTimeout(timer);
        // A server without h2 may refuse the ALPN offer with a fatal alert (RFC 7301 §3.2).
        if (/NO_APPLICATION_PROTOCOL/.test(error.code ?? '')) resolve(false);
        else reject(error);
      });
    });
    if (!ok) {
      socket.destroy();
      return null;
    }
    const connection = new RawH2Connection(socket);
    socket.write(
      Buffer.concat([PREFACE, encodeH2Frame(H2FrameType.SETTINGS, 0, 0, Buffer.alloc(0))]),
    );
    return connection;
  }

  /** Waits until `check` finds something in the frames received, or the timeout (null). */
  async waitFor<T>(
    check: (frames: H2Frame[]) => T | undefined,
    timeoutMs: number,
  ): Promise<T | null> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = check(this.frames);
      if (found !== undefined) return found;
      if (this.closed || Date.now() >= end) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, end - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The server's first SETTINGS frame's parameters (null if none arrived in time). */
  serverSettings(timeoutMs: number): Promise<Map<number, number> | null> {
    return this.waitFor((frames) => {
      const settings = frames.find((f) => f.type === H2FrameType.SETTINGS && (f.flags & 0x1) === 0);
      return settings === undefined ? undefined : parseSettings(settings.payload);
    }, timeoutMs);
  }

  /** Sends a HEADERS frame (END_HEADERS; END_STREAM when `endStream`) on `stream`. */
  sendHeaders(
    stream: number,
    fields: ReadonlyArray<readonly [string, string]>,
    endStream = false,
  ): void {
    this.socket.write(
      encodeH2Frame(
        H2FrameType.HEADERS,
        0x4 | (endStream ? 0x1 : 0),
        stream,
        encodeHeaderBlock(fields),
      ),
    );
  }

  /**
   * What happened to `stream`: a HEADERS answer (the status is not decoded), a RST_STREAM
   * with its error code, a GOAWAY for the whole connection, or nothing in time.
   */
  async outcome(
    stream: number,
    timeoutMs: number,
  ): Promise<
    | { kind: 'headers' }
    | { kind: 'rst'; code: number }
    | { kind: 'goaway'; code: number }
    | { kind: 'none' }
  > {
    const found = await this.waitFor((frames) => {
      for (const f of frames) {
        if (f.stream === stream && f.type === H2FrameType.HEADERS)
          return { kind: 'headers' as const };
        if (f.stream === stream && f.type === H2FrameType.RST_STREAM)
          return { kind: 'rst' as const, code: f.payload.readUInt32BE(0) };
        if (f.type === H2FrameType.GOAWAY)
          return { kind: 'goaway' as const, code: f.payload.readUInt32BE(4) };
      }
      return undefined;
    }, timeoutMs);
    return found ?? { kind: 'none' };
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
