/**
 * Issue #11: programs written for ws run unchanged apart from the module name. Each program in
 * test/compat/programs/ is written for ws (CommonJS: `require('ws')`, `new WebSocket.Server`; ES
 * module: default import plus named imports). It runs once as written and once with the module
 * name replaced by 'ironsock'; both runs must print the same result. The copies live inside the
 * package, so `ironsock` resolves by name (a self-reference through package.json `exports`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support.js';

const SOURCES = join(ROOT, 'test', 'compat', 'programs');
const RUN_DIR = join(ROOT, 'dist', 'test', 'compat', 'programs');

function run(file: string, moduleName: 'ws' | 'ironsock'): unknown {
  const source = readFileSync(join(SOURCES, file), 'utf8');
  const swapped = source.replace(/(require\(|from )'ws'/g, `$1'${moduleName}'`);
  assert.equal(swapped.split(`'${moduleName}'`).length > 1, true, 'the module name was found');
  mkdirSync(RUN_DIR, { recursive: true });
  const target = join(RUN_DIR, `${moduleName}-${file}`);
  writeFileSync(target, swapped);
  const result = spawnSync(process.execPath, [target], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(result.status, 0, `${moduleName} ${file} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() as string);
}

for (const file of ['echo-client-server.cjs', 'echo-client-server.mjs']) {
  test(`${file}, written for ws, prints the same with require/import of 'ironsock'`, () => {
    const withWs = run(file, 'ws');
    const withIronsock = run(file, 'ironsock');
    assert.deepEqual(withIronsock, withWs);
  });
}
