import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { killQuietly, spawnCli, spawnServe, withTimeout, type CliProcess } from './harness.js';

const OPENSSL = '/usr/bin/openssl';
const skip = existsSync(OPENSSL) ? false : `${OPENSSL} not found: cannot make a test certificate`;

describe(
  'ironsock serve --tls-cert/--tls-key and connect over wss',
  { skip, timeout: 90_000 },
  () => {
    let dir = '';
    let server: (CliProcess & { port: number }) | undefined;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ironsock-tls-'));
      execFileSync(
        OPENSSL,
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
        ],
        { stdio: 'ignore' },
      );
      server = await spawnServe([
        '--tls-cert',
        join(dir, 'cert.pem'),
        '--tls-key',
        join(dir, 'key.pem'),
      ]);
    });

    after(async () => {
      if (server !== undefined) {
        server.child.kill('SIGTERM');
        await withTimeout(server.exited, 15_000, 'serve exit').catch(() => {});
        killQuietly(server);
      }
      await rm(dir, { recursive: true, force: true });
    });

    test('the status line names https and wss URLs', () => {
      assert.match(
        server?.stdout() ?? '',
        /listening on https:\/\/127\.0\.0\.1:\d+ \(echo: wss:\/\/127\.0\.0\.1:\d+\/echo/,
      );
    });

    test('a self-signed certificate is refused by default (exit 1)', async () => {
      const client = spawnCli(['connect', `wss://127.0.0.1:${server?.port}/echo`, '--once'], {
        stdinText: 'hi\n',
      });
      assert.equal(await withTimeout(client.exited, 20_000, 'connect'), 1);
      assert.match(client.stderr(), /certificate|TLS|self.signed/i);
      assert.equal(client.stdout(), '');
    });

    test('--no-check connects with a warning', async () => {
      const client = spawnCli(
        ['connect', `wss://127.0.0.1:${server?.port}/echo`, '--once', '--no-check'],
        {
          stdinText: 'over tls\n',
        },
      );
      assert.equal(await withTimeout(client.exited, 20_000, 'connect'), 0, client.stderr());
      assert.equal(client.stdout(), 'over tls\n');
      assert.match(client.stderr(), /warning: --no-check/);
    });
  },
);
