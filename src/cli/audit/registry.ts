/**
 * Every audit check, in run order. The baseline (`accept`, then `echo`) always runs first because
 * later checks depend on what it learns; slow checks (slowloris, idle) run last.
 */
import type { Check } from './check.js';
import { acceptCheck, handshakeChecks, slowlorisCheck } from './checks-handshake.js';
import { echoCheck, framingChecks } from './checks-framing.js';
import { limitChecks } from './checks-limits.js';
import { http2Checks } from './checks-http2.js';

/** Checks that always run (their findings steer the rest), reported only when selected. */
export const BASELINE_CHECKS: readonly Check[] = [acceptCheck, echoCheck];

/** All checks in run order (baseline included). */
export const ALL_CHECKS: readonly Check[] = [
  ...BASELINE_CHECKS,
  ...handshakeChecks,
  ...http2Checks,
  ...framingChecks,
  ...limitChecks.filter((check) => check.id !== 'idle-timeout'),
  slowlorisCheck,
  ...limitChecks.filter((check) => check.id === 'idle-timeout'),
];

/** Group names usable in `--only` / `--skip` besides check ids. */
export const GROUPS = ['handshake', 'http2', 'framing', 'limits'] as const;

/** Column width for check ids in text output (longest id plus one space). */
export const ID_WIDTH = Math.max(...ALL_CHECKS.map((check) => check.id.length)) + 1;
