/**
 * Short descriptions of what a probe saw, for the `received` column. Everything that came from
 * the server goes through `escapeText` before it reaches a terminal (STYLE.md §12).
 */
import type { HandshakeOutcome, Probe } from './session.js';
import { headerValues } from './http.js';

/**
 * Makes peer-controlled text safe for a terminal: control characters (C0, DEL, C1), line and
 * paragraph separators, zero-width and bidirectional-override characters become `\x..`/`\u{..}`
 * escapes; other printable characters stay. Caps the length at `max` characters.
 */
export function escapeText(text: string, max = 120): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) {
      out += `\\x${code.toString(16).padStart(2, '0')}`;
    } else if (
      (code >= 0x200b && code <= 0x200f) ||
      (code >= 0x2028 && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069) ||
      code === 0xfeff
    ) {
      out += `\\u{${code.toString(16)}}`;
    } else out += ch;
    if (out.length > max) return `${out.slice(0, max)}...`;
  }
  return out;
}

/** The response status line, or what happened instead. */
export function describeResponse(
  outcome: HandshakeOutcome,
  probe: Probe,
  timeoutMs: number,
): string {
  const response = outcome.response;
  if (response === null) {
    if (probe.raw.ended)
      return `connection closed without a response${probe.raw.error ? ` (${probe.raw.error.message})` : ''}`;
    return `no response within ${timeoutMs} ms`;
  }
  if (response.status === 0) return `unparsable response "${escapeText(response.statusLine, 60)}"`;
  return escapeText(response.statusLine, 80);
}

/** A header of the response as `Name: value`, or '' when absent. */
export function describeHeader(outcome: HandshakeOutcome, name: string, label: string): string {
  if (outcome.response === null) return '';
  const values = headerValues(outcome.response, name);
  return values.length === 0 ? '' : `${label}: ${escapeText(values.join(', '), 60)}`;
}

/** How the server reacted after the handshake: its Close frame, a TCP end, or nothing. */
export function describeClose(probe: Probe): string {
  probe.pump();
  if (probe.closeFrame !== null) {
    const { code, reason } = probe.closeFrame;
    return code === null
      ? 'Close frame without a code'
      : `Close ${code}${reason ? ` "${escapeText(reason, 50)}"` : ''}`;
  }
  if (probe.raw.ended)
    return `TCP closed without a Close frame${probe.raw.error ? ` (${probe.raw.error.message})` : ''}`;
  return 'connection still open';
}

/** Bytes in binary units (`1.5 MiB`). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${bytes} B`
    : `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
