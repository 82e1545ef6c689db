/**
 * The shape of an audit check and of its result. A check is data (id, title, RFC section, why it
 * matters, its bounds) plus one `run` function that probes the server and returns a verdict.
 */
import type { ProbeSettings } from './session.js';

/** Outcome of one check, worst first. */
export const Status = {
  Fail: 'FAIL',
  Warn: 'WARN',
  Pass: 'PASS',
  Info: 'INFO',
  Skip: 'SKIP',
} as const;
export type Status = (typeof Status)[keyof typeof Status];

const RANK: Record<Status, number> = { FAIL: 4, WARN: 3, PASS: 1, INFO: 0, SKIP: 0 };

/** The worse of two statuses (FAIL > WARN > PASS > INFO/SKIP). */
export function worse(a: Status, b: Status): Status {
  return RANK[b] > RANK[a] ? b : a;
}

/** What a check found. `sent` and `received` are short human descriptions (escaped on output). */
export interface Verdict {
  status: Status;
  sent: string;
  received: string;
  /** Extra explanation of this particular outcome (e.g. "server is not an echo server"). */
  note?: string;
}

/** What a check learned about the server, shared with later checks. */
export interface ServerProfile {
  /** The baseline handshake got a 101. */
  upgrades: boolean;
  /** The server echoes a text message back (many checks use echoes as evidence of delivery). */
  echoes: boolean;
  /** Largest declared frame length the server let through, once `message-limit` ran. */
  observedLimit?: number;
  /** The server advertises and handles WebSockets over HTTP/2 (RFC 8441), once `h2-support` ran. */
  http2?: boolean;
}

/** Everything a check may use. */
export interface CheckContext {
  settings: ProbeSettings;
  profile: ServerProfile;
  /** Tunables from the command line (counts, waits, byte budgets). */
  tuning: AuditTuning;
}

/** Bounds of the heavier checks (all from options, with defaults in `options.ts`). */
export interface AuditTuning {
  /** Most bytes any one check may send (`--max-bytes`). */
  maxBytes: number;
  /** Seconds the slowloris check trickles header bytes. */
  slowlorisSeconds: number;
  /** Seconds the idle check waits for the server to close a silent connection. */
  idleSeconds: number;
  /** Number of fragments in the tiny-fragments check. */
  fragments: number;
  /** Number of pings in the ping-flood check. */
  pings: number;
  /** Inflated size of the decompression bomb, bytes. */
  bombBytes: number;
}

/** A check. */
export interface Check {
  /** Stable id for `--only` / `--skip` and the JSON output. */
  id: string;
  group: 'handshake' | 'framing' | 'limits' | 'http2';
  title: string;
  /** RFC section(s), e.g. `RFC 6455 §5.1`. */
  rfc: string;
  /** Why the behaviour matters, one sentence. */
  why: string;
  /** Bounds of this check in bytes and time (shown by `--help`). */
  bounds: string;
  /**
   * The probe is meant to stress the server (floods, bombs, slow requests). A liveness check
   * runs after every probe anyway; this marks the heavy ones in `--help`.
   */
  risky: boolean;
  /** Needs an established WebSocket connection (skipped when the baseline handshake fails). */
  needsUpgrade: boolean;
  run(context: CheckContext): Promise<Verdict>;
}

/** A check's verdict as reported. */
export interface CheckResult extends Verdict {
  id: string;
  group: Check['group'];
  title: string;
  rfc: string;
  /** The check's bounds in bytes and time (as in `--help`). */
  bounds: string;
  why: string;
  durationMs: number;
  /**
   * True when the server stopped accepting connections right after this check's probe (a fresh
   * TCP connection and upgrade failed): the probe crashed it or denied service. Every later
   * check is then SKIP.
   */
  stoppedServer?: boolean;
}
