/**
 * Runs the protocol-engine micro-benchmarks and prints a Markdown table.
 * Usage: node run-micro.js [scale]   (scale 1 = 300 ms measured per case; 0.02 for a smoke run)
 */
import { benchEncode } from './encode.js';
import { benchMask } from './mask.js';
import { benchParse } from './parse.js';
import { benchUtf8 } from './utf8.js';
import type { MicroRow } from './timer.js';

function label(size: number): string {
  if (size >= 1048576) return `${size / 1048576} MiB`;
  if (size >= 1024) return `${size / 1024} KiB`;
  return `${size} B`;
}

function format(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

const scale = Number(process.argv[2] ?? '1');
const ms = Math.max(10, 300 * scale);
const rows: MicroRow[] = [
  ...benchParse(ms),
  ...benchEncode(ms),
  ...benchMask(ms),
  ...benchUtf8(ms),
];
const lines = [
  `### micro-benchmarks (protocol engine, one core, ${ms.toFixed(0)} ms per case)`,
  '',
  '| benchmark | payload | ops/s | MB/s |',
  '| --- | --- | --- | --- |',
  ...rows.map(
    (r) => `| ${r.name} | ${label(r.size)} | ${format(r.opsPerSec)} | ${r.mbPerSec.toFixed(0)} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
