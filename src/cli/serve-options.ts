import { nodeFs } from '../node/builtins.js';
import {
  CliUsageError,
  flagValue,
  integerOption,
  listValue,
  parseCommandArgs,
  stringValue,
  type OptionTable,
} from './args.js';
import { formatHelp } from './help.js';

/** Options of `ironsock serve`, with the defaults shown by `--help`. */
export const SERVE_OPTIONS = {
  host: {
    type: 'string',
    value: '<host>',
    default: '127.0.0.1',
    description: 'address to listen on',
  },
  port: {
    type: 'string',
    short: 'p',
    value: '<port>',
    default: '8080',
    description: 'TCP port (0 picks a free one)',
  },
  echo: {
    type: 'boolean',
    description:
      'lean echo server: every path echoes each message with its opcode, no demo page, no per-connection log',
  },
  'tls-cert': {
    type: 'string',
    value: '<file>',
    description: 'PEM certificate: serve https/wss (needs --tls-key)',
  },
  'tls-key': { type: 'string', value: '<file>', description: 'PEM private key for --tls-cert' },
  http2: {
    type: 'boolean',
    description:
      'serve HTTP/2 too (needs --tls-cert/--tls-key): the page and its WebSockets (RFC 8441) share one connection; HTTP/1.1 still accepted',
  },
  origin: {
    type: 'string',
    multiple: true,
    value: '<origin>',
    description:
      'allow browser pages from this origin, e.g. https://app.example (same-origin is always allowed)',
  },
  'allow-host': {
    type: 'string',
    multiple: true,
    value: '<host>',
    description:
      'accept this Host header too (loopback servers accept only loopback names, against DNS rebinding)',
  },
  'max-payload': {
    type: 'string',
    value: '<bytes>',
    default: '1048576',
    description:
      'largest message accepted, in bytes; each connection may buffer twice this (at least 1 MiB) for sending',
  },
  deflate: {
    type: 'boolean',
    description: 'negotiate permessage-deflate (RFC 7692) when clients offer it',
  },
  keepalive: {
    type: 'string',
    value: '<ms>',
    default: '30000',
    description:
      "ping clients silent for this many ms and drop them 20 s after an unanswered ping (the library's default); 0 = off",
  },
  'json-log': { type: 'boolean', description: 'log one JSON object per line' },
  stats: {
    type: 'boolean',
    description: 'print connections, received messages/s and bytes/s periodically',
  },
  'stats-interval': {
    type: 'string',
    value: '<ms>',
    default: '5000',
    description: 'period of --stats lines',
  },
  redis: {
    type: 'string',
    value: '<url>',
    description:
      'share /chat rooms with other servers over Redis Pub/Sub, e.g. redis://127.0.0.1:6379 (needs the ioredis package)',
  },
  nats: {
    type: 'string',
    value: '<url>',
    description:
      'share /chat rooms over NATS, e.g. nats://127.0.0.1:4222 (needs @nats-io/transport-node)',
  },
  workers: {
    type: 'string',
    value: '<n>',
    default: '1',
    description:
      'run n processes sharing the port (node:cluster); rooms span them through --redis/--nats, or through the primary over IPC',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionTable;

/** Help text of `ironsock serve`. */
export function serveHelp(): string {
  return formatHelp({
    usage: 'ironsock serve [options]',
    summary:
      'Runs a WebSocket server. By default GET / is a demo page, /echo echoes and /chat relays\n' +
      'messages to every /chat client. With --echo every path echoes (for test suites and load).',
    options: SERVE_OPTIONS,
    notes: [
      'Stops on SIGINT/SIGTERM: clients get Close 1001, then the process exits 0.',
      '',
      'Examples:',
      '  ironsock serve --port 0',
      '  ironsock serve --echo --host 0.0.0.0 --port 9001 --deflate --max-payload 16777216',
      '  ironsock serve --tls-cert cert.pem --tls-key key.pem --origin https://app.example',
      '  ironsock serve --http2 --tls-cert cert.pem --tls-key key.pem',
      '  ironsock serve --port 8080 --redis redis://127.0.0.1:6379   # and --port 8081 on another machine',
      '  ironsock serve --workers 4',
    ],
  });
}

/** Resolved `serve` settings (see {@link SERVE_OPTIONS}); `stats` is the period in ms, 0 = off. */
export interface ServeSettings {
  host: string;
  port: number;
  echo: boolean;
  tls: { cert: Buffer; key: Buffer } | null;
  /** Serve HTTP/2 (and RFC 8441 WebSockets) besides HTTP/1.1; requires `tls`. */
  http2: boolean;
  origins: string[];
  allowHosts: string[];
  maxPayload: number;
  deflate: boolean;
  /** Keepalive interval in ms, 0 = off, undefined = the library's default (on, 30 s / 20 s). */
  keepalive: number | undefined;
  jsonLog: boolean;
  stats: number;
  /** Bus to share rooms on: `{kind, url}` for --redis/--nats, or null. */
  bus: { kind: 'redis' | 'nats'; url: string } | null;
  /** Processes to run (node:cluster workers) when > 1. */
  workers: number;
}

function optionalInteger(name: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : integerOption(name, value, 0);
}

/**
 * Parses the arguments of `ironsock serve` into settings, or `'help'` for `--help`.
 * @throws CliUsageError for unknown options and invalid values.
 */
export function readServeSettings(args: string[]): ServeSettings | 'help' {
  const { values } = parseCommandArgs(args, SERVE_OPTIONS);
  if (flagValue(values, 'help')) return 'help';
  const certFile = stringValue(values, 'tls-cert');
  const keyFile = stringValue(values, 'tls-key');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new CliUsageError('--tls-cert and --tls-key go together');
  }
  let tls: ServeSettings['tls'] = null;
  if (certFile !== undefined && keyFile !== undefined) {
    try {
      tls = { cert: nodeFs().readFileSync(certFile), key: nodeFs().readFileSync(keyFile) };
    } catch (error) {
      throw new CliUsageError(`cannot read TLS files: ${(error as Error).message}`);
    }
  }
  const http2 = flagValue(values, 'http2');
  if (http2 && tls === null) {
    throw new CliUsageError(
      '--http2 needs TLS: give --tls-cert and --tls-key (browsers speak HTTP/2 only over TLS)',
    );
  }
  const origins = listValue(values, 'origin');
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new CliUsageError(
        `--origin expects scheme://host[:port] without a path, got '${origin}'`,
      );
    }
  }
  const redis = stringValue(values, 'redis');
  const nats = stringValue(values, 'nats');
  if (redis !== undefined && nats !== undefined) {
    throw new CliUsageError('--redis and --nats exclude each other');
  }
  let bus: ServeSettings['bus'] = null;
  if (redis !== undefined) {
    if (!/^rediss?:\/\/[^\s]+$/.test(redis))
      throw new CliUsageError(`--redis expects redis://host:port, got '${redis}'`);
    bus = { kind: 'redis', url: redis };
  } else if (nats !== undefined) {
    if (!/^(nats|tls):\/\/[^\s]+$/.test(nats))
      throw new CliUsageError(`--nats expects nats://host:port, got '${nats}'`);
    bus = { kind: 'nats', url: nats };
  }
  return {
    bus,
    workers: integerOption('workers', stringValue(values, 'workers') ?? '1', 1, 256),
    host: stringValue(values, 'host') ?? '127.0.0.1',
    port: integerOption('port', stringValue(values, 'port') ?? '8080', 0, 65535),
    echo: flagValue(values, 'echo'),
    tls,
    http2,
    origins,
    allowHosts: listValue(values, 'allow-host'),
    maxPayload: integerOption(
      'max-payload',
      stringValue(values, 'max-payload') ?? '1048576',
      1,
      2 ** 31,
    ),
    deflate: flagValue(values, 'deflate'),
    keepalive: optionalInteger('keepalive', stringValue(values, 'keepalive')),
    jsonLog: flagValue(values, 'json-log'),
    stats: flagValue(values, 'stats')
      ? integerOption('stats-interval', stringValue(values, 'stats-interval') ?? '5000', 10)
      : 0,
  };
}
