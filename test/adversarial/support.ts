/**
 * Shared harness of the adversarial suite (docs/checklist.md): an ironsock echo
 * server on 127.0.0.1:0, a raw-socket attacker that writes exact bytes and reads exact answers,
 * a control client (ironsock `WebSocket`) opened before each attack, and the checklist's
 * invariant ("nothing else affected") as one assertion.
 */
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { delay, once } from '../node/util.js';
import { WebSocketServer } from '../../src/node/server.js';
import type { RejectionInfo, ServerOptions } from '../../src/node/server.js';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { nodePlatform } from '../../src/node/platform.js';
import { encodeFrame } from '../../src/protocol/frame.js';
import { computeAccept, HttpHeadParser } from '../../src/protocol/handshake/index.js';
import type { ResponseHead } from '../../src/protocol/handshake/index.js';

/** Opcodes, spelled out for readability of the tests. */
export const Op = {
  Cont: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

// Bounded waits shared with the Node adapter tests.
export { delay, once };

/** Polls `check` every 10 ms until true; throws after `ms`. */
export async function waitFor(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** A masked client frame as one buffer (encodeFrame with a random key). */
export function frame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  { fin = true, rsv = 0, mask = true }: { fin?: boolean; rsv?: number; mask?: boolean } = {},
): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = encodeFrame(fin, rsv, opcode, bytes, mask ? randomBytes(4) : null, (n) =>
    Buffer.allocUnsafe(n),
  );
  return Array.isArray(out)
    ? Buffer.concat(out)
    : Buffer.from(out.buffer, out.byteOffset, out.length);
}

/** A Close frame payload: 2-byte code + reason. */
export function closePayload(code: number, reason: Uint8Array | string = ''): Buffer {
  const r = typeof reason === 'string' ? Buffer.from(reason, 'utf8') : Buffer.from(reason);
  const out = Buffer.alloc(2 + r.length);
  out.writeUInt16BE(code, 0);
  r.copy(out, 2);
  return out;
}

