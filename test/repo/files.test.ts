/**
 * The files a user expects beside the code: a LICENSE that matches package.json, and a
 * SECURITY.md whose reporting channel exists (no placeholder address).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

// Compiled to dist/test/repo/: the repository root is three levels up.
const root = new URL('../../../', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, root), 'utf8');

test('LICENSE is the MIT license that package.json declares', () => {
  const pkg = JSON.parse(read('package.json')) as { license: string };
  assert.equal(pkg.license, 'MIT');
  const license = read('LICENSE');
  assert.match(license, /^MIT License\n\nCopyright \(c\) \d{4} /);
  assert.match(license, /Permission is hereby granted, free of charge/);
  assert.match(license, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
  assert.match(read('README.md'), /\[LICENSE\]\(LICENSE\)/);
});

test('SECURITY.md names a reporting channel that exists (GitHub private vulnerability reporting)', () => {
  const policy = read('SECURITY.md');
  const section = policy.slice(
    policy.indexOf('## Reporting a vulnerability'),
    policy.indexOf('## Threat model'),
  );
  assert.match(section, /\*\*Security\*\* tab/);
  assert.match(section, /\*\*Report a vulnerability\*\*/);
  // The old placeholder (an address under the reserved .invalid domain) must not come back.
  assert.doesNotMatch(policy, /@[\w.-]+\.invalid\b/);
  assert.doesNotMatch(section, /placeholder/i);
});
