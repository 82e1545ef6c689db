/**
 * The server under audit: what the URL names, and the origin the server should treat as its own.
 */

/** Where and how to connect, derived from a `ws://` or `wss://` URL. */
export interface AuditTarget {
  /** The URL as given (normalised by `URL`). */
  url: string;
  /** True for `wss:` (TLS). */
  secure: boolean;
  /** Host name or IP literal without brackets (what `net.connect` wants). */
  hostname: string;
  port: number;
  /** Request target: path plus query, at least `/`. */
  path: string;
  /** Value of the `Host` header: host plus port when the port is not the scheme default (§4.1). */
  hostHeader: string;
  /**
   * The origin the server is expected to consider its own (`--origin-base`), default the URL's
   * host with `http:` for `ws:` and `https:` for `wss:`, as a page served from that host would send.
   */
  originBase: string;
}

/**
 * Parses the audit target. Throws `Error` with a one-line message when the URL is not a valid
 * `ws:`/`wss:` URL or `originBase` is not an `http(s)://host[:port]` origin.
 */
export function parseTarget(raw: string, originBase?: string): AuditTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new Error(`expected a ws:// or wss:// URL, got ${url.protocol}`);
  }
  if (url.hash !== '') throw new Error('a WebSocket URL has no fragment (§3)');
  const secure = url.protocol === 'wss:';
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const origin = originBase ?? `${secure ? 'https' : 'http'}://${url.host}`;
  let parsedOrigin: URL;
  try {
    parsedOrigin = new URL(origin);
  } catch {
    throw new Error(`--origin-base is not a URL: ${JSON.stringify(origin)}`);
  }
  if (parsedOrigin.protocol !== 'http:' && parsedOrigin.protocol !== 'https:') {
    throw new Error('--origin-base must be an http:// or https:// origin');
  }
  return {
    url: url.href,
    secure,
    hostname,
    port,
    path: `${url.pathname || '/'}${url.search}`,
    hostHeader: url.host,
    originBase: parsedOrigin.origin,
  };
}

/** The same origin with the other scheme (http <-> https), for the scheme-mismatch check. */
export function swapScheme(origin: string): string {
  const url = new URL(origin);
  const other = url.protocol === 'https:' ? 'http:' : 'https:';
  return `${other}//${url.host}`;
}
