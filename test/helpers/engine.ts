/**
 * Test harness for the sans-I/O engine: a Connection with a recording handler and a
 * deterministic platform (counter-based "randomness", real SHA-1 not needed here).
 */
import { afterEach, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, type CloseInfo, type ConnectionOptions } from '../../src/protocol/index.js';
import { recut, type Chunking } from './chunking.js';
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

type HarnessOptions = Partial<ConnectionOptions> & { role: 'server' | 'client' };

/**
 * A Connection with a recording handler. In a file that called `chunkingOracle()`, everything
 * the test does to `conn` is also logged and re-played after the test in other chunkings.
 */
export function harness(options: HarnessOptions): Harness {
  const h = makeHarness(options);
  if (oracleArmed && options.extension == null) {
    const record: Recorded = { options, ops: [], h };
    recorded.push(record);
    h.conn = recordingProxy(h.conn, record.ops);
  }
  return h;
}

function makeHarness(options: HarnessOptions): Harness & { output: Uint8Array[] } {
  const events: EngineEvent[] = [];
  const written: Uint8Array[] = [];
  const output: Uint8Array[] = [];
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
      onWrite: (bytes) => {
        written.push(new Uint8Array(bytes));
        output.push(new Uint8Array(bytes));
      },
      onClose: (info) => events.push({ type: 'close', info }),
    },
  );
  const self: Harness & { output: Uint8Array[] } = {
    conn,
    events,
    written,
    output,
    takeWritten() {
      const all = concat(written);
      written.length = 0;
      return all;
    },
    feed(bytes, split) {
      const data = Uint8Array.from(bytes);
      if (split === undefined) {
        self.conn.receiveData(data);
        return;
      }
      let start = 0;
      for (const end of [...split, data.length]) {
        self.conn.receiveData(data.slice(start, end));
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
  return self;
}

// ---------------------------------------------------------------- chunking equivalence oracle

/** One step a test took on a recorded connection: bytes in, or an API call and its outcome. */
type Op =
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'call'; method: string; args: unknown[]; threw: string | null };

interface Recorded {
  options: HarnessOptions;
  ops: Op[];
  h: ReturnType<typeof makeHarness>;
}

/** Methods whose calls are logged and re-played; `receiveData` is logged as input. */
const REPLAYED = new Set([
  'send',
  'ping',
  'pong',
  'answerPing',
  'close',
  'fail',
  'abort',
  'receiveEof',
  'pause',
  'resume',
]);

let oracleArmed = false;
let recorded: Recorded[] = [];

function recordingProxy(conn: Connection, ops: Op[]): Connection {
  return new Proxy(conn, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      if (property === 'receiveData') {
        return (bytes: Uint8Array) => {
          ops.push({ kind: 'data', bytes: bytes.slice() }); // before the engine unmasks it
          target.receiveData(bytes);
        };
      }
      if (!REPLAYED.has(property)) return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        const op: Op = { kind: 'call', method: property, args: args.map(copyArg), threw: null };
        ops.push(op);
        try {
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (error) {
          op.threw = (error as { code?: string }).code ?? String(error);
          throw error;
        }
      };
    },
  });
}

function copyArg(arg: unknown): unknown {
  return arg instanceof Uint8Array ? arg.slice() : arg;
}

/** What must not depend on the chunking: events (without `parts`), bytes written, throws. */
function observed(h: ReturnType<typeof makeHarness>, throws: (string | null)[]): unknown {
  return {
    events: h.events.map((e) => {
      if (e.type === 'message') return { type: e.type, data: e.data, isBinary: e.isBinary };
      if (e.type !== 'close') return e;
      const { error, ...info } = e.info;
      return { type: 'close', ...info, error: error?.code };
    }),
    written: concat(h.output),
    throws,
  };
}

function replay(record: Recorded, how: Chunking, seed: number): unknown {
  const platform = record.options.platform ?? testPlatform();
  const h = makeHarness({ ...record.options, platform });
  const throws: (string | null)[] = [];
  let pending: Uint8Array[] = [];
  const flush = () => {
    for (const piece of recut(pending, how, seed)) h.conn.receiveData(piece);
    pending = [];
  };
  for (const op of record.ops) {
    if (op.kind === 'data') {
      pending.push(op.bytes);
      continue;
    }
    flush();
    let threw: string | null = null;
    try {
      (h.conn as unknown as Record<string, (...a: unknown[]) => unknown>)[op.method](
        ...op.args.map(copyArg),
      );
    } catch (error) {
      threw = (error as { code?: string }).code ?? String(error);
    }
    throws.push(threw);
  }
  flush();
  return observed(h, throws);
}

/**
 * Chunking equivalence (STYLE.md §10, checklist F4) for every engine test of a file: call it once
 * at the top of the file. Each harness a test creates records its input and API calls; after
 * the test, the input is fed again to a fresh engine with the same options, whole (one read
 * between two API calls), one byte per read and in seeded random pieces, and the events, the
 * bytes written and the API errors must be identical to the test's own run. Harnesses with an
 * extension (whose transforms may be asynchronous) are not replayed.
 */
export function chunkingOracle(): void {
  beforeEach(() => {
    oracleArmed = true;
    recorded = [];
  });
  afterEach(() => {
    const records = recorded;
    recorded = [];
    oracleArmed = false;
    records.forEach((record, index) => {
      const throws = record.ops.flatMap((op) => (op.kind === 'call' ? [op.threw] : []));
      const expected = observed(record.h, throws);
      for (const how of ['whole', 'bytes', 'random'] as const) {
        const seed = 0x5eed + index;
        assert.deepEqual(
          replay(record, how, seed),
          expected,
          `chunking oracle: harness #${index} fed ${how === 'random' ? `in random pieces (seed ${seed})` : how === 'whole' ? 'whole' : 'byte by byte'} gave other events`,
        );
      }
    });
  });
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
