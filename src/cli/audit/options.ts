/**
 * Command-line options of `ironsock audit`, their defaults and the help text (which states the
 * bounds of every check).
 */
import type { AuditTuning } from './check.js';
import { ALL_CHECKS, GROUPS, ID_WIDTH } from './registry.js';

/** Parsed options. */
export interface AuditOptions {
  url: string;
  originBase?: string;
  /** Per-step wait, milliseconds. Default 3000. */
  timeoutMs: number;
  insecure: boolean;
  json: boolean;
  help: boolean;
  /** Extra request headers (`--header 'Name: value'`, `--protocol p` adds Sec-WebSocket-Protocol). */
  headers: Array<[string, string]>;
  /** Check ids or groups to run (empty: all). */
  only: string[];
  /** Check ids or groups to leave out. */
  skip: string[];
  tuning: AuditTuning;
}

/** Defaults (bytes, seconds, counts). */
export const AUDIT_DEFAULTS = {
  timeoutMs: 3000,
  maxBytes: 16 * 1024 * 1024,
  slowlorisSeconds: 15,
  idleSeconds: 30,
  fragments: 10_000,
  pings: 10_000,
  bombMiB: 256,
} as const;

/** Thrown for bad arguments; the command prints the message and exits 2. */
export class AuditUsageError extends Error {
  override readonly name = 'AuditUsageError';
}

