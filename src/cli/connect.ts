import { createInterface, type Interface } from 'node:readline';
import { ReconnectingWebSocket, WebSocket } from '../index.js';
import type { ReconnectedInfo, ReconnectingInfo } from '../index.js';
import { CliUsageError, ExitCode } from './args.js';
import { describeCloseCode, isNormalClose } from './close-codes.js';
import {
  formatBinary,
  INPUT_COMMANDS,
  parseInputLine,
  peerText,
  safeJson,
  toBuffer,
} from './connect-format.js';
import { connectHelp, readConnectSettings, type ConnectSettings } from './connect-options.js';
import type { CliIo } from './io.js';
import { escapeUntrusted, stylesFor, type Styles } from './terminal.js';

/** Outgoing bytes allowed in flight before stdin lines wait (keeps the send buffer small). */
const MAX_IN_FLIGHT = 256 * 1024;
/** Lines waiting to be sent before stdin is paused. */
const MAX_QUEUED_LINES = 1000;
const OPEN = 1;

/** What the session needs of its socket: a `WebSocket`, or a `ReconnectingWebSocket` with --reconnect. */
interface CliSocket {
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  on(event: string, listener: (...args: any[]) => void): unknown;
  send(
    data: string | Buffer,
    options: { binary: boolean },
    cb: (error?: Error | null) => void,
  ): unknown;
  ping(data?: string | Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** The response a refused handshake reports: Node's IncomingMessage (as ws gives it). */
interface RefusalResponse {
  statusCode?: number;
  statusMessage?: string;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'close' | 'end', listener: () => void): unknown;
  destroy(): unknown;
}

/** Bytes of a refusal's body kept to print (the first 300 characters are shown). */
const MAX_REFUSAL_BODY = 4096;

/**
 * `ironsock connect <url>`: see {@link connectHelp}. Resolves with 0 after a 1000/1001
 * close, 1 after any other close, a refused handshake or a connection error, 2 for usage
 * errors. Aborting `io.signal` closes with 1000.
 */
export async function connectCommand(args: string[], io: CliIo): Promise<number> {
  let settings: ConnectSettings | 'help';
  try {
    settings = readConnectSettings(args);
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.stderr.write(
        `ironsock connect: ${error.message}\nRun 'ironsock connect --help' for usage.\n`,
      );
      return ExitCode.Usage;
    }
    throw error;
  }
  if (settings === 'help') {
    io.stdout.write(connectHelp());
    return ExitCode.Ok;
  }
  return new ConnectSession(settings, io).run();
}

/** One `connect` run: the socket, stdin and the printing of events. */
class ConnectSession {
  private readonly styles: Styles;
  /** A person at a terminal: prompt, line editing and `/help` hints (stdin and stdout TTYs). */
  private readonly interactive: boolean;
  private ws: CliSocket | null = null;
  private rl: Interface | null = null;
  private readonly queue: Array<{ data: string | Buffer; binary: boolean }> = [];
  private inFlight = 0;
  private readonly beforeOpen: string[] = [];
  private stdinEnded = false;
  private inputPaused = false;
  private gotMessage = false;
  private finished = false;
  private refused = false;
  /** Settles once a refusal was printed (the close may come first while its body is read). */
  private refusalPrinted: Promise<void> | null = null;
  private opened = false;
  private replyTimer: ReturnType<typeof setTimeout> | null = null;
  private resolve: (code: number) => void = () => {};

  constructor(
    private readonly settings: ConnectSettings,
    private readonly io: CliIo,
  ) {
    this.styles = stylesFor(io);
    this.interactive =
      io.isTTY && (io.stdin as { isTTY?: boolean }).isTTY === true && !settings.json;
  }

