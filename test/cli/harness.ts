// Helpers for the CLI tests: a fake CliIo, and the real `ironsock` binary run as a child.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../../src/cli/io.js';

/**
 * The package's `ironsock` executable of the same build as this test file: the bundle
 * (scripts/bundle.js) that package.json's `bin` names, so the CLI tests run what ships.
 */
export const BIN_PATH = fileURLToPath(new URL('../../cli/bin.js', import.meta.url));

/** A fake io: in-memory streams, an AbortController for "signals", captured output. */
export interface FakeIo {
  io: CliIo;
  stdin: PassThrough;
  stdout: () => string;
  stderr: () => string;
  abort: () => void;
  /** Resolves once stdout contains `pattern` (rejects after `ms`). */
  waitForStdout: (pattern: RegExp, ms?: number) => Promise<RegExpExecArray>;
  waitForStderr: (pattern: RegExp, ms?: number) => Promise<RegExpExecArray>;
}

function collector(stream: PassThrough): {
  text: () => string;
  waitFor: (pattern: RegExp, ms?: number) => Promise<RegExpExecArray>;
} {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text += chunk;
  });
  return {
    text: () => text,
    waitFor: (pattern, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = pattern.exec(text);
          if (match === null) return false;
          clearTimeout(timer);
          stream.off('data', check);
          resolve(match);
          return true;
        };
        const timer = setTimeout(() => {
          stream.off('data', check);
          reject(new Error(`timed out waiting for ${pattern}; got: ${JSON.stringify(text)}`));
        }, ms);
        if (!check()) stream.on('data', check);
      }),
  };
}

/** Creates a fake io; `stdinText` (if given) is written and stdin ended. */
export function fakeIo(
  options: { stdinText?: string; isTTY?: boolean; env?: Record<string, string> } = {},
): FakeIo {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collector(stdout);
  const err = collector(stderr);
  const controller = new AbortController();
  if (options.stdinText !== undefined) stdin.end(options.stdinText);
  return {
    io: {
      stdin,
      stdout,
      stderr,
      env: options.env ?? {},
      isTTY: options.isTTY ?? false,
      signal: controller.signal,
    },
    stdin,
    stdout: out.text,
    stderr: err.text,
    abort: () => controller.abort('SIGTERM'),
    waitForStdout: out.waitFor,
    waitForStderr: err.waitFor,
  };
}

/** Parses the port from the serve status line. */
export const LISTENING = /listening on (?:https?|wss?):\/\/[^\s]*?:(\d+)/;

/** A running `ironsock` child process. */
export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  waitForStdout: (pattern: RegExp, ms?: number) => Promise<RegExpExecArray>;
  /** Resolves with the exit code (or 128+signal). */
  exited: Promise<number>;
}

/** Spawns the real binary with `args`; stdin gets `stdinText` then EOF unless `keepStdin`. */
export function spawnCli(
  args: string[],
  options: { stdinText?: string; keepStdin?: boolean } = {},
): CliProcess {
  const child = spawn(process.execPath, [BIN_PATH, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  child.stdout?.pipe(stdout);
  child.stderr?.pipe(stderr);
  const out = collector(stdout);
  const err = collector(stderr);
  if (options.stdinText !== undefined) child.stdin?.write(options.stdinText);
  if (options.keepStdin !== true) child.stdin?.end();
  const exited = once(child, 'exit').then(([code, signal]) =>
    code === null
      ? 128 + (signal === 'SIGTERM' ? 15 : signal === 'SIGKILL' ? 9 : 1)
      : (code as number),
  );
  return { child, stdout: out.text, stderr: err.text, waitForStdout: out.waitFor, exited };
}

/** Starts `ironsock serve --port 0 ...args` as a child and returns it with its port. */
export async function spawnServe(args: string[] = []): Promise<CliProcess & { port: number }> {
  const proc = spawnCli(['serve', '--port', '0', ...args], { keepStdin: true });
  try {
    const match = await proc.waitForStdout(LISTENING, 15_000);
    return { ...proc, port: Number(match[1]) };
  } catch (error) {
    proc.child.kill('SIGKILL');
    throw error;
  }
}

/** Kills a child if it is still running (cleanup for failed tests). */
export function killQuietly(proc: CliProcess | undefined): void {
  if (proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGKILL');
  }
}

/** Rejects after `ms` with a message: keeps each test bounded in time. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}
