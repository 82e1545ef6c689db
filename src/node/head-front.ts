/**
 * The front of a server that ironsock listens for itself (the `port` option, `ironsock serve`):
 * a `net.Server` whose connections have their first request head read here, with the strict
 * parser of handshake/http-head.ts, instead of going through node:http (its per-connection
 * setup, llhttp parser and timers cost about a tenth of a connect-upgrade-close cycle).
 *
 * - A head that asks for an upgrade (`Connection: upgrade` and an `Upgrade` header, as Node
 *   routes to 'upgrade') goes to the WebSocket handshake with a real `IncomingMessage` built
 *   from it: `method`, `url`, `httpVersion`, `headers` (Node's own duplicate rules, computed on
 *   first read), `rawHeaders` (names as sent), `socket`.
 * - Any other request (a page, a health check, a plain GET to a WebSocket path) is handed to a
 *   node:http server that does not listen itself: the bytes read so far are put back on the
 *   socket (`unshift`) and the socket is given to it as a new connection, so keep-alive and
 *   pipelined requests, bodies and a later upgrade on the same connection follow node:http's
 *   rules (that server's 'upgrade' event reaches the same WebSocket server).
 * - A malformed head is refused with 400, one over the size or header-count limit with 431
 *   (H4, H6), and a connection without a complete head at the handshake timeout with 408 (H7,
 *   slowloris): one shared interval sweeps the connections still reading their head, as
 *   node:http's `connectionsCheckingInterval` does, instead of a timer per connection.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { nodeHttp, nodeNet } from './builtins.js';
import { HttpHeadParser } from '../protocol/handshake/http-head.js';
import type { RequestHead } from '../protocol/handshake/http-head.js';
import { HandshakeError } from '../protocol/handshake/errors.js';
import { valueHasToken } from '../protocol/handshake/header-tokens.js';

/** What the front hands over: the WebSocket server's side of it (server.ts). */
export interface FrontTarget {
  /**
   * A complete head asking for an upgrade, called from the socket's read. `socket` is still in
   * flowing mode with no 'data' listener: a target that keeps it adds its listener before
   * returning; otherwise the front stops the flow when this returns (bytes then wait in the
   * socket, as node:http leaves them before 'upgrade'). Its error listener is
   * {@link ignoreSocketError}; `rest` holds the bytes read after the head.
   */
  upgradeFromFront(req: IncomingMessage, head: RequestHead, socket: Socket, rest: Buffer): void;
  /**
   * No usable head: malformed (400), too large or too many fields (431), or not complete within
   * the handshake timeout (408). `socket` no longer reads; answer and destroy it.
   */
  refuseHead(socket: Socket, status: number, code: string, reason: string): void;
}

/** Limits of {@link HeadFront}. */
export interface FrontOptions {
  /** Time from the TCP accept to a complete head, in ms (the handshake timeout). */
  handshakeTimeout: number;
  /** Most bytes of a head (431 past it). */
  maxHeadBytes: number;
  /** Most header fields (431 past it). */
  maxHeaders: number;
}

/** The bytes after a head that ended its read: shared, never written to (length 0). */
const NOTHING_AFTER = Buffer.alloc(0);

/** Code of the 408 answer (the one node:http's `'clientError'` used for the same case). */
export const HEAD_TIMEOUT_CODE = 'ERR_HTTP_REQUEST_TIMEOUT';

// Only a head that takes several reads leaves state on its socket (a property added to a
// net.Socket costs memory for as long as the connection lives).
const kParser = Symbol('ironsock.frontParser');
const kChunks = Symbol('ironsock.frontChunks');
type FrontSocket = Socket & {
  [kParser]?: HttpHeadParser<'request'>;
  [kChunks]?: Buffer[];
};

/** Socket errors before a WebSocket owns the socket are expected (RST, timeouts): never unhandled (R8). */
export function ignoreSocketError(this: Socket): void {
  this.destroy();
}
function noop(): void {}
/** Node's `Buffer#latin1Slice` (what `toString('latin1', start, end)` calls, without its checks). */
type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * Leaves `socket` as node:http leaves one before 'upgrade': not flowing, bytes wait for the next
 * reader. A socket with a 'data' listener of its own is left as it is.
 */
export function holdInput(socket: Duplex): void {
  if (socket.readableFlowing === true && socket.listenerCount('data') === 0) {
    (socket as { readableFlowing: boolean | null }).readableFlowing = null;
  }
}

/** Node routes a request to 'upgrade' when it carries an `Upgrade` header and `Connection: upgrade`. */
function asksForUpgrade(head: RequestHead): boolean {
  if (head.method === 'CONNECT') return false;
  const headers = head.headers;
  let upgrade = false;
  let connection = false;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0];
    if (name === 'upgrade') upgrade = true;
    else if (name === 'connection' && !connection) {
      // Several Connection headers are one list (RFC 7230 §3.2.2): any of them may carry it.
      connection = valueHasToken(headers[i][1], 'upgrade');
    }
  }
  return upgrade && connection;
}

