/**
 * WebSockets over HTTP/2 (RFC 8441): does the server advertise SETTINGS_ENABLE_CONNECT_PROTOCOL
 * (read from its raw SETTINGS frame) and answer an extended CONNECT with 2xx, and do its Origin,
 * Host (`:authority`) and version checks give over HTTP/2 the verdicts they give over HTTP/1.1?
 * Each replay sends the same request both ways, so a server whose HTTP/2 path skips a check
 * (a bypass of the HTTP/1.1 policy) is reported.
 */
import http2 from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';
import tls from 'node:tls';
import { isIP } from 'node:net';
import { Status, type Check, type CheckContext, type Verdict } from './check.js';
import { describeResponse } from './describe.js';
import { RawH2Connection, SETTINGS_ENABLE_CONNECT_PROTOCOL } from './h2-wire.js';
import { Probe, type UpgradeRequestOptions } from './session.js';
import { swapScheme } from './target.js';

const BOUNDS = 'two connections (one HTTP/2, one HTTP/1.1), < 2 KiB sent, one --timeout each';
const RFC = 'RFC 8441 §3-5';

/** What an extended CONNECT got. */
type H2Answer =
  | { kind: 'status'; status: number; headers: IncomingHttpHeaders }
  | { kind: 'reset'; code: number }
  | { kind: 'none' };

function tlsOptions(context: CheckContext): tls.ConnectionOptions {
  const target = context.settings.target;
  return {
    host: target.hostname,
    port: target.port,
    rejectUnauthorized: !context.settings.insecure,
    ALPNProtocols: ['h2'],
    ...(isIP(target.hostname) === 0 ? { servername: target.hostname } : {}),
  };
}

/** An HTTP/2 session to the target, once its SETTINGS arrived (null: no h2 or no answer). */
async function openSession(context: CheckContext): Promise<ClientHttp2Session | null> {
  const target = context.settings.target;
  const session = http2.connect(`https://${target.hostHeader}`, {
    createConnection: () => tls.connect(tlsOptions(context)),
  });
  session.on('error', () => {});
  const ok = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), context.settings.timeoutMs);
    session.once('remoteSettings', () => {
      clearTimeout(timer);
      resolve(true);
    });
    session.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ok) {
    session.destroy();
    return null;
  }
  return session;
}

/** The fields of a valid same-origin extended CONNECT, then `changes` (null removes). */
function connectFields(
  context: CheckContext,
  changes: Record<string, string | null> = {},
): Record<string, string> {
  const target = context.settings.target;
  const fields: Record<string, string> = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': target.path,
    ':authority': target.hostHeader,
    'sec-websocket-version': '13',
    origin: target.originBase,
    'user-agent': 'ironsock-audit',
  };
  for (const [name, value] of context.settings.extraHeaders ?? []) {
    const lower = name.toLowerCase();
    if (lower !== 'host' && lower !== 'connection' && lower !== 'upgrade') fields[lower] = value;
  }
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete fields[name];
    else fields[name] = value;
  }
  return fields;
}

/** Sends one extended CONNECT and waits for the answer; the stream is cancelled afterwards. */
async function attempt(
  session: ClientHttp2Session,
  fields: Record<string, string>,
  timeoutMs: number,
): Promise<H2Answer> {
  let stream;
  try {
    stream = session.request(fields, { endStream: false });
  } catch {
    return { kind: 'reset', code: -1 };
  }
  stream.on('error', () => {});
  const answer = await new Promise<H2Answer>((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'none' }), timeoutMs);
    stream.once('response', (headers) => {
      clearTimeout(timer);
      resolve({ kind: 'status', status: Number(headers[':status']), headers });
    });
    stream.once('close', () => {
      clearTimeout(timer);
      resolve({ kind: 'reset', code: stream.rstCode ?? 0 });
    });
  });
  if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  return answer;
}

function describeAnswer(answer: H2Answer): string {
  if (answer.kind === 'status') {
    const version = answer.headers['sec-websocket-version'];
    return `HTTP/2 :status ${answer.status}${version === undefined ? '' : `, sec-websocket-version: ${String(version)}`}`;
  }
  if (answer.kind === 'reset') return `HTTP/2 stream reset (code ${answer.code})`;
  return 'HTTP/2: no answer';
}

function accepted(answer: H2Answer): boolean {
  return answer.kind === 'status' && answer.status >= 200 && answer.status < 300;
}

