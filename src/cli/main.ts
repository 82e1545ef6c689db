import { CliUsageError, ExitCode, parseCommandArgs, type OptionTable } from './args.js';
import { formatHelp } from './help.js';
import type { CliIo, Command } from './io.js';
import { packageVersion } from './package-info.js';

/**
 * The subcommands of `ironsock`, each loading its module on first use: a process runs one
 * command, and every module it does not load is heap it does not carry (`serve --echo` does not
 * hold the audit, bench and connect code; see "Heap at start" in BENCHMARKS.md).
 */
export const commands = {
  serve: async (args, io) => (await import('./serve.js')).serveCommand(args, io),
  connect: async (args, io) => (await import('./connect.js')).connectCommand(args, io),
  audit: async (args, io) => (await import('./audit.js')).auditCommand(args, io),
  bench: async (args, io) => (await import('./bench.js')).benchCommand(args, io),
} as const satisfies Record<string, Command>;

const COMMAND_SUMMARIES: Readonly<Record<keyof typeof commands, string>> = {
  serve: 'run a WebSocket server: demo page, /echo and /chat (or --echo on every path)',
  connect: 'open an interactive client connection: stdin lines out, messages in',
  audit: 'probe a WebSocket server for protocol and security weaknesses',
  bench: 'run the benchmarks (source checkout only)',
};

const GLOBAL_OPTIONS: OptionTable = {
  help: { type: 'boolean', short: 'h', description: 'show this help and exit' },
  version: { type: 'boolean', short: 'v', description: 'print the version and exit' },
};

/** The top-level help text. */
export function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length)) + 4;
  return formatHelp({
    usage: 'ironsock <command> [options]\n       ironsock <command> --help',
    summary: 'ironsock: a secure-by-default WebSocket (RFC 6455) server, client and toolkit.',
    options: GLOBAL_OPTIONS,
    notes: [
      'Commands:',
      ...Object.entries(COMMAND_SUMMARIES).map(
        ([name, summary]) => `  ${name.padEnd(width)}${summary}`,
      ),
      '',
      'Examples:',
      '  ironsock serve                      open http://127.0.0.1:8080 in a browser',
      '  ironsock serve --echo --port 9001   lean echo server for test suites and load',
      '  echo hi | ironsock connect ws://127.0.0.1:8080/echo --once',
    ],
  });
}

function isCommandName(name: string | undefined): name is keyof typeof commands {
  return name !== undefined && Object.hasOwn(commands, name);
}

/**
 * Runs the CLI: `argv` is the arguments after the program name. Dispatches to a subcommand
 * or handles `--help`/`--version`. Returns the process exit code (0 ok, 1 failure, 2 usage);
 * never throws (unexpected errors are reported on `io.stderr` with exit code 1).
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (isCommandName(first)) return await commands[first](rest, io);
    const { values, positionals } = parseCommandArgs(argv, GLOBAL_OPTIONS, 1);
    if (values.version === true) {
      io.stdout.write(`ironsock ${packageVersion()}\n`);
      return ExitCode.Ok;
    }
    if (values.help === true) {
      io.stdout.write(mainHelp());
      return ExitCode.Ok;
    }
    if (positionals.length > 0) {
      throw new CliUsageError(`unknown command '${positionals[0]}'`);
    }
    io.stderr.write(mainHelp());
    return ExitCode.Usage;
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.stderr.write(`ironsock: ${error.message}\nRun 'ironsock --help' for usage.\n`);
      return ExitCode.Usage;
    }
    io.stderr.write(
      `ironsock: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.Failure;
  }
}
