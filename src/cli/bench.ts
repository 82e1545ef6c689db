import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ExitCode } from './args.js';
import type { CliIo } from './io.js';
import { benchRunnerPath } from './package-info.js';

/**
 * `ironsock bench [args]`: runs the benchmark runner (`<outDir>/bench/run.js`, owned by the
 * bench suite) in a child Node process with `args`, piping its output to `io`. Returns the
 * child's exit code; 1 when the runner is missing (benchmarks are not part of the published
 * package) and the child is sent SIGTERM when `io.signal` aborts.
 */
export async function benchCommand(args: string[], io: CliIo): Promise<number> {
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
