/**
 * Child processes of the benchmark: the server under test (pinned to CPU 0) and the C load
 * generator (pinned to CPU 1), both started through `bash -c 'ulimit -n …; exec …'` so that the
 * file-descriptor limit is raised inside the child only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Repository root (two levels above the compiled `bench/harness` folder's parent). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Folder of the compiled benchmark servers, next to this compiled file. */
export const SERVERS_DIR = fileURLToPath(new URL('../servers/', import.meta.url));
/** Path of the load generator binary (gitignored) and its source. */
export const LOADGEN = join(ROOT, 'bench', 'loadgen', 'loadgen');
const LOADGEN_SOURCE = join(ROOT, 'bench', 'loadgen', 'loadgen.c');

/** How processes are placed on CPUs and which fd limit they get. */
export interface Placement {
  /** True when `taskset` exists and the machine has at least 2 CPUs. */
  pinned: boolean;
  /** Soft `ulimit -n` given to children (capped by the hard limit). */
  fdLimit: number;
  notes: string[];
}

/** Detects `taskset`, the CPU count and the hard fd limit; never throws. */
export function detectPlacement(cpuCount: number): Placement {
  const notes: string[] = [];
  const taskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const pinned = taskset && cpuCount >= 2;
  if (!taskset)
    notes.push('taskset (util-linux) not found: server and load generator are not pinned');
  else if (!pinned) notes.push('fewer than 2 CPUs: server and load generator share the CPU');
  const hard = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  const hardLimit = hard === 'unlimited' ? 65536 : Number(hard) || 1024;
  return { pinned, fdLimit: Math.min(hardLimit, 65536), notes };
}

/** Builds the load generator with `gcc -O2` when the binary is missing or older than its source. */
export function buildLoadgen(): void {
  if (existsSync(LOADGEN) && statSync(LOADGEN).mtimeMs >= statSync(LOADGEN_SOURCE).mtimeMs) return;
  const result = spawnSync('gcc', ['-O2', '-Wall', '-o', LOADGEN, LOADGEN_SOURCE], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`gcc failed to build the load generator:\n${result.stderr ?? result.error}`);
  }
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

function spawnPinned(cpu: number, placement: Placement, argv: string[]): ChildProcess {
  const pin = placement.pinned ? `taskset -c ${cpu} ` : '';
  const script = `ulimit -n ${placement.fdLimit} 2>/dev/null; exec ${pin}${argv.map(shellQuote).join(' ')}`;
  return spawn('bash', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A line-oriented child: waits for lines by prefix. */
class LineChild {
  private readonly waiters: Array<{ prefix: string; resolve: (line: string) => void }> = [];
  private readonly early: string[] = [];
  readonly stderr: string[] = [];
  exited: number | null = null;
  private exitWaiters: Array<(code: number) => void> = [];

  constructor(
    readonly child: ChildProcess,
    private readonly onLine?: (line: string) => void,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.onLine?.(line);
      const index = this.waiters.findIndex((w) => line.startsWith(w.prefix));
      if (index >= 0) this.waiters.splice(index, 1)[0].resolve(line);
      else this.early.push(line);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (this.stderr.length < 50) this.stderr.push(line);
    });
    child.on('exit', (code) => {
      this.exited = code ?? 1;
      for (const waiter of this.exitWaiters) waiter(this.exited);
      this.exitWaiters = [];
    });
  }

  /** Resolves with the next line starting with `prefix` (or one already received). */
  waitLine(prefix: string, timeoutMs: number): Promise<string> {
    const index = this.early.findIndex((line) => line.startsWith(prefix));
    if (index >= 0) return Promise.resolve(this.early.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.findIndex((w) => w.resolve === done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(
          new Error(
            `timed out waiting for "${prefix}" (stderr: ${this.stderr.slice(-5).join(' | ')})`,
          ),
        );
      }, timeoutMs);
      const done = (line: string): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push({ prefix, resolve: done });
    });
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  waitExit(timeoutMs: number): Promise<number> {
    if (this.exited !== null) return Promise.resolve(this.exited);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve(137);
      }, timeoutMs);
      this.exitWaiters.push((code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }
}

/** A server's self-reported counters (see bench/servers/control.ts). */
export interface ServerStats {
  user: number;
  system: number;
  rss: number;
  heapUsed: number;
  connections: number;
  /** Harness clock when the reply arrived (ns). */
  at: bigint;
}

