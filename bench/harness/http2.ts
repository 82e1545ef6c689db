/**
 * The HTTP/2 echo cells: the same ironsock echo server (TLS, HTTP/2 + HTTP/1.1 on one port)
 * measured with WebSockets as RFC 8441 extended CONNECT streams of one HTTP/2 connection, and as
 * HTTP/1.1 upgrades on one TLS connection each, by one load generator (bench/servers/
 * h2-loadgen.ts) that differs only in that choice. Runs are interleaved (HTTP/1.1, HTTP/2,
 * HTTP/1.1, ...) and the ratio of the medians is reported: what HTTP/2 framing costs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadgenProcess, SERVERS_DIR, ServerProcess, type Placement } from './processes.js';
import type { EchoCell, Sample, Timing } from './workloads.js';
import { sizeLabel, summarize, type CellResult } from './report.js';

/** What the HTTP/2 cells add to the run. */
export interface Http2Outcome {
  results: CellResult[];
  notes: string[];
  failures: string[];
}

const MODES = [
  { mode: 'h1', server: 'ironsock TLS HTTP/1.1' },
  { mode: 'h2', server: 'ironsock HTTP/2 (RFC 8441)' },
] as const;

function cpuShare(
  before: { user: number; system: number; at: bigint },
  after: typeof before,
): number {
  const cpu = after.user + after.system - (before.user + before.system);
  const wall = Number(after.at - before.at);
  return wall > 0 ? (cpu * 1000) / wall : 0;
}

async function runOnce(
  server: ServerProcess,
  mode: 'h1' | 'h2',
  cell: EchoCell,
  timing: Timing,
  placement: Placement,
): Promise<Sample> {
  const loadgen = LoadgenProcess.startScript(placement, join(SERVERS_DIR, 'h2-loadgen.js'), [
    mode,
    String(server.port),
    String(cell.connections),
    String(cell.size),
    String(cell.window),
    String(timing.warmMs),
    String(timing.measureMs),
  ]);
  try {
    await loadgen.waitLine('PHASE measure', 30_000 + timing.warmMs);
    const before = await server.stats();
    await loadgen.waitLine('PHASE end', timing.measureMs + 30_000);
    const after = await server.stats();
    const line = await loadgen.waitLine('RESULT ', 30_000);
    const result = JSON.parse(line.slice(7)) as {
      msgsPerSec: number;
      messages: number;
      cpuShare: number;
      errors: number;
    };
    await loadgen.finish();
    return {
      value: result.msgsPerSec,
      mbPerSec: (result.msgsPerSec * cell.size) / 1e6,
      serverCpu: cpuShare(before, after),
      loadgenCpu: result.cpuShare,
      errors: result.errors + (result.messages === 0 ? 1 : 0),
    };
  } catch (error) {
    await loadgen.finish(2000);
    const detail = loadgen.stderr.slice(-3).join(' | ');
    throw new Error(`${(error as Error).message}${detail ? ` (loadgen: ${detail})` : ''}`);
  }
}

/**
 * Runs every cell `reps` times per mode, interleaved, on one server process. Needs openssl
 * (for a throw-away certificate); without it the cells are left out with a note.
 */
export async function runHttp2Cells(
  placement: Placement,
  cells: EchoCell[],
  timing: Timing,
  reps: number,
  log: (line: string) => void,
): Promise<Http2Outcome> {
  const out: Http2Outcome = { results: [], notes: [], failures: [] };
  const dir = mkdtempSync(join(tmpdir(), 'ironsock-bench-h2-'));
  try {
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    if (made.status !== 0) {
      out.notes.push('http2 cells not run: openssl is needed for the test certificate');
      return out;
    }
    let server: ServerProcess;
    try {
      server = await ServerProcess.start('ironsock-h2', 'ironsock-h2-echo', placement, [], {
        IRONSOCK_BENCH_TLS_CERT: join(dir, 'cert.pem'),
        IRONSOCK_BENCH_TLS_KEY: join(dir, 'key.pem'),
      });
    } catch (error) {
      out.failures.push(`http2: ${(error as Error).message}`);
      return out;
    }
    try {
      for (const cell of cells) {
        const label = `${sizeLabel(cell.size)} × ${cell.connections}`;
        log(`echo over TLS, HTTP/1.1 vs HTTP/2 ${label}`);
        const byMode = MODES.map(({ server: name }) => {
          const result: CellResult = {
            workload: 'echo TLS',
            cell: label,
            server: name,
            unit: 'msg/s',
            better: 'higher',
            samples: [],
          };
          out.results.push(result);
          return result;
        });
        for (let rep = 0; rep < reps; rep++) {
          for (const [i, { mode }] of MODES.entries()) {
            const result = byMode[i];
            if (result.error !== undefined) continue;
            try {
              const sample = await runOnce(server, mode, cell, timing, placement);
              result.samples.push(sample);
              if (sample.errors > 0)
                out.failures.push(`http2 ${label} ${result.server}: ${sample.errors} errors`);
              log(
                `  ${result.server}: ${sample.value.toFixed(1)} msg/s (server ${Math.round(sample.serverCpu * 100)}%, loadgen ${Math.round(sample.loadgenCpu * 100)}%)`,
              );
            } catch (error) {
              result.error = (error as Error).message.split('\n')[0];
              out.failures.push(`http2 ${label} ${result.server}: ${result.error}`);
              log(`  ${result.server}: FAILED ${result.error}`);
            }
          }
        }
        const [h1, h2] = byMode.map((r) => summarize(r));
        if (h1 !== null && h2 !== null) {
          const perCpu = (s: { value: number; serverCpu: number }): number =>
            s.serverCpu > 0 ? s.value / s.serverCpu : NaN;
          out.notes.push(
            `echo TLS ${label}: HTTP/2 / HTTP/1.1 = ${(h2.value / h1.value).toFixed(2)}× msg/s, ` +
              `${(perCpu(h2) / perCpu(h1)).toFixed(2)}× msg per server CPU-second ` +
              `(${MODES.length} modes × ${reps} interleaved runs, medians)`,
          );
        }
      }
    } finally {
      await server.stop();
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
