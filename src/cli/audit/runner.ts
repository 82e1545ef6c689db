/**
 * Runs the selected checks in order against one server, with a liveness check (a fresh TCP
 * connection and upgrade, plus an echo from an echo server) after every probe: a server that
 * stops accepting connections is caught at the probe that stopped it, which then FAILs, and
 * every later check is SKIP with that reason. Results are handed out one by one and returned.
 */
import { Status, type Check, type CheckContext, type CheckResult, type Verdict } from './check.js';
import { GROUPS, ALL_CHECKS, BASELINE_CHECKS } from './registry.js';
import { Probe } from './session.js';

/** Whether a check is selected by `--only` / `--skip` (ids or group names). */
export function isSelected(
  check: Check,
  only: readonly string[],
  skip: readonly string[],
): boolean {
  const matches = (list: readonly string[]): boolean =>
    list.includes(check.id) ||
    ((GROUPS as readonly string[]).includes(check.group) && list.includes(check.group));
  if (skip.length > 0 && matches(skip)) return false;
  return only.length === 0 || matches(only);
}

/** Health of the server after a probe. */
export interface Health {
  ok: boolean;
  detail: string;
}

/**
 * A fresh connection still gets a 101 (and an echo, from an echo server). When the baseline
 * handshake was not upgraded (the server refuses the audit's requests), the server is alive if
 * it still answers the way it did: with an HTTP response when `answers` (it answered at first),
 * else by accepting the connection (a server that drops HTTP/1.1 upgrades without a word).
 */
export async function checkHealth(context: CheckContext, answers = true): Promise<Health> {
  let probe: Probe;
  try {
    probe = await Probe.handshake(context.settings);
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
  try {
    if (!context.profile.upgrades) {
      if (probe.outcome.response !== null) {
        return { ok: true, detail: `answered ${probe.outcome.response.status}` };
      }
      return answers
        ? { ok: false, detail: 'no response to a fresh handshake (it answered before)' }
        : { ok: true, detail: 'accepted the connection (it never answers these handshakes)' };
    }
    if (!probe.outcome.upgraded) {
      return {
        ok: false,
        detail: probe.outcome.response
          ? `handshake answered ${probe.outcome.response.status}`
          : 'no handshake response',
      };
    }
    if (!context.profile.echoes) return { ok: true, detail: '101' };
    const text = `ironsock-audit-health-${Date.now()}`;
    await probe.sendText(text);
    const echoed = await probe.waitMessage((m) => m.data.toString() === text);
    return echoed
      ? { ok: true, detail: '101 and echo' }
      : { ok: false, detail: 'upgraded but no longer echoes' };
  } finally {
    probe.close();
  }
}

/** Whether a fresh, ordinary handshake gets any HTTP response (false also when unreachable). */
async function answersHandshakes(context: CheckContext): Promise<boolean> {
  try {
    const probe = await Probe.handshake(context.settings);
    probe.close();
    return probe.outcome.response !== null;
  } catch {
    return false;
  }
}

/** Runs one check, turning a connection failure into a FAIL verdict. */
async function runOne(check: Check, context: CheckContext): Promise<CheckResult> {
  const start = performance.now();
  let verdict: Verdict;
  try {
    verdict = await check.run(context);
  } catch (error) {
    verdict = {
      status: Status.Fail,
      sent: '(probe)',
      received: (error as Error).message,
      note: 'the server could not be reached for this check',
    };
  }
  return resultOf(check, verdict, Math.round(performance.now() - start));
}

/** A check's description joined with what it found. */
function resultOf(check: Check, verdict: Verdict, durationMs: number): CheckResult {
  return {
    id: check.id,
    group: check.group,
    title: check.title,
    rfc: check.rfc,
    bounds: check.bounds,
    why: check.why,
    ...verdict,
    durationMs,
  };
}

/**
 * Runs the checks chosen by `only`/`skip` (the baseline always runs; it is reported only when
 * selected). Calls `onResult` for every reported result, in order. Stops early, marking the rest
 * SKIP, when the server stops answering after a risky probe.
 */
export async function runChecks(
  context: CheckContext,
  only: readonly string[],
  skip: readonly string[],
  onResult: (result: CheckResult) => void,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const report = (result: CheckResult): void => {
    results.push(result);
    onResult(result);
  };
  let dead: string | null = null;
  /** Whether the server answers a refused handshake at all (learnt once, if it never upgrades). */
  let answers: boolean | undefined;
  for (const check of ALL_CHECKS) {
    const baseline = BASELINE_CHECKS.includes(check);
    const selected = isSelected(check, only, skip);
    if (!baseline && !selected) continue;
    if (dead !== null) {
      if (selected) {
        report(
          resultOf(
            check,
            { status: Status.Skip, sent: '', received: '', note: `not run: ${dead}` },
            0,
          ),
        );
      }
      continue;
    }
    if (check.needsUpgrade && !context.profile.upgrades) {
      if (selected) {
        report(
          resultOf(
            check,
            {
              status: Status.Skip,
              sent: '',
              received: 'baseline handshake refused',
              note: 'needs an established connection',
            },
            0,
          ),
        );
      }
      continue;
    }
    const result = await runOne(check, context);
    // Liveness after every probe, not only the heavy ones: a default ws server without an
    // 'error' listener dies on the first malformed frame, and the probe that killed it may itself
    // have seen a plausible close. One retry after 500 ms lets a restarting server recover.
    if (!context.profile.upgrades && answers === undefined) {
      answers = await answersHandshakes(context);
    }
    let health = await checkHealth(context, answers);
    if (!health.ok) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      health = await checkHealth(context, answers);
    }
    if (!health.ok) {
      result.status = Status.Fail;
      result.stoppedServer = true;
      result.note = `${result.note ? `${result.note}; ` : ''}the server stopped accepting connections after this probe (a crash or a denial of service): a fresh client failed: ${health.detail}`;
      dead = `the server stopped accepting connections after ${check.id}`;
      // Reported even when not selected (a baseline check): the worst finding is never hidden.
      report(result);
      continue;
    }
    if (selected) report(result);
  }
  return results;
}