/** The baseline of the group: advertised? handled? (sets `profile.http2`). */
export const http2SupportCheck: Check = {
  id: 'h2-support',
  group: 'http2',
  title: 'WebSockets over HTTP/2: advertised only where handled',
  rfc: RFC,
  why: 'browsers open WebSockets as extended CONNECT on any HTTP/2 connection whose server sends SETTINGS_ENABLE_CONNECT_PROTOCOL, and fail them if it then refuses',
  bounds: 'two connections, < 1 KiB sent, up to 2 x --timeout',
  risky: false,
  needsUpgrade: false,
  async run(context) {
    const settings = context.settings;
    if (!settings.target.secure) {
      return { status: Status.Info, sent: '', received: '', note: 'not run: HTTP/2 needs wss:' };
    }
    const raw = await RawH2Connection.open(tlsOptions(context), settings.timeoutMs);
    if (raw === null) {
      return {
        status: Status.Info,
        sent: 'TLS with ALPN h2',
        received: 'ALPN h2 not selected',
        note: 'no HTTP/2: WebSockets use HTTP/1.1 only',
      };
    }
    try {
      const frame = await raw.serverSettings(settings.timeoutMs);
      if (frame === null) {
        return {
          status: Status.Warn,
          sent: 'HTTP/2 preface and SETTINGS',
          received: 'no SETTINGS frame',
          note: 'the server selected h2 but sent no SETTINGS',
        };
      }
      const advertised = frame.get(SETTINGS_ENABLE_CONNECT_PROTOCOL) === 1;
      if (!advertised) {
        // Sent anyway (Node's client would refuse to): a server without RFC 8441 must reset it.
        raw.sendHeaders(1, Object.entries(connectFields(context)));
        const outcome = await raw.outcome(1, settings.timeoutMs);
        const sent = 'extended CONNECT without the setting';
        if (outcome.kind === 'headers') {
          const first = raw.frames.find((f) => f.stream === 1 && f.type === 0x1)?.payload[0];
          return {
            status: first === 0x88 ? Status.Warn : Status.Info,
            sent,
            received: first === 0x88 ? 'HTTP/2 :status 200' : 'an HTTP/2 response (not 200)',
            note:
              first === 0x88
                ? 'the server accepts extended CONNECT without advertising it (RFC 8441 §3)'
                : 'SETTINGS_ENABLE_CONNECT_PROTOCOL not advertised: browsers use HTTP/1.1 for WebSockets',
          };
        }
        return {
          status: Status.Info,
          sent,
          received:
            outcome.kind === 'rst'
              ? `RST_STREAM (error ${outcome.code})`
              : outcome.kind === 'goaway'
                ? `GOAWAY (error ${outcome.code})`
                : 'no answer',
          note: 'SETTINGS_ENABLE_CONNECT_PROTOCOL not advertised: browsers use HTTP/1.1 for WebSockets',
        };
      }
    } finally {
      raw.close();
    }
    const session = await openSession(context);
    if (session === null) {
      return { status: Status.Fail, sent: 'HTTP/2 connection', received: 'no SETTINGS in time' };
    }
    try {
      const sent = `extended CONNECT ${settings.target.path}, version 13, same-origin`;
      const answer = await attempt(session, connectFields(context), settings.timeoutMs);
      if (!accepted(answer)) {
        return {
          status: Status.Fail,
          sent,
          received: describeAnswer(answer),
          note: 'the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL but refuses a valid extended CONNECT: browsers will fail their WebSockets',
        };
      }
      context.profile.http2 = true;
      return {
        status: Status.Pass,
        sent,
        received: `SETTINGS_ENABLE_CONNECT_PROTOCOL=1, ${describeAnswer(answer)}`,
      };
    } finally {
      session.destroy();
    }
  },
};

