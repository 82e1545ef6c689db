import { escapeUntrusted } from './terminal.js';

/** How binary payloads are printed by `ironsock connect`. */
export const BinaryFormat = { hex: 'hex', base64: 'base64' } as const;
export type BinaryFormat = (typeof BinaryFormat)[keyof typeof BinaryFormat];

/** Normalises the data shapes ws-style APIs deliver (Buffer, Buffer[], ArrayBuffer) to a Buffer. */
export function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Uint8Array[]);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.alloc(0);
}

/** Encodes binary data for printing. */
export function formatBinary(data: Uint8Array, format: BinaryFormat): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString(format);
}

/**
 * Parses the argument of `/binary`: hex digits, optionally separated by spaces or colons.
 * Returns null when the text is not an even number of hex digits.
 */
export function parseHex(text: string): Buffer | null {
  const digits = text.replace(/[\s:]/g, '');
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) return null;
  return Buffer.from(digits, 'hex');
}

/**
 * JSON for one output line, safe for a terminal: on top of JSON's own escaping of C0
 * controls, DEL, C1 controls, line separators and bidi overrides become `\uXXXX` escapes.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Text from the peer, decoded as UTF-8 and escaped for a terminal. */
export function peerText(data: Uint8Array): string {
  return escapeUntrusted(
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'),
  );
}

/**
 * A parsed input line of `ironsock connect`: a message to send or one of the commands
 * `/ping [text]`, `/close [code] [reason]`, `/binary <hex>`, `/quit`, `/help`.
 * A line starting with `//` sends the rest prefixed with a single `/`.
 */
export type InputLine =
  | { kind: 'text'; text: string }
  | { kind: 'ping'; payload: string }
  | { kind: 'close'; code?: number; reason?: string }
  | { kind: 'binary'; data: Buffer }
  | { kind: 'quit' }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

/** Parses one input line (see {@link InputLine}). Never throws. */
export function parseInputLine(line: string): InputLine {
  if (!line.startsWith('/')) return { kind: 'text', text: line };
  if (line.startsWith('//')) return { kind: 'text', text: line.slice(1) };
  const match = /^\/(\S+)(?:\s(.*))?$/s.exec(line);
  const command = match?.[1] ?? '';
  const rest = match?.[2] ?? '';
  switch (command) {
    case 'ping':
      return { kind: 'ping', payload: rest };
    case 'close': {
      const parts = /^\s*(\S+)?(?:\s+(.*))?$/s.exec(rest);
      const codeText = parts?.[1];
      if (codeText === undefined) return { kind: 'close' };
      if (!/^\d{1,5}$/.test(codeText)) {
        return { kind: 'invalid', message: `/close expects a numeric code, got '${codeText}'` };
      }
      const reason = parts?.[2];
      return reason === undefined || reason === ''
        ? { kind: 'close', code: Number(codeText) }
        : { kind: 'close', code: Number(codeText), reason };
    }
    case 'binary': {
      const data = parseHex(rest);
      return data === null
        ? {
            kind: 'invalid',
            message: '/binary expects hex digits, e.g. /binary 48 69 or /binary 4869',
          }
        : { kind: 'binary', data };
    }
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    case 'help':
      return { kind: 'help' };
    default:
      return {
        kind: 'invalid',
        message: `unknown command '/${escapeUntrusted(command)}' (type /help; start a line with // to send a leading /)`,
      };
  }
}

/** Help shown by `/help` and in `ironsock connect --help`. */
export const INPUT_COMMANDS: readonly string[] = [
  'Input: each line is sent as a text message, except these commands:',
  '  /ping [text]            send a ping (text up to 125 bytes)',
  '  /close [code] [reason]  start the closing handshake (default 1000)',
  '  /binary <hex>           send a binary message, e.g. /binary 00ff10',
  '  /quit                   close with 1000 and exit',
  '  //text                  send "/text"',
];