/** A parsed frame read from the wire. */
export interface WireFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Parses complete frames from `bytes`; returns them and the count of bytes consumed. */
export function parseFrames(bytes: Buffer): { frames: WireFrame[]; used: number } {
  const frames: WireFrame[] = [];
  let i = 0;
  while (i + 2 <= bytes.length) {
    const b0 = bytes[i];
    const b1 = bytes[i + 1];
    let len = b1 & 0x7f;
    let off = i + 2;
    if (len === 126) {
      if (off + 2 > bytes.length) break;
      len = bytes.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (off + 8 > bytes.length) break;
      len = Number(bytes.readBigUInt64BE(off));
      off += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let key: Buffer | null = null;
    if (masked) {
      if (off + 4 > bytes.length) break;
      key = bytes.subarray(off, off + 4);
      off += 4;
    }
    if (off + len > bytes.length) break;
    const payload = Buffer.from(bytes.subarray(off, off + len));
    if (key !== null) for (let j = 0; j < payload.length; j++) payload[j] ^= key[j & 3];
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
    i = off + len;
  }
  return { frames, used: i };
}

/** A valid upgrade request head for 127.0.0.1:`port` (extra lines appended, `omit` names dropped). */
export function upgradeRequest(
  port: number,
  {
    extra = [],
    omit = [],
    path = '/',
    key = randomBytes(16).toString('base64'),
  }: {
    extra?: string[];
    omit?: string[];
    path?: string;
    key?: string;
  } = {},
): string {
  const lines = [
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ].filter((line) => !omit.some((name) => line.toLowerCase().startsWith(name.toLowerCase() + ':')));
  return [`GET ${path} HTTP/1.1`, ...lines, ...extra, '', ''].join('\r\n');
}

/** An HTTP response read by the attacker. */
export interface RawResponse {
  head: ResponseHead;
  /** Header value (first), lower-case name lookup. */
  header(name: string): string | undefined;
  /** Everything after the head received so far. */
  rest: Buffer;
}

/**
 * A raw TCP attacker: writes exact bytes, collects everything it receives, parses the response
 * head with hs's `HttpHeadParser` and frames with {@link parseFrames}.
 */
export class Attacker {
  readonly socket: net.Socket;
  data = Buffer.alloc(0);
  closed = false;
  ended = false;
  error: Error | null = null;
  /** Offset in `data` where frames start (after a 101 head). */
  private frameStart = -1;
  private framesUsed = 0;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', (error) => {
      this.error = error;
    });
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<Attacker> {
    const socket = net.connect(port, '127.0.0.1');
    const attacker = new Attacker(socket);
    await once(socket, 'connect');
    return attacker;
  }

  /** Connects and completes a valid handshake, verifying `Sec-WebSocket-Accept` (§4.2.2). */
  static async open(port: number, extra: string[] = []): Promise<Attacker> {
    const attacker = await Attacker.connect(port);
    const key = randomBytes(16).toString('base64');
    attacker.write(upgradeRequest(port, { extra, key }));
    const response = await attacker.response();
    assert.equal(response.head.status, 101, `expected 101, got ${attacker.text}`);
    assert.equal(response.header('sec-websocket-accept'), computeAccept(key, nodePlatform));
    return attacker;
  }

  write(bytes: Uint8Array | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Writes `bytes` in chunks of `size` bytes, `gapMs` apart (0: one tick apart). */
  async writeSlowly(bytes: Uint8Array | string, size = 1, gapMs = 0): Promise<void> {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
    for (let i = 0; i < buf.length && !this.socket.destroyed; i += size) {
      await new Promise<void>((resolve) =>
        this.socket.write(buf.subarray(i, i + size), () => resolve()),
      );
      if (gapMs > 0) await delay(gapMs);
      else await new Promise((r) => setImmediate(r));
    }
  }

  get text(): string {
    return this.data.toString('latin1');
  }

  /** Waits for a complete response head; parses it with `HttpHeadParser('response')`. */
  async response(ms = 5000): Promise<RawResponse> {
    await waitFor(
      () => this.data.includes('\r\n\r\n') || this.closed,
      ms,
      `an HTTP response (got ${JSON.stringify(this.text.slice(0, 200))})`,
    );
    const parser = new HttpHeadParser('response');
    const result = parser.feed(this.data);
    assert.ok(result.done, `incomplete response head: ${JSON.stringify(this.text)}`);
    const head = result.head;
    const rest = Buffer.from(result.rest);
    if (head.status === 101) this.frameStart = this.data.length - rest.length;
    return {
      head,
      rest,
      header: (name) => head.headers.find(([n]) => n === name.toLowerCase())?.[1],
    };
  }

  /** Status of the response (waits for it). */
  async status(ms = 5000): Promise<number> {
    return (await this.response(ms)).head.status;
  }

  /** All frames received after the 101 so far. */
  frames(): WireFrame[] {
    if (this.frameStart < 0) return [];
    return parseFrames(this.data.subarray(this.frameStart)).frames;
  }

  /** Waits for the next frame not returned before. */
  async nextFrame(ms = 5000): Promise<WireFrame> {
    let next: WireFrame | undefined;
    await waitFor(
      () => {
        next = this.frames()[this.framesUsed];
        return next !== undefined || this.closed;
      },
      ms,
      'a frame',
    );
    if (next === undefined) throw new Error('connection closed before a frame arrived');
    this.framesUsed++;
    return next;
  }

  /** Waits for a Close frame from the server and returns its code (1005 when empty) and reason. */
  async closeFrame(ms = 5000): Promise<{ code: number; reason: Buffer; before: WireFrame[] }> {
    let found: WireFrame | undefined;
    let before: WireFrame[] = [];
    await waitFor(
      () => {
        const frames = this.frames();
        const i = frames.findIndex((f) => f.opcode === Op.Close);
        if (i >= 0) {
          found = frames[i];
          before = frames.slice(0, i);
        }
        return found !== undefined || this.closed;
      },
      ms,
      'a Close frame',
    );
    if (found === undefined) {
      throw new Error(`TCP closed without a Close frame; frames: ${JSON.stringify(this.frames())}`);
    }
    const code = found.payload.length >= 2 ? found.payload.readUInt16BE(0) : 1005;
    return { code, reason: found.payload.subarray(2), before };
  }

  /** Waits until the server closed TCP (FIN or RST). */
  async waitClosed(ms = 5000): Promise<void> {
    await waitFor(() => this.closed || this.ended, ms, 'the server to close TCP');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A control client: an ironsock `WebSocket` opened before the attack. */
export async function openControl(url: string): Promise<WebSocket> {
  // Same-origin `Origin`, so the control also passes `requireOrigin` servers.
  const ws = new WebSocket(url, { origin: url.replace(/^ws/, 'http') });
  ws.on('error', () => {});
  await once(ws, 'open');
  return ws;
}

let controlCounter = 0;
/**
 * Asserts the control connection echoes a fresh message within `ms` (checklist invariant: 1 s).
 */
export async function assertEchoes(ws: WebSocket, ms = 1000): Promise<void> {
  assert.equal(ws.readyState, WebSocket.OPEN, 'control connection is no longer open');
  const payload = `control-${process.pid}-${++controlCounter}-${randomBytes(6).toString('hex')}`;
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`control connection did not echo within ${ms} ms`));
    }, ms);
    const onMessage = (data: Buffer): void => {
      if (data.toString() !== payload) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve();
    };
    ws.on('message', onMessage);
    ws.send(payload);
  });
  assert.ok(Date.now() - started <= ms);
}

