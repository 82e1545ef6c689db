/**
 * Client-side connect cost: CPU time (user + system) and wall time per opening handshake of
 * ironsock's client, for A/B runs of two builds (e.g. before/after a client change) interleaved
 * in the same session. The server is the reference `minimal-ws` server in its own process, so the
 * client process's CPU is the client's alone.
 *
 *   node dist/bench/client-connect.js --build new=dist/src --build old=/tmp/old/dist/src \
 *     --build ws=node_modules/ws/wrapper.mjs [--rounds 6] [--connections 2000] [--concurrency 8]
 *
 * Each run is a fresh process: 200 warm-up handshakes, then `connections` handshakes with
 * `concurrency` in flight (open, then `terminate()`); it reports µs of CPU and of wall time per
 * handshake. Rounds alternate the order of the builds; the medians are printed at the end.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { median } from './harness/workloads.js';

interface Sample {
  cpuUs: number;
  wallUs: number;
}

async function worker(entry: string, port: number, total: number, inFlight: number): Promise<void> {
  const { WebSocket } = (await import(pathToFileURL(entry).href)) as {
    WebSocket: new (
      url: string,
      options: object,
    ) => {
      once(event: string, listener: (...args: unknown[]) => void): void;
      terminate(): void;
    };
  };
  const url = `ws://127.0.0.1:${port}/`;
  const one = (): Promise<void> =>
    new Promise((done, fail) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('open', () => {
        ws.terminate();
        done();
      });
      ws.once('error', fail);
    });
  const run = async (count: number): Promise<void> => {
    let started = 0;
    const lane = async (): Promise<void> => {
      while (started < count) {
        started++;
        await one();
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
  };
  await run(200);
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  await run(total);
  const used = process.cpuUsage(cpu);
  const elapsed = Number(process.hrtime.bigint() - wall) / 1000;
  const sample: Sample = { cpuUs: (used.user + used.system) / total, wallUs: elapsed / total };
  process.stdout.write(`SAMPLE ${JSON.stringify(sample)}\n`);
}

function runWorker(entry: string, port: number, total: number, inFlight: number): Promise<Sample> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        '--worker',
        entry,
        String(port),
        String(total),
        String(inFlight),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let sample: Sample | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('SAMPLE ')) sample = JSON.parse(line.slice(7)) as Sample;
    });
    child.once('exit', (code) =>
      sample === undefined ? fail(new Error(`worker exited ${code}`)) : done(sample),
    );
  });
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--worker') {
    await worker(argv[1], Number(argv[2]), Number(argv[3]), Number(argv[4]));
    return;
  }
  const builds: Array<[label: string, entry: string]> = [];
  let rounds = 6;
  let total = 2000;
  let inFlight = 8;
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === '--build') {
      // A build's dist/src directory, or a module exporting `WebSocket` (e.g. ws's wrapper.mjs).
      const [label, where] = value.split('=');
      builds.push([
        label,
        /\.m?js$/.test(where) ? resolve(where) : resolve(where, 'node', 'websocket.js'),
      ]);
    } else if (argv[i] === '--rounds') rounds = Number(value);
    else if (argv[i] === '--connections') total = Number(value);
    else if (argv[i] === '--concurrency') inFlight = Number(value);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (builds.length === 0)
    builds.push([
      'this',
      join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'node', 'websocket.js'),
    ]);
  const server = spawn(
    process.execPath,
    [join(dirname(fileURLToPath(import.meta.url)), 'servers', 'minimal-ws.js')],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((ready) =>
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const match = /^READY (\d+)/.exec(line);
      if (match !== null) ready(Number(match[1]));
    }),
  );
  const samples = new Map<string, Sample[]>(builds.map(([label]) => [label, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      for (const [label, entry] of order) {
        const sample = await runWorker(entry, port, total, inFlight);
        samples.get(label)!.push(sample);
        process.stdout.write(
          `round ${round + 1} ${label}: ${sample.cpuUs.toFixed(1)} µs CPU, ${sample.wallUs.toFixed(1)} µs wall per handshake\n`,
        );
      }
    }
  } finally {
    server.stdin!.end();
  }
  process.stdout.write(
    `\n${total} handshakes × ${rounds} rounds, ${inFlight} in flight, Node ${process.version}\n`,
  );
  for (const [label, list] of samples) {
    process.stdout.write(
      `${label}: median ${median(list.map((s) => s.cpuUs)).toFixed(1)} µs CPU, ` +
        `${median(list.map((s) => s.wallUs)).toFixed(1)} µs wall per handshake\n`,
    );
  }
}

await main(process.argv.slice(2));
