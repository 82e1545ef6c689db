/**
 * scripts/skip-report.js: the test summary lists the tests that did not run, with their reasons.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const reporter = fileURLToPath(new URL('../../../scripts/skip-report.js', import.meta.url));

const FIXTURE = `
import { test, describe } from 'node:test';
test('runs', () => {});
test('needs chromium', { skip: 'chromium not found' }, () => {});
test('needs nginx', (t) => { t.skip('nginx not found'); });
test('also needs chromium', { skip: 'chromium not found' }, () => {});
test('later', { todo: 'not written yet' }, () => {});
describe('redis', { skip: 'redis-server not found' }, () => { test('inner', () => {}); });
`;

/** Runs `node --test` with the reporter alone, outside this run's test context. */
function runReporter(dir: string) {
  const env = { ...process.env };
  // Set by the outer runner: the nested run would report to it instead of to our reporter.
  delete env.NODE_TEST_CONTEXT;
  return spawnSync(
    process.execPath,
    ['--test', `--test-reporter=${reporter}`, 'fixture.test.mjs'],
    {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
}

test('the summary counts skipped and todo tests and groups them by reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ironsock-skip-report-'));
  try {
    writeFileSync(join(dir, 'fixture.test.mjs'), FIXTURE);
    const result = runReporter(dir);
    assert.equal(result.status, 0, result.stderr);
    const out = result.stdout;
    assert.match(out, /1 tests ran; 5 did not run \(4 skipped, 1 todo\):/);
    assert.match(
      out,
      /skipped 2: chromium not found\n {4}- fixture\.test\.mjs: needs chromium\n {4}- fixture\.test\.mjs: also needs chromium\n/,
    );
    assert.match(out, /skipped 1: nginx not found\n {4}- fixture\.test\.mjs: needs nginx\n/);
    assert.match(
      out,
      /skipped 1: redis-server not found\n {4}- fixture\.test\.mjs: redis \(suite\)\n/,
    );
    assert.match(out, /todo 1: not written yet\n {4}- fixture\.test\.mjs: later\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run where everything ran says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ironsock-skip-report-'));
  try {
    writeFileSync(
      join(dir, 'fixture.test.mjs'),
      "import { test } from 'node:test';\ntest('a', () => {});\ntest('b', () => {});\n",
    );
    const result = runReporter(dir);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /All 2 tests ran \(none skipped, none todo\)\./);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
