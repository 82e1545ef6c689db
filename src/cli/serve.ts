import type { IncomingMessage, Server } from 'node:http';
import { nodeCluster, nodeHttp, nodeHttps, nodeOs } from '../node/builtins.js';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RejectionInfo } from '../node/server.js';
import type { WebSocket } from '../node/websocket.js';
import type { HeadFront } from '../node/head-front.js';
import { CliUsageError, ExitCode } from './args.js';
import { ChatRoom, chatRoomName } from './chat-room.js';
import type { ServeBus } from './serve-bus.js';
import type { CliIo } from './io.js';
import { createLogger, type Logger } from './log.js';
import { createHttpHandler } from './serve-http.js';
import { readServeSettings, serveHelp, type ServeSettings } from './serve-options.js';
import { stylesFor } from './terminal.js';
import { createHttp2Server } from '../node/http2-server.js';

/** Byte length of a received message as ws-style APIs deliver it. */
function byteLength(data: unknown): number {
  if (Array.isArray(data))
    return data.reduce((sum: number, part: Uint8Array) => sum + part.byteLength, 0);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

const CLOSED = 3;
const MIB = 1024 * 1024;

/**
 * Per-connection cap of buffered outgoing bytes: twice the largest message, at least the
 * library's 1 MiB default, so that echoing the biggest accepted message never hits it while
 * a client that stops reading is still cut off (checklist R4).
 */
export function sendBufferCap(maxPayload: number): number {
  return Math.max(MIB, 2 * maxPayload);
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Counters behind `--stats`. */
interface Counters {
  messages: number;
  bytes: number;
}

/**
 * `ironsock serve`: runs until `io.signal` aborts, then closes every client with 1001,
 * waits for them (bounded by the library's close timeout), and returns 0. Returns 1 when the
 * server cannot listen (port in use, ...) and 2 for usage errors.
 */
export async function serveCommand(args: string[], io: CliIo): Promise<number> {
  let settings: ServeSettings | 'help';
  try {
    settings = readServeSettings(args);
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.stderr.write(`ironsock serve: ${error.message}\nRun 'ironsock serve --help' for usage.\n`);
      return ExitCode.Usage;
    }
    throw error;
  }
  if (settings === 'help') {
    io.stdout.write(serveHelp());
    return ExitCode.Ok;
  }
  const logger = createLogger(io.stdout, settings.jsonLog, stylesFor(io));
  // node:cluster and the bus adapters are loaded only when asked for: a plain server does not
  // carry their code (the primary sets NODE_UNIQUE_ID in its workers' environment).
  const clustered = settings.workers > 1 || process.env.NODE_UNIQUE_ID !== undefined;
  const cluster = clustered ? nodeCluster() : null;
  const busModule = clustered || settings.bus !== null ? await import('./serve-bus.js') : null;
  if (cluster?.isPrimary === true && busModule !== null) {
    return busModule.runWorkers(settings, args, io, logger);
  }
  let bus: ServeBus | null;
  try {
    bus = busModule === null ? null : await busModule.connectBus(settings, logger);
  } catch (error) {
    io.stderr.write(`ironsock serve: ${(error as Error).message}\n`);
    return ExitCode.Failure;
  }
  let shuttingDown = false;
  const handler = createHttpHandler(
    settings.echo,
    () => shuttingDown,
    (status, code, reason) =>
      logger.log('warn', 'rejected', 'request refused', { status, code, reason }),
  );
  // Slowloris: Node enforces headersTimeout only on its connection-checking interval (30 s by
  // default), so check every second to drop a half-sent handshake at 10 s.
  const httpOptions = {
    maxHeaderSize: 16 * 1024,
    headersTimeout: 10_000,
    requestTimeout: 10_000,
    connectionsCheckingInterval: 1000,
  };
  const server: Server =
    settings.tls === null
      ? nodeHttp.createServer(httpOptions, handler)
      : settings.http2
        ? // HTTP/2 + HTTP/1.1 on one TLS port; the WebSocketServer below turns RFC 8441 on.
          (createHttp2Server(
            { cert: settings.tls.cert, key: settings.tls.key },
            10_000,
            handler as Parameters<typeof createHttp2Server>[2],
          ) as unknown as Server)
        : nodeHttps().createServer(
            { ...httpOptions, cert: settings.tls.cert, key: settings.tls.key },
            handler,
          );

  let wss: WebSocketServer;
  try {
    wss = new WebSocketServer({
      server,
      maxPayload: settings.maxPayload,
      // Echoing a message of maxPayload bytes must fit the send buffer cap (default 1 MiB).
      maxBufferedAmount: sendBufferCap(settings.maxPayload),
      perMessageDeflate: settings.deflate,
      ...(settings.origins.length > 0 ? { origins: settings.origins } : {}),
      ...(settings.allowHosts.length > 0 ? { allowedHosts: settings.allowHosts } : {}),
      // No --keepalive: the library's default (on); 0 turns it off.
      keepalive:
        settings.keepalive === undefined
          ? undefined
          : settings.keepalive === 0
            ? false
            : { interval: settings.keepalive },
      ...(bus === null ? {} : { pubsub: { adapter: bus.adapter } }),
    });
  } catch (error) {
    await bus?.close();
    // The library validates its options (e.g. an --origin that is not an origin).
    io.stderr.write(`ironsock serve: ${(error as Error).message}\n`);
    return ExitCode.Usage;
  }
  const counters: Counters | null = settings.stats > 0 ? { messages: 0, bytes: 0 } : null;
  const chat = chatRooms(wss, bus !== null);
  if (bus !== null) {
    wss.pubsub.on('gap', (info: { node: string; lost: number }) =>
      logger.log('warn', 'bus-gap', 'messages lost on the bus', { ...info }),
    );
    wss.pubsub.on('bus', (info: { state: string; reason?: string }) =>
      logger.log(info.state === 'up' ? 'info' : 'warn', 'bus', `bus ${info.state}`, { ...info }),
    );
    wss.pubsub.on('error', (error: Error) =>
      logger.log('warn', 'bus-error', 'bus error', { error: error.message }),
    );
  }
  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    if (settings.echo) attachEcho(ws, counters);
    else attachDemo(ws, request, chat, counters, logger);
  });
  wss.on('error', (error: Error) => {
    logger.log('error', 'error', `server error: ${error.message}`);
  });
  logRejections(wss, logger);
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    // With a 'clientError' listener Node no longer answers bad requests itself: answer 400
    // (408 for a header timeout) and make sure the socket goes away.
    if (!settings.echo) {
      logger.log('warn', 'client-error', 'bad HTTP request', { code: error.code });
    }
    if (socket.destroyed) return;
    socket.on('error', () => socket.destroy());
    if (socket.writable) {
      const status =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    setTimeout(() => socket.destroy(), 1000).unref();
  });

  // Plain HTTP: the library's front reads each connection's first head itself (upgrades skip
  // node:http); other requests reach `server` with the bytes already read (head-front.ts).
  const front = settings.tls === null ? wss._createFront(server) : null;
  const listener: NetServer = front?.server ?? server;
  try {
    await listen(listener, settings.port, settings.host);
  } catch (error) {
    io.stderr.write(
      `ironsock serve: cannot listen on ${formatHost(settings.host)}:${settings.port}: ${(error as Error).message}\n`,
    );
    await closeAll(wss, server, front);
    await bus?.close();
    return ExitCode.Failure;
  }
  const address = listener.address() as AddressInfo;
  const authority = `${formatHost(settings.host)}:${address.port}`;
  const http = settings.tls === null ? 'http' : 'https';
  const ws = settings.tls === null ? 'ws' : 'wss';
  const versions = settings.http2 ? ' over HTTP/2 and HTTP/1.1' : '';
  const status = settings.echo
    ? `ironsock echo server listening on ${ws}://${authority}${versions} (every path echoes)`
    : `ironsock listening on ${http}://${authority}${versions} (echo: ${ws}://${authority}/echo, chat: ${ws}://${authority}/chat)`;
  logger.log(
    'info',
    'listening',
    status,
    settings.jsonLog
      ? {
          host: settings.host,
          port: address.port,
          tls: settings.tls !== null,
          http2: settings.http2,
        }
      : {},
  );

  const statsTimer =
    counters === null
      ? null
      : setInterval(() => {
          const seconds = settings.stats / 1000;
          logger.log('info', 'stats', 'stats', {
            connections: wss.clients.size,
            'messages/s': Math.round(counters.messages / seconds),
            'bytes/s': Math.round(counters.bytes / seconds),
          });
          counters.messages = 0;
          counters.bytes = 0;
        }, settings.stats);

  await waitForAbort(io.signal);
  // From now on new handshakes and requests get 503 + Retry-After (the library answers
  // upgrades while close() waits; the HTTP handler answers the rest).
  shuttingDown = true;
  if (statsTimer !== null) clearInterval(statsTimer);
  logger.log('info', 'shutdown', 'shutting down: closing clients with 1001', {
    clients: wss.clients.size,
  });
  await closeAll(wss, server, front);
  await bus?.close();
  logger.log('info', 'stopped', 'stopped');
  // A node:cluster worker keeps its IPC channel (and so its process) until it lets go.
  if (cluster?.isWorker === true) process.disconnect?.();
  return ExitCode.Ok;
}

