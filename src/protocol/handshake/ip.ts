/**
 * IP literal parsing and classification for the origin and host policies. Strict forms only:
 * dotted-decimal IPv4 without leading zeros (RFC 3986 §3.2.2 `IPv4address`) and RFC 4291 §2.2
 * IPv6 text (with `::` and an optional dotted IPv4 tail); hex, octal or short IPv4 spellings
 * are not IP literals here.
 */

/** Parses `a.b.c.d` (each 0-255, no leading zeros) into four numbers, or undefined. */
export function parseIPv4(text: string): number[] | undefined {
  // One pass over the characters (no split): this runs on every handshake's Host header.
  const length = text.length;
  if (length < 7 || length > 15) return undefined;
  const out = [0, 0, 0, 0];
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? 0x2e : text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || part > 3) return undefined;
      out[part++] = value;
      digits = 0;
      value = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39) return undefined;
    if (digits === 1 && value === 0) return undefined; // leading zero
    if (++digits > 3) return undefined;
    value = value * 10 + (c - 0x30);
  }
  return part === 4 ? out : undefined;
}

/**
 * Parses IPv6 text (no brackets, no zone) into eight 16-bit groups, or undefined.
 * Accepts `::` once and a trailing dotted IPv4 (`::ffff:127.0.0.1`). Hex is case-insensitive.
 */
export function parseIPv6(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const doubleColon = text.indexOf('::');
  if (doubleColon >= 0 && text.indexOf('::', doubleColon + 1) >= 0) return undefined;
  const parseSide = (side: string, allowIPv4Tail: boolean): number[] | undefined => {
    if (side.length === 0) return [];
    const pieces = side.split(':');
    const groups: number[] = [];
    for (let p = 0; p < pieces.length; p++) {
      const piece = pieces[p];
      if (allowIPv4Tail && p === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4(piece);
        if (v4 === undefined) return undefined;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (piece.length === 0 || piece.length > 4) return undefined;
      let value = 0;
      for (let i = 0; i < piece.length; i++) {
        const digit = hexValue(piece.charCodeAt(i));
        if (digit < 0) return undefined;
        value = value * 16 + digit;
      }
      groups.push(value);
    }
    return groups;
  };
  if (doubleColon < 0) {
    const groups = parseSide(text, true);
    return groups !== undefined && groups.length === 8 ? groups : undefined;
  }
  const head = parseSide(text.slice(0, doubleColon), false);
  const tail = parseSide(text.slice(doubleColon + 2), true);
  if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Canonical IPv6 text (RFC 5952 §4: lower-case hex, no leading zeros, the longest run of two or
 * more zero groups, the first on a tie, shortened to `::`), as WHATWG URL serialises hosts.
 */
export function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/**
 * True if `address` (an IP literal, optionally bracketed, optionally with an IPv6 zone, or the
 * name `localhost`) is loopback or private: 127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12,
 * 192.168.0.0/16, 169.254.0.0/16 (link-local), ::1, fc00::/7, fe80::/10, and IPv4-mapped
 * (::ffff:0:0/96) forms of the IPv4 ranges. Unspecified addresses (0.0.0.0, ::) are not.
 */
export function isLoopbackOrPrivate(address: string): boolean {
  let text = address.toLowerCase();
  if (text === 'localhost' || text.endsWith('.localhost')) return true;
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return isPrivateIPv4(v4);
  const v6 = parseIPv6(text);
  if (v6 === undefined) return false;
  if (v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1) return true; // ::1
  if ((v6[0] & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((v6[0] & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return isPrivateIPv4([v6[6] >> 8, v6[6] & 0xff, v6[7] >> 8, v6[7] & 0xff]);
  }
  return false;
}

function isPrivateIPv4(v4: readonly number[]): boolean {
  const [a, b] = v4;
  return (
    a === 127 ||
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254)
  );
}
