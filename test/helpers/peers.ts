/**
 * Helpers for tests that talk to real peers nobody on the team wrote: Debian's python
 * `websockets`, headless Chromium and nginx. They find the peer, enforce the CI rule (a missing
 * peer under `CI=true` is a failure, elsewhere a skip with a one-line reason), pick free ports
 * and run peer processes with a "ready" handshake and guaranteed cleanup.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's python (the `python3` first on PATH is a pyenv build without `websockets`). */
export const PYTHON = '/usr/bin/python3';
/** Debian's Chromium, driven through playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';
/** Debian's nginx. */
export const NGINX = '/usr/sbin/nginx';

/** A peer probe: `true` when the peer is usable, otherwise a one-line reason why not. */
export type PeerCheck = () => true | string;

/** The options object node:test's `test`/`describe` take: `skip` is a reason or `false`. */
export interface PeerGate {
  skip: string | false;
}

/** True when running under CI (`process.env.CI === 'true'`), where no peer may be missing. */
export function isCi(): boolean {
  return process.env.CI === 'true';
}

const gateCache = new Map<string, true | string>();

/**
 * Gate a test or suite on an external peer. Returns `{ skip: false }` when `check()` passes.
 * When it fails: under CI (`CI=true`) throws an Error naming the peer (a missing peer is a test
 * failure there); otherwise returns `{ skip: '<name> unavailable: <reason>' }` for node:test.
 * Results are cached per `name` for the process, so the probe runs once per test file.
 *
 * @example describe('python websockets', requirePeer('python-websockets', pythonWebsockets), () => {...})
 */
export function requirePeer(name: string, check: PeerCheck): PeerGate {
  let result = gateCache.get(name);
  if (result === undefined) {
    try {
      result = check();
    } catch (error) {
      result = error instanceof Error ? error.message : String(error);
    }
    gateCache.set(name, result);
  }
  if (result === true) return { skip: false };
  const reason = `${name} unavailable: ${oneLine(result)}`;
  if (isCi()) throw new Error(`${reason} (required under CI=true)`);
  return { skip: reason };
}

