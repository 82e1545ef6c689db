/**
 * Interleaved A/B runs of the idle-memory workload (issue #12): `runMemory` (10,000 idle
 * connections by default) against several builds or servers in alternating order, each server
 * process fresh per run (`--expose-gc`), reporting RSS per connection right after the burst
 * and after settling, and the JS heap per connection.
 *
 *   node dist/bench/memory-ab.js --server new=dist/bench/servers/ironsock-echo.js \
 *     --server base=/tmp/base/dist/bench/servers/ironsock-echo.js [--rounds 3] \
 *     [--connections 10000] [--settle 5500]
 *
 * A name starting with `raw-net` is driven without handshake or framing. Servers run on CPU 0
 * and the load generator on CPU 1, as in `npm run bench`.
 */
import { cpus } from 'node:os';
import { parseAbArgs } from './harness/ab-args.js';
import { ServerProcess, buildLoadgen, detectPlacement } from './harness/processes.js';
import { median, runMemory } from './harness/workloads.js';

interface Row {
  rightAfter: number;
  settled: number;
  heap: number;
}

async function main(): Promise<void> {
  const { servers, options } = parseAbArgs(process.argv.slice(2), {
    rounds: 3,
    connections: 10_000,
    settle: 5500,
  });
  buildLoadgen();
  const placement = detectPlacement(cpus().length);
  const rows = new Map<string, Row[]>();
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const [name, file] of order) {
      const server = await ServerProcess.startFile(name, file, placement, ['--expose-gc']);
      try {
        const raw = name.startsWith('raw-net');
        const sample = await runMemory(server, raw, options.connections, placement, options.settle);
        const extra = sample.extra as { rssRightAfter: number; heapPerConnection: number };
        const row = {
          rightAfter: extra.rssRightAfter,
          settled: sample.value,
          heap: extra.heapPerConnection,
        };
        const list = rows.get(name) ?? [];
        list.push(row);
        rows.set(name, list);
        process.stderr.write(
          `round ${round + 1} ${name}: right after ${row.rightAfter.toFixed(0)} B/conn, ` +
            `settled ${row.settled.toFixed(0)}, JS heap ${row.heap.toFixed(0)}` +
            `${sample.errors > 0 ? `, ${sample.errors} errors` : ''}\n`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  const lines = [
    '| server | right after, B/conn (median) | runs | settled, B/conn | runs | JS heap, B/conn |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name] of servers) {
    const list = rows.get(name) ?? [];
    const after = list.map((r) => r.rightAfter);
    const settled = list.map((r) => r.settled);
    lines.push(
      `| ${name} | ${median(after).toFixed(0)} | ${after.map((v) => v.toFixed(0)).join(', ')} | ` +
        `${median(settled).toFixed(0)} | ${settled.map((v) => v.toFixed(0)).join(', ')} | ` +
        `${median(list.map((r) => r.heap)).toFixed(0)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`memory-ab: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