function attachEcho(ws: WebSocket, counters: Counters | null): void {
  if (counters === null) {
    ws.on('message', (data, isBinary) => {
      ws.send(data, { binary: isBinary });
    });
  } else {
    ws.on('message', (data, isBinary) => {
      counters.messages++;
      counters.bytes += byteLength(data);
      ws.send(data, { binary: isBinary });
    });
  }
  ws.on('error', () => {
    // the close event follows; echo mode keeps no per-connection log
  });
}

function attachDemo(
  ws: WebSocket,
  request: IncomingMessage,
  chat: ChatRooms,
  counters: Counters | null,
  logger: Logger,
): void {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const remote = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
  const origin = request.headers.origin;
  if (path !== '/echo' && path !== '/chat') {
    logger.log('warn', 'unknown-path', 'closing connection to unknown path', { path, remote });
    ws.close(1008, 'unknown path: use /echo or /chat');
    return;
  }
  logger.log('info', 'open', 'connection', { path, remote, origin, http: request.httpVersion });
  const count = (data: unknown): void => {
    if (counters !== null) {
      counters.messages++;
      counters.bytes += byteLength(data);
    }
  };
  if (path === '/echo') {
    ws.on('message', (data, isBinary) => {
      count(data);
      ws.send(data, { binary: isBinary });
    });
  } else {
    const room = chat.enter(ws, chatRoomName(url.searchParams.get('room')));
    room.join(ws, url.searchParams.get('name'));
    ws.on('message', (data, isBinary) => {
      count(data);
      room.message(ws, isBinary ? '' : Buffer.from(data as Buffer).toString('utf8'), isBinary);
    });
  }
  ws.on('error', (error: Error) => {
    logger.log('warn', 'connection-error', 'connection error', {
      path,
      remote,
      error: error.message,
    });
  });
  ws.on('close', (code: number, reason: Buffer) => {
    if (path === '/chat') chat.leave(ws);
    logger.log('info', 'close', 'closed', { path, remote, code, reason: reason.toString('utf8') });
  });
}

