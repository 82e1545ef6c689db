/**
 * The shared shape of "the server must fail the connection" checks (§7.1.7): send something
 * invalid on an established connection, then classify what the server did.
 */
import { Status, type CheckContext, type Verdict } from './check.js';
import { describeClose } from './describe.js';
import { Probe } from './session.js';

/** Text sent after a bad frame: an echo of it proves the server carried on as if nothing happened. */
export const FOLLOW_UP = 'ironsock-audit-follow-up';

/** Opens an upgraded connection, or returns null (with the probe closed) when refused. */
export async function openUpgraded(
  context: CheckContext,
  extensions?: string,
): Promise<Probe | null> {
  const probe = await Probe.handshake(
    context.settings,
    extensions === undefined ? {} : { set: { 'sec-websocket-extensions': extensions } },
  );
  if (!probe.outcome.upgraded) {
    probe.close();
    return null;
  }
  return probe;
}

/** Verdict for a check that could not open a WebSocket connection. */
export function skipped(sent: string): Verdict {
  return {
    status: Status.Skip,
    sent,
    received: 'baseline handshake refused',
    note: 'needs an established connection',
  };
}

/** What a violation check sends and what counts as the server having accepted it. */
export interface ViolationProbe {
  sent: string;
  /** Close codes that are the right answer (e.g. [1002]). */
  expect: readonly number[];
  /** Sends the invalid input. */
  send(probe: Probe): Promise<void>;
  /** True when the server visibly processed the input as valid (echoed it, answered a ping...). */
  delivered?(probe: Probe): boolean;
  /** Description of the delivery evidence. */
  deliveredAs?: string;
  /** Send a valid text message after the input to see whether the connection is still usable (default true). */
  followUp?: boolean;
}

/** Runs one violation probe on a fresh connection and classifies the reaction. */
export async function runViolation(context: CheckContext, spec: ViolationProbe): Promise<Verdict> {
  const probe = await openUpgraded(context);
  if (probe === null) return skipped(spec.sent);
  const timeoutMs = context.settings.timeoutMs;
  const delivered = (): boolean => spec.delivered?.(probe) ?? false;
  try {
    await spec.send(probe);
    await probe.raw.until(() => probe.closed || delivered(), timeoutMs);
    let followUpEchoed = false;
    if (!probe.closed && !delivered() && spec.followUp !== false) {
      void probe.sendText(FOLLOW_UP);
      followUpEchoed = await probe.raw.until(
        () => probe.closed || delivered() || probe.hasText(FOLLOW_UP),
        timeoutMs,
      );
      followUpEchoed = followUpEchoed && probe.hasText(FOLLOW_UP) && !probe.closed;
    }
    return classify(probe, spec, delivered(), followUpEchoed, timeoutMs, context.profile.echoes);
  } finally {
    probe.close();
  }
}

function classify(
  probe: Probe,
  spec: ViolationProbe,
  delivered: boolean,
  followUpEchoed: boolean,
  timeoutMs: number,
  echoes: boolean,
): Verdict {
  const expected = spec.expect.join(' or ');
  if (delivered) {
    return {
      status: Status.Fail,
      sent: spec.sent,
      received: `${spec.deliveredAs ?? 'processed as valid'}; then ${describeClose(probe)}`,
      note: `the server accepted it instead of failing the connection with ${expected}`,
    };
  }
  const close = probe.closeFrame;
  if (close !== null) {
    if (close.code !== null && spec.expect.includes(close.code)) {
      return { status: Status.Pass, sent: spec.sent, received: describeClose(probe) };
    }
    return {
      status: Status.Warn,
      sent: spec.sent,
      received: describeClose(probe),
      note: `expected Close ${expected}`,
    };
  }
  if (probe.raw.ended) {
    return {
      status: Status.Warn,
      sent: spec.sent,
      received: describeClose(probe),
      note: `failed the connection but sent no Close frame (§7.1.7: SHOULD send ${expected} first)`,
    };
  }
  if (followUpEchoed) {
    return {
      status: Status.Fail,
      sent: spec.sent,
      received: 'no close; a following valid message was still echoed',
      note: `the server ignored the violation instead of failing the connection with ${expected}`,
    };
  }
  return {
    status: Status.Fail,
    sent: spec.sent,
    received: `connection still open after ${timeoutMs * (spec.followUp === false ? 1 : 2)} ms`,
    note: echoes
      ? `expected Close ${expected}`
      : `expected Close ${expected} (server does not echo, so only a close is observable)`,
  };
}

/** Runs several probes and keeps the worst verdict, listing every outcome. */
export async function runViolations(
  context: CheckContext,
  specs: readonly ViolationProbe[],
): Promise<Verdict> {
  const verdicts: Verdict[] = [];
  for (const spec of specs) verdicts.push(await runViolation(context, spec));
  const order = [Status.Fail, Status.Warn, Status.Pass, Status.Info, Status.Skip];
  const worst = verdicts.reduce((a, b) =>
    order.indexOf(b.status) < order.indexOf(a.status) ? b : a,
  );
  const notes = verdicts.filter((v) => v.note && v.status === worst.status).map((v) => v.note);
  return {
    status: worst.status,
    sent: verdicts.map((v) => v.sent).join('; '),
    received: verdicts.map((v) => v.received).join('; '),
    note: notes.length > 0 ? [...new Set(notes)].join('; ') : undefined,
  };
}