/** `x.y` -> [x, y] for Node's `httpVersionMajor`/`httpVersionMinor` (the parser checked the shape). */
function versionPart(version: string, index: 0 | 2): number {
  return version.charCodeAt(index) - 0x30;
}

/**
 * The `IncomingMessage` of a head read by the front, as node:http would have made it for its
 * 'upgrade' event: request line fields, `rawHeaders` as sent, `headers` computed on first read
 * with Node's rules for duplicates, `socket`; no body (`complete`).
 */
function requestFromHead(head: RequestHead, socket: Socket): IncomingMessage {
  const req = new nodeHttp.IncomingMessage(socket);
  req.method = head.method;
  req.url = head.target;
  req.httpVersion = head.httpVersion;
  req.httpVersionMajor = versionPart(head.httpVersion, 0);
  req.httpVersionMinor = versionPart(head.httpVersion, 2);
  const raw = head.rawHeaders ?? head.headers.flat();
  const lines = req as IncomingMessage & { _addHeaderLines?(raw: string[], n: number): void };
  if (typeof lines._addHeaderLines === 'function') {
    // Node keeps the list and builds `headers` from it when first read.
    lines._addHeaderLines(raw, raw.length);
  } else {
    // node:http's internal is gone (Node ≥ 20 has it): duplicates joined with ", ", a
    // simplification of Node's rules (Set-Cookie an array, some fields first-wins).
    req.rawHeaders = raw;
    const headers: Record<string, string> = {};
    for (const [name, value] of head.headers) {
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    req.headers = headers;
  }
  req.complete = true;
  (req as unknown as { upgrade: boolean }).upgrade = true;
  return req;
}

/**
 * Reads the first request head of each connection of `server` (see the module comment). Create
 * it, then `listen` on `server`; `close()` stops it.
 */
export class HeadFront {
  /** The listening server. */
  readonly server: NetServer;
  private readonly target: FrontTarget;
  private readonly fallback: HttpServer;
  private readonly maxHeadBytes: number;
  private readonly maxHeaders: number;
  private readonly interval: number;
  /** Sweeps a connection may wait for its head: its age is at least the timeout when it is refused. */
  private readonly ticks: number;
  /** Connections still reading their head, with the sweep count at their accept. */
  private readonly pending = new Map<FrontSocket, number>();
  /** The 'data' listener of every pending connection (one function per front). */
  private readonly onHeadData: (this: FrontSocket, chunk: Buffer) => void;
  /** Refused connections in their grace period (the target destroys them; `close` at once). */
  private readonly refusing = new Set<Socket>();
  private tick = 0;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  /**
   * @param target the WebSocket server's handshake (upgrade requests and refusals)
   * @param fallback the node:http server for every other request; it must not listen itself
   */
  constructor(target: FrontTarget, fallback: HttpServer, options: FrontOptions) {
    this.target = target;
    this.fallback = fallback;
    this.maxHeadBytes = options.maxHeadBytes;
    this.maxHeaders = options.maxHeaders;
    const timeout = options.handshakeTimeout;
    this.interval = Math.min(1000, Math.max(50, Math.floor(timeout / 4)));
    this.ticks = Math.ceil(timeout / this.interval) + 1;
    this.onHeadData = headDataListener(this);
    // node:http's socket options for the connections it would have accepted itself.
    this.server = new nodeNet.Server({ allowHalfOpen: true, noDelay: true }, (socket: Socket) =>
      this.accept(socket),
    );
    // node:http starts tracking its connections (headersTimeout, requestTimeout for the requests
    // it gets from here) on its own 'listening'; it never listens, so it hears ours.
    this.server.on('listening', () => fallback.emit('listening'));
  }

  /**
   * Stops listening, refuses nothing more, destroys the connections still reading a head and
   * closes the ones handed to the node:http server (`callback` waits for all of them).
   */
  close(callback?: (error?: Error) => void): void {
    this.closed = true;
    this.server.close(callback);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const socket of this.pending.keys()) socket.destroy();
    this.pending.clear();
    // Their grace timers do not keep the process alive, nor should they keep `close` waiting.
    for (const socket of this.refusing) socket.destroy();
    this.refusing.clear();
    // Clears node:http's connection-checking interval (it never listened: the error is expected).
    this.fallback.close(noop);
    this.fallback.closeAllConnections();
  }

  private accept(socket: FrontSocket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.pending.set(socket, this.tick);
    if (this.sweepTimer === null) {
      this.sweepTimer = setInterval(sweep, this.interval, this);
      this.sweepTimer.unref();
    }
    socket.on('error', ignoreSocketError);
    // Reading already started in the Socket constructor and nothing can be buffered yet (no
    // read event since the accept): flowing mode set first, the 'data' listener does not
    // schedule the resume tick that would only find an empty buffer (issue #12).
    (socket as { readableFlowing: boolean | null }).readableFlowing = true;
    socket.on('data', this.onHeadData);
  }

  /** @internal One read of a connection still reading its head. */
  read(socket: FrontSocket, chunk: Buffer): void {
    let chunks = socket[kChunks];
    if (chunks === undefined) {
      // The usual case: the whole head in the first read, parsed as one latin1 string.
      // The read decoded once (at most the head limit of it), the end found in the string:
      // cheaper than Buffer#indexOf's wrapper for the few hundred bytes of a head.
      const text = (chunk as Latin1Buffer).latin1Slice(
        0,
        Math.min(chunk.length, this.maxHeadBytes),
      );
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) {
        let head: RequestHead;
        try {
          head = this.parser().parseText(end + 4 === text.length ? text : text.slice(0, end + 4));
        } catch (error) {
          this.fail(socket, error);
          return;
        }
        this.finish(socket, head, chunk, end + 4, null);
        return;
      }
      chunks = socket[kChunks] = [];
      socket[kParser] = this.parser();
    }
    // Heads split over reads (slow clients, 1-byte writes): the incremental parser, linear in
    // the bytes however they are split (H7).
    chunks.push(chunk);
    let result;
    try {
      result = socket[kParser]!.feed(chunk);
    } catch (error) {
      this.fail(socket, error);
      return;
    }
    if (result.done) {
      socket[kParser] = undefined;
      this.finish(socket, result.head, chunk, chunk.length - result.rest.length, chunks);
    }
  }

  /** @internal The interval: drops ended connections, answers 408 to those past the timeout. */
  sweep(): void {
    this.tick++;
    for (const [socket, accepted] of this.pending) {
      if (socket.destroyed || socket.readableEnded) {
        this.forget(socket);
        socket.destroy();
      } else if (this.tick - accepted >= this.ticks) {
        this.forget(socket);
        this.refuse(
          socket,
          408,
          HEAD_TIMEOUT_CODE,
          'no complete request head within the handshake timeout',
        );
      }
    }
    if (this.pending.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  private parser(): HttpHeadParser<'request'> {
    return new HttpHeadParser('request', {
      maxHeadBytes: this.maxHeadBytes,
      maxHeaders: this.maxHeaders,
      rawHeaders: true,
    });
  }

  /** Stops reading for the front: no more 'data' here, out of the sweep (still flowing). */
  private forget(socket: FrontSocket): void {
    this.pending.delete(socket);
    if (socket[kChunks] !== undefined) {
      socket[kChunks] = undefined;
      socket[kParser] = undefined;
    }
    socket.removeListener('data', this.onHeadData);
  }

  private refuse(socket: Socket, status: number, code: string, reason: string): void {
    holdInput(socket);
    this.refusing.add(socket);
    socket.once('close', () => this.refusing.delete(socket));
    this.target.refuseHead(socket, status, code, reason);
  }

  private fail(socket: FrontSocket, error: unknown): void {
    this.forget(socket);
    const known = error instanceof HandshakeError;
    this.refuse(
      socket,
      known ? (error.status ?? 400) : 400,
      known ? error.code : 'MALFORMED_HEAD',
      known ? error.message : 'malformed HTTP head',
    );
  }

  /**
   * A complete head: the upgrade path, or node:http. `chunk[end..]` follows the head; `chunks`
   * are all the reads so far when the head took more than one (null: `chunk` alone).
   */
  private finish(
    socket: FrontSocket,
    head: RequestHead,
    chunk: Buffer,
    end: number,
    chunks: Buffer[] | null,
  ): void {
    if (asksForUpgrade(head)) {
      // The socket stays in flowing mode while the target runs: a handshake accepted at once
      // hands it to its WebSocket still flowing (no pause, resume and tick per connection).
      // No byte can be read before the target returns.
      this.forget(socket);
      this.target.upgradeFromFront(
        requestFromHead(head, socket),
        head,
        socket,
        // Nearly always nothing follows the head: no new view for it.
        end === chunk.length ? NOTHING_AFTER : chunk.subarray(end),
      );
      // Not taken over (refused, or waiting for an asynchronous verifyClient): the bytes wait
      // in the socket for the next reader.
      holdInput(socket);
      return;
    }
    this.forget(socket);
    holdInput(socket);
    // Not an upgrade: node:http reads the request again, from its first byte.
    socket.removeListener('error', ignoreSocketError);
    if (chunks === null) socket.unshift(chunk);
    else for (let i = chunks.length - 1; i >= 0; i--) socket.unshift(chunks[i]);
    this.fallback.emit('connection', socket);
  }
}

/** The 'data' listener of a front's pending connections: `this` is the socket. */
function headDataListener(front: HeadFront): (this: Socket, chunk: Buffer) => void {
  return function onHeadData(this: Socket, chunk: Buffer): void {
    front.read(this, chunk);
  };
}

function sweep(front: HeadFront): void {
  front.sweep();
}
