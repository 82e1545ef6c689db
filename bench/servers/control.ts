/**
 * The control channel every benchmark server shares: it prints `READY <port>` once listening,
 * then answers line commands on stdin so the harness can sample the server process itself:
 *
 * - `stats`            → `STATS {"user":µs,"system":µs,"rss":bytes,"heapUsed":bytes,"connections":n}`
 * - `gc`               → runs `global.gc()` twice when started with `--expose-gc`, then `OK gc`
 * - `broadcast <size>` → sends one binary message of `size` bytes to every client, then
 *                        `OK broadcast <startNs> <endNs>` (process.hrtime, CLOCK_MONOTONIC)
 * - `snapshot <path>`  → writes a V8 heap snapshot to `path`, then `OK snapshot`
 *
 * The process exits when stdin ends, so a server never outlives the harness.
 */
import { createInterface } from 'node:readline';
import { writeHeapSnapshot } from 'node:v8';

/** What a benchmark server exposes to the control channel. */
export interface ServerHooks {
  /** Sends `data` to every open client, the way that server's users would. */
  broadcast(data: Buffer): void;
  /** Number of open client connections. */
  connections(): number;
  /**
   * CPU time and RSS of the process that serves, when it is not this one (a server run as a
   * child process, bench/servers/ironsock-bin.ts); by default this process's.
   */
  usage?(): { user: number; system: number; rss: number; heapUsed: number };
}

function ownUsage(): { user: number; system: number; rss: number; heapUsed: number } {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return { user: cpu.user, system: cpu.system, rss: memory.rss, heapUsed: memory.heapUsed };
}

/** Announces `port` and serves the stdin commands described above until stdin closes. */
export function serveControl(port: number, hooks: ServerHooks): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, argument] = line.trim().split(/\s+/);
    if (command === 'stats') {
      const stats = { ...(hooks.usage?.() ?? ownUsage()), connections: hooks.connections() };
      process.stdout.write(`STATS ${JSON.stringify(stats)}\n`);
    } else if (command === 'gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc !== undefined) {
        gc();
        gc();
      }
      process.stdout.write('OK gc\n');
    } else if (command === 'snapshot' && argument !== undefined) {
      writeHeapSnapshot(argument);
      process.stdout.write('OK snapshot\n');
    } else if (command === 'broadcast') {
      const data = Buffer.alloc(Number(argument ?? 16), 'b');
      const start = process.hrtime.bigint();
      hooks.broadcast(data);
      const end = process.hrtime.bigint();
      process.stdout.write(`OK broadcast ${start} ${end}\n`);
    }
  });
  lines.on('close', () => process.exit(0));
  process.stdout.write(`READY ${port}\n`);
}

/**
 * The port announced by `line` when it is the JSON `listening` line of `ironsock serve
 * --json-log`, else undefined.
 */
export function listeningPort(line: string): number | undefined {
  if (!line.includes('"listening"')) return undefined;
  return (JSON.parse(line) as { port?: number }).port;
}

/**
 * Hooks of the serve command run as a benchmark server: it keeps its WebSocketServer to itself,
 * so the storm cells only (the broadcast and memory workloads need these two hooks).
 */
export function commandHooks(usage?: ServerHooks['usage']): ServerHooks {
  return {
    broadcast: () => {
      throw new Error('the serve command has no broadcast hook');
    },
    connections: () => 0,
    usage,
  };
}
