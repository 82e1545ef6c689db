/**
 * HTTP proxies for the client (the `proxy` option): which proxy applies to a target (an explicit
 * URL, or the `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` environment variables), and the `CONNECT`
 * tunnel through it (RFC 9110 §9.3.6). The WebSocket handshake then runs inside the tunnel, with
 * TLS end to end for `wss:` (SNI and the certificate check are against the target, never the
 * proxy).
 *
 * Guarantees:
 * - Nothing is sent to the target before the proxy's 2xx: the tunnel socket is handed over only
 *   after the proxy answered, so neither the upgrade request nor the TLS ClientHello can reach a
 *   proxy that has not agreed (RFC 9110 §9.3.6: a client must not send data before the 2xx).
 * - Proxy credentials (from the proxy URL) go in `Proxy-Authorization` on the CONNECT only;
 *   they never reach the target.
 * - A 407 (or a 401, which tinyproxy sends for wrong credentials) fails with
 *   `PROXY_AUTH_REQUIRED`, another non-2xx with `PROXY_REFUSED` (status in
 *   `statusCode`); a proxy that cannot be reached, answers garbage (`cause` keeps Node's `HPE_*`
 *   error) or closes before answering fails with `PROXY_FAILED`.
 */
import type * as http from 'node:http';
import type * as net from 'node:net';
import { nodeHttp, nodeNet } from './builtins.js';
import type { Duplex } from 'node:stream';
import { ClientErrorCode, ClientHandshakeError, ClientSyntaxError } from './client-errors.js';
import { DEFAULT_MAX_HEAD_BYTES } from './limits.js';

/** The `proxy` option: an `http://[user:pass@]host[:port]` URL, or `'env'`. */
export type ProxyOption = string | URL;

/** A proxy to tunnel through, as resolved for one target. */
export interface ProxyTarget {
  /** The proxy URL without credentials (for messages). */
  readonly display: string;
  /** Host name or IP literal of the proxy (no brackets). */
  readonly hostname: string;
  /** Port of the proxy (80 when the URL has none). */
  readonly port: number;
  /** `Proxy-Authorization` value for the CONNECT, or undefined without credentials. */
  readonly authorization: string | undefined;
}

/** The environment variables read by `proxy: 'env'`. */
export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Parses a proxy URL (`http://[user:pass@]host[:port][/]`).
 * @param source where the URL came from, for the error message (option or variable name)
 * @throws ClientSyntaxError `INVALID_PROXY` for anything else (another scheme, a path, a query).
 */
export function parseProxyUrl(input: string | URL, source = 'proxy'): ProxyTarget {
  let url: URL;
  try {
    url = new URL(typeof input === 'string' ? input : input.href);
  } catch {
    throw new ClientSyntaxError('INVALID_PROXY', `${source} is not a valid URL`);
  }
  if (url.protocol !== 'http:') {
    throw new ClientSyntaxError(
      'INVALID_PROXY',
      `${source} must be an http:// proxy URL (CONNECT tunnel), got "${url.protocol}"`,
    );
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new ClientSyntaxError(
      'INVALID_PROXY',
      `${source} must be http://[user:pass@]host[:port] with no path or query`,
    );
  }
  if (url.hostname === '') throw new ClientSyntaxError('INVALID_PROXY', `${source} has no host`);
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const authorization =
    url.username === '' && url.password === ''
      ? undefined
      : `Basic ${Buffer.from(
          `${decodeComponent(url.username)}:${decodeComponent(url.password)}`,
          'utf8',
        ).toString('base64')}`;
  return {
    display: `http://${url.host}`,
    hostname,
    port: url.port === '' ? 80 : Number(url.port),
    authorization,
  };
}

/** First non-empty value among `names` (lower-case names are listed first, as curl reads them). */
function environmentValue(
  env: ProxyEnvironment,
  names: readonly string[],
): [string, string] | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return [name, value.trim()];
  }
  return undefined;
}

/**
 * Whether `NO_PROXY` (a comma- or space-separated list) exempts `hostname:port`. Entries:
 * `*` (everything), a host name that also covers its subdomains (`example.com`, `.example.com`
 * and `*.example.com` all match `example.com` and `a.example.com`), an IP literal (IPv6 with or
 * without brackets), each optionally with `:port`. Comparison is case-insensitive. CIDR ranges
 * are not supported (no match).
 */
