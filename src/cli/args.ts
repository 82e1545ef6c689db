import { nodeUtil } from '../node/builtins.js';

/**
 * One command-line option, described once: `parseArgs` gets its shape, `--help` gets its text.
 * `default` is the value shown in help and used when the option is absent.
 */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder shown in help for string options, e.g. `<ms>`. */
  readonly value?: string;
  /** Shown in help; for string options also the value returned when the option is absent. */
  readonly default?: string | boolean;
  /** One sentence for help. */
  readonly description: string;
}

/** A command's options, keyed by long name (without `--`). */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/**
 * A usage mistake on the command line (unknown option, bad number, missing argument).
 * Commands turn it into a message on stderr and exit code 2.
 */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** Exit codes of every command: 0 success, 1 runtime failure, 2 usage error. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;

/** Parsed values: strings, booleans, or arrays of strings for `multiple` options. */
export type ParsedValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/**
 * Parses `args` against `table` with `node:util` parseArgs in strict mode.
 * String options with a `default` get it when absent; `multiple` options default to `[]`.
 * Throws `CliUsageError` for unknown options, missing values, or unexpected positionals
 * beyond `maxPositionals`.
 */
export function parseCommandArgs(
  args: readonly string[],
  table: OptionTable,
  maxPositionals = 0,
): { values: ParsedValues; positionals: string[] } {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
  > = {};
  for (const [name, spec] of Object.entries(table)) {
    options[name] = { type: spec.type };
    if (spec.short !== undefined) options[name].short = spec.short;
    if (spec.multiple === true) options[name].multiple = true;
  }
  let parsed;
  try {
    parsed = nodeUtil().parseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new CliUsageError(`unexpected argument '${parsed.positionals[maxPositionals]}'`);
  }
  const values: ParsedValues = { ...parsed.values };
  for (const [name, spec] of Object.entries(table)) {
    if (values[name] !== undefined) continue;
    if (spec.multiple === true) values[name] = [];
    else if (spec.type === 'string' && typeof spec.default === 'string') {
      values[name] = spec.default;
    }
  }
  return { values, positionals: parsed.positionals };
}

/**
 * Reads an integer option. Throws `CliUsageError` unless the text is a base-10 integer
 * within `[min, max]`.
 */
export function integerOption(
  name: string,
  text: string,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (!/^\d+$/.test(text)) throw new CliUsageError(`--${name} expects an integer, got '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliUsageError(`--${name} must be between ${min} and ${max}, got ${text}`);
  }
  return value;
}

/** Returns the string value of option `name`, or undefined. */
export function stringValue(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Returns the list value of a `multiple` option (empty when absent). */
export function listValue(values: ParsedValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : [];
}

/** Returns true when boolean option `name` was given. */
export function flagValue(values: ParsedValues, name: string): boolean {
  return values[name] === true;
}
