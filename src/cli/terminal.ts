import type { CliIo } from './io.js';

/**
 * Characters a peer must never put on our terminal: C0 controls (ESC starts terminal
 * escape sequences, BEL, backspace, CR can overwrite what is shown), DEL, C1 controls
 * (U+009B is a one-character CSI on some terminals), the line/paragraph separators and the
 * Unicode bidirectional overrides that can make text display in a misleading order.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * Makes untrusted text safe to print on a terminal, on one line: every unsafe character
 * becomes a visible escape (`\n`, `\x1b`, `\u202e`). Other text, including non-ASCII
 * letters, is unchanged. Never throws.
 */
export function escapeUntrusted(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const named = NAMED[ch];
    if (named !== undefined) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** ANSI styles used by the CLI; `plain` maps every style to the identity. */
export interface Styles {
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly cyan: (text: string) => string;
}

const identity = (text: string): string => text;
const ansi =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`;

const PLAIN: Styles = {
  dim: identity,
  bold: identity,
  red: identity,
  green: identity,
  yellow: identity,
  cyan: identity,
};
const COLOR: Styles = {
  dim: ansi(2, 22),
  bold: ansi(1, 22),
  red: ansi(31, 39),
  green: ansi(32, 39),
  yellow: ansi(33, 39),
  cyan: ansi(36, 39),
};

/**
 * Colors only on a terminal and only when `NO_COLOR` is unset or empty (no-color.org).
 */
export function useColor(io: CliIo): boolean {
  const noColor = io.env.NO_COLOR;
  return io.isTTY && (noColor === undefined || noColor === '');
}

/** The styles to use for `io`: ANSI colors when `useColor(io)`, identity otherwise. */
export function stylesFor(io: CliIo): Styles {
  return useColor(io) ? COLOR : PLAIN;
}
