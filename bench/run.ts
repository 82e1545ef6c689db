/**
 * `npm run bench`: end-to-end benchmarks of ironsock against `ws` and two references (a raw
 * `node:net` echo and a minimal hand-written WebSocket echo), driven by the C load generator in
 * bench/loadgen, plus the protocol-engine micro-benchmarks in bench/micro.
 *
 *   npm run bench                   full run (< 10 min)
 *   npm run bench -- --quick        fewer cells, shorter windows (< 2 min)
 *   npm run bench -- --smoke        a few seconds: proves the harness works end to end (CI)
 *   npm run bench -- --json [file]  also write the results as JSON (default artifacts/bench-<time>.json)
 *   --only echo,storm,memory,broadcast,publish,bus,http2,micro   run a subset (publish: topic fan-out
 *                                   to many subscribers vs raw node:net; bus: messages/s across two
 *                                   processes through Redis and NATS, beside ws + a Redis fan-out;
 *                                   http2: echo over TLS as HTTP/1.1 upgrades vs RFC 8441 streams)
 *   --servers ironsock,ws,minimal-ws,raw-net  run a subset of servers (also: ironsock-js,
 *                                   ironsock without the optional bufferutil addon)
 *   --cells 16x100,65536x1000w4     echo cells to run (<payload bytes>x<connections>[w<window>]),
 *                                   for the http2 workload too
 *   --profile                       run ironsock under `node --cpu-prof` on 16 B and 64 KiB × 100
 *                                   (or --cells) and print the top functions by self time
 *
 * Every cell is measured in interleaved repetitions (server A, B, C, D, A, B, …) and reported as
 * the median, with the ratio to ws and to raw TCP, and the CPU share of the server process and
 * of the load generator (a result whose load generator is near 100% measures the generator).
 * Exits 1 when a run failed or reported protocol errors.
 */
import { cpus, loadavg, release } from 'node:os';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ROOT,
  SERVERS_DIR,
  ServerProcess,
  buildLoadgen,
  detectPlacement,
  type Placement,
} from './harness/processes.js';
import {
  runBroadcast,
  runEcho,
  runMemory,
  runStorm,
  windowFor,
  type EchoCell,
  type Sample,
  type Timing,
} from './harness/workloads.js';
import {
  checkTargets,
  formatTable,
  sizeLabel,
  type Better,
  type CellResult,
} from './harness/report.js';
import { profileIronsock } from './harness/profile.js';
import { runBusCell, startBusServers, type BusCell } from './harness/bus.js';
import { runHttp2Cells } from './harness/http2.js';

/** A server under test. */
interface ServerSpec {
  name: string;
  file: string;
  /** Raw TCP: the load generator skips the handshake and framing. */
  raw: boolean;
  /** Extra environment of the server process. */
  env?: Record<string, string>;
}

const ALL_SERVERS: ServerSpec[] = [
  { name: 'ironsock', file: 'ironsock-echo', raw: false },
  { name: 'ws', file: 'ws-echo', raw: false },
  { name: 'minimal-ws', file: 'minimal-ws', raw: false },
  { name: 'raw-net', file: 'raw-net', raw: true },
  // Opt-in (--servers): ironsock without the optional bufferutil addon, as installed with no extras.
  { name: 'ironsock-js', file: 'ironsock-echo', raw: false, env: { IRONSOCK_NO_NATIVE: '1' } },
  // Opt-in (--servers): ironsock with keepalive off, to measure what the default keepalive costs.
  {
    name: 'ironsock-nokeepalive',
    file: 'ironsock-echo',
    raw: false,
    env: { IRONSOCK_KEEPALIVE: '0' },
  },
];
/** The `publish` cells: ironsock's topic fan-out beside a raw `node:net` loop writing the same bytes. */
const PUBLISH_SERVERS: ServerSpec[] = [
  {
    name: 'ironsock-publish',
    file: 'ironsock-echo',
    raw: false,
    env: { IRONSOCK_BENCH_PUBLISH: '1' },
  },
  { name: 'raw-net', file: 'raw-net', raw: true },
];
const DEFAULT_SERVERS = ['ironsock', 'ws', 'minimal-ws', 'raw-net'];

