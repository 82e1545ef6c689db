import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OptionTable } from '../../src/cli/args.js';
import { BENCH_OPTIONS } from '../../src/cli/bench.js';
import { CONNECT_OPTIONS } from '../../src/cli/connect-options.js';
import { main } from '../../src/cli/main.js';
import { SERVE_OPTIONS } from '../../src/cli/serve-options.js';
import { fakeIo, spawnCli, withTimeout } from './harness.js';

/** Every option of `table` appears in `help` as `--name`, each with its default. */
function assertListsOptions(help: string, table: OptionTable): void {
  // Option entries start with "  -x, --" or "      --"; wrapped description lines follow.
  const entries = help
    .split(/\n(?=\s{2}(?:-\w, |\s{4})--)/)
    .map((entry) => entry.replace(/\s+/g, ' '));
  for (const name of Object.keys(table)) {
    const entry = entries.find((text) => new RegExp(`^ (?:-\\w, )?--${name}\\b`).test(text));
    assert.ok(entry !== undefined, `help lists --${name}`);
    assert.match(
      entry,
      /\(default: [^)]+\)|\(repeatable; default: none\)/,
      `--${name} shows its default`,
    );
  }
}

describe('ironsock main()', () => {
  test('--help lists the commands and global options', async () => {
    const fake = fakeIo();
    assert.equal(await main(['--help'], fake.io), 0);
    for (const command of ['serve', 'connect', 'audit', 'bench']) {
      assert.match(fake.stdout(), new RegExp(`\\b${command}\\b`));
    }
    assert.match(fake.stdout(), /--version/);
  });

  test('serve --help lists every serve option with its default', async () => {
    const fake = fakeIo();
    assert.equal(await main(['serve', '--help'], fake.io), 0);
    assertListsOptions(fake.stdout(), SERVE_OPTIONS);
    assert.match(fake.stdout(), /--port <port>\s+TCP port.*\(default: 8080\)/);
    assert.match(fake.stdout(), /--host <host>\s+.*\(default: 127\.0\.0\.1\)/);
  });

  test('connect --help lists every connect option and the input commands', async () => {
    const fake = fakeIo();
    assert.equal(await main(['connect', '--help'], fake.io), 0);
    assertListsOptions(fake.stdout(), CONNECT_OPTIONS);
    for (const command of ['/ping', '/close', '/binary', '/quit']) {
      assert.ok(fake.stdout().includes(command), `lists ${command}`);
    }
  });

  test('bench --help lists the benchmark options', async () => {
    const fake = fakeIo();
    assert.equal(await main(['bench', '--help'], fake.io), 0);
    assertListsOptions(fake.stdout(), BENCH_OPTIONS);
  });

  test('--version prints the package version', async () => {
    const fake = fakeIo();
    assert.equal(await main(['--version'], fake.io), 0);
    assert.match(fake.stdout(), /^ironsock \d+\.\d+\.\d+/);
  });

  test('unknown commands and options are usage errors (exit 2)', async () => {
    const unknownCommand = fakeIo();
    assert.equal(await main(['frobnicate'], unknownCommand.io), 2);
    assert.match(unknownCommand.stderr(), /unknown command 'frobnicate'/);
    const unknownOption = fakeIo();
    assert.equal(await main(['serve', '--bogus'], unknownOption.io), 2);
    assert.match(unknownOption.stderr(), /bogus/);
    const badPort = fakeIo();
    assert.equal(await main(['serve', '--port', '70000'], badPort.io), 2);
    assert.match(badPort.stderr(), /--port/);
    const noUrl = fakeIo();
    assert.equal(await main(['connect'], noUrl.io), 2);
    assert.match(noUrl.stderr(), /missing the URL/);
    const none = fakeIo();
    assert.equal(await main([], none.io), 2);
    assert.match(none.stderr(), /Usage: ironsock/);
  });
});

describe('ironsock binary', { timeout: 60_000 }, () => {
  test('the compiled bin.js runs --help and --version', async () => {
    const help = spawnCli(['--help']);
    assert.equal(await withTimeout(help.exited, 20_000, 'ironsock --help'), 0);
    assert.match(help.stdout(), /Usage: ironsock <command>/);
    const version = spawnCli(['--version']);
    assert.equal(await withTimeout(version.exited, 20_000, 'ironsock --version'), 0);
    assert.match(version.stdout(), /^ironsock \d+\.\d+\.\d+/);
  });

  test('a usage error exits 2', async () => {
    const proc = spawnCli(['serve', '--port', 'abc']);
    assert.equal(await withTimeout(proc.exited, 20_000, 'ironsock serve --port abc'), 2);
    assert.match(proc.stderr(), /--port expects an integer/);
  });
});
