import type { OptionTable } from './args.js';

/** What `--help` shows for one command. */
export interface CommandHelp {
  /** e.g. `ironsock serve [options]`. */
  readonly usage: string;
  /** One or two sentences. */
  readonly summary: string;
  readonly options: OptionTable;
  /** Extra lines after the options (examples, interactive commands). */
  readonly notes?: readonly string[];
}

const LINE_WIDTH = 100;

/** Splits `text` into lines of at most `width` characters at spaces (long words stay whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/**
 * Formats help text: usage, summary, then every option with its placeholder, description
 * and default (`(default: ...)`; `(default: off)` for flags, `(repeatable)` for lists).
 */
export function formatHelp(help: CommandHelp): string {
  const rows: Array<[string, string]> = [];
  for (const [name, spec] of Object.entries(help.options)) {
    const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
    const placeholder = spec.type === 'string' ? ` ${spec.value ?? '<value>'}` : '';
    let description = spec.description;
    if (spec.multiple === true) description += ' (repeatable; default: none)';
    else if (spec.type === 'boolean')
      description += ` (default: ${spec.default === true ? 'on' : 'off'})`;
    else if (spec.default !== undefined) description += ` (default: ${String(spec.default)})`;
    else description += ' (default: none)';
    rows.push([`  ${short}--${name}${placeholder}`, description]);
  }
  const width = Math.min(34, Math.max(...rows.map(([left]) => left.length)) + 2);
  const lines = [`Usage: ${help.usage}`, '', help.summary, '', 'Options:'];
  const pad = ' '.repeat(width);
  for (const [left, right] of rows) {
    const wrapped = wrap(right, Math.max(30, LINE_WIDTH - width));
    if (left.length + 2 > width) lines.push(left, ...wrapped.map((line) => pad + line));
    else {
      lines.push(
        `${left.padEnd(width)}${wrapped[0]}`,
        ...wrapped.slice(1).map((line) => pad + line),
      );
    }
  }
  if (help.notes !== undefined && help.notes.length > 0) lines.push('', ...help.notes);
  return `${lines.join('\n')}\n`;
}
