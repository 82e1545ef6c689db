import {
  CliUsageError,
  flagValue,
  integerOption,
  listValue,
  parseCommandArgs,
  stringValue,
  type OptionTable,
} from './args.js';
import { INPUT_COMMANDS, type BinaryFormat } from './connect-format.js';
import { formatHelp } from './help.js';
import { escapeUntrusted } from './terminal.js';
import { parseProxyUrl } from '../node/client-proxy.js';

/** Options of `ironsock connect`, with the defaults shown by `--help`. */
export const CONNECT_OPTIONS = {
  header: {
    type: 'string',
    short: 'H',
    multiple: true,
    value: "'Name: value'",
    description: 'add a request header',
  },
  subprotocol: {
    type: 'string',
    short: 's',
    multiple: true,
    value: '<name>',
    description: 'offer a subprotocol (Sec-WebSocket-Protocol)',
  },
  origin: { type: 'string', short: 'o', value: '<origin>', description: 'send this Origin header' },
  proxy: {
    type: 'string',
    value: '<url>|env',
    description:
      'tunnel through an HTTP proxy (CONNECT); env reads HTTPS_PROXY/HTTP_PROXY/NO_PROXY',
  },
  'no-check': {
    type: 'boolean',
    description: "do NOT verify the server's TLS certificate (insecure; prints a warning)",
  },
  deflate: { type: 'boolean', description: 'offer permessage-deflate compression (RFC 7692)' },
  once: {
    type: 'boolean',
    description: 'send stdin, print the first message received, close with 1000 and exit',
  },
  json: { type: 'boolean', description: 'print one JSON object per event on stdout' },
  'binary-as': {
    type: 'string',
    value: 'hex|base64',
    default: 'hex',
    description: 'how binary messages are printed',
  },
  timeout: {
    type: 'string',
    short: 't',
    value: '<ms>',
    default: '10000',
    description: 'limit for the opening handshake, and with --once for the reply',
  },
  'max-payload': {
    type: 'string',
    value: '<bytes>',
    default: '1048576',
    description: 'largest message accepted, in bytes',
  },
  reconnect: {
    type: 'boolean',
    description:
      'reconnect after a lost connection (1001, 1006, 1011-1014, HTTP 429/5xx), with backoff',
  },
  'reconnect-attempts': {
    type: 'string',
    value: '<n>',
    default: '10',
    description: 'with --reconnect: failed attempts in a row before giving up',
  },
  'reconnect-delay': {
    type: 'string',
    value: '<ms>',
    default: '1000',
    description: 'with --reconnect: first delay, doubled per attempt up to 30 s, ±20 % jitter',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionTable;

/** Help text of `ironsock connect`. */
export function connectHelp(): string {
  return formatHelp({
    usage: 'ironsock connect <ws://|wss:// url> [options]',
    summary:
      'Opens a WebSocket connection. Each stdin line is sent as a text message; each message\n' +
      'received is printed on stdout (binary as hex or base64), control characters escaped.\n' +
      'Connection events go to stderr. Exit 0 after a 1000/1001 close, 1 otherwise.',
    options: CONNECT_OPTIONS,
    notes: [
      ...INPUT_COMMANDS,
      '',
      'Examples:',
      '  ironsock connect ws://127.0.0.1:8080/chat',
      '  echo hello | ironsock connect ws://127.0.0.1:8080/echo --once',
      "  ironsock connect wss://example.test/socket -H 'Authorization: Bearer x' -s chat.v1",
      '  ironsock connect wss://example.test/socket --proxy http://proxy.internal:3128',
      '  ironsock connect ws://127.0.0.1:8080/feed --reconnect --reconnect-attempts 20',
    ],
  });
}

/** Resolved `connect` settings (see {@link CONNECT_OPTIONS} for meanings and defaults). */
export interface ConnectSettings {
  url: string;
  headers: Record<string, string>;
  subprotocols: string[];
  origin: string | undefined;
  /** `--proxy`: a proxy URL or 'env'; undefined for a direct connection. */
  proxy: string | undefined;
  noCheck: boolean;
  deflate: boolean;
  once: boolean;
  json: boolean;
  binaryAs: BinaryFormat;
  timeout: number;
  maxPayload: number;
  /** Reconnection settings, or null without --reconnect. */
  reconnect: { attempts: number; minDelay: number } | null;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses the arguments of `ironsock connect` into settings, or `'help'` for `--help`.
 * @throws CliUsageError for unknown options and invalid values.
 */
export function readConnectSettings(args: string[]): ConnectSettings | 'help' {
  const { values, positionals } = parseCommandArgs(args, CONNECT_OPTIONS, 1);
  if (flagValue(values, 'help')) return 'help';
  const url = positionals[0];
  if (url === undefined)
    throw new CliUsageError('missing the URL to connect to (ws://host:port/path)');
  const headers: Record<string, string> = {};
  for (const header of listValue(values, 'header')) {
    const colon = header.indexOf(':');
    const name = colon < 0 ? '' : header.slice(0, colon).trim();
    const value = colon < 0 ? '' : header.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value)) {
      throw new CliUsageError(`--header expects 'Name: value', got '${escapeUntrusted(header)}'`);
    }
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const binaryAs = stringValue(values, 'binary-as') ?? 'hex';
  if (binaryAs !== 'hex' && binaryAs !== 'base64') {
    throw new CliUsageError(`--binary-as expects hex or base64, got '${binaryAs}'`);
  }
  return {
    url,
    headers,
    subprotocols: listValue(values, 'subprotocol'),
    origin: stringValue(values, 'origin'),
    proxy: proxyValue(stringValue(values, 'proxy')),
    noCheck: flagValue(values, 'no-check'),
    deflate: flagValue(values, 'deflate'),
    once: flagValue(values, 'once'),
    json: flagValue(values, 'json'),
    binaryAs,
    timeout: integerOption('timeout', stringValue(values, 'timeout') ?? '10000', 1),
    maxPayload: integerOption(
      'max-payload',
      stringValue(values, 'max-payload') ?? '1048576',
      1,
      2 ** 31,
    ),
    reconnect: flagValue(values, 'reconnect')
      ? {
          attempts: integerOption(
            'reconnect-attempts',
            stringValue(values, 'reconnect-attempts') ?? '10',
            1,
          ),
          minDelay: integerOption(
            'reconnect-delay',
            stringValue(values, 'reconnect-delay') ?? '1000',
            0,
            30_000,
          ),
        }
      : null,
  };
}

/** Checks `--proxy` (a URL or `env`) before connecting, so a typo is a usage error. */
function proxyValue(value: string | undefined): string | undefined {
  if (value === undefined || value === 'env') return value;
  try {
    parseProxyUrl(value, '--proxy');
  } catch (error) {
    throw new CliUsageError(escapeUntrusted((error as Error).message));
  }
  return value;
}
