/**
 * `ironsock audit <ws-or-wss-url>`: probes any WebSocket server with crafted handshakes and
 * frames and reports, check by check, how it reacts (see `auditHelp()` for the list and bounds).
 */
import type { CliIo } from './io.js';
import type { CheckContext } from './audit/check.js';
import { AuditUsageError, auditHelp, parseAuditArgs } from './audit/options.js';
import { formatJson, formatReport, formatResult } from './audit/report.js';
import { runChecks } from './audit/runner.js';
import { Probe } from './audit/session.js';
import { parseTarget } from './audit/target.js';

export { auditHelp } from './audit/options.js';

/**
 * Runs the audit command. `args` are the arguments after `audit`. Writes the report to
 * `io.stdout` (verdict, what to fix, one line per check; or one JSON document with `--json`;
 * on a terminal, progress lines go to stderr) and returns the exit code: 0 when no check
 * FAILed, 1 when at least one did (a server that stopped accepting connections after a probe
 * makes that probe FAIL, also with `--only`), 2 for bad arguments or when the server cannot be
 * reached. Never throws for what the server does.
 *
 * @example await auditCommand(['--timeout', '1000', 'ws://127.0.0.1:8080/'], io)
 */
export async function auditCommand(args: string[], io: CliIo): Promise<number> {
  let options;
  let target;
  try {
    options = parseAuditArgs(args);
    if (options.help) {
      io.stdout.write(auditHelp());
      return 0;
    }
    target = parseTarget(options.url, options.originBase);
  } catch (error) {
    if (error instanceof AuditUsageError || error instanceof Error) {
      io.stderr.write(
        `ironsock audit: ${error.message}\n(run "ironsock audit --help" for usage)\n`,
      );
      return 2;
    }
    throw error;
  }
  const context: CheckContext = {
    settings: {
      target,
      timeoutMs: options.timeoutMs,
      insecure: options.insecure,
      readCap: options.tuning.maxBytes,
      extraHeaders: options.headers,
    },
    profile: { upgrades: false, echoes: false },
    tuning: options.tuning,
  };
  try {
    (await Probe.open(context.settings)).close();
  } catch (error) {
    io.stderr.write(`ironsock audit: ${(error as Error).message}\n`);
    return 2;
  }
  const color = io.isTTY && !options.json && io.env.NO_COLOR === undefined;
  // The report starts with the verdict, so it is printed at the end; on a terminal each check's
  // line goes to stderr as it completes, to show progress through the slow checks.
  if (io.isTTY && !options.json) {
    io.stderr.write(`auditing ${target.url} ...\n`);
  }
  const results = await runChecks(context, options.only, options.skip, (result) => {
    if (io.isTTY && !options.json) io.stderr.write(formatResult(result, color) + '\n');
  });
  if (options.json)
    io.stdout.write(formatJson(target.url, target.originBase, context.profile, results));
  else io.stdout.write(formatReport(target.url, target.originBase, results, color));
  // A server that stopped accepting connections is a FAIL of the probe that stopped it.
  return results.some((r) => r.status === 'FAIL') ? 1 : 0;
}