  run(): Promise<number> {
    const { settings, io } = this;
    const done = new Promise<number>((resolve) => {
      this.resolve = resolve;
    });
    if (settings.noCheck) {
      io.stderr.write(
        this.styles.yellow(
          'warning: --no-check: the TLS certificate is not verified; anyone on the network path can read and alter this connection\n',
        ),
      );
    }
    let ws: CliSocket;
    try {
      const options = {
        headers: settings.headers,
        ...(settings.origin === undefined ? {} : { origin: settings.origin }),
        ...(settings.proxy === undefined ? {} : { proxy: settings.proxy }),
        rejectUnauthorized: !settings.noCheck,
        perMessageDeflate: settings.deflate,
        maxPayload: settings.maxPayload,
        // pump() already bounds what is in flight; one long stdin line must still fit.
        maxBufferedAmount: Number.POSITIVE_INFINITY,
        handshakeTimeout: settings.timeout,
      };
      ws =
        settings.reconnect === null
          ? new WebSocket(settings.url, settings.subprotocols, options)
          : new ReconnectingWebSocket(settings.url, settings.subprotocols, {
              ...options,
              // Lines wait in this session's own queue while disconnected (see onLine).
              reconnect: { ...settings.reconnect, maxQueuedMessages: 0 },
            });
    } catch (error) {
      io.stderr.write(`ironsock connect: ${escapeUntrusted((error as Error).message)}\n`);
      return Promise.resolve(ExitCode.Usage);
    }
    this.ws = ws;
    ws.on('open', () => this.onOpen());
    ws.on('message', (data: unknown, isBinary: boolean) =>
      this.onMessage(toBuffer(data), isBinary),
    );
    ws.on('ping', (data: unknown) => this.onControl('ping', toBuffer(data)));
    ws.on('pong', (data: unknown) => this.onControl('pong', toBuffer(data)));
    ws.on('unexpected-response', (_request: unknown, response: unknown) => {
      this.readRefusal(response as RefusalResponse);
    });
    ws.on('reconnecting', (info: ReconnectingInfo) => this.onReconnecting(info));
    ws.on('reconnected', (info: ReconnectedInfo) => this.onReconnected(info));
    ws.on('error', (error: Error) => this.onError(error));
    ws.on('close', (code: number, reason: unknown) => this.onClose(code, toBuffer(reason)));
    this.readStdin();
    const onAbort = (): void => this.closeNormally();
    io.signal.addEventListener('abort', onAbort, { once: true });
    return done.finally(() => io.signal.removeEventListener('abort', onAbort));
  }

  // ---- output -------------------------------------------------------------------------------

  /** Writes a message line to stdout, keeping the prompt intact on a terminal. */
  private printOut(line: string): void {
    this.withPrompt(() => this.io.stdout.write(`${line}\n`));
  }

  /** Writes a status line to stderr (or a JSON event to stdout with --json). */
  private printStatus(line: string, event?: Record<string, unknown>): void {
    if (this.settings.json) {
      // Events are data (stdout); local notes such as a mistyped command go to stderr.
      if (event !== undefined) this.io.stdout.write(`${safeJson(event)}\n`);
      else this.io.stderr.write(`${line}\n`);
      return;
    }
    this.withPrompt(() => this.io.stderr.write(`${line}\n`));
  }

  private withPrompt(write: () => void): void {
    const interactive = this.interactive && this.rl !== null;
    if (interactive) this.io.stdout.write('\r\u001b[K');
    write();
    if (interactive && !this.finished && this.ws?.readyState === OPEN) this.rl?.prompt(true);
  }

  // ---- socket events ------------------------------------------------------------------------

