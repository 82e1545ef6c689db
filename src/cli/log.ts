import type { Writable } from 'node:stream';
import { escapeUntrusted, type Styles } from './terminal.js';

/** Fields attached to a log event; values from peers are escaped before printing. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** Severity of a log event. */
export type LogLevel = 'info' | 'warn' | 'error';

/** Writes one line per event, either human-readable or as JSON (one object per line). */
export interface Logger {
  log(level: LogLevel, event: string, message: string, fields?: LogFields): void;
}

/**
 * A logger writing to `out`. With `json` each line is
 * `{"time":ISO,"level":..,"event":..,"msg":..,...fields}`; otherwise
 * `message key=value ...` with untrusted values escaped (a client must not be able to
 * write terminal escapes into the server's log). Never throws.
 */
export function createLogger(out: Writable, json: boolean, styles: Styles): Logger {
  return {
    log(level, event, message, fields = {}) {
      if (json) {
        const record: Record<string, unknown> = {
          time: new Date().toISOString(),
          level,
          event,
          msg: message,
        };
        for (const [key, value] of Object.entries(fields)) {
          if (value !== undefined) record[key] = value;
        }
        out.write(`${JSON.stringify(record)}\n`);
        return;
      }
      const parts = [escapeUntrusted(message)];
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined) continue;
        const text = escapeUntrusted(String(value));
        parts.push(
          styles.dim(`${key}=${/[\s"]/.test(text) || text === '' ? JSON.stringify(text) : text}`),
        );
      }
      const line = parts.join(' ');
      const styled =
        level === 'error' ? styles.red(line) : level === 'warn' ? styles.yellow(line) : line;
      out.write(`${styled}\n`);
    },
  };
}
