/**
 * The shipped command, `ironsock serve --echo --host 127.0.0.1 --port 0` from dist/cli/bin.js
 * (the bundle `npm start` and an outside load generator run), as a child process of this one,
 * with the control channel of control.ts beside it: `stats` reports the child's CPU time and
 * RSS (/proc/<pid>/stat, clock ticks of 10 ms) so that `bench/storm-ab.ts` measures the shipped
 * binary itself (`--server bin=dist/bench/servers/ironsock-bin.js`). The child inherits this
 * process's CPU placement. Linux only (/proc). `IRONSOCK_BIN` runs another build's bin.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { commandHooks, listeningPort, serveControl } from './control.js';

const bin = process.env.IRONSOCK_BIN ?? fileURLToPath(new URL('../../cli/bin.js', import.meta.url));
const child = spawn(
  process.execPath,
  [bin, 'serve', '--echo', '--host', '127.0.0.1', '--port', '0', '--json-log'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const pid = child.pid;
if (pid === undefined) throw new Error(`cannot start ${bin}`);
child.on('exit', (code, signal) => {
  process.stderr.write(`ironsock-bin: the server exited (${code ?? signal})\n`);
  process.exit(1);
});
process.on('exit', () => child.kill());

const TICK_US = 10_000; // USER_HZ = 100 on Linux

/**
 * utime and stime (fields 14 and 15 of /proc/<pid>/stat) and VmRSS (/proc/<pid>/status, kB).
 * The child's JS heap is not visible from here: NaN (null in the STATS line), not a made-up 0.
 * Like every serve-command server (commandHooks) it is for the storm cells only.
 */
function childUsage(): { user: number; system: number; rss: number; heapUsed: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) is in parentheses and may hold spaces: count after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  return {
    user: Number(fields[11]) * TICK_US,
    system: Number(fields[12]) * TICK_US,
    rss: rssKb * 1024,
    heapUsed: NaN,
  };
}

let announced = false;
createInterface({ input: child.stdout }).on('line', (line) => {
  const port = announced ? undefined : listeningPort(line);
  if (port === undefined) return;
  announced = true;
  serveControl(port, commandHooks(childUsage));
});
