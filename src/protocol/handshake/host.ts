/**
 * `Host` header parsing and the DNS-rebinding check (RFC 6455 §4.2.1 item 2, §10.2;
 * checklist H9). A server listening on a loopback or private address only answers requests
 * whose `Host` names that address, `localhost` (or a `*.localhost` name), or an entry of
 * `allowedHosts`: a browser page on `attacker.example` whose name was rebound to 127.0.0.1
 * sends `Host: attacker.example` and is refused with 403.
 */
import { HandshakeError } from './errors.js';
import { formatIPv6, isLoopbackOrPrivate, parseIPv4, parseIPv6 } from './ip.js';

/** A parsed `host[:port]` (RFC 3986 §3.2.2-3.2.3), normalised for comparison. */
export interface Authority {
  /**
   * Canonical host: lower-case name, dotted-decimal IPv4, or bracketed canonical IPv6
   * (RFC 5952), e.g. `example.com`, `127.0.0.1`, `[::1]`.
   */
  readonly host: string;
  /** What `host` is. */
  readonly kind: 'name' | 'ipv4' | 'ipv6';
  /** Port number if one was given (1-65535), else undefined. */
  readonly port: number | undefined;
}

/**
 * Parses `host[:port]` strictly: a registered name of letters, digits, `-`, `_`, `~` and dots
 * (no empty labels; one trailing dot allowed), a dotted IPv4 literal, or a bracketed IPv6
 * literal (no zone); an optional port of 1-5 digits in 1-65535. Returns undefined otherwise
 * (userinfo, paths, spaces, percent-encoding and empty ports are all refused). Never throws.
 */
export function parseAuthority(text: string): Authority | undefined {
  let hostPart: string;
  let portPart: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    hostPart = text.slice(0, close + 1);
    const after = text.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(':')) return undefined;
      portPart = after.slice(1);
    }
  } else {
    const colon = text.indexOf(':');
    if (colon >= 0) {
      hostPart = text.slice(0, colon);
      portPart = text.slice(colon + 1);
    } else {
      hostPart = text;
    }
  }
  let port: number | undefined;
  if (portPart !== undefined) {
    if (portPart.length === 0 || portPart.length > 5) return undefined;
    port = 0;
    for (let i = 0; i < portPart.length; i++) {
      const c = portPart.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return undefined;
      port = port * 10 + (c - 0x30);
    }
    if (port < 1 || port > 65535) return undefined;
  }
  if (hostPart.startsWith('[')) {
    const groups = parseIPv6(hostPart.slice(1, -1));
    if (groups === undefined) return undefined;
    return { host: `[${formatIPv6(groups)}]`, kind: 'ipv6', port };
  }
  const v4 = parseIPv4(hostPart);
  // Strict dotted-decimal (no leading zeros) is already canonical.
  if (v4 !== undefined) return { host: hostPart, kind: 'ipv4', port };
  const name = hostPart.toLowerCase();
  if (!isRegName(name)) return undefined;
  return { host: name, kind: 'name', port };
}

/** Lower-case registered name check: label chars `a-z 0-9 - _ ~`, no empty labels but a final dot. */
function isRegName(name: string): boolean {
  if (name.length === 0 || name.length > 255) return false;
  let labelLength = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (labelLength === 0) return false;
      labelLength = 0;
      continue;
    }
    const ok =
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2d ||
      c === 0x5f ||
      c === 0x7e;
    if (!ok) return false;
    labelLength++;
  }
  return true;
}

/** The host part of the policy (a subset of `ServerPolicy`). */
export interface HostPolicy {
  /**
   * Extra host names (or IP literals) accepted in `Host`, compared without the port unless the
   * entry has one; `*.example.com` accepts one or more labels before `.example.com`. When given,
   * the check applies whatever the listen address.
   */
  allowedHosts?: readonly string[];
  /**
   * The address the server listens on. When it is loopback or private (see
   * `isLoopbackOrPrivate`), `Host` must name it, `localhost`/`*.localhost`, or an
   * `allowedHosts` entry. Unspecified (`0.0.0.0`, `::`) or public addresses impose no
   * restriction unless `allowedHosts` is given.
   */
  listenAddress?: string;
}

