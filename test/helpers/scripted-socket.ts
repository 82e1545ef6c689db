/**
 * A `SocketDriver` on a scripted in-memory socket: the test pushes every read (`handleData`)
 * and may hold back every write completion, so backpressure (`writableNeedDrain`) is under its
 * control without a network.
 */
import { Duplex } from 'node:stream';
import { SocketDriver } from '../../src/node/socket-driver.js';
import { resolveDriverConfig } from '../../src/node/driver-contract.js';
import type { DriverOptions, DriverSink } from '../../src/node/socket-driver.js';
import type { CloseInfo } from '../../src/protocol/index.js';
import { parseFrames } from '../node/util.js';
import { concat } from './engine.js';

export const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A Duplex whose reads the test pushes and whose write completions it can hold back. */
export function scriptedSocket() {
  const writes: Buffer[] = [];
  const pending: (() => void)[] = [];
  let holding = false;
  const socket = new Duplex({
    writableHighWaterMark: 64,
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      writes.push(Buffer.from(chunk));
      if (holding) pending.push(callback);
      else callback();
    },
  });
  return {
    socket,
    writes,
    /** Write completions wait until `release()`. */
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const cb of pending.splice(0)) cb();
    },
  };
}

/** A server-role driver on a scripted socket, recording what it reports. */
export async function drivenServer(
  onMessage?: (driver: SocketDriver, data: Uint8Array) => void,
  options: Partial<DriverOptions> = {},
) {
  const s = scriptedSocket();
  const messages: string[] = [];
  const pings: Uint8Array[] = [];
  const pongs: Uint8Array[] = [];
  let closing: CloseInfo | undefined;
  const sink: DriverSink = {
    driverMessage(data) {
      const bytes = Array.isArray(data) ? concat(data) : data;
      messages.push(new TextDecoder().decode(bytes));
      onMessage?.(driver, bytes);
    },
    driverPing: (payload) => pings.push(payload),
    driverPong: (payload) => pongs.push(payload),
    driverClosing: (info) => (closing = info),
    driverClosed() {},
  };
  const driver: SocketDriver = new SocketDriver(
    s.socket,
    sink,
    resolveDriverConfig({ ...options, role: 'server' }),
  );
  driver.start();
  await tick();
  return { ...s, driver, messages, pings, pongs, closing: () => closing };
}

/** Frames of the bytes written so far: [opcode, payload text]. */
export function writtenFrames(writes: Buffer[]): [number, string][] {
  return parseFrames(Buffer.concat(writes)).map((f) => [f.opcode, f.payload.toString()]);
}
