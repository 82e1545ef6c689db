import type { CliIo } from './io.js';

/**
 * Builds the real `CliIo` of this process: its stdio, environment and TTY state, and an
 * AbortSignal that aborts on the first SIGINT or SIGTERM. A second signal while shutting
 * down exits at once with 130 (SIGINT) or 143 (SIGTERM). `dispose` removes the handlers.
 */
export function createIo(): { io: CliIo; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    signal: controller.signal,
  };
  return {
    io,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