/** Sizes of a run mode. */
interface Plan {
  name: 'full' | 'quick' | 'smoke';
  reps: number;
  echo: EchoCell[];
  echoTiming: Timing;
  stormSlots: number;
  stormTiming: Timing;
  memoryConnections: number;
  /** Idle time before each memory sample (see runMemory). */
  memorySettleMs: number;
  broadcastConnections: number[];
  broadcastRounds: number;
  broadcastSize: number;
  /** Subscribers of the `publish` cell, rounds per sample. */
  publishConnections: number;
  /** Offered rate (messages/s) and measured seconds of the `bus` cells. */
  busRate: number;
  busSeconds: number;
  /** Echo cells over TLS, HTTP/1.1 vs HTTP/2 (bench/harness/http2.ts). */
  http2: EchoCell[];
  microScale: number;
}

function echoCells(
  sizes: number[],
  connections: number[],
  skip: (s: number, c: number) => boolean,
): EchoCell[] {
  const cells: EchoCell[] = [];
  for (const size of sizes) {
    for (const c of connections) {
      if (!skip(size, c)) cells.push({ size, connections: c, window: windowFor(size, c) });
    }
  }
  return cells;
}

/**
 * The CPU part of a progress line. A broadcast sample has no CPU share (its rounds are short
 * bursts separated by pauses), only the server's CPU time per round: print that instead of NaN.
 */
function cpuNote(sample: Sample): string {
  const loadgen = `loadgen ${Math.round(sample.loadgenCpu * 100)}%`;
  if (Number.isFinite(sample.serverCpu)) {
    return `server ${Math.round(sample.serverCpu * 100)}%, ${loadgen}`;
  }
  const cpuMs = Number(sample.extra?.serverCpuMs);
  return Number.isFinite(cpuMs)
    ? `server CPU ${cpuMs.toFixed(1)} ms per round, ${loadgen}`
    : loadgen;
}

function makePlan(mode: Plan['name']): Plan {
  if (mode === 'smoke') {
    return {
      name: mode,
      reps: 1,
      echo: [{ size: 16, connections: 10, window: 4 }],
      echoTiming: { warmMs: 50, measureMs: 200 },
      stormSlots: 8,
      stormTiming: { warmMs: 50, measureMs: 200 },
      memoryConnections: 100,
      memorySettleMs: 0,
      broadcastConnections: [50],
      broadcastRounds: 2,
      broadcastSize: 16,
      publishConnections: 50,
      busRate: 20_000,
      busSeconds: 0.5,
      http2: [{ size: 16, connections: 10, window: 4 }],
      microScale: 0.02,
    };
  }
  if (mode === 'quick') {
    return {
      name: mode,
      reps: 3,
      echo: [
        { size: 16, connections: 100, window: windowFor(16, 100) },
        { size: 16, connections: 1000, window: windowFor(16, 1000) },
        { size: 1024, connections: 100, window: windowFor(1024, 100) },
        { size: 65536, connections: 100, window: windowFor(65536, 100) },
        { size: 1048576, connections: 1, window: windowFor(1048576, 1) },
      ],
      echoTiming: { warmMs: 150, measureMs: 400 },
      stormSlots: 64,
      stormTiming: { warmMs: 800, measureMs: 500 },
      memoryConnections: 2000,
      memorySettleMs: 5500,
      broadcastConnections: [1000],
      broadcastRounds: 3,
      broadcastSize: 16,
      publishConnections: 1000,
      busRate: 1_000_000,
      busSeconds: 1.5,
      http2: [{ size: 16, connections: 100, window: windowFor(16, 100) }],
      microScale: 0.25,
    };
  }
  return {
    name: mode,
    reps: 3,
    // 1 MiB × 1,000 connections is left out: a GiB in flight measures the allocator, not the server.
    echo: echoCells(
      [16, 1024, 65536, 1048576],
      [1, 100, 1000],
      (s, c) => s === 1048576 && c === 1000,
    ),
    echoTiming: { warmMs: 300, measureMs: 1200 },
    stormSlots: 64,
    stormTiming: { warmMs: 2000, measureMs: 1200 },
    memoryConnections: 10000,
    memorySettleMs: 5500,
    broadcastConnections: [1000, 10000],
    broadcastRounds: 5,
    broadcastSize: 16,
    publishConnections: 10000,
    busRate: 1_000_000,
    busSeconds: 3,
    http2: [
      { size: 16, connections: 100, window: windowFor(16, 100) },
      { size: 65536, connections: 100, window: windowFor(65536, 100) },
    ],
    microScale: 1,
  };
}