/**
 * Checks a `Host` value against the DNS-rebinding policy and returns its parsed form.
 *
 * @throws HandshakeError `INVALID_HOST` (400) if the value is not a valid `host[:port]`;
 *   `HOST_NOT_ALLOWED` (403) if the policy refuses it.
 */
export function checkHost(value: string, policy: HostPolicy): Authority {
  const authority = parseAuthority(value);
  if (authority === undefined) {
    throw new HandshakeError('INVALID_HOST', 'Host header is not a valid host[:port]', 400);
  }
  const listen = policy.listenAddress;
  const restricted =
    policy.allowedHosts !== undefined || (listen !== undefined && listenFacts(listen).private);
  if (!restricted || isHostAllowed(authority, policy)) return authority;
  throw new HandshakeError(
    'HOST_NOT_ALLOWED',
    'Host header does not name this server (DNS rebinding protection); add it to allowedHosts',
    403,
  );
}

function isHostAllowed(authority: Authority, policy: HostPolicy): boolean {
  const host = authority.host;
  if (authority.kind === 'name') {
    const bare = host.endsWith('.') ? host.slice(0, -1) : host;
    if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  }
  const listen = policy.listenAddress;
  if (listen !== undefined && authority.kind !== 'name') {
    const listenAuthority = listenFacts(listen).authority;
    if (listenAuthority !== undefined && listenAuthority.host === host) return true;
    // A server listening on `localhost` may be reached through either loopback literal.
    if (listen.toLowerCase() === 'localhost' && (host === '127.0.0.1' || host === '[::1]'))
      return true;
  }
  for (const entry of policy.allowedHosts ?? []) {
    if (matchesHostEntry(authority, entry)) return true;
  }
  return false;
}

/** What the host check needs to know about a listen address, computed once per address. */
interface ListenFacts {
  readonly private: boolean;
  readonly authority: Authority | undefined;
}
const listenCache = new Map<string, ListenFacts>();

function listenFacts(listen: string): ListenFacts {
  let facts = listenCache.get(listen);
  if (facts === undefined) {
    facts = { private: isLoopbackOrPrivate(listen), authority: listenAddressAuthority(listen) };
    // A process listens on a handful of addresses; the bound only guards against misuse.
    if (listenCache.size >= 64) listenCache.clear();
    listenCache.set(listen, facts);
  }
  return facts;
}

/** Parses a listen address (bare or bracketed IPv6, optional zone) as an authority. */
function listenAddressAuthority(address: string): Authority | undefined {
  let text = address;
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  return parseAuthority(text.includes(':') ? `[${text}]` : text);
}

/** True if `authority` matches an `allowedHosts` entry (`name`, `name:port`, `*.suffix`, IP literal). */
export function matchesHostEntry(authority: Authority, entry: string): boolean {
  let text = entry.trim();
  let wildcard = false;
  if (text.startsWith('*.')) {
    wildcard = true;
    text = text.slice(2);
  } else if (parseIPv6(text) !== undefined) {
    text = `[${text}]`; // an unbracketed IPv6 entry
  }
  const parsed = parseAuthority(text);
  if (parsed === undefined) return false;
  if (parsed.port !== undefined && parsed.port !== authority.port) return false;
  if (!wildcard) return parsed.host === authority.host;
  return (
    parsed.kind === 'name' &&
    authority.kind === 'name' &&
    isSubdomainOf(authority.host, parsed.host)
  );
}

/**
 * True if `host` is `<one or more non-empty labels>.` + `suffix` (both canonical lower-case
 * names). Plain string comparison, no patterns: `appXexample.com` and `example.com.evil.com`
 * never match `example.com`.
 */
export function isSubdomainOf(host: string, suffix: string): boolean {
  if (host.length <= suffix.length + 1) return false;
  if (!host.endsWith(suffix) || host.charCodeAt(host.length - suffix.length - 1) !== 0x2e)
    return false;
  // Labels of `host` are non-empty (parseAuthority), so the prefix is one or more labels.
  return true;
}
