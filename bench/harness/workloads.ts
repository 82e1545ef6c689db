/**
 * The end-to-end workloads: one function per workload, each running the C load generator once
 * against an already running server and returning one sample.
 */
import { LoadgenProcess, ServerProcess, type Placement, type ServerStats } from './processes.js';

/** One echo cell: payload size, connection count and per-connection window. */
export interface EchoCell {
  size: number;
  connections: number;
  window: number;
}

/** Timing of a load-generator run (ms). */
export interface Timing {
  warmMs: number;
  measureMs: number;
}

/** One measured sample; `serverCpu` and `loadgenCpu` are shares of one CPU (0..1). */
export interface Sample {
  value: number;
  mbPerSec?: number;
  p50us?: number;
  p99us?: number;
  serverCpu: number;
  loadgenCpu: number;
  errors: number;
  extra?: Record<string, number>;
}

function cpuShare(before: ServerStats, after: ServerStats): number {
  const cpuMicros = after.user + after.system - (before.user + before.system);
  const wallNs = Number(after.at - before.at);
  return wallNs > 0 ? (cpuMicros * 1000) / wallNs : 0;
}

function describeFailure(loadgen: LoadgenProcess, error: unknown): Error {
  const detail = loadgen.stderr.slice(-3).join(' | ');
  return new Error(`${(error as Error).message}${detail ? ` (loadgen: ${detail})` : ''}`);
}

/**
 * Window per connection: about `budget` bytes in flight in total, between 1 and 16 messages, and
 * at most 1 MiB per connection, so that no echo server ever holds more than ironsock's default
 * `maxBufferedAmount` (1 MiB, policy 'close') waiting to be written.
 */
export function windowFor(size: number, connections: number, budget = 4 * 1024 * 1024): number {
  const perConnection = Math.floor((1024 * 1024) / size);
  return Math.max(1, Math.min(16, perConnection, Math.floor(budget / (size * connections))));
}

/** Echo throughput and latency over the measurement window. */
export async function runEcho(
  server: ServerProcess,
  raw: boolean,
  cell: EchoCell,
  timing: Timing,
  placement: Placement,
): Promise<Sample> {
  const args = [
    'echo',
    '-p',
    String(server.port),
    '-c',
    String(cell.connections),
    '-s',
    String(cell.size),
  ];
  args.push(
    '-w',
    String(cell.window),
    '-d',
    String(timing.measureMs),
    '-W',
    String(timing.warmMs),
    '-k',
    '128',
  );
  if (raw) args.push('-r');
  const loadgen = LoadgenProcess.start(placement, args);
  try {
    const connectMs = 30000 + cell.connections * 10;
    await loadgen.waitLine('PHASE measure', connectMs + timing.warmMs);
    const before = await server.stats();
    await loadgen.waitLine('PHASE end', timing.measureMs + 30000);
    const after = await server.stats();
    const result = await loadgen.result(30000);
    await loadgen.finish();
    return {
      value: result.msgsPerSec,
      mbPerSec: result.mbPerSec,
      p50us: result.p50us,
      p99us: result.p99us,
      serverCpu: cpuShare(before, after),
      loadgenCpu: result.cpuShare,
      errors: result.errors + (result.messages === 0 ? 1 : 0),
    };
  } catch (error) {
    await loadgen.finish(2000);
    throw describeFailure(loadgen, error);
  }
}

/**
 * Connect storm: full cycles per second with `slots` cycles in flight. `clientClose`: how the
 * load generator ends its side once the server has closed: `'reset'` (no TIME_WAIT entry is
 * left, so earlier cycles do not slow later ones down) or `'fin'` (a normal close, as real
 * clients do; every cycle leaves a TIME_WAIT entry in the kernel for 60 s).
 */
export async function runStorm(
  server: ServerProcess,
  raw: boolean,
  slots: number,
  timing: Timing,
  placement: Placement,
  clientClose: 'reset' | 'fin' = 'reset',
): Promise<Sample> {
  const args = ['storm', '-p', String(server.port), '-c', String(slots), '-s', '16'];
  args.push('-d', String(timing.measureMs), '-W', String(timing.warmMs));
  if (raw) args.push('-r');
  if (clientClose === 'fin') args.push('-F');
  const loadgen = LoadgenProcess.start(placement, args);
  try {
    await loadgen.waitLine('PHASE measure', timing.warmMs + 30000);
    const before = await server.stats();
    await loadgen.waitLine('PHASE end', timing.measureMs + 30000);
    const after = await server.stats();
    const result = await loadgen.result(30000);
    await loadgen.finish();
    return {
      value: result.cyclesPerSec,
      serverCpu: cpuShare(before, after),
      loadgenCpu: result.cpuShare,
      errors: result.errors + (result.cycles === 0 ? 1 : 0),
    };
  } catch (error) {
    await loadgen.finish(2000);
    throw describeFailure(loadgen, error);
  }
}

