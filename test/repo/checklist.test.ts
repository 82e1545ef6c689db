/**
 * Every "checklist Xn" cited in the code, tests and docs resolves to a case of docs/checklist.md,
 * so a reader can follow each reference. Ranges ("checklist R1-R8") and lists ("checklist K1,
 * K2 and K10") count every ID they cover.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/repo/: the repository root is three levels up.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const CHECKLIST = 'docs/checklist.md';

/** The IDs the checklist defines: the first cell of each table row (`| H4 | ...`). */
function definedIds(markdown: string): string[] {
  return [...markdown.matchAll(/^\| ([A-Z]\d+) \|/gm)].map((m) => m[1]);
}

const ID = /^([A-Z])(\d{1,2})(?:\s*[-–]\s*([A-Z])?(\d{1,2}))?\b/;
/** What may stand between two cited IDs: spaces, commas, slashes, "and", a parenthesis. */
const BETWEEN = /^(?:[\s,/]+|and\b|\([^)\n]{0,40}\))/;

/**
 * The IDs cited in `text`: every run of IDs right after the word "checklist" (any case),
 * ranges expanded. `H1-H9`, `K1, K2`, `F1-F5 (framing), U1-U3 and X1-X5` all count.
 */
export function citedIds(text: string): string[] {
  const ids: string[] = [];
  for (const match of text.matchAll(/checklist\b/gi)) {
    let rest = text.slice(match.index + match[0].length, match.index + match[0].length + 200);
    for (;;) {
      const gap = BETWEEN.exec(rest);
      if (gap !== null && gap[0].length > 0) {
        rest = rest.slice(gap[0].length);
        continue;
      }
      const id = ID.exec(rest);
      if (id === null) break;
      const [, letter, from, toLetter, to] = id;
      if (to === undefined) {
        ids.push(`${letter}${Number(from)}`);
      } else {
        assert.ok(toLetter === undefined || toLetter === letter, `mixed range ${id[0]}`);
        for (let n = Number(from); n <= Number(to); n++) ids.push(`${letter}${n}`);
      }
      rest = rest.slice(id[0].length);
    }
  }
  return ids;
}

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) filesUnder(path, out);
    else if (/\.(ts|js|md)$/.test(name)) out.push(path);
  }
  return out;
}

describe('checklist references (docs/checklist.md)', () => {
  const defined = definedIds(readFileSync(join(root, CHECKLIST), 'utf8'));

  test('the checklist defines 50 cases, each once', () => {
    assert.equal(defined.length, 50);
    assert.equal(new Set(defined).size, 50);
  });

  test('the citation reader understands single IDs, lists, ranges and asides', () => {
    assert.deepEqual(citedIds('(checklist H7), Checklist R1-R3: x'), ['H7', 'R1', 'R2', 'R3']);
    assert.deepEqual(citedIds('checklist K1-K2, K10 and Z4'), ['K1', 'K2', 'K10', 'Z4']);
    assert.deepEqual(citedIds('Checklist F1-F2 (framing), U3 (UTF-8) and C1'), [
      'F1',
      'F2',
      'U3',
      'C1',
    ]);
    assert.deepEqual(citedIds('the checklist invariant; security checklist X5'), ['X5']);
    assert.deepEqual(citedIds('checklist Q7'), ['Q7']);
  });

  test('every ID cited in src/, test/, bench/, scripts/ and docs/ is a case of the checklist', () => {
    const files = ['src', 'test', 'bench', 'scripts', 'docs']
      .flatMap((dir) => filesUnder(dir))
      .concat(['README.md', 'SECURITY.md']);
    const missing: string[] = [];
    let citations = 0;
    for (const file of files) {
      // The checklist itself, and this file (its samples cite IDs that do not exist on purpose).
      if (file === CHECKLIST || file === join('test', 'repo', 'checklist.test.ts')) continue;
      for (const id of citedIds(readFileSync(join(root, file), 'utf8'))) {
        citations++;
        if (!defined.includes(id)) missing.push(`${file}: checklist ${id}`);
      }
    }
    assert.deepEqual(missing, []);
    assert.ok(citations >= 50, `only ${citations} citations found: is the reader broken?`);
  });
});
