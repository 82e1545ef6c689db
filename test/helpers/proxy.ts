/**
 * HTTP CONNECT proxies for the client proxy tests: one written here (every byte observed, so "no
 * data before the 2xx" and "200 then close" can be checked), and Debian's tinyproxy started on a
 * free loopback port with a generated configuration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { freePort, waitForPort, type PeerCheck } from './peers.js';

/** One CONNECT the test proxy received. */
export interface ProxiedConnect {
  /** The request target, e.g. `127.0.0.1:8080`. */
  readonly target: string;
  /** Header lines of the CONNECT, lower-cased names. */
  readonly headers: Map<string, string>;
  /** Bytes the client sent after the CONNECT head and before the proxy's answer. */
  earlyBytes: number;
}

export interface TestProxy {
  readonly port: number;
  readonly url: string;
  readonly connects: ProxiedConnect[];
  close(): Promise<void>;
}

export interface TestProxyOptions {
  /** Require `Proxy-Authorization: Basic base64(user:pass)`; else answer 407. */
  credentials?: string;
  /**
   * How to answer: `'tunnel'` (200 then relay, default), `'close-after-200'` (200, then close
   * the connection at once), or a status code to refuse with.
   */
  answer?: 'tunnel' | 'close-after-200' | number;
  /** Milliseconds to wait before answering (to catch a client that sends early). Default 100. */
  delayMs?: number;
}

/** A CONNECT proxy on 127.0.0.1, port 0. */
export function startConnectProxy(options: TestProxyOptions = {}): Promise<TestProxy> {
  const connects: ProxiedConnect[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let buffered = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.removeListener('data', onHead);
      const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const [method, target] = lines[0].split(' ');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const record: ProxiedConnect = {
        target,
        headers,
        earlyBytes: buffered.length - end - 4,
      };
      connects.push(record);
      // Count what arrives while we think about the answer.
      const countEarly = (more: Buffer): void => {
        record.earlyBytes += more.length;
      };
      client.on('data', countEarly);
      client.pause();
      setTimeout(() => {
        // Reading now drains whatever the client sent early into the counter.
        client.resume();
        setImmediate(() => {
          client.removeListener('data', countEarly);
          client.pause();
          answer(client, method, target, headers);
        });
      }, options.delayMs ?? 100);
    };
    client.on('data', onHead);
  });

  const answer = (
    client: net.Socket,
    method: string,
    target: string,
    headers: Map<string, string>,
  ): void => {
    if (method !== 'CONNECT') {
      client.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (options.credentials !== undefined) {
      const expected = `Basic ${Buffer.from(options.credentials).toString('base64')}`;
      if (headers.get('proxy-authorization') !== expected) {
        client.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n',
        );
        return;
      }
    }
    const how = options.answer ?? 'tunnel';
    if (typeof how === 'number') {
      client.end(`HTTP/1.1 ${how} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    if (how === 'close-after-200') {
      client.end('HTTP/1.1 200 Connection Established\r\n\r\n');
      return;
    }
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon).replace(/^\[|\]$/g, '');
    const upstream = net.connect({ host, port: Number(target.slice(colon + 1)) });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        connects,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Debian's tinyproxy. */
export const TINYPROXY = '/usr/bin/tinyproxy';

/** Probe: /usr/bin/tinyproxy runs (`tinyproxy -v`). */
export const tinyproxy: PeerCheck = () => {
  if (!existsSync(TINYPROXY)) return `${TINYPROXY} not found (apt-get install tinyproxy)`;
  const out = spawnSync(TINYPROXY, ['-v'], { encoding: 'utf8', timeout: 10_000 });
  return out.status === 0 ? true : `tinyproxy -v exited ${out.status}: ${out.stderr}`;
};

export interface Tinyproxy {
  readonly port: number;
  readonly url: string;
  /** The log file's text so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts tinyproxy in the foreground on a free 127.0.0.1 port with a generated configuration:
 * loopback clients only, CONNECT to any port, `BasicAuth user pass` when `credentials` is
 * `'user:pass'`. Stopped (and its directory removed) by `stop()`.
 */
export async function startTinyproxy(options: { credentials?: string } = {}): Promise<Tinyproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'ironsock-tinyproxy-'));
  const port = await freePort();
  const logFile = join(dir, 'tinyproxy.log');
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    'MaxClients 64',
    'Allow 127.0.0.1',
    'LogLevel Info',
    `LogFile "${logFile}"`,
    // No ConnectPort line: CONNECT is allowed to every port (the test servers use random ones).
  ];
  if (options.credentials !== undefined) {
    const colon = options.credentials.indexOf(':');
    lines.push(
      `BasicAuth ${options.credentials.slice(0, colon)} ${options.credentials.slice(colon + 1)}`,
    );
  }
  const config = join(dir, 'tinyproxy.conf');
  await writeFile(config, `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn(TINYPROXY, ['-d', '-c', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8192)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      waitForPort(port, '127.0.0.1', 10_000),
      exited.then(() => {
        throw new Error(`tinyproxy exited early: ${stderr}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  const { readFile } = await import('node:fs/promises');
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    stop,
  };
}