/**
 * Memory per idle connection: RSS growth of the server process divided by the connections
 * opened; afterwards every connection must still echo one message. `value` is bytes per
 * connection.
 *
 * Both samples are taken once the process has been idle for `settleMs`, then after a full GC.
 * V8 only shrinks its young generation in a GC that follows a few seconds of low allocation
 * (its allocation-throughput window is 5 s): sampled right after opening 10,000 connections,
 * RSS still holds the young generation grown by the connection burst (up to 2 x 16 MiB), a
 * cost of the burst, not of the connections. That earlier sample is kept as
 * `extra.rssRightAfter` (bytes per connection) for comparison.
 */
export async function runMemory(
  server: ServerProcess,
  raw: boolean,
  connections: number,
  placement: Placement,
  settleMs: number,
): Promise<Sample> {
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, settleMs));
  // Warm the server's code paths first, so that the baseline already includes compiled code.
  await runEcho(
    server,
    raw,
    { size: 16, connections: 20, window: 4 },
    { warmMs: 100, measureMs: 200 },
    placement,
  );
  await settle();
  await server.gc();
  const before = await server.stats();
  const args = [
    'idle',
    '-p',
    String(server.port),
    '-c',
    String(connections),
    '-s',
    '16',
    '-k',
    '256',
  ];
  if (raw) args.push('-r');
  const loadgen = LoadgenProcess.start(placement, args);
  try {
    const connected = await loadgen.waitLine('PHASE connected', 120000);
    const opened = Number(connected.split(' ')[2]);
    await untilServerHas(server, opened);
    await server.gc();
    const rightAfter = await server.stats();
    await settle();
    await server.gc();
    const after = await server.stats();
    loadgen.send('check');
    const result = await loadgen.result(60000);
    loadgen.send('quit');
    await loadgen.finish();
    const echoed = result.messages;
    return {
      value: opened > 0 ? (after.rss - before.rss) / opened : 0,
      serverCpu: 0,
      loadgenCpu: 0,
      errors: result.errors + (echoed < opened || opened < connections ? 1 : 0),
      extra: {
        opened,
        echoed,
        heapPerConnection: opened > 0 ? (after.heapUsed - before.heapUsed) / opened : 0,
        rssRightAfter: opened > 0 ? (rightAfter.rss - before.rss) / opened : 0,
        serverConnections: after.connections,
      },
    };
  } catch (error) {
    await loadgen.finish(5000);
    throw describeFailure(loadgen, error);
  }
}

/**
 * Broadcast: `rounds` broadcasts of `size` bytes to `connections` clients; `value` is the
 * median time (ms) from the command reaching the server's stdin pipe to the moment the last
 * client had the whole message (same CLOCK_MONOTONIC in both processes). `extra` adds the
 * time spent inside the broadcast call and the server's CPU time (user + system) per round.
 */
export async function runBroadcast(
  server: ServerProcess,
  raw: boolean,
  connections: number,
  size: number,
  rounds: number,
  placement: Placement,
): Promise<Sample> {
  const args = ['bcast', '-p', String(server.port), '-c', String(connections), '-s', String(size)];
  args.push('-R', String(rounds), '-k', '256');
  if (raw) args.push('-r');
  const loadgen = LoadgenProcess.start(placement, args);
  try {
    const connected = await loadgen.waitLine('PHASE connected', 120000);
    const opened = Number(connected.split(' ')[2]);
    await untilServerHas(server, opened);
    const times: number[] = [];
    const sendTimes: number[] = [];
    const cpuTimes: number[] = [];
    for (let k = 1; k <= rounds; k++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const before = await server.stats();
      const { sentAt, done } = server.broadcast(size);
      const round = await loadgen.waitLine(`ROUND ${k} `, 60000);
      const ack = await done;
      const after = await server.stats();
      const [, start, end] = ack.split(' ').slice(1);
      times.push(Number(BigInt(round.split(' ')[2]) - sentAt) / 1e6);
      sendTimes.push(Number(BigInt(end) - BigInt(start)) / 1e6);
      // Server CPU (user + system, so the kernel's socket writes count too) for the whole round.
      cpuTimes.push((after.user + after.system - before.user - before.system) / 1000);
    }
    const result = await loadgen.result(30000);
    await loadgen.finish();
    return {
      value: median(times),
      serverCpu: NaN,
      loadgenCpu: result.cpuShare,
      errors: result.errors + (opened < connections ? 1 : 0),
      extra: { opened, sendCallMs: median(sendTimes), serverCpuMs: median(cpuTimes) },
    };
  } catch (error) {
    await loadgen.finish(5000);
    throw describeFailure(loadgen, error);
  }
}

/**
 * Waits until the server counts `opened` connections (at most `timeoutMs`). The load generator
 * reports a raw TCP connection as open once its connect completes, possibly before the server
 * accepted it from the backlog: a broadcast sent then misses it, and the round never completes.
 */
export async function untilServerHas(
  server: ServerProcess,
  opened: number,
  timeoutMs = 10000,
): Promise<void> {
  const give = Date.now() + timeoutMs;
  while ((await server.stats()).connections < opened && Date.now() < give) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Median of a non-empty list (mean of the two middle values for even lengths). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
