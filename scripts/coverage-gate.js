#!/usr/bin/env node
// Coverage gate for the protocol core: runs the engine's own tests (test/protocol, test/property)
// with Node's built-in coverage and fails when any module of src/protocol has less than 95% of
// its lines covered.
//   node scripts/coverage-gate.js [--min 95]     (after `npm run build`)
// Node 20 has --experimental-test-coverage but no threshold flags, so the lcov report is read
// here. Its coverage report also fails on compiled files that carry a sourceMappingURL, so the
// compiled tree is copied to .build-coverage/ without those comments first: lines are counted
// in the compiled JavaScript of src/, which the build emits without comments
// (tsconfig.lean.json), so only lines of code count.
import {
  cpSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const min = args.includes('--min') ? Number(args[args.indexOf('--min') + 1]) : 95;
const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, '.build-coverage');
const lcov = join(out, 'lcov.info');

function walk(path, keep, found = []) {
  for (const name of readdirSync(path)) {
    const full = join(path, name);
    if (statSync(full).isDirectory()) walk(full, keep, found);
    else if (keep(name)) found.push(full);
  }
  return found;
}

// 1. The compiled src/ and test/ trees, JavaScript only, without source-map comments.
rmSync(out, { recursive: true, force: true });
for (const dir of ['src', 'test']) {
  for (const file of walk(join(root, 'dist', dir), (name) => name.endsWith('.js'))) {
    const target = join(out, relative(join(root, 'dist'), file));
    mkdirSync(join(target, '..'), { recursive: true });
    const text = readFileSync(file, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
    writeFileSync(target, text);
  }
}
// Non-JavaScript fixtures the tests may read.
cpSync(join(root, 'test', 'fixtures'), join(out, 'test', 'fixtures'), { recursive: true });

// 2. The engine's tests, with coverage.
const tests = ['protocol', 'property'].flatMap((dir) =>
  walk(join(out, 'test', dir), (name) => name.endsWith('.test.js')),
);
const run = spawnSync(
  process.execPath,
  [
    '--test',
    '--experimental-test-coverage',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`,
    '--test-reporter=dot',
    '--test-reporter-destination=stdout',
    '--test-reporter=lcov',
    `--test-reporter-destination=${lcov}`,
    ...tests.sort(),
  ],
  { stdio: 'inherit', cwd: root },
);
if (run.status !== 0) {
  console.error(`coverage gate: the protocol tests failed (exit ${run.status})`);
  process.exit(1);
}

// 3. Lines hit per module of src/protocol.
const modules = [];
let file = null;
let hit = 0;
let found = 0;
for (const line of readFileSync(lcov, 'utf8').split('\n')) {
  if (line.startsWith('SF:')) file = line.slice(3);
  else if (line.startsWith('LH:')) hit = Number(line.slice(3));
  else if (line.startsWith('LF:')) found = Number(line.slice(3));
  else if (line === 'end_of_record') {
    const rel = relative(out, file ?? '');
    if (rel.startsWith(join('src', 'protocol'))) {
      modules.push({ name: rel.replace(/\.js$/, '.ts'), hit, found });
    }
    file = null;
    hit = found = 0;
  }
}
const expected = walk(join(root, 'src', 'protocol'), (name) => name.endsWith('.ts')).length;
if (modules.length < expected) {
  console.error(
    `coverage gate: ${modules.length} of the ${expected} modules of src/protocol were loaded`,
  );
  process.exit(1);
}
const failing = [];
console.log(`\nLine coverage of src/protocol by test/protocol and test/property (min ${min}%):`);
for (const m of modules.sort((a, b) => a.name.localeCompare(b.name))) {
  const percent = m.found === 0 ? 100 : (100 * m.hit) / m.found;
  const ok = percent >= min;
  if (!ok) failing.push(m.name);
  console.log(
    `  ${ok ? ' ' : '✖'} ${percent.toFixed(1).padStart(5)}%  ${m.hit}/${m.found}  ${m.name}`,
  );
}
if (failing.length > 0) {
  console.error(`coverage gate: below ${min}% of lines: ${failing.join(', ')}`);
  process.exit(1);
}
console.log(`coverage gate: every module of src/protocol at or above ${min}% of lines`);