function oneLine(text: string): string {
  const line = text.trim().split('\n').pop() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

function probe(command: string, args: string[]): true | string {
  if (!existsSync(command)) return `${command} not found`;
  const out = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  if (out.error) return out.error.message;
  if (out.status !== 0) return `${command} ${args.join(' ')} exited ${out.status}: ${out.stderr}`;
  return true;
}

/** Probe: Debian's /usr/bin/python3 can `import websockets` (package python3-websockets). */
export const pythonWebsockets: PeerCheck = () => probe(PYTHON, ['-c', 'import websockets']);

/** Probe: /usr/bin/chromium exists and playwright-core can be imported. */
export const chromium: PeerCheck = () => {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found (apt-get install chromium)`;
  const out = spawnSync(
    process.execPath,
    ['-e', "import('playwright-core').then(() => process.exit(0), () => process.exit(1))"],
    {
      encoding: 'utf8',
      timeout: 20_000,
      cwd: repoRoot(),
    },
  );
  return out.status === 0 ? true : 'playwright-core is not installed';
};

/** Probe: /usr/sbin/nginx runs (`nginx -v`). */
export const nginx: PeerCheck = () => probe(NGINX, ['-v']);

/** The version string of Debian's python websockets, e.g. '10.4' (throws if unavailable). */
export function pythonWebsocketsVersion(): string {
  const out = spawnSync(PYTHON, ['-c', 'import websockets; print(websockets.__version__)'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (out.status !== 0) throw new Error(`cannot import websockets: ${out.stderr}`);
  return out.stdout.trim();
}

/**
 * The repository root: the nearest ancestor of this (compiled or source) file holding a
 * package.json. Lets compiled tests find non-TypeScript fixtures such as test/interop/python/.
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/**
 * A TCP port that was free a moment ago: binds port 0 on `host` (default 127.0.0.1), reads the
 * port and closes. Only for peers that cannot listen on port 0 themselves (nginx); there is a
 * small race with other processes, so prefer port 0 wherever the peer supports it.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connect to `host:port` succeeds; rejects after `timeoutMs` (default 10 s). */
export async function waitForPort(
  port: number,
  host = '127.0.0.1',
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Characters of a peer's stderr kept for error messages (the tail). */
const STDERR_KEEP = 64 * 1024;

/**
 * Peer processes still running. If the test process exits without stopping them (a crash, a
 * cancelled run), they get SIGTERM on the way out (SIGTERM, not SIGKILL: nginx's master then
 * stops its workers too).
 */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGTERM');
});

/** A running peer process started by `spawnReady`. */
export interface ReadyProcess {
  readonly child: ChildProcess;
  /** The match of the ready pattern against the ready line. */
  readonly match: RegExpMatchArray;
  /** Every stdout line so far (after the ready line too), without line ends. */
  readonly lines: string[];
  /** What the process wrote to stderr so far (the last 64 KiB). */
  stderr(): string;
  /** Resolves with the next stdout line (from now on) matching `pattern`; rejects after `timeoutMs` (default 10 s). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code once the process has ended on its own. */
  exited(): Promise<number | null>;
  /** Kills the process (SIGTERM, then SIGKILL after 2 s) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface SpawnReadyOptions {
  /** Pattern for the ready line; matched against each line of stdout (or stderr, see below). */
  ready: RegExp;
  /** Also look for the ready line on stderr (default false). */
  readyOnStderr?: boolean;
  /** Milliseconds to wait for the ready line before killing the process (default 15 s). */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Spawns `command args` and resolves once a line of its output matches `options.ready`.
 * Rejects (after killing the process) if it exits first or `timeoutMs` passes; the error
 * carries the process's stderr. The caller must `stop()` the returned process (in `after`).
 */
export function spawnReady(
  command: string,
  args: string[],
  options: SpawnReadyOptions,
): Promise<ReadyProcess> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let exitCode: number | null | undefined;
  const exitWaiters: Array<(code: number | null) => void> = [];
  const lineWaiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  live.add(child);
  child.once('exit', (code) => {
    live.delete(child);
    exitCode = code;
    for (const waiter of exitWaiters.splice(0)) waiter(exitCode);
  });
  child.on('error', () => {
    if (exitCode === undefined) {
      exitCode = null;
      for (const waiter of exitWaiters.splice(0)) waiter(null);
    }
  });
  const onLine = (line: string): void => {
    for (let i = 0; i < lineWaiters.length; i++) {
      const m = line.match(lineWaiters[i].pattern);
      if (m) {
        const [waiter] = lineWaiters.splice(i, 1);
        waiter.resolve(m);
        return;
      }
    }
  };
  const splitter = (sink: (line: string) => void) => {
    let pending = '';
    return (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        sink(line);
      }
    };
  };
  child.stdout.on(
    'data',
    splitter((line) => {
      lines.push(line);
      onLine(line);
    }),
  );
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (stderr.length > STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
  });
  if (options.readyOnStderr) child.stderr.on('data', splitter(onLine));

  let stopped: Promise<void> | undefined;
  const exited = (): Promise<number | null> =>
    exitCode !== undefined
      ? Promise.resolve(exitCode)
      : new Promise((resolve) => exitWaiters.push(resolve));
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited();
      clearTimeout(timer);
    })();
    return stopped;
  };
  const waitForLine = (pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const entry = {
        pattern,
        resolve: (m: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        const i = lineWaiters.indexOf(entry);
        if (i !== -1) lineWaiters.splice(i, 1);
        reject(
          new Error(
            `no line matching ${pattern} within ${timeoutMs} ms; stderr: ${oneLine(stderr)}`,
          ),
        );
      }, timeoutMs);
      lineWaiters.push(entry);
    });

  return new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 15_000;
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      void stop().then(() =>
        reject(new Error(`${command}: ${why}; stderr: ${stderr.trim().slice(-2000)}`)),
      );
    };
    const timer = setTimeout(
      () => fail(`no ready line matching ${options.ready} within ${timeoutMs} ms`),
      timeoutMs,
    );
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error.message);
    });
    void exited().then((code) => {
      clearTimeout(timer);
      fail(`exited with ${code} before ready`);
    });
    lineWaiters.push({
      pattern: options.ready,
      resolve: (match) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ child, match, lines, stderr: () => stderr, waitForLine, exited, stop });
      },
    });
  });
}

/** Runs `fn` with a fresh temporary directory that is removed afterwards (even on failure). */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
