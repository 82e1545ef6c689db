/**
 * Origin normalisation and the origin policy of the server (RFC 6455 §4.2.1 item 8, §10.2;
 * RFC 6454 §6.2 serialisation; checklist H3). Browsers send `Origin` on every WebSocket
 * request; refusing unexpected origins stops cross-site WebSocket hijacking. The default is
 * same-origin: the origin must equal the server's own origin, `http(s)://` + the request's
 * `Host`. Allow-list entries are exact origins, `scheme://*.name[:port]` wildcards (matched by
 * label comparison, never by a pattern built from the entry), `null`, or predicates.
 */
import { HandshakeError } from './errors.js';
import { isSubdomainOf, parseAuthority, type Authority } from './host.js';

/** A parsed, normalised origin (RFC 6454 tuple). */
export interface NormalizedOrigin {
  /** Lower-case scheme, e.g. `https`. */
  readonly scheme: string;
  /** Canonical host, as {@link Authority.host} (`example.com`, `10.0.0.1`, `[::1]`). */
  readonly host: string;
  /** What `host` is. */
  readonly kind: Authority['kind'];
  /** Port, undefined when absent or the scheme's default (80 for http/ws, 443 for https/wss). */
  readonly port: number | undefined;
  /** The canonical serialisation `scheme://host[:port]`, used for every comparison. */
  readonly origin: string;
}

const DEFAULT_PORTS: ReadonlyArray<readonly [string, number]> = [
  ['http', 80],
  ['ws', 80],
  ['https', 443],
  ['wss', 443],
];

/**
 * Parses an origin `scheme "://" host [ ":" port ]` (RFC 6454 §7.1 serialisation, as browsers
 * send it) and normalises it: lower-case scheme and host, canonical IP literals, default ports
 * elided. Returns undefined for anything else, including `null`, paths, userinfo or a trailing
 * slash. Never throws.
 *
 * @example normalizeOrigin('HTTPS://Example.COM:443')?.origin // 'https://example.com'
 */
export function normalizeOrigin(value: string): NormalizedOrigin | undefined {
  const sep = value.indexOf('://');
  if (sep <= 0) return undefined;
  const scheme = value.slice(0, sep).toLowerCase();
  if (!isScheme(scheme)) return undefined;
  const authority = parseAuthority(value.slice(sep + 3));
  if (authority === undefined) return undefined;
  const defaultPort = DEFAULT_PORTS.find(([name]) => name === scheme)?.[1];
  const port = authority.port === defaultPort ? undefined : authority.port;
  const origin = `${scheme}://${authority.host}${port === undefined ? '' : `:${port}`}`;
  return { scheme, host: authority.host, kind: authority.kind, port, origin };
}

/** scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1), already lower-cased. */
function isScheme(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alpha = c >= 0x61 && c <= 0x7a;
    if (
      i === 0
        ? !alpha
        : !(alpha || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)
    ) {
      return false;
    }
  }
  return s.length > 0;
}

/** A predicate deciding an origin; gets the normalised origin (or `null`) and the request. */
export type OriginPredicate<R = unknown> = (origin: string, request: R) => boolean;

/** The origin part of the server policy (a subset of `ServerPolicy`). */
export interface OriginPolicy<R = unknown> {
  /**
   * Origins accepted besides same-origin: exact origins (`https://app.example`), wildcards
   * (`https://*.example.com`: one or more labels before `.example.com`, same scheme and port),
   * the string `null` (accepts the opaque `null` origin, which is otherwise refused), or
   * predicates; or a single predicate. A predicate that throws refuses the request (500).
   */
  origins?: ReadonlyArray<string | OriginPredicate<R>> | OriginPredicate<R>;
  /** Refuse requests without `Origin` (403). Default false: non-browser clients send none. */
  requireOrigin?: boolean;
  /**
   * Accept any `Origin` (still refusing two of them). Unsafe: any web page can then open
   * connections with the user's cookies (cross-site WebSocket hijacking). Default false.
   */
  unsafeAllowAnyOrigin?: boolean;
  /**
   * Extra origins that count as this server's own (e.g. `https://app.example` behind a
   * TLS-terminating proxy, where the derived `http://` origin would be wrong).
   */
  serverOrigins?: readonly string[];
}

/** A compiled allow-list entry. */
export type OriginMatcher<R = unknown> =
  | { kind: 'exact'; origin: string }
  | { kind: 'wildcard'; scheme: string; suffix: string; port: number | undefined }
  | { kind: 'null' }
  | { kind: 'predicate'; fn: OriginPredicate<R> };

const compiled = new WeakMap<object, OriginMatcher<any>[]>();

/**
 * Compiles origin allow-list entries, validating them (one trailing `/` on an entry is ignored).
 * Servers should call it once at construction so that a bad entry fails early. The result is cached per array object:
 * mutating an `origins` array after first use has no effect (pass a new array instead).
 * @throws HandshakeError `INVALID_ORIGIN_POLICY` for an entry that is not an origin, a
 *   `scheme://*.name[:port]` wildcard, `null`, or a function.
 */
