/**
 * Command line of the interleaved A/B scripts (storm-ab.ts, memory-ab.ts): repeated
 * `--server name=path` and `--<option> value` for each option the script declares with its
 * default (numbers are parsed as numbers). Unknown options and a missing `--server` throw.
 */
import { resolve } from 'node:path';

export function parseAbArgs<T extends Record<string, number | string>>(
  argv: string[],
  defaults: T,
): { servers: Array<[name: string, path: string]>; options: T } {
  const servers: Array<[string, string]> = [];
  const options: Record<string, number | string> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[++i] ?? '';
    const key = arg.slice(2);
    if (arg === '--server') {
      const eq = value.indexOf('=');
      if (eq < 1) throw new Error(`--server wants name=path, got ${value}`);
      servers.push([value.slice(0, eq), resolve(value.slice(eq + 1))]);
    } else if (arg.startsWith('--') && Object.hasOwn(defaults, key)) {
      options[key] = typeof defaults[key] === 'number' ? Number(value) : value;
    } else {
      throw new Error(`unknown option ${arg}`);
    }
  }
  if (servers.length === 0) throw new Error('give at least one --server name=path');
  return { servers, options: options as T };
}