  private onOpen(): void {
    const ws = this.ws as CliSocket;
    if (this.opened) {
      // Open again after --reconnect: 'reconnected' said so; send what waited.
      for (const line of this.beforeOpen.splice(0)) this.onLine(line);
      this.pump();
      return;
    }
    this.opened = true;
    const protocol = ws.protocol;
    const extensions = ws.extensions;
    const details = [
      protocol === '' ? '' : `subprotocol ${protocol}`,
      extensions === '' ? '' : `extensions ${extensions}`,
    ].filter((part) => part !== '');
    this.printStatus(
      this.styles.green(`connected to ${escapeUntrusted(this.settings.url)}`) +
        (details.length > 0 ? this.styles.dim(` (${escapeUntrusted(details.join(', '))})`) : '') +
        (this.interactive ? this.styles.dim(' · /help for commands') : ''),
      { event: 'open', url: this.settings.url, protocol, extensions },
    );
    if (this.settings.once) {
      this.replyTimer = setTimeout(() => {
        this.replyTimer = null;
        this.printStatus(`no message within ${this.settings.timeout} ms`, {
          event: 'timeout',
          ms: this.settings.timeout,
        });
        this.finish(ExitCode.Failure);
      }, this.settings.timeout);
    }
    for (const line of this.beforeOpen.splice(0)) this.onLine(line);
    this.pump();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.settings.once && this.gotMessage) return;
    this.gotMessage = true;
    const { json, binaryAs } = this.settings;
    if (json) {
      this.io.stdout.write(
        `${safeJson(
          isBinary
            ? {
                event: 'message',
                type: 'binary',
                encoding: binaryAs,
                data: formatBinary(data, binaryAs),
              }
            : { event: 'message', type: 'text', data: data.toString('utf8') },
        )}\n`,
      );
    } else if (isBinary) {
      const text = formatBinary(data, binaryAs);
      this.printOut(
        this.io.isTTY
          ? `${this.styles.cyan('<')} ${this.styles.dim(`[${data.length} bytes]`)} ${text}`
          : text,
      );
    } else {
      const text = peerText(data);
      this.printOut(this.io.isTTY ? `${this.styles.cyan('<')} ${text}` : text);
    }
    if (this.settings.once) {
      this.clearReplyTimer();
      this.closeNormally();
    }
  }

  private onControl(kind: 'ping' | 'pong', data: Buffer): void {
    const text = data.length === 0 ? '' : ` ${peerText(data)}`;
    this.printStatus(this.styles.dim(`< ${kind}${text}`), {
      event: kind,
      data: data.toString('utf8'),
    });
  }

  /** Reads the first bytes of a refusal's body, then reports it (the library bounds the wait). */
  private readRefusal(response: RefusalResponse): void {
    this.refused = true;
    const parts: Buffer[] = [];
    let size = 0;
    let reported = false;
    let printed!: () => void;
    this.refusalPrinted = new Promise<void>((resolve) => (printed = resolve));
    const report = (): void => {
      if (reported) return;
      reported = true;
      this.onRefused(response, Buffer.concat(parts, size));
      printed();
    };
    response.on('data', (chunk: Buffer) => {
      if (reported) return;
      const room = MAX_REFUSAL_BODY - size;
      parts.push(chunk.subarray(0, room));
      size += Math.min(room, chunk.length);
      if (size >= MAX_REFUSAL_BODY) {
        report();
        response.destroy();
      }
    });
    response.once('end', report);
    response.once('close', report);
  }

  private onRefused(response: RefusalResponse, bodyBytes: Buffer): void {
    const status = response.statusCode ?? 0;
    const reason = response.statusMessage ?? '';
    const body = bodyBytes.toString('utf8').trim().slice(0, 300);
    this.printStatus(
      this.styles.red(
        `handshake refused: HTTP ${status}${reason === '' ? '' : ` ${escapeUntrusted(reason)}`}` +
          (body === '' ? '' : `: ${escapeUntrusted(body)}`),
      ),
      { event: 'refused', status, reason, body },
    );
    // finish() terminates the socket if the library has not already done so.
    this.finish(ExitCode.Failure);
  }

  private onError(error: Error & { code?: string; statusCode?: number }): void {
    if (this.refused) return;
    const message = escapeUntrusted(error.message);
    const prefix = this.opened
      ? 'error'
      : `cannot connect to ${escapeUntrusted(this.settings.url)}`;
    this.printStatus(this.styles.red(`${prefix}: ${message}`), {
      event: 'error',
      message: error.message,
      code: error.code,
    });
  }

  private onClose(code: number, reason: Buffer): void {
    this.clearReplyTimer();
    const exit = this.refused
      ? ExitCode.Failure
      : isNormalClose(code)
        ? ExitCode.Ok
        : ExitCode.Failure;
    // Before the handshake completed, the error (or refusal) already said what happened.
    if ((this.opened || this.settings.json) && !this.refused) {
      const text = reason.length === 0 ? '' : ` "${peerText(reason)}"`;
      const line = `connection closed: ${code} (${describeCloseCode(code)})${text}`;
      this.printStatus(exit === ExitCode.Ok ? this.styles.dim(line) : this.styles.red(line), {
        event: 'close',
        code,
        reason: reason.toString('utf8'),
      });
    }
    if (this.refusalPrinted !== null) void this.refusalPrinted.then(() => this.finish(exit));
    else this.finish(exit);
  }

  private onReconnecting({ attempt, delay, lastClose }: ReconnectingInfo): void {
    const attempts = this.settings.reconnect?.attempts ?? 0;
    const what = lastClose.opened
      ? `connection lost: ${lastClose.code} (${describeCloseCode(lastClose.code)})`
      : `cannot connect${lastClose.statusCode === undefined ? '' : ` (HTTP ${lastClose.statusCode})`}`;
    this.printStatus(
      this.styles.yellow(
        `${what}; reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${attempt} of ${attempts})`,
      ),
      { event: 'reconnecting', attempt, delay, code: lastClose.code, reason: lastClose.reason },
    );
  }

  private onReconnected({ attempt }: ReconnectedInfo): void {
    this.printStatus(
      this.styles.green(
        `reconnected to ${escapeUntrusted(this.settings.url)} (attempt ${attempt})`,
      ),
      { event: 'reconnected', attempt, url: this.settings.url },
    );
  }

  // ---- input --------------------------------------------------------------------------------

  private readStdin(): void {
    const interactive = this.interactive;
    const rl = createInterface({
      input: this.io.stdin,
      ...(interactive ? { output: this.io.stdout, terminal: true } : { terminal: false }),
      crlfDelay: Infinity,
    });
    this.rl = rl;
    if (interactive) rl.setPrompt(this.styles.bold('> '));
    rl.on('line', (line) => this.onLine(line));
    rl.on('close', () => {
      this.stdinEnded = true;
      this.pump();
    });
    rl.on('SIGINT', () => this.closeNormally());
  }

  private onLine(line: string): void {
    if (this.ws?.readyState === 0) {
      // Lines typed or piped before the handshake completes run, in order, once it does.
      this.beforeOpen.push(line);
      if (this.beforeOpen.length > MAX_QUEUED_LINES) this.setInputPaused(true);
      return;
    }
    const input = parseInputLine(line);
    const ws = this.ws as CliSocket;
    try {
      switch (input.kind) {
        case 'text':
          this.enqueue(input.text, false);
          break;
        case 'binary':
          this.enqueue(input.data, true);
          break;
        case 'ping':
          if (ws.readyState !== OPEN) throw new Error('not connected yet');
          ws.ping(input.payload);
          break;
        case 'close':
          ws.close(input.code ?? 1000, input.reason);
          break;
        case 'quit':
          this.closeNormally();
          break;
        case 'help':
          this.printStatus(INPUT_COMMANDS.join('\n'));
          break;
        case 'invalid':
          this.printStatus(this.styles.yellow(input.message));
          break;
      }
    } catch (error) {
      this.printStatus(this.styles.yellow(`cannot ${input.kind}: ${(error as Error).message}`));
    }
    if (this.interactive && ws.readyState === OPEN) this.rl?.prompt();
  }

  /** Stops or restarts reading stdin; never touches it once it has ended or been closed. */
  private setInputPaused(paused: boolean): void {
    if (this.rl === null || this.stdinEnded || this.finished || paused === this.inputPaused) return;
    this.inputPaused = paused;
    if (paused) this.rl.pause();
    else this.rl.resume();
  }

  private enqueue(data: string | Buffer, binary: boolean): void {
    this.queue.push({ data, binary });
    this.pump();
  }

  /** Sends queued lines while the in-flight budget allows; closes after stdin ends. */
  private pump(): void {
    const ws = this.ws;
    if (ws === null || ws.readyState !== OPEN) return;
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const { data, binary } = this.queue.shift() as { data: string | Buffer; binary: boolean };
      const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      this.inFlight += size;
      ws.send(data, { binary }, (error) => {
        this.inFlight -= size;
        // Only a lost connection fails a send here; with --reconnect the session goes on.
        if (error && this.settings.reconnect !== null && !this.finished) {
          this.printStatus(
            this.styles.yellow(`not sent (connection lost): ${escapeUntrusted(error.message)}`),
            {
              event: 'unsent',
              message: error.message,
            },
          );
        }
        this.pump();
      });
    }
    this.setInputPaused(this.queue.length > MAX_QUEUED_LINES);
    if (this.stdinEnded && !this.settings.once && this.queue.length === 0 && this.inFlight === 0) {
      this.closeNormally();
    }
  }

  // ---- ending -------------------------------------------------------------------------------

  private closeNormally(): void {
    const ws = this.ws;
    if (ws === null) return;
    if (ws.readyState === OPEN) ws.close(1000);
    else if (ws.readyState === 0) ws.terminate();
  }

  private clearReplyTimer(): void {
    if (this.replyTimer !== null) {
      clearTimeout(this.replyTimer);
      this.replyTimer = null;
    }
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    this.clearReplyTimer();
    if (this.ws !== null && this.ws.readyState !== 3) this.ws.terminate();
    this.rl?.close();
    this.resolve(code);
  }
}
