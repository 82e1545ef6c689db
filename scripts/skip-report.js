// A node:test reporter that prints, after the run, the tests that did not run and why:
// skipped tests (`{ skip: 'reason' }` or `t.skip('reason')`) and todo tests, grouped by reason,
// each with its file and name. run-tests.js uses it beside the spec reporter, whose own summary
// only counts them.
import { relative } from 'node:path';

/** @param {AsyncIterable<{ type: string, data: any }>} source */
export default async function* skipReport(source) {
  /** @type {Map<string, string[]>} reason -> "file: name" */
  const skipped = new Map();
  /** @type {Map<string, string[]>} */
  const todo = new Map();
  let ran = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data;
    const isSuite = data.details?.type === 'suite';
    const where = `${data.file === undefined ? '?' : relative(process.cwd(), data.file)}: ${data.name}${isSuite ? ' (suite)' : ''}`;
    if (data.skip !== undefined && data.skip !== false) {
      add(skipped, reason(data.skip), where);
    } else if (data.todo !== undefined && data.todo !== false) {
      add(todo, reason(data.todo), where);
    } else if (!isSuite) {
      ran++;
    }
  }
  const skipCount = count(skipped);
  const todoCount = count(todo);
  if (skipCount + todoCount === 0) {
    yield `\nAll ${ran} tests ran (none skipped, none todo).\n`;
    return;
  }
  let out = `\n${ran} tests ran; ${skipCount + todoCount} did not run (${skipCount} skipped, ${todoCount} todo):\n`;
  for (const [title, groups] of [
    ['skipped', skipped],
    ['todo', todo],
  ]) {
    for (const [why, tests] of [...groups].sort((a, b) => b[1].length - a[1].length)) {
      out += `  ${title} ${tests.length}: ${why}\n`;
      for (const test of tests) out += `    - ${test}\n`;
    }
  }
  yield out;
}

function reason(value) {
  return typeof value === 'string' && value.length > 0 ? value : '(no reason given)';
}

function add(groups, why, where) {
  const list = groups.get(why);
  if (list === undefined) groups.set(why, [where]);
  else list.push(where);
}

function count(groups) {
  let n = 0;
  for (const list of groups.values()) n += list.length;
  return n;
}