function positiveNumber(flag: string, value: string | undefined, integer: boolean): number {
  if (value === undefined) throw new AuditUsageError(`${flag} needs a value`);
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || (integer && !Number.isInteger(number))) {
    throw new AuditUsageError(
      `${flag} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

function idList(flag: string, value: string | undefined): string[] {
  if (value === undefined || value === '')
    throw new AuditUsageError(`${flag} needs a comma-separated list of check ids`);
  const ids = value
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const known = new Set<string>([...ALL_CHECKS.map((c) => c.id), ...GROUPS]);
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0)
    throw new AuditUsageError(`${flag}: unknown check id(s) ${unknown.join(', ')} (see --help)`);
  return ids;
}

/**
 * Parses `args` (everything after `audit`). Accepts `--flag value` and `--flag=value`.
 * Throws {@link AuditUsageError} for unknown flags, bad values or a missing URL (unless --help).
 */
export function parseAuditArgs(args: readonly string[]): AuditOptions {
  const options: AuditOptions = {
    url: '',
    timeoutMs: AUDIT_DEFAULTS.timeoutMs,
    insecure: false,
    json: false,
    help: false,
    only: [],
    skip: [],
    headers: [],
    tuning: {
      maxBytes: AUDIT_DEFAULTS.maxBytes,
      slowlorisSeconds: AUDIT_DEFAULTS.slowlorisSeconds,
      idleSeconds: AUDIT_DEFAULTS.idleSeconds,
      fragments: AUDIT_DEFAULTS.fragments,
      pings: AUDIT_DEFAULTS.pings,
      bombBytes: AUDIT_DEFAULTS.bombMiB * 1024 * 1024,
    },
  };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    let inline: string | undefined;
    if (arg.startsWith('--') && arg.includes('=')) {
      inline = arg.slice(arg.indexOf('=') + 1);
      arg = arg.slice(0, arg.indexOf('='));
    }
    const value = (): string | undefined => inline ?? args[++i];
    switch (arg) {
      case '-h':
      case '--help':
        options.help = true;
        break;
      case '--json':
        options.json = true;
        break;
      case '--insecure':
      case '-k':
        options.insecure = true;
        break;
      case '--origin-base':
        options.originBase = value();
        if (options.originBase === undefined)
          throw new AuditUsageError('--origin-base needs a value');
        break;
      case '--timeout':
        options.timeoutMs = positiveNumber(arg, value(), true);
        break;
      case '--only':
        options.only.push(...idList(arg, value()));
        break;
      case '--skip':
        options.skip.push(...idList(arg, value()));
        break;
      case '--header':
      case '-H': {
        const line = value() ?? '';
        const colon = line.indexOf(':');
        if (colon <= 0 || /[\r\n]/.test(line))
          throw new AuditUsageError(`${arg} expects "Name: value", got ${JSON.stringify(line)}`);
        options.headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
        break;
      }
      case '--protocol': {
        const protocol = value();
        if (protocol === undefined || protocol === '' || /[\r\n]/.test(protocol))
          throw new AuditUsageError('--protocol needs a subprotocol name');
        options.headers.push(['Sec-WebSocket-Protocol', protocol]);
        break;
      }
      case '--max-bytes':
        options.tuning.maxBytes = positiveNumber(arg, value(), true);
        break;
      case '--slowloris':
        options.tuning.slowlorisSeconds = positiveNumber(arg, value(), true);
        break;
      case '--idle':
        options.tuning.idleSeconds = positiveNumber(arg, value(), false);
        break;
      case '--fragments':
        options.tuning.fragments = positiveNumber(arg, value(), true);
        break;
      case '--pings':
        options.tuning.pings = positiveNumber(arg, value(), true);
        break;
      case '--bomb-mib':
        options.tuning.bombBytes = positiveNumber(arg, value(), true) * 1024 * 1024;
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new AuditUsageError(`unknown option ${arg}`);
        positional.push(arg);
    }
  }
  if (options.help) return options;
  if (positional.length !== 1) {
    throw new AuditUsageError(
      positional.length === 0
        ? 'missing the ws:// or wss:// URL to audit'
        : 'expected exactly one URL',
    );
  }
  options.url = positional[0];
  // --max-bytes also bounds what the heavier probes send.
  options.tuning.fragments = Math.min(
    options.tuning.fragments,
    Math.floor(options.tuning.maxBytes / 7),
  );
  options.tuning.pings = Math.min(options.tuning.pings, Math.floor(options.tuning.maxBytes / 10));
  return options;
}

/** The `--help` text: usage, options with defaults, and every check with its bounds. */
export function auditHelp(): string {
  const d = AUDIT_DEFAULTS;
  const lines = [
    'Usage: ironsock audit [options] <ws-or-wss-url>',
    '',
    'Probes a WebSocket server with crafted requests and frames. The report starts with the verdict,',
    'then each FAIL and WARN with what it means and how to fix it, then one line per check:',
    'PASS / FAIL / WARN / INFO (SKIP when a check could not run), what was sent, what came back and',
    'why it matters. Exit code 0: no FAIL; 1: at least one FAIL (a server that stops accepting',
    'connections after a probe is a FAIL of that probe); 2: bad arguments or unreachable server.',
    'Only audit servers you are allowed to test: some probes try to exhaust resources (bounded below).',
    '',
    'Options:',
    '  --json                 machine-readable results on stdout',
    '  --origin-base <origin> origin the server should consider its own',
    '                         (default: http://<host> for ws://, https://<host> for wss://)',
    `  --timeout <ms>         wait for each connect/response/reaction (default ${d.timeoutMs})`,
    '  --only <ids>           run only these checks or groups (comma-separated)',
    '  --skip <ids>           leave out these checks or groups',
    '  --insecure, -k         do not verify the TLS certificate (wss://)',
    "  --header, -H <h>       extra request header 'Name: value' on every handshake (repeatable;",
    '                         e.g. a cookie or token for an authenticated endpoint)',
    '  --protocol <name>      send Sec-WebSocket-Protocol: <name> on every handshake',
    `  --max-bytes <n>        most bytes read from one connection, and the budget of the`,
    `                         fragment and ping probes (default ${d.maxBytes} = 16 MiB)`,
    `  --slowloris <s>        seconds the slowloris probe trickles header bytes (default ${d.slowlorisSeconds})`,
    `  --idle <s>             seconds the idle probe waits for the server to close (default ${d.idleSeconds})`,
    `  --fragments <n>        fragments in the tiny-fragments probe (default ${d.fragments})`,
    `  --pings <n>            pings in the ping-flood probe (default ${d.pings})`,
    `  --bomb-mib <n>         inflated size of the decompression bomb in MiB (default ${d.bombMiB})`,
    '  -h, --help             this text',
    '',
    `Groups: ${GROUPS.join(', ')}. After every probe a fresh connection checks that the server still`,
    'accepts connections and upgrades (and echoes, if it is an echo server); if it does not, that',
    'probe FAILs (the server crashed or denied service) and every later check is SKIP.',
    '',
    'Checks (id: what, [bounds], RFC):',
  ];
  for (const check of ALL_CHECKS) {
    lines.push(`  ${check.id.padEnd(ID_WIDTH)}${check.title} [${check.bounds}] (${check.rfc})`);
  }
  return lines.join('\n') + '\n';
}
