/**
 * Output of the audit: one text line per check (escaped; colored on a terminal unless NO_COLOR)
 * or one JSON document.
 */
import type { CheckResult, ServerProfile, Status } from './check.js';
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
  const status = color ? `\x1b[${COLORS[result.status]}m${result.status}\x1b[0m` : result.status;
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

/** The JSON document printed by `--json`. */
export interface AuditJson {
  target: string;
  originBase: string;
  profile: ServerProfile;
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
  const document: AuditJson = { target, originBase, profile, summary: summarize(results), results };
  return JSON.stringify(document, null, 2) + '\n';
}
