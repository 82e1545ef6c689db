/**
 * Parsing and checking of the URL a client connects to (RFC 6455 §3, §4.1 step 1; WHATWG
 * WebSocket constructor steps). Everything here runs before any network activity, so a bad URL
 * is a synchronous `SyntaxError`, never a failed connection.
 */
import { nodeNet } from './builtins.js';
import { ClientSyntaxError } from './client-errors.js';
import type { ClientTlsOptions } from './client.js';

/** Where and how to connect, derived from a `ws:`/`wss:` (or `http:`/`https:`/`ws+unix:`) URL. */
export interface ClientTarget {
  /** The parsed URL with `http:` mapped to `ws:` and `https:` to `wss:`. */
  readonly url: URL;
  /** True for `wss:` (TLS). */
  readonly secure: boolean;
  /** Host name or IP address to connect to, without IPv6 brackets; '' for `ws+unix:`. */
  readonly hostname: string;
  /** 4 or 6 when `hostname` is an IP literal, else 0 (then SNI carries the name). */
  readonly ipFamily: 0 | 4 | 6;
  /** TCP port (80/443 by default); 0 for `ws+unix:`. */
  readonly port: number;
  /** The value for the `Host` header (§4.1 item 4): host, `[v6]`, plus `:port` when not the default. */
  readonly hostHeader: string;
  /** Request target: path and query, at least `/` (§3 "resource name"). */
  readonly path: string;
  /** Unix domain socket path for `ws+unix:` URLs, else undefined. */
  readonly socketPath: string | undefined;
  /** `user:password` from the URL (percent-decoded), or undefined when the URL has none. */
  readonly credentials: string | undefined;
  /**
   * Identity used to decide whether a redirect stays on the same origin: scheme, host and port
   * (or the socket path for `ws+unix:`).
   */
  readonly origin: string;
}

/** ws's text for a URL whose scheme is not one of the accepted ones (code written for ws matches it). */
export const WS_SCHEME_TEXT =
  'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';

/** The schemes the client accepts (`http:`/`https:` are mapped, as `ws` and browsers do). */
const SCHEME_MAP = {
  'ws:': 'ws:',
  'wss:': 'wss:',
  'http:': 'ws:',
  'https:': 'wss:',
  'ws+unix:': 'ws+unix:',
} as const satisfies Record<string, string>;

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Parses `input` into a {@link ClientTarget}.
 *
 * Accepts `ws:`, `wss:`, `http:` (as `ws:`), `https:` (as `wss:`), and `ws+unix:/socket/path:/request/path`
 * (unless `allowUnix` is false). IPv6 literals are written in brackets (`ws://[::1]:8080/`).
 *
 * @throws ClientSyntaxError (`code: 'INVALID_URL'`) for an unparsable URL, an unknown scheme, a
 *   fragment (§3: "Fragment identifiers are meaningless in the context of WebSocket URIs and
 *   MUST NOT be used"; even an empty `#`), a missing host or an empty unix socket path.
 */
export function parseClientUrl(input: string | URL, allowUnix = true): ClientTarget {
  let parsed: URL;
  try {
    parsed = new URL(typeof input === 'string' ? input : input.href);
  } catch {
    throw new ClientSyntaxError('INVALID_URL', `Invalid URL: ${String(input).slice(0, 200)}`);
  }
  const scheme = Object.hasOwn(SCHEME_MAP, parsed.protocol)
    ? SCHEME_MAP[parsed.protocol as keyof typeof SCHEME_MAP]
    : undefined;
  if (scheme === undefined || (scheme === 'ws+unix:' && !allowUnix)) {
    throw new ClientSyntaxError(
      'INVALID_URL',
      WS_SCHEME_TEXT,
      `The URL's scheme must be "ws:" or "wss:" ("http:", "https:"${allowUnix ? ', "ws+unix:"' : ''} also accepted), got "${parsed.protocol}"`,
    );
  }
  // §3: no fragment. `URL.hash` is '' both for no fragment and for an empty one, so look at href.
  if (parsed.hash !== '' || parsed.href.endsWith('#')) {
    throw new ClientSyntaxError(
      'INVALID_URL',
      'The URL contains a fragment identifier',
      'The URL contains a fragment identifier (RFC 6455 §3)',
    );
  }
  if (scheme !== parsed.protocol) {
    // Only the scheme changes; the special-scheme parsing of host and path is the same.
    parsed = new URL(scheme + parsed.href.slice(parsed.protocol.length));
  }
  const credentials =
    parsed.username === '' && parsed.password === ''
      ? undefined
      : `${decodeComponent(parsed.username)}:${decodeComponent(parsed.password)}`;

  if (scheme === 'ws+unix:') {
    // ws+unix:/path/to/socket:/request/path?query (the `ws` convention).
    const pathname = decodeComponent(parsed.pathname);
    const colon = pathname.indexOf(':');
    const socketPath = colon === -1 ? pathname : pathname.slice(0, colon);
    const requestPath = colon === -1 ? '/' : pathname.slice(colon + 1) || '/';
    if (socketPath === '')
      throw new ClientSyntaxError(
        'INVALID_URL',
        "The URL's pathname is empty",
        'The ws+unix: URL has no socket path',
      );
    return {
      url: parsed,
      secure: false,
      hostname: '',
      ipFamily: 0,
      port: 0,
      hostHeader: 'localhost',
      path: (requestPath.startsWith('/') ? requestPath : `/${requestPath}`) + parsed.search,
      socketPath,
      credentials,
      origin: `ws+unix:${socketPath}`,
    };
  }

  if (parsed.hostname === '') throw new ClientSyntaxError('INVALID_URL', 'The URL has no host');
  const secure = scheme === 'wss:';
  const bracketed = parsed.hostname.startsWith('[');
  const hostname = bracketed ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const family = nodeNet.isIP(hostname);
  const port = parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port);
  return {
    url: parsed,
    secure,
    hostname,
    ipFamily: family === 4 || family === 6 ? family : 0,
    port,
    // `URL.host` already omits the scheme's default port and keeps the IPv6 brackets.
    hostHeader: parsed.host,
    path: (parsed.pathname === '' ? '/' : parsed.pathname) + parsed.search,
    socketPath: undefined,
    credentials,
    origin: `${scheme}//${parsed.host}`,
  };
}

