/**
 * The CLI's standalone echo server, `ironsock serve --echo --host 127.0.0.1 --port 0`, as an
 * outside load generator drives it: the same command function in this process, with the
 * control channel of control.ts beside it (its log goes to a sink; the port is read from the
 * JSON `listening` line). Used by `bench/storm-ab.ts` (`--server cli=dist/bench/servers/ironsock-cli.js`).
 * It runs the command from the tsc output (dist/src), not from the shipped bundle
 * (dist/cli/bin.js exports no function): the same code in another module layout.
 */
import { Writable } from 'node:stream';
import { serveCommand } from '../../src/cli/serve.js';
import { commandHooks, listeningPort, serveControl } from './control.js';

let announced = false;
const log = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    if (!announced) {
      for (const line of chunk.toString('utf8').split('\n')) {
        const port = listeningPort(line);
        if (port === undefined) continue;
        announced = true;
        serveControl(port, commandHooks());
        break;
      }
    }
    callback();
  },
});
void serveCommand(['--echo', '--host', '127.0.0.1', '--port', '0', '--json-log'], {
  stdin: process.stdin,
  stdout: log,
  stderr: process.stderr,
  env: {},
  isTTY: false,
  signal: new AbortController().signal,
});
