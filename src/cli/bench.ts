import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ExitCode, type OptionTable } from './args.js';
import { formatHelp } from './help.js';
import type { CliIo } from './io.js';
import { benchRunnerPath } from './package-info.js';

/**
 * The options of the benchmark runner (bench/run.ts), for `ironsock bench --help` only: the
 * arguments themselves are passed through to the runner unchanged.
 */
export const BENCH_OPTIONS = {
  quick: { type: 'boolean', description: 'fewer cells and shorter windows (under 2 minutes)' },
  smoke: { type: 'boolean', description: 'a few seconds: proves the harness works end to end' },
  json: {
    type: 'string',
    value: '[file]',
    default: 'off; file artifacts/bench-<time>.json',
    description: 'also write the results as JSON',
  },
  only: {
    type: 'string',
    value: '<list>',
    default: 'echo,storm,memory,broadcast,micro',
    description: 'run a subset of the benchmarks',
  },
  servers: {
    type: 'string',
    value: '<list>',
    default: 'ironsock,ws,minimal-ws,raw-net',
    description: 'run a subset of the servers',
  },
  cells: {
    type: 'string',
    value: '<list>',
    default: "the runner's set",
    description: 'echo cells as <payload bytes>x<connections>, e.g. 16x100,65536x1000',
  },
  profile: {
    type: 'boolean',
    description: 'run ironsock under node --cpu-prof and print the top functions',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionTable;

/** Help text of `ironsock bench`. */
export function benchHelp(): string {
  return formatHelp({
    usage: 'ironsock bench [options]',
    summary:
      'Runs the end-to-end benchmarks (ironsock vs ws and two reference servers, driven by a C\n' +
      'load generator) and the protocol micro-benchmarks. Needs a source checkout built with\n' +
      '`npm run build`; a full run takes under 10 minutes.',
    options: BENCH_OPTIONS,
  });
}

/**
 * `ironsock bench [args]`: runs the benchmark runner (`<outDir>/bench/run.js`, owned by the
 * bench suite) in a child Node process with `args`, piping its output to `io`. Returns the
 * child's exit code; 1 when the runner is missing (benchmarks are not part of the published
 * package) and the child is sent SIGTERM when `io.signal` aborts.
 */
export async function benchCommand(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(benchHelp());
    return ExitCode.Ok;
  }
  const runner = benchRunnerPath();
  if (!existsSync(runner)) {
    io.stderr.write(
      `ironsock bench: benchmark runner not found at ${runner}\n` +
        'Benchmarks ship with the source checkout only: run `npm run build` there first.\n',
    );
    return ExitCode.Failure;
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runner, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(io.stdout, { end: false });
    child.stderr.pipe(io.stderr, { end: false });
    const stop = (): void => {
      child.kill('SIGTERM');
    };
    io.signal.addEventListener('abort', stop, { once: true });
    child.on('error', (error) => {
      io.signal.removeEventListener('abort', stop);
      io.stderr.write(`ironsock bench: ${error.message}\n`);
      resolve(ExitCode.Failure);
    });
    child.on('close', (code, signal) => {
      io.signal.removeEventListener('abort', stop);
      resolve(code ?? (signal === null ? ExitCode.Failure : 128 + signalNumber(signal)));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1;
}