/** RFC 7230 §3.2.6 `token` characters, which a subprotocol name must consist of (§4.1 item 10). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** ws's text for an invalid or repeated subprotocol (code written for ws matches it). */
const WS_SUBPROTOCOL_TEXT = 'An invalid or duplicated subprotocol was specified';

/**
 * Normalises the `protocols` argument of the constructor to a list (a single value, `null`
 * included, is a list of one, as in `ws`).
 *
 * @throws ClientSyntaxError (`code: 'INVALID_SUBPROTOCOL'`) when an element is not an RFC 7230
 *   token or appears twice (§4.1 item 10: "unique strings"; WHATWG step 6). The message is ws's
 *   (`An invalid or duplicated subprotocol was specified`); `explanation` names the culprit.
 */
export function normalizeProtocols(protocols: unknown): string[] {
  const list: unknown[] =
    protocols === undefined ? [] : Array.isArray(protocols) ? [...protocols] : [protocols];
  const seen = new Set<string>();
  for (const protocol of list) {
    if (typeof protocol !== 'string' || !TOKEN.test(protocol)) {
      throw new ClientSyntaxError(
        'INVALID_SUBPROTOCOL',
        WS_SUBPROTOCOL_TEXT,
        `Invalid subprotocol name: ${String(JSON.stringify(protocol)).slice(0, 200)}`,
      );
    }
    if (seen.has(protocol)) {
      throw new ClientSyntaxError(
        'INVALID_SUBPROTOCOL',
        WS_SUBPROTOCOL_TEXT,
        `Duplicate subprotocol name: ${protocol}`,
      );
    }
    seen.add(protocol);
  }
  return list as string[];
}

/** The client options passed on to `tls.connect` as they are (over HTTP/1.1 and HTTP/2). */
export const TLS_OPTION_NAMES = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'checkServerIdentity',
  'minVersion',
  'maxVersion',
  'ciphers',
  'ecdhCurve',
  'crl',
  'sigalgs',
  'secureContext',
  'secureOptions',
  'session',
  'ALPNProtocols',
] as const satisfies ReadonlyArray<keyof ClientTlsOptions>;