/** The `/chat` rooms of one server: one topic (`chat:<room>`) and one ChatRoom per room. */
interface ChatRooms {
  /** Subscribes `ws` to the room's topic and returns the room. */
  enter(ws: WebSocket, name: string): ChatRoom;
  /** Takes `ws` out of its room (after its close: its subscription has already ended). */
  leave(ws: WebSocket): void;
}

/**
 * Rooms go through the server's topics: a room's events are published to `chat:<room>`, so the
 * members on other servers of the same bus (or other workers) get them too. Events name this
 * server (`host#pid`) so the page shows where each member is.
 */
function chatRooms(wss: WebSocketServer, shared: boolean): ChatRooms {
  const server = `${nodeOs().hostname()}#${process.pid}`;
  const rooms = new Map<string, ChatRoom>();
  const memberRoom = new Map<WebSocket, ChatRoom>();
  return {
    enter(ws, name) {
      const topic = `chat:${name}`;
      let room = rooms.get(name);
      if (room === undefined) {
        room = new ChatRoom({
          name,
          server,
          guestPrefix: shared ? `guest-${process.pid}-` : 'guest-',
          bus: {
            publish(text, except) {
              if (except === null) wss.publish(topic, text);
              else (except as WebSocket).publish(topic, text);
            },
          },
        });
        rooms.set(name, room);
      }
      ws.subscribe(topic);
      memberRoom.set(ws, room);
      return room;
    },
    leave(ws) {
      const room = memberRoom.get(ws);
      if (room === undefined) return;
      memberRoom.delete(ws);
      room.leave(ws);
      for (const [name, value] of rooms) if (value === room && room.size === 0) rooms.delete(name);
    },
  };
}