interface ReplaySpec {
  id: string;
  title: string;
  why: string;
  sent: string;
  /** The HTTP/1.1 request (as in the handshake group) and its HTTP/2 form. */
  h1: (context: CheckContext) => UpgradeRequestOptions;
  h2: (context: CheckContext) => Record<string, string | null>;
  /** A refusal must carry `sec-websocket-version: 13` (version checks). */
  namesVersion?: boolean;
  /** Only on loopback targets (the DNS-rebinding case). */
  loopbackOnly?: boolean;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Sends the same bad request over HTTP/1.1 and HTTP/2; the verdicts must agree. */
function replay(spec: ReplaySpec): Check {
  return {
    id: spec.id,
    group: 'http2',
    title: spec.title,
    rfc: `${RFC}; RFC 6455 §4.2.1, §10.2`,
    why: spec.why,
    bounds: BOUNDS,
    risky: false,
    needsUpgrade: false,
    async run(context): Promise<Verdict> {
      if (context.profile.http2 !== true) {
        return {
          status: Status.Info,
          sent: '',
          received: '',
          note: 'not run: the server does not handle WebSockets over HTTP/2 (h2-support)',
        };
      }
      if (spec.loopbackOnly === true && !isLoopback(context.settings.target.hostname)) {
        return {
          status: Status.Info,
          sent: '',
          received: '',
          note: 'not run: the target is not a loopback address',
        };
      }
      const probe = await Probe.handshake(context.settings, spec.h1(context));
      const h1Refused = !probe.outcome.upgraded;
      const h1Text = `HTTP/1.1: ${describeResponse(probe.outcome, probe, context.settings.timeoutMs)}`;
      probe.close();
      const session = await openSession(context);
      if (session === null) {
        return { status: Status.Fail, sent: spec.sent, received: 'HTTP/2: no SETTINGS in time' };
      }
      let answer: H2Answer;
      try {
        answer = await attempt(
          session,
          connectFields(context, spec.h2(context)),
          context.settings.timeoutMs,
        );
      } finally {
        session.destroy();
      }
      const h2Refused = !accepted(answer);
      const received = `${h1Text}; ${describeAnswer(answer)}`;
      if (!h2Refused) {
        return {
          status: Status.Fail,
          sent: spec.sent,
          received,
          note: h1Refused
            ? 'HTTP/2 accepts what HTTP/1.1 refuses: the HTTP/2 path bypasses this check'
            : 'accepted over both HTTP/1.1 and HTTP/2',
        };
      }
      if (!h1Refused) {
        return {
          status: Status.Warn,
          sent: spec.sent,
          received,
          note: 'refused over HTTP/2 only: the two paths apply different policies',
        };
      }
      if (
        spec.namesVersion === true &&
        !(answer.kind === 'status' && answer.headers['sec-websocket-version'] === '13')
      ) {
        return {
          status: Status.Fail,
          sent: spec.sent,
          received,
          note: 'the refusal does not carry sec-websocket-version: 13 (RFC 6455 §4.4 MUST)',
        };
      }
      return { status: Status.Pass, sent: spec.sent, received };
    },
  };
}

const CSWSH =
  'an HTTP/2 extended CONNECT from a page carries the same Origin as an upgrade; a server that checks it on one path only can be hijacked through the other';

/** The HTTP/2 group, in run order (`h2-support` first: the replays need its finding). */
export const http2Checks: Check[] = [
  http2SupportCheck,
  replay({
    id: 'h2-origin-cross',
    title: 'Cross-origin extended CONNECT refused as over HTTP/1.1',
    why: CSWSH,
    sent: 'Origin: https://evil.example over HTTP/1.1 and HTTP/2',
    h1: () => ({ set: { origin: 'https://evil.example' } }),
    h2: () => ({ origin: 'https://evil.example' }),
  }),
  replay({
    id: 'h2-origin-null',
    title: '"null" origin refused over HTTP/2 as over HTTP/1.1',
    why: CSWSH,
    sent: 'Origin: null over HTTP/1.1 and HTTP/2',
    h1: () => ({ set: { origin: 'null' } }),
    h2: () => ({ origin: 'null' }),
  }),
  replay({
    id: 'h2-origin-scheme',
    title: 'Origin with the other scheme refused over HTTP/2 as over HTTP/1.1',
    why: CSWSH,
    sent: 'the origin base in the other scheme over HTTP/1.1 and HTTP/2',
    h1: (c) => ({ set: { origin: swapScheme(c.settings.target.originBase) } }),
    h2: (c) => ({ origin: swapScheme(c.settings.target.originBase) }),
  }),
  ...[8, 14].map((version) =>
    replay({
      id: `h2-version-${version}`,
      title: `sec-websocket-version: ${version} refused over HTTP/2 as over HTTP/1.1`,
      why: 'RFC 8441 keeps version 13 only; the refusal must name 13',
      sent: `Sec-WebSocket-Version: ${version} over HTTP/1.1 and HTTP/2`,
      h1: () => ({ set: { 'sec-websocket-version': String(version) } }),
      h2: () => ({ 'sec-websocket-version': String(version) }),
      namesVersion: true,
    }),
  ),
  replay({
    id: 'h2-version-missing',
    title: 'Missing sec-websocket-version refused over HTTP/2 as over HTTP/1.1',
    why: 'without a version the server cannot know which protocol the client speaks',
    sent: 'no Sec-WebSocket-Version over HTTP/1.1 and HTTP/2',
    h1: () => ({ set: { 'sec-websocket-version': null } }),
    h2: () => ({ 'sec-websocket-version': null }),
    namesVersion: true,
  }),
  replay({
    id: 'h2-dns-rebinding',
    title: 'Foreign :authority on a loopback server refused as a foreign Host',
    why: 'over HTTP/2 the :authority is the Host: a DNS-rebinding page reaches a loopback server with both :authority and Origin attacker.example',
    sent: 'Host/:authority attacker.example, Origin http://attacker.example, both ways',
    h1: () => ({ set: { host: 'attacker.example', origin: 'http://attacker.example' } }),
    h2: () => ({ ':authority': 'attacker.example', origin: 'http://attacker.example' }),
    loopbackOnly: true,
  }),
];