export function matchesNoProxy(noProxy: string, hostname: string, port: number): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: number | undefined;
    const bracket = entry.match(/^\[([^\]]+)\](?::(\d+))?$/);
    if (bracket !== null) {
      entry = bracket[1];
      entryPort = bracket[2] === undefined ? undefined : Number(bracket[2]);
    } else if (nodeNet.isIP(entry) !== 6) {
      const colon = entry.lastIndexOf(':');
      if (colon !== -1 && /^\d+$/.test(entry.slice(colon + 1))) {
        entryPort = Number(entry.slice(colon + 1));
        entry = entry.slice(0, colon);
      }
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, '').replace(/\.$/, '');
    if (entry === '') continue;
    if (host === entry) return true;
    if (nodeNet.isIP(host) === 0 && host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/**
 * The proxy for a connection to `hostname:port` (`secure` for `wss:`), or undefined for a direct
 * connection.
 * - An explicit URL applies to every target.
 * - `'env'`: `wss:` reads `https_proxy` then `HTTPS_PROXY`; `ws:` reads `http_proxy` then
 *   `HTTP_PROXY`; `no_proxy`/`NO_PROXY` exempts targets (see {@link matchesNoProxy}). No
 *   variable set means a direct connection.
 * @throws ClientSyntaxError `INVALID_PROXY` for a malformed URL (naming the variable).
 */
export function resolveProxy(
  option: ProxyOption,
  target: { readonly secure: boolean; readonly hostname: string; readonly port: number },
  env: ProxyEnvironment = process.env,
): ProxyTarget | undefined {
  if (option !== 'env') return parseProxyUrl(option);
  const found = environmentValue(
    env,
    target.secure ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy', 'HTTP_PROXY'],
  );
  if (found === undefined) return undefined;
  const noProxy = environmentValue(env, ['no_proxy', 'NO_PROXY']);
  if (noProxy !== undefined && matchesNoProxy(noProxy[1], target.hostname, target.port))
    return undefined;
  return parseProxyUrl(found[1], found[0]);
}

/** A tunnel being opened; `abort()` destroys it (the callback is then never called). */
export interface PendingTunnel {
  abort(): void;
}

/** Connect options for the socket to the proxy (the caller's DNS and binding choices). */
export interface TunnelConnectOptions {
  family?: number;
  localAddress?: string;
  lookup?: net.LookupFunction;
}

/**
 * Opens a `CONNECT` tunnel to `host:port` through `proxy`. Calls `done(null, socket)` with the
 * raw tunnel once the proxy answered 2xx (bytes the proxy sent after its head are put back into
 * the socket), or `done(error)`: `PROXY_AUTH_REQUIRED` (407), `PROXY_REFUSED` (other statuses),
 * `PROXY_FAILED` (unreachable, malformed answer, closed before answering; Node's error as
 * `cause`). The proxy's answer head is capped at 16 KiB. Nothing is written after the CONNECT
 * request until `done` hands the socket over.
 */
export function openTunnel(
  proxy: ProxyTarget,
  host: string,
  port: number,
  connectOptions: TunnelConnectOptions,
  done: (error: Error | null, socket?: Duplex) => void,
): PendingTunnel {
  const authority = `${nodeNet.isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const headers: Record<string, string> = { Host: authority };
  if (proxy.authorization !== undefined) headers['Proxy-Authorization'] = proxy.authorization;
  let finished = false;
  let tunnel: Duplex | null = null;
  const finish = (error: Error | null, socket?: Duplex): void => {
    if (finished) return;
    finished = true;
    done(error, socket);
  };
  const request = nodeHttp.request({
    method: 'CONNECT',
    host: proxy.hostname,
    port: proxy.port,
    path: authority,
    headers,
    setHost: false,
    maxHeaderSize: DEFAULT_MAX_HEAD_BYTES,
    insecureHTTPParser: false,
    createConnection: (() =>
      nodeNet.connect({
        host: proxy.hostname,
        port: proxy.port,
        noDelay: true,
        ...connectOptions,
      })) as unknown as http.RequestOptions['createConnection'],
  });
  request.on('error', (error: Error & { code?: string }) => {
    const closed = error.code === 'ECONNRESET' && error.message === 'socket hang up';
    finish(
      new ClientHandshakeError(
        ClientErrorCode.PROXY_FAILED,
        closed
          ? `The proxy ${proxy.display} closed the connection without answering the CONNECT`
          : `Proxy ${proxy.display} failed: ${error.message}`,
        { cause: error },
      ),
    );
  });
  request.on('connect', (response: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const status = response.statusCode ?? 0;
    if (finished) {
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    if (status < 200 || status > 299) {
      socket.on('error', () => {});
      socket.destroy();
      // 407 is the proxy's "authenticate"; some proxies (tinyproxy) answer wrong credentials with
      // 401, which for a CONNECT can only be about the proxy too (the target was never reached).
      finish(
        status === 407 || status === 401
          ? new ClientHandshakeError(
              ClientErrorCode.PROXY_AUTH_REQUIRED,
              `Proxy ${proxy.display} requires authentication (${status})${
                proxy.authorization === undefined
                  ? ': give credentials in the proxy URL (http://user:pass@host:port)'
                  : ': the credentials in the proxy URL were refused'
              }`,
              { statusCode: status },
            )
          : new ClientHandshakeError(
              ClientErrorCode.PROXY_REFUSED,
              `Proxy ${proxy.display} refused the tunnel: ${status}`,
              { statusCode: status },
            ),
      );
      return;
    }
    // Bytes after the proxy's head already belong to the target: put them back.
    if (head.length > 0) socket.unshift(head);
    tunnel = socket;
    finish(null, socket);
  });
  request.end();
  return {
    abort(): void {
      if (finished) return;
      finished = true;
      request.on('error', () => {});
      request.destroy();
      if (tunnel !== null) tunnel.destroy();
    },
  };
}