interface Options {
  mode: Plan['name'];
  json: string | null;
  only: Set<string>;
  servers: Set<string>;
  profile: boolean;
  cells: EchoCell[] | null;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    mode: 'full',
    json: null,
    only: new Set(['echo', 'storm', 'memory', 'broadcast', 'publish', 'bus', 'http2', 'micro']),
    servers: new Set(DEFAULT_SERVERS),
    profile: false,
    cells: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.mode = 'quick';
    else if (arg === '--smoke') options.mode = 'smoke';
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--json') {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) options.json = argv[++i];
      else options.json = '';
    } else if (arg === '--only') options.only = new Set((argv[++i] ?? '').split(','));
    else if (arg === '--servers') options.servers = new Set((argv[++i] ?? '').split(','));
    else if (arg === '--cells') {
      options.cells = (argv[++i] ?? '').split(',').map((cell) => {
        const match = /^(\d+)x(\d+)(?:w(\d+))?$/.exec(cell);
        if (match === null)
          throw new Error(`bad cell ${cell}: use <bytes>x<connections>[w<window>]`);
        const size = Number(match[1]);
        const connections = Number(match[2]);
        const window = match[3] === undefined ? windowFor(size, connections) : Number(match[3]);
        return { size, connections, window };
      });
    } else throw new Error(`unknown option ${arg} (see the comment at the top of bench/run.ts)`);
  }
  return options;
}

/** Confirms ws runs with the native `bufferutil` (not the JS fallback) and reports UTF-8 validation. */
function checkWsAccelerators(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const bufferUtil = require('bufferutil') as { mask: { toString(): string } };
  const native = bufferUtil.mask.toString().includes('[native code]');
  const wsVersion = (require('ws/package.json') as { version: string }).version;
  const bufferUtilVersion = (require('bufferutil/package.json') as { version: string }).version;
  const utf8Version = (require('utf-8-validate/package.json') as { version: string }).version;
  const utf8 = require('utf-8-validate') as { toString(): string };
  if (!native)
    throw new Error(
      'bufferutil resolved to its JavaScript fallback: ws would be measured unaccelerated',
    );
  return {
    ws: wsVersion,
    bufferutil: `${bufferUtilVersion} (native addon loaded)`,
    'utf-8-validate': `${utf8Version} (${utf8.toString().includes('[native code]') ? 'native' : 'JS'}; ws on Node ≥ 18.14 validates with buffer.isUtf8 instead)`,
  };
}