export function compileOrigins<R>(entries: OriginPolicy<R>['origins']): OriginMatcher<R>[] {
  if (entries === undefined) return [];
  if (typeof entries === 'function') return [{ kind: 'predicate', fn: entries }];
  const cached = compiled.get(entries);
  if (cached !== undefined) return cached;
  const out: OriginMatcher<R>[] = entries.map((entry) => {
    if (typeof entry === 'function') return { kind: 'predicate', fn: entry };
    if (entry === 'null') return { kind: 'null' };
    // A configured origin often carries a trailing slash (copied from a URL): tolerate one.
    const text = entry.endsWith('/') ? entry.slice(0, -1) : entry;
    const star = text.indexOf('://*.');
    if (star > 0) {
      const parsed = normalizeOrigin(text.slice(0, star + 3) + text.slice(star + 5));
      if (parsed === undefined || parsed.kind !== 'name') throw invalidPolicy(entry);
      return { kind: 'wildcard', scheme: parsed.scheme, suffix: parsed.host, port: parsed.port };
    }
    const parsed = normalizeOrigin(text);
    if (parsed === undefined) throw invalidPolicy(entry);
    return { kind: 'exact', origin: parsed.origin };
  });
  compiled.set(entries, out);
  return out;
}

function invalidPolicy(entry: string): HandshakeError {
  return new HandshakeError(
    'INVALID_ORIGIN_POLICY',
    `origins entry ${JSON.stringify(entry)} is not an origin, a scheme://*.name wildcard or "null"`,
  );
}

/**
 * Decides the `Origin` header(s) of a request (§4.2.1 item 8, §10.2).
 *
 * @param values every `Origin` header value of the request, in order
 * @param ownOrigins this server's own origins (same-origin), already normalised strings
 * @returns the origin as sent, or undefined when there was none
 * @throws HandshakeError `DUPLICATE_ORIGIN` (400), `INVALID_ORIGIN` (400, unparsable),
 *   `MISSING_ORIGIN` (403, only with `requireOrigin`), `ORIGIN_NOT_ALLOWED` (403),
 *   `ORIGIN_CHECK_FAILED` (500, a predicate threw).
 */
export function checkOrigin<R>(
  values: readonly string[],
  ownOrigins: readonly string[],
  policy: OriginPolicy<R>,
  request: R,
): string | undefined {
  if (values.length > 1) {
    throw new HandshakeError('DUPLICATE_ORIGIN', 'more than one Origin header', 400);
  }
  if (values.length === 0) {
    if (policy.requireOrigin === true) {
      throw new HandshakeError(
        'MISSING_ORIGIN',
        'Origin header required by the server policy',
        403,
      );
    }
    return undefined;
  }
  const value = values[0];
  if (policy.unsafeAllowAnyOrigin === true) return value;
  const matchers = compileOrigins(policy.origins);
  if (value === 'null') {
    // An opaque origin (sandboxed frame, file:, data:) is never same-origin (RFC 6454 §5).
    if (
      matchers.some(
        (m) =>
          m.kind === 'null' || (m.kind === 'predicate' && callPredicate(m.fn, 'null', request)),
      )
    ) {
      return value;
    }
    throw notAllowed();
  }
  const origin = normalizeOrigin(value);
  if (origin === undefined) {
    throw new HandshakeError('INVALID_ORIGIN', 'Origin header is not a valid origin', 400);
  }
  if (ownOrigins.includes(origin.origin)) return value;
  for (const matcher of matchers) {
    switch (matcher.kind) {
      case 'exact':
        if (matcher.origin === origin.origin) return value;
        break;
      case 'wildcard':
        if (
          matcher.scheme === origin.scheme &&
          matcher.port === origin.port &&
          origin.kind === 'name' &&
          isSubdomainOf(origin.host, matcher.suffix)
        ) {
          return value;
        }
        break;
      case 'predicate':
        if (callPredicate(matcher.fn, origin.origin, request)) return value;
        break;
      case 'null':
        break;
    }
  }
  throw notAllowed();
}

function callPredicate<R>(fn: OriginPredicate<R>, origin: string, request: R): boolean {
  try {
    return fn(origin, request) === true;
  } catch {
    throw new HandshakeError('ORIGIN_CHECK_FAILED', 'the origin predicate threw', 500);
  }
}

function notAllowed(): HandshakeError {
  return new HandshakeError(
    'ORIGIN_NOT_ALLOWED',
    'Origin is not allowed by the server policy',
    403,
  );
}

/**
 * This server's own origins for a request: `http://` or `https://` (per `secure`) + the
 * normalised `Host`, plus the normalised `serverOrigins` entries (unparsable entries ignored).
 */
export function ownOrigins(
  host: Authority,
  secure: boolean,
  serverOrigins: readonly string[] = [],
): string[] {
  const derived = normalizeOrigin(
    `${secure ? 'https' : 'http'}://${host.host}${host.port === undefined ? '' : `:${host.port}`}`,
  );
  const out = derived === undefined ? [] : [derived.origin];
  for (const entry of serverOrigins) {
    const parsed = normalizeOrigin(entry.endsWith('/') ? entry.slice(0, -1) : entry);
    if (parsed !== undefined) out.push(parsed.origin);
  }
  return out;
}
