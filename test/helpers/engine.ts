/**
 * Test harness for the sans-I/O engine: a Connection with a recording handler and a
 * deterministic platform (counter-based "randomness", real SHA-1 not needed here).
 */
import { Connection, type CloseInfo, type ConnectionOptions } from '../../src/protocol/index.js';
import type { Platform } from '../../src/protocol/platform.js';

export type EngineEvent =
  | { type: 'message'; data: Uint8Array; isBinary: boolean; parts: number }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  | { type: 'close'; info: CloseInfo };

/** Deterministic platform: randomFill writes 1, 2, 3, ... so masks are predictable. */
export function testPlatform(): Platform {
  let counter = 0;
  return {
    randomFill(bytes) {
      for (let i = 0; i < bytes.length; i++) bytes[i] = ++counter & 0xff;
    },
    sha1() {
      throw new Error('sha1 not used by the engine');
    },
    alloc: (size) => new Uint8Array(size),
  };
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export interface Harness {
  conn: Connection;
  events: EngineEvent[];
  written: Uint8Array[];
  /** All bytes written so far, joined, and the list cleared. */
  takeWritten(): Uint8Array;
  /** Feeds bytes (copied, since the engine unmasks in place). */
  feed(bytes: Uint8Array | number[], split?: number[]): void;
  closeEvent(): CloseInfo | undefined;
  messages(): string[];
}

export function harness(
  options: Partial<ConnectionOptions> & { role: 'server' | 'client' },
): Harness {
  const events: EngineEvent[] = [];
  const written: Uint8Array[] = [];
  const conn = new Connection(
    { platform: testPlatform(), ...options },
    {
      onMessage(data, isBinary) {
        const parts = Array.isArray(data) ? data.length : 1;
        events.push({
          type: 'message',
          data: Array.isArray(data) ? concat(data) : new Uint8Array(data),
          isBinary,
          parts,
        });
      },
      onPing: (data) => events.push({ type: 'ping', data: new Uint8Array(data) }),
      onPong: (data) => events.push({ type: 'pong', data: new Uint8Array(data) }),
      onWrite: (bytes) => written.push(new Uint8Array(bytes)),
      onClose: (info) => events.push({ type: 'close', info }),
    },
  );
  return {
    conn,
    events,
    written,
    takeWritten() {
      const all = concat(written);
      written.length = 0;
      return all;
    },
    feed(bytes, split) {
      const data = Uint8Array.from(bytes);
      if (split === undefined) {
        conn.receiveData(data);
        return;
      }
      let start = 0;
      for (const end of [...split, data.length]) {
        conn.receiveData(data.slice(start, end));
        start = end;
      }
    },
    closeEvent() {
      const e = events.find((x) => x.type === 'close');
      return e?.type === 'close' ? e.info : undefined;
    },
    messages() {
      return events.flatMap((e) =>
        e.type === 'message' ? [new TextDecoder().decode(e.data)] : [],
      );
    },
  };
}

/** Builds a masked client frame (what a server receives). */
export function clientFrame(
  opcode: number,
  payload: Uint8Array | string,
  options: { fin?: boolean; rsv?: number; mask?: number[]; masked?: boolean } = {},
): Uint8Array {
  const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const masked = options.masked ?? true;
  const key = Uint8Array.from(options.mask ?? [0x37, 0xfa, 0x21, 0x3d]);
  const len = data.length;
  const ext = len <= 125 ? 0 : len <= 0xffff ? 2 : 8;
  const out = new Uint8Array(2 + ext + (masked ? 4 : 0) + len);
  out[0] = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  out[1] = (masked ? 0x80 : 0) | (len <= 125 ? len : len <= 0xffff ? 126 : 127);
  let o = 2;
  if (ext === 2) {
    out[2] = len >> 8;
    out[3] = len & 0xff;
    o = 4;
  } else if (ext === 8) {
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
    o = 10;
  }
  if (masked) {
    out.set(key, o);
    o += 4;
  }
  for (let i = 0; i < len; i++) out[o + i] = masked ? data[i] ^ key[i & 3] : data[i];
  return out;
}
