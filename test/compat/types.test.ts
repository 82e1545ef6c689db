/**
 * Issue #11, "Typed, and the published types clean": compile-only fixtures (test/compat/types/)
 * import the built package by name and must compile under `strict` without skipLibCheck; their
 * `@ts-expect-error` lines must stay errors. The published declarations carry no `@internal`
 * plumbing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support.js';

test('the type fixtures (README example, every event, ws import forms, CJS, options, protocol) compile under strict', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', join(ROOT, 'test', 'compat', 'types', 'tsconfig.json')],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(result.status, 0, `tsc reported:\n${result.stdout}${result.stderr}`);
});

function declarations(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) declarations(full, out);
    else if (name.endsWith('.d.ts') || name.endsWith('.d.cts')) out.push(full);
  }
  return out;
}

test('the published declarations have no @internal members (WebSocket plumbing, engine callbacks)', () => {
  const files = [
    ...declarations(join(ROOT, 'dist', 'src')),
    ...declarations(join(ROOT, 'dist', 'cjs')),
  ];
  assert.ok(files.length > 20, 'the build emitted declarations');
  for (const file of files) {
    assert.ok(!readFileSync(file, 'utf8').includes('@internal'), `${file} mentions @internal`);
  }
  const websocket = readFileSync(join(ROOT, 'dist', 'src', 'node', 'websocket.d.ts'), 'utf8');
  for (const name of [
    '_driver',
    'setSocket',
    'driverMessage',
    'failHandshake',
    '_owner',
    '_sent',
  ]) {
    assert.ok(!new RegExp(`\\b${name}\\b`).test(websocket), `WebSocket declares ${name}`);
  }
  const connection = readFileSync(join(ROOT, 'dist', 'src', 'protocol', 'connection.d.ts'), 'utf8');
  for (const name of ['onHeader', 'onData', 'payloadTarget', 'onControl', 'onLengthOverflow']) {
    assert.ok(!new RegExp(`\\b${name}\\b`).test(connection), `Connection declares ${name}`);
  }
});

test('the public classes carry their doc comments in the published declarations', () => {
  for (const [file, name] of [
    [['protocol', 'connection.d.ts'], 'Connection'],
    [['node', 'websocket.d.ts'], 'WebSocket'],
    [['node', 'server.d.ts'], 'WebSocketServer'],
  ] as const) {
    const text = readFileSync(join(ROOT, 'dist', 'src', ...file), 'utf8');
    const at = text.search(new RegExp(`^export declare class ${name}\\b`, 'm'));
    assert.ok(at > 0, `${file.join('/')} declares ${name}`);
    // The class's own comment ends right before it (a comment line may stand between).
    const before = text.slice(0, at).trimEnd().split('\n');
    while (before.at(-1)?.trim().startsWith('//')) before.pop();
    assert.match(before.at(-1) ?? '', /\*\/$/, `${name} has no doc comment`);
  }
});
