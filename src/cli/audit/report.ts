/**
 * Output of the audit, for someone who is not a WebSocket expert: the verdict first, then each
 * FAIL and WARN with what it means and how to fix it in a few words, then one detailed line per
 * check (escaped; colored on a terminal unless NO_COLOR). Or one JSON document.
 */
import type { CheckResult, ServerProfile, Status } from './check.js';
import { adviceFor, STOPPED_ADVICE, type Advice } from './advice.js';
import { escapeText } from './describe.js';
import { ID_WIDTH } from './registry.js';

const COLORS: Record<Status, string> = {
  PASS: '32',
  FAIL: '31',
  WARN: '33',
  INFO: '36',
  SKIP: '90',
};

/** One line for one result. Peer-controlled text is already escaped by the checks' descriptions. */
export function formatResult(result: CheckResult, color: boolean): string {
  const status = colored(result.status, color);
  const parts = [`${status} ${result.id.padEnd(ID_WIDTH)}${escapeText(result.title, 200)}`];
  if (result.sent) parts.push(`sent: ${escapeText(result.sent, 300)}`);
  if (result.received) parts.push(`got: ${escapeText(result.received, 300)}`);
  if (result.note) parts.push(`note: ${escapeText(result.note, 300)}`);
  parts.push(`why: ${result.why} (${result.rfc})`);
  return parts.join(' | ');
}

/** Counts per status. */
export function summarize(results: readonly CheckResult[]): Record<Status, number> {
  const counts: Record<Status, number> = { PASS: 0, FAIL: 0, WARN: 0, INFO: 0, SKIP: 0 };
  for (const result of results) counts[result.status]++;
  return counts;
}

/** The summary line. */
export function formatSummary(results: readonly CheckResult[]): string {
  const counts = summarize(results);
  return `${counts.FAIL} FAIL, ${counts.WARN} WARN, ${counts.PASS} PASS, ${counts.INFO} INFO, ${counts.SKIP} SKIP`;
}

/** The overall verdict: FAIL when a check failed, WARN when one warned, else PASS. */
export interface AuditVerdict {
  status: 'PASS' | 'WARN' | 'FAIL';
  /** One sentence for the reader. */
  text: string;
  /** The check after which the server stopped accepting connections, if any. */
  stoppedAfter?: string;
}

/** The verdict of a run. */
export function verdictOf(results: readonly CheckResult[]): AuditVerdict {
  const counts = summarize(results);
  const stopped = results.find((r) => r.stoppedServer === true);
  if (stopped !== undefined) {
    return {
      status: 'FAIL',
      text: `the server stopped accepting connections after the "${stopped.id}" check: ${STOPPED_ADVICE.means}.${counts.SKIP > 0 ? ` The ${counts.SKIP} checks after it could not run.` : ''}`,
      stoppedAfter: stopped.id,
    };
  }
  if (counts.FAIL > 0) {
    return {
      status: 'FAIL',
      text: `${counts.FAIL} ${counts.FAIL === 1 ? 'problem' : 'problems'} to fix${counts.WARN > 0 ? `, ${counts.WARN} ${counts.WARN === 1 ? 'warning' : 'warnings'}` : ''} (below, most serious first).`,
    };
  }
  if (counts.WARN > 0) {
    return {
      status: 'WARN',
      text: `no check failed; ${counts.WARN} ${counts.WARN === 1 ? 'warning is' : 'warnings are'} worth a look.`,
    };
  }
  return { status: 'PASS', text: 'no check failed and nothing to warn about.' };
}

function adviceLines(result: CheckResult, advice: Advice, color: boolean): string[] {
  return [
    `  ${colored(result.status, color)} ${result.id}: ${escapeText(result.title, 200)}`,
    `      means: ${advice.means}`,
    `      fix:   ${advice.fix}`,
  ];
}

function colored(status: Status, color: boolean): string {
  return color ? `\x1b[${COLORS[status]}m${status}\x1b[0m` : status;
}

/**
 * The whole text report: header, verdict, what to fix (FAILs, the stopped server first), what
 * is worth a look (WARNs), then every check's detailed line and the counts.
 */
export function formatReport(
  target: string,
  originBase: string,
  results: readonly CheckResult[],
  color: boolean,
): string {
  const verdict = verdictOf(results);
  const lines = [`ironsock audit ${target} (origin base ${originBase})`, ''];
  lines.push(`Verdict: ${colored(verdict.status, color)}: ${verdict.text}`);
  lines.push(formatSummary(results));
  const failed = results
    .filter((r) => r.status === 'FAIL')
    .sort((a, b) => Number(b.stoppedServer === true) - Number(a.stoppedServer === true));
  if (failed.length > 0) {
    lines.push('', 'What to fix:');
    for (const result of failed) {
      const advice = result.stoppedServer ? STOPPED_ADVICE : adviceFor(result.id, result.why);
      lines.push(...adviceLines(result, advice, color));
    }
  }
  const warned = results.filter((r) => r.status === 'WARN');
  if (warned.length > 0) {
    lines.push('', 'Worth a look:');
    for (const result of warned) {
      lines.push(...adviceLines(result, adviceFor(result.id, result.why), color));
    }
  }
  lines.push('', 'Every check:');
  for (const result of results) lines.push(formatResult(result, color));
  return `${lines.join('\n')}\n`;
}

/** The JSON document printed by `--json`. */
export interface AuditJson {
  target: string;
  originBase: string;
  profile: ServerProfile;
  verdict: AuditVerdict;
  summary: Record<Status, number>;
  results: CheckResult[];
}

/** Serialises the results (stable field names; see `CheckResult`). */
export function formatJson(
  target: string,
  originBase: string,
  profile: ServerProfile,
  results: CheckResult[],
): string {
  const document: AuditJson = {
    target,
    originBase,
    profile,
    verdict: verdictOf(results),
    summary: summarize(results),
    results,
  };
  return JSON.stringify(document, null, 2) + '\n';
}