function machine(placement: Placement): Record<string, string | number> {
  const cpuList = cpus();
  return {
    node: process.version,
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    kernel: release(),
    pinned: placement.pinned ? 'server on CPU 0, load generator on CPU 1 (taskset)' : 'not pinned',
    fdLimit: placement.fdLimit,
    loadAverageAtStart: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    date: new Date().toISOString(),
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const plan = makePlan(options.mode);
  if (options.cells !== null) {
    plan.echo = options.cells;
    plan.http2 = options.cells;
  }
  const started = Date.now();
  const placement = detectPlacement(cpus().length);
  const notes = [...placement.notes];
  const busy = loadavg()[0];
  if (busy > cpus().length * 0.5) {
    notes.push(
      `the machine was busy before the run (1-minute load ${busy.toFixed(2)}): expect noise`,
    );
  }
  buildLoadgen();
  const versions = checkWsAccelerators();
  const host = machine(placement);
  const meta: Record<string, string | number> = { mode: plan.name, ...host, ...versions };
  log(`ironsock bench (${plan.name}) — ${host.cpu}, ${host.cores} cores, Node ${host.node}`);

  let servers = ALL_SERVERS.filter((s) => options.servers.has(s.name));
  if (
    servers.some((s) => s.file === 'ironsock-echo') &&
    !existsSync(join(SERVERS_DIR, '..', '..', 'lib', 'index.js'))
  ) {
    notes.push('ironsock not measured: lib/index.js (the bundled entry) is not built yet');
    servers = servers.filter((s) => s.file !== 'ironsock-echo');
  }
  let memoryConnections = plan.memoryConnections;
  let broadcastConnections = plan.broadcastConnections;
  const fdRoom = placement.fdLimit - 200;
  if (memoryConnections > fdRoom || broadcastConnections.some((n) => n > fdRoom)) {
    notes.push(
      `ulimit -n allows only ${placement.fdLimit} descriptors: connection counts scaled down to ${fdRoom}`,
    );
    memoryConnections = Math.min(memoryConnections, fdRoom);
    broadcastConnections = broadcastConnections.map((n) => Math.min(n, fdRoom));
  }

  if (options.profile) {
    const cells =
      options.cells ??
      [16, 65536].map((size) => ({ size, connections: 100, window: windowFor(size, 100) }));
    const report = await profileIronsock(placement, cells, log);
    process.stdout.write(`${report}\n`);
    return 0;
  }

  const results: CellResult[] = [];
  const failures: string[] = [];
  const newCell = (
    workload: string,
    cell: string,
    server: string,
    unit: string,
    better: Better,
  ): CellResult => {
    const result: CellResult = { workload, cell, server, unit, better, samples: [] };
    results.push(result);
    return result;
  };
  const record = (result: CellResult, sample: Sample): void => {
    result.samples.push(sample);
    if (sample.errors > 0)
      failures.push(`${result.workload} ${result.cell} ${result.server}: ${sample.errors} errors`);
  };
  const recordError = (result: CellResult, error: unknown): void => {
    result.error = (error as Error).message.split('\n')[0];
    failures.push(`${result.workload} ${result.cell} ${result.server}: ${result.error}`);
    log(`  ${result.server}: FAILED ${result.error}`);
  };

  // Long-running servers for echo, storm and broadcast (started once, shared by all cells).
  const running = new Map<string, ServerProcess>();
  const needsShared = ['echo', 'storm', 'broadcast'].some((w) => options.only.has(w));
  const publishSpecs = options.only.has('publish') ? PUBLISH_SERVERS : [];
  const toStart = [...(needsShared ? servers : [])];
  for (const spec of publishSpecs)
    if (!toStart.some((s) => s.name === spec.name)) toStart.push(spec);
  for (const spec of toStart) {
    try {
      running.set(
        spec.name,
        await ServerProcess.start(spec.name, spec.file, placement, [], spec.env),
      );
    } catch (error) {
      failures.push(`${spec.name}: ${(error as Error).message}`);
      log(`${spec.name}: ${(error as Error).message}`);
    }
  }
  const interleaved = async (
    workload: string,
    cell: string,
    unit: string,
    better: Better,
    run: (server: ServerProcess, spec: ServerSpec) => Promise<Sample>,
    list: ServerSpec[] = servers,
  ): Promise<void> => {
    log(`${workload} ${cell}`);
    const cells = new Map(list.map((s) => [s.name, newCell(workload, cell, s.name, unit, better)]));
    for (let rep = 0; rep < plan.reps; rep++) {
      for (const spec of list) {
        const server = running.get(spec.name);
        const result = cells.get(spec.name)!;
        if (server === undefined || result.error !== undefined) continue;
        try {
          let sample = await run(server, spec);
          // A smoke cell measures 200 ms: on a busy machine a server may not get the CPU in
          // that window and deliver nothing. It gets one more try before that counts as a
          // failure of the harness (a broken server fails both).
          if (sample.errors > 0 && plan.name === 'smoke') {
            log(`  ${spec.name}: ${sample.errors} errors, measuring once more (smoke)`);
            sample = await run(server, spec);
          }
          record(result, sample);
          log(`  ${spec.name}: ${sample.value.toFixed(1)} ${unit} (${cpuNote(sample)})`);
        } catch (error) {
          recordError(result, error);
          if (!server.alive) running.delete(spec.name);
        }
      }
    }
  };

  if (options.only.has('echo')) {
    for (const cell of plan.echo) {
      const custom = cell.window !== windowFor(cell.size, cell.connections);
      const label = `${sizeLabel(cell.size)} × ${cell.connections}${custom ? ` (window ${cell.window})` : ''}`;
      await interleaved('echo', label, 'msg/s', 'higher', (server, spec) =>
        runEcho(server, spec.raw, cell, plan.echoTiming, placement),
      );
    }
  }
  if (options.only.has('storm')) {
    // Both ways a client can end its side: a reset (no TIME_WAIT left behind: the cell measures
    // the server alone) and a normal close (what browsers do; the kernel keeps a TIME_WAIT entry
    // per cycle, which slows every server as they pile up).
    for (const clientClose of ['reset', 'fin'] as const) {
      await interleaved(
        'connect storm',
        `${plan.stormSlots} in flight, client ${clientClose === 'reset' ? 'reset' : 'FIN'}`,
        'cycles/s',
        'higher',
        (server, spec) =>
          runStorm(server, spec.raw, plan.stormSlots, plan.stormTiming, placement, clientClose),
      );
    }
  }
  if (options.only.has('broadcast')) {
    for (const n of broadcastConnections) {
      await interleaved(
        'broadcast',
        `${sizeLabel(plan.broadcastSize)} → ${n}`,
        'ms',
        'lower',
        (server, spec) =>
          runBroadcast(server, spec.raw, n, plan.broadcastSize, plan.broadcastRounds, placement),
      );
    }
  }
  if (options.only.has('publish')) {
    const n = Math.min(plan.publishConnections, fdRoom);
    await interleaved(
      'publish',
      `${sizeLabel(plan.broadcastSize)} → ${n} subscribers`,
      'ms',
      'lower',
      (server, spec) =>
        runBroadcast(server, spec.raw, n, plan.broadcastSize, plan.broadcastRounds, placement),
      PUBLISH_SERVERS,
    );
  }
  for (const server of running.values()) await server.stop();

  if (options.only.has('http2')) {
    const h2 = await runHttp2Cells(placement, plan.http2, plan.echoTiming, plan.reps, log);
    results.push(...h2.results);
    notes.push(...h2.notes);
    failures.push(...h2.failures);
  }

  if (options.only.has('bus')) {
    const busServers = await startBusServers();
    notes.push(...busServers.notes);
    try {
      const cells: Array<{ cell: BusCell; url: string | null; label: string; server: string }> = [
        {
          cell: { impl: 'ironsock', bus: 'redis' },
          url: busServers.redis,
          label: 'Redis',
          server: 'ironsock',
        },
        {
          cell: { impl: 'ws', bus: 'redis' },
          url: busServers.redis,
          label: 'Redis',
          server: 'ws + Redis fan-out',
        },
        {
          cell: { impl: 'ironsock', bus: 'nats' },
          url: busServers.nats,
          label: 'NATS',
          server: 'ironsock',
        },
      ];
      const label = (c: (typeof cells)[number]): string =>
        `${c.label} ${sizeLabel(plan.broadcastSize)} at ${plan.busRate / 1000}k/s offered`;
      const byCell = new Map(
        cells.map((c) => [c, newCell('pub/sub bus', label(c), c.server, 'msg/s', 'higher')]),
      );
      log(`pub/sub bus: ${plan.busRate} messages/s offered, ${plan.busSeconds} s measured`);
      for (let rep = 0; rep < plan.reps; rep++) {
        for (const c of cells) {
          const result = byCell.get(c)!;
          if (c.url === null || result.error !== undefined) continue;
          try {
            const sample = await runBusCell(
              c.cell,
              c.url,
              plan.broadcastSize,
              plan.busRate,
              plan.busSeconds,
              placement,
            );
            record(result, sample);
            log(
              `  ${label(c)} ${c.server}: ${sample.value.toFixed(0)} msg/s delivered, ${sample.extra?.perCpuSecond} per CPU-second of the receiver`,
            );
          } catch (error) {
            recordError(result, error);
          }
        }
      }
    } finally {
      busServers.stop();
    }
  }

  if (options.only.has('memory')) {
    // A fresh server (with --expose-gc) per repetition: RSS deltas need a clean process.
    const cell = `${memoryConnections} idle`;
    log(`idle memory ${cell}`);
    const cells = new Map(
      servers.map((s) => [s.name, newCell('idle memory', cell, s.name, 'B/conn', 'lower')]),
    );
    // The servers of one repetition run side by side: the sample is mostly waiting for the
    // process to settle (see runMemory), and memory does not depend on sharing the CPU.
    for (let rep = 0; rep < plan.reps; rep++) {
      await Promise.all(
        servers.map(async (spec) => {
          const result = cells.get(spec.name)!;
          if (result.error !== undefined) return;
          let server: ServerProcess | null = null;
          try {
            server = await ServerProcess.start(
              spec.name,
              spec.file,
              placement,
              ['--expose-gc'],
              spec.env,
            );
            const sample = await runMemory(
              server,
              spec.raw,
              memoryConnections,
              placement,
              plan.memorySettleMs,
            );
            record(result, sample);
            log(
              `  ${spec.name}: ${sample.value.toFixed(0)} B/conn, ${Number(sample.extra?.rssRightAfter).toFixed(0)} right after connecting (${sample.extra?.echoed}/${sample.extra?.opened} echoed)`,
            );
          } catch (error) {
            recordError(result, error);
          } finally {
            await server?.stop();
          }
        }),
      );
    }
  }

  let micro: string | null = null;
  if (options.only.has('micro')) {
    log('micro-benchmarks (protocol engine)');
    const script = fileURLToPath(new URL('./micro/run-micro.js', import.meta.url));
    const pin = placement.pinned ? ['taskset', '-c', '0'] : [];
    const argv = [...pin, process.execPath, script, String(plan.microScale)];
    const child = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 300000 });
    if (child.status === 0) micro = child.stdout.trim();
    else {
      failures.push(
        `micro-benchmarks failed: ${(child.stderr || String(child.error)).split('\n')[0]}`,
      );
      log(child.stderr);
    }
  }

  const checks = checkTargets(results.filter((r) => r.workload !== 'micro'));
  const elapsed = (Date.now() - started) / 1000;
  const out: string[] = [];
  out.push(`## ironsock benchmarks (${plan.name}, ${plan.reps} interleaved repetitions, medians)`);
  out.push('');
  for (const [key, value] of Object.entries(meta)) out.push(`- ${key}: ${value}`);
  const windows = plan.echo
    .map((c) => `${sizeLabel(c.size)} × ${c.connections}: ${c.window}`)
    .join(', ');
  out.push(`- echo windows (messages in flight per connection): ${windows}`);
  out.push(
    `- echo: ${plan.echoTiming.warmMs} ms warm-up + ${plan.echoTiming.measureMs} ms measured per run`,
  );
  for (const note of notes) out.push(`- note: ${note}`);
  out.push('');
  out.push(formatTable(results));
  out.push('');
  out.push(
    '"vs" columns: how many times better than ws / raw TCP (higher is better; for ms and B/conn the inverse).',
  );
  out.push(
    'Connect storm on raw-net is TCP connect + one 16 B round trip + reset or FIN (no handshake exists).',
  );
  out.push(
    '"(bound!)": the load generator was at least 90% busy, so that cell measured the generator.',
  );
  if (micro !== null) out.push('', micro);
  if (checks.length > 0 && plan.name === 'smoke') {
    out.push('', 'Targets are not judged in a --smoke run (too few connections and samples).');
  } else if (checks.length > 0) {
    out.push('', '### targets', '');
    for (const check of checks) {
      const mark = check.pass === null ? 'n/a ' : check.pass ? 'PASS' : 'FAIL';
      out.push(`- ${mark} ${check.target}: ${check.actual}`);
    }
  }
  out.push('', `elapsed: ${elapsed.toFixed(0)} s`);
  if (failures.length > 0) out.push('', '### failures', '', ...failures.map((f) => `- ${f}`));
  process.stdout.write(`${out.join('\n')}\n`);

  if (options.json !== null) {
    const file =
      options.json !== ''
        ? options.json
        : join(ROOT, 'artifacts', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    mkdirSync(join(file, '..'), { recursive: true });
    const json = {
      meta: { ...meta, notes, plan },
      results,
      checks,
      micro,
      failures,
      elapsedSeconds: elapsed,
    };
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    log(`results written to ${file}`);
  }
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
