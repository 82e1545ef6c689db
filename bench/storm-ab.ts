/**
 * Interleaved A/B runs of the connect storm (issue #12): the same cell against several builds
 * (or servers) in alternating order, reporting cycles per second and, less sensitive to a
 * shared machine, the server's CPU time per cycle over the measured window.
 *
 *   node dist/bench/storm-ab.js --server new=dist/bench/servers/ironsock-echo.js \
 *     --server old=/tmp/base/dist/bench/servers/ironsock-echo.js --server ws=dist/bench/servers/ws-echo.js \
 *     [--rounds 3] [--client reset|fin|both] [--slots 64] [--warm 2000] [--measure 1500]
 *
 * `--echo SIZE` runs the echo cell instead (`--slots` connections, window 16, SIZE-byte
 * messages) and reports messages per second and the server's CPU time per message: the
 * hot-path check of a change made for the storm or for memory.
 *
 * Each server is any bench/servers/*.js speaking the control protocol of control.ts (a name
 * starting with `raw-net` is driven without handshake or framing, as bench/servers/raw-net.js
 * needs). It runs on
 * CPU 0 and the load generator (bench/loadgen, storm mode) on CPU 1, as in `npm run bench`.
 * Round r runs the servers in the given order when r is even and reversed when r is odd.
 */
import { cpus } from 'node:os';
import { parseAbArgs } from './harness/ab-args.js';
import { median } from './harness/workloads.js';
import {
  LoadgenProcess,
  ServerProcess,
  buildLoadgen,
  detectPlacement,
} from './harness/processes.js';

interface Entry {
  name: string;
  server: ServerProcess;
  samples: Record<string, Array<{ rate: number; cpuUs: number; errors: number }>>;
}

function parse(argv: string[]): {
  servers: Array<[string, string]>;
  rounds: number;
  clients: Array<'reset' | 'fin'>;
  slots: number;
  warm: number;
  measure: number;
  echo: number;
} {
  const { servers, options } = parseAbArgs(argv, {
    rounds: 3,
    client: 'both',
    slots: 64,
    warm: 2000,
    measure: 1500,
    echo: 0,
  });
  const { rounds, client, slots, warm, measure, echo } = options;
  const clients: Array<'reset' | 'fin'> =
    echo > 0
      ? ['reset']
      : client === 'both'
        ? ['reset', 'fin']
        : [client === 'fin' ? 'fin' : 'reset'];
  return { servers, rounds, clients, slots, warm, measure, echo };
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  buildLoadgen();
  const placement = detectPlacement(cpus().length);
  const entries: Entry[] = [];
  for (const [name, file] of options.servers) {
    const server = await ServerProcess.startFile(name, file, placement);
    entries.push({ name, server, samples: {} });
  }
  const echo = options.echo > 0;
  const digits = echo ? 3 : 1;
  const unit = echo ? 'messages' : 'cycles';
  try {
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? entries : [...entries].reverse();
      for (const client of options.clients) {
        for (const entry of order) {
          const args = [
            echo ? 'echo' : 'storm',
            '-p',
            String(entry.server.port),
            '-c',
            String(options.slots),
          ];
          args.push('-s', String(options.echo || 16), '-d', String(options.measure));
          args.push('-W', String(options.warm));
          if (echo) args.push('-w', '16', '-k', '128');
          if (client === 'fin' && !echo) args.push('-F');
          // A server named raw-net* is the node:net reference: connect, 16 B round trip, close.
          if (entry.name.startsWith('raw-net')) args.push('-r');
          const loadgen = LoadgenProcess.start(placement, args);
          await loadgen.waitLine('PHASE measure', options.warm + 30000);
          const before = await entry.server.stats();
          await loadgen.waitLine('PHASE end', options.measure + 30000);
          const after = await entry.server.stats();
          const result = await loadgen.result(30000);
          await loadgen.finish();
          const cpuUs = after.user + after.system - before.user - before.system;
          const units = echo ? result.messages : result.cycles;
          const sample = {
            rate: echo ? result.msgsPerSec : result.cyclesPerSec,
            cpuUs: units > 0 ? cpuUs / units : Infinity,
            errors: result.errors,
          };
          (entry.samples[client] ??= []).push(sample);
          process.stderr.write(
            `round ${round + 1} ${echo ? 'echo' : `client ${client}`} ${entry.name}: ` +
              `${sample.rate.toFixed(0)} ${unit}/s, ${sample.cpuUs.toFixed(digits)} µs server CPU per ${unit.slice(0, -1)}, ` +
              `loadgen ${Math.round(result.cpuShare * 100)}%` +
              `${sample.errors > 0 ? `, ${sample.errors} errors` : ''}\n`,
          );
        }
      }
    }
  } finally {
    for (const entry of entries) await entry.server.stop();
  }
  const lines = [
    `| ${echo ? 'cell' : 'client close'} | server | ${unit}/s (median) | runs | server CPU µs per ${unit.slice(0, -1)} (median) | runs |`,
  ];
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const client of options.clients) {
    for (const entry of entries) {
      const samples = entry.samples[client] ?? [];
      const rates = samples.map((s) => s.rate);
      const cpu = samples.map((s) => s.cpuUs);
      lines.push(
        `| ${echo ? `echo ${options.echo} B x ${options.slots}` : client} | ${entry.name} | ` +
          `${median(rates).toFixed(0)} | ${rates.map((r) => r.toFixed(0)).join(', ')} | ` +
          `${median(cpu).toFixed(digits)} | ${cpu.map((c) => c.toFixed(digits)).join(', ')} |`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`storm-ab: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