/** A running echo server with its control connection and what it reported. */
export interface Arena {
  wss: WebSocketServer;
  port: number;
  url: string;
  control: WebSocket;
  rejections: RejectionInfo[];
  /** Errors emitted by server-side WebSocket objects ('error' listened for, so never unhandled). */
  socketErrors: Error[];
  /** Server 'error' events (application errors, e.g. from handleProtocols). */
  serverErrors: unknown[];
  /** Close events of server-side connections: code and reason. */
  serverCloses: Array<{ code: number; reason: string }>;
  /** Server-side WebSocket objects in accept order (index 0: the control's). */
  serverSockets: WebSocket[];
  /** Attackers opened through `attack`, destroyed at the end. */
  attackers: Attacker[];
  /** Connects a raw attacker. */
  attack(): Promise<Attacker>;
  /** Connects a raw attacker and completes a valid handshake. */
  attackOpen(extra?: string[]): Promise<Attacker>;
  /** The invariant: control echoes within 1 s. */
  check(): Promise<void>;
}

/**
 * Starts an ironsock echo `WebSocketServer` on 127.0.0.1:0 with `options`, opens the control
 * connection, runs `body`, then asserts the checklist invariant: the control connection still
 * echoes within 1 s; once every attacker is gone `wss.clients` is back to the baseline (the
 * control only); the server closes cleanly.
 */
export async function arena(
  options: Partial<ServerOptions>,
  body: (a: Arena) => Promise<void>,
  { echo = true }: { echo?: boolean } = {},
): Promise<Arena> {
  // Attach mode when `options.server` is given (the caller has it listening on 127.0.0.1).
  const attached = options.server !== undefined;
  const wss = new WebSocketServer(
    (attached ? options : { port: 0, host: '127.0.0.1', ...options }) as ServerOptions,
  );
  const rejections: RejectionInfo[] = [];
  const socketErrors: Error[] = [];
  const serverErrors: unknown[] = [];
  const serverCloses: Array<{ code: number; reason: string }> = [];
  const serverSockets: WebSocket[] = [];
  wss.on('rejected', (info: RejectionInfo) => rejections.push(info));
  wss.on('error', (error: unknown) => serverErrors.push(error));
  wss.on('connection', (ws: WebSocket) => {
    serverSockets.push(ws);
    ws.on('error', (error: Error) => socketErrors.push(error));
    ws.on('close', (code: number, reason: Buffer) =>
      serverCloses.push({ code, reason: reason.toString() }),
    );
    if (echo) {
      ws.on('message', (data: Buffer | Buffer[], isBinary: boolean) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data as Buffer, { binary: isBinary });
      });
    }
  });
  if (!attached) await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  const url = `ws://127.0.0.1:${port}`;
  const attackers: Attacker[] = [];
  let control: WebSocket;
  try {
    control = await openControl(url);
    await waitFor(() => wss.clients.size === 1, 2000, 'the control connection');
  } catch (error) {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    throw error;
  }
  const a: Arena = {
    wss,
    port,
    url,
    control,
    rejections,
    socketErrors,
    serverErrors,
    serverCloses,
    serverSockets,
    attackers,
    async attack() {
      const attacker = await Attacker.connect(port);
      attackers.push(attacker);
      return attacker;
    },
    async attackOpen(extra = []) {
      const attacker = await Attacker.open(port, extra);
      attackers.push(attacker);
      return attacker;
    },
    check: () => assertEchoes(control),
  };
  try {
    await body(a);
    await assertEchoes(control);
    for (const attacker of attackers) attacker.destroy();
    await waitFor(() => wss.clients.size === 1, 5000, '`clients` back to the baseline (control)');
    await assertEchoes(control);
  } finally {
    for (const attacker of attackers) attacker.destroy();
    control.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
  return a;
}

v8.setFlagsFromString('--expose-gc');
/** A full garbage collection (V8's `gc`, exposed at run time). */
export const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Memory now (heap + array buffers) after a full GC, in bytes. */
export function memoryNow(): number {
  collectGarbage();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Asserts memory grew by at most `bound` bytes since `before` (after a GC if exposed). */
export function assertMemoryBelow(before: number, bound: number, what: string): void {
  const grown = memoryNow() - before;
  assert.ok(grown <= bound, `${what}: memory grew by ${grown} bytes (bound ${bound})`);
}