/** A running benchmark server. */
export class ServerProcess {
  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly io: LineChild,
  ) {}

  /** Starts `bench/servers/<file>.js` on CPU 0 (with extra `env`) and waits for `READY <port>`. */
  static async start(
    name: string,
    file: string,
    placement: Placement,
    nodeFlags: string[] = [],
    env: Record<string, string> = {},
  ): Promise<ServerProcess> {
    return ServerProcess.startFile(
      name,
      join(SERVERS_DIR, `${file}.js`),
      placement,
      nodeFlags,
      env,
    );
  }

  /** Starts the server script at `path` (any build's bench/servers/*.js), as `start` does. */
  static async startFile(
    name: string,
    path: string,
    placement: Placement,
    nodeFlags: string[] = [],
    env: Record<string, string> = {},
  ): Promise<ServerProcess> {
    const assignments = Object.entries(env).map(([key, value]) => `${key}=${value}`);
    const child = spawnPinned(0, placement, [
      ...(assignments.length > 0 ? ['env', ...assignments] : []),
      process.execPath,
      ...nodeFlags,
      path,
    ]);
    const io = new LineChild(child);
    const ready = await io.waitLine('READY ', 15000).catch((error: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${name} server did not start: ${error.message}`);
    });
    return new ServerProcess(name, Number(ready.split(' ')[1]), io);
  }

  /** Asks the server for its CPU time and memory. */
  async stats(): Promise<ServerStats> {
    this.io.send('stats');
    const line = await this.io.waitLine('STATS ', 30000);
    return {
      ...(JSON.parse(line.slice(6)) as Omit<ServerStats, 'at'>),
      at: process.hrtime.bigint(),
    };
  }

  /** Runs a full GC in the server (needs `--expose-gc`; otherwise a no-op). */
  async gc(): Promise<void> {
    this.io.send('gc');
    await this.io.waitLine('OK gc', 30000);
  }

  /** Triggers one broadcast; resolves with the harness time just before the command was sent. */
  broadcast(size: number): { sentAt: bigint; done: Promise<string> } {
    const sentAt = process.hrtime.bigint();
    this.io.send(`broadcast ${size}`);
    return { sentAt, done: this.io.waitLine('OK broadcast', 60000) };
  }

  get alive(): boolean {
    return this.io.exited === null;
  }

  /** Ends the server by closing its stdin (it exits on EOF); kills it after 5 s. */
  async stop(): Promise<void> {
    this.io.child.stdin!.end();
    await this.io.waitExit(5000);
  }
}

/** What the load generator prints on its `RESULT` line. */
export interface LoadgenResult {
  mode: string;
  connections: number;
  opened: number;
  size: number;
  window: number;
  seconds: number;
  messages: number;
  bytes: number;
  msgsPerSec: number;
  mbPerSec: number;
  cycles: number;
  cyclesPerSec: number;
  p50us: number;
  p99us: number;
  samples: number;
  errors: number;
  cpuShare: number;
}

/** A running load generator. */
export class LoadgenProcess {
  private constructor(readonly io: LineChild) {}

  /** Starts the load generator on CPU 1 with `args` (see bench/loadgen/loadgen.c). */
  static start(placement: Placement, args: string[]): LoadgenProcess {
    return new LoadgenProcess(new LineChild(spawnPinned(1, placement, [LOADGEN, ...args])));
  }

  /** Starts a Node load generator script (same line protocol) on CPU 1, e.g. h2-loadgen.js. */
  static startScript(placement: Placement, script: string, args: string[]): LoadgenProcess {
    return new LoadgenProcess(
      new LineChild(spawnPinned(1, placement, [process.execPath, script, ...args])),
    );
  }

  waitLine(prefix: string, timeoutMs: number): Promise<string> {
    return this.io.waitLine(prefix, timeoutMs);
  }

  send(line: string): void {
    this.io.send(line);
  }

  /** Waits for the `RESULT` line and parses it. */
  async result(timeoutMs: number): Promise<LoadgenResult> {
    const line = await this.io.waitLine('RESULT ', timeoutMs);
    return JSON.parse(line.slice(7)) as LoadgenResult;
  }

  /** Closes stdin and waits for the exit code. */
  async finish(timeoutMs = 30000): Promise<number> {
    this.io.child.stdin!.end();
    return this.io.waitExit(timeoutMs);
  }

  get stderr(): string[] {
    return this.io.stderr;
  }
}
