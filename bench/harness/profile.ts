/**
 * `--profile`: runs the ironsock echo server under `node --cpu-prof` for the 16 B × 100 and
 * 64 KiB × 100 echo cells (one server process per cell) and the connect storm, and lists the functions with the most
 * self time, so that BENCHMARKS.md can say where the time goes.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, ServerProcess, type Placement } from './processes.js';
import { runEcho, runStorm, type EchoCell } from './workloads.js';
import { sizeLabel } from './report.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time per function of one .cpuprofile, largest first, as "share  name  file:line". */
export function topFunctions(profilePath: string, count: number): string[] {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as { nodes: ProfileNode[] };
  const totals = new Map<string, number>();
  let all = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') continue;
    const file = frame.url.startsWith('file://')
      ? relative(ROOT, new URL(frame.url).pathname)
      : frame.url;
    const where = file === '' ? '' : `${file}:${frame.lineNumber + 1}`;
    const key = `${frame.functionName || '(anonymous)'}  ${where}`;
    totals.set(key, (totals.get(key) ?? 0) + hits);
    all += hits;
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, hits]) => `${((hits / all) * 100).toFixed(1).padStart(5)}%  ${key}`);
}

/** Profiles each cell in its own server process and returns a Markdown report. */
export async function profileIronsock(
  placement: Placement,
  cells: EchoCell[],
  log: (line: string) => void,
): Promise<string> {
  const lines: string[] = ['## ironsock echo server CPU profile (self time, non-idle samples)'];
  for (const cell of cells) {
    const { size, connections } = cell;
    const dir = join(ROOT, 'artifacts', 'profiles', `echo-${size}x${connections}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const flags = ['--cpu-prof', '--cpu-prof-dir', dir];
    const server = await ServerProcess.start('ironsock', 'ironsock-echo', placement, flags);
    log(`profiling ironsock echo ${sizeLabel(size)} × ${connections}`);
    const sample = await runEcho(server, false, cell, { warmMs: 500, measureMs: 4000 }, placement);
    await server.stop();
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    const title = `${sizeLabel(size)} × ${connections}, window ${cell.window}`;
    lines.push('', `### ${title} (${Math.round(sample.value)} msg/s while profiling)`, '');
    if (file === undefined) lines.push('no profile was written');
    else lines.push('```', ...topFunctions(join(dir, file), 15), '```');
  }
  // The connect storm: where a full connect/upgrade/close cycle spends its time.
  const dir = join(ROOT, 'artifacts', 'profiles', 'storm');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const server = await ServerProcess.start('ironsock', 'ironsock-echo', placement, [
    '--cpu-prof',
    '--cpu-prof-dir',
    dir,
  ]);
  log('profiling ironsock connect storm (64 in flight)');
  const storm = await runStorm(server, false, 64, { warmMs: 500, measureMs: 4000 }, placement);
  await server.stop();
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  lines.push(
    '',
    `### connect storm, 64 in flight (${Math.round(storm.value)} cycles/s while profiling)`,
    '',
  );
  if (file === undefined) lines.push('no profile was written');
  else lines.push('```', ...topFunctions(join(dir, file), 20), '```');
  return lines.join('\n');
}
