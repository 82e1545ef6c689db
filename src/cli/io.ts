import type { Readable, Writable } from 'node:stream';

/**
 * What a CLI command may touch, injected so that tests drive commands with fake streams
 * (STYLE.md §12: a CLI that is a function).
 */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Environment variables (for NO_COLOR, CI, ...). */
  env: Record<string, string | undefined>;
  /** Whether stdout is a terminal (colors and prompts only then). */
  isTTY: boolean;
  /**
   * Resolves when the process is asked to stop (SIGINT/SIGTERM); tests resolve it themselves.
   * Long-running commands (serve, connect) await it to shut down gracefully.
   */
  signal: AbortSignal;
}

/** A command: parses its own arguments, returns the process exit code. */
export type Command = (args: string[], io: CliIo) => Promise<number>;