/** The `serve` flag that allows what a library option allows, for the log's hint. */
const FLAG_FOR_OPTION: Record<string, (info: RejectionInfo) => string | undefined> = {
  origins: (info) => (info.origin === undefined ? undefined : `--origin ${info.origin}`),
  allowedHosts: (info) =>
    info.host === undefined ? undefined : `--allow-host ${info.host.replace(/:\d+$/, '')}`,
};

/**
 * Logs every handshake the library refuses, with its status, stable code and reason; an Origin
 * or Host refusal also gives the refused value and the flag that would allow it.
 */
function logRejections(wss: WebSocketServer, logger: Logger): void {
  wss.on('rejected', (info: RejectionInfo) => {
    const flag = info.option === undefined ? undefined : FLAG_FOR_OPTION[info.option]?.(info);
    let reason = info.reason;
    if (flag !== undefined) {
      const what = info.option === 'origins' ? `Origin ${info.origin}` : `Host ${info.host}`;
      reason = `${what} is not allowed: add ${flag} to allow it`;
    }
    logger.log('warn', 'rejected', 'handshake rejected', {
      status: info.status,
      code: info.code,
      origin: info.origin,
      host: info.host,
      reason,
      allow: flag,
      remote: info.remoteAddress,
    });
  });
}

function listen(server: NetServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Closes every client with 1001 "going away" (§7.4.1), closes the WebSocket server, waits for
 * the clients' closing handshakes (the library's close timeout bounds each one), then closes
 * the HTTP server and its idle keep-alive connections.
 */
async function closeAll(
  wss: WebSocketServer,
  server: Server,
  front: HeadFront | null,
): Promise<void> {
  const closed = [...wss.clients].map(
    (client) =>
      new Promise<void>((resolve) => {
        if (client.readyState === CLOSED) resolve();
        else client.once('close', () => resolve());
      }),
  );
  for (const client of wss.clients) {
    try {
      client.close(1001, 'server shutting down');
    } catch {
      // already closing
    }
  }
  await new Promise<void>((resolve) => {
    wss.close(() => resolve());
  });
  await Promise.all(closed);
  if (front !== null) {
    await new Promise<void>((resolve) => {
      front.close(() => resolve());
    });
  }
  await new Promise<void>((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    // An HTTP/2 server (--http2) gets this method from createHttp2Server.
    server.closeAllConnections();
  });
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}
