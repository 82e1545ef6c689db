/**
 * Opening-handshake checks (RFC 6455 §4, §10.2): requests a server must refuse, the one it must
 * accept (with the right `Sec-WebSocket-Accept`), and a slow-header (slowloris) probe.
 */
import { Status, type Check, type CheckContext, type Verdict } from './check.js';
import { describeClose, describeHeader, describeResponse, escapeText } from './describe.js';
import { craftFrame, Opcode } from './frames.js';
import { headerHasToken, parseResponseHead, serializeRequest } from './http.js';
import { Probe, buildUpgradeRequest, type UpgradeRequestOptions } from './session.js';
import { swapScheme } from './target.js';

const ONE_HANDSHAKE = 'one connection, < 1 KiB sent, one --timeout';

/** Sends one request built from `options` and reports how the server answered. */
async function tryRequest(
  context: CheckContext,
  options: UpgradeRequestOptions,
): Promise<{ probe: Probe; received: string }> {
  const probe = await Probe.handshake(context.settings, options);
  const received = describeResponse(probe.outcome, probe, context.settings.timeoutMs);
  return { probe, received };
}

interface RejectSpec {
  id: string;
  title: string;
  rfc: string;
  why: string;
  sent: string;
  request: (context: CheckContext) => UpgradeRequestOptions;
  /** Status when the server upgrades anyway (default FAIL). */
  ifAccepted?: Status | ((context: CheckContext) => Status);
  /** Extra judgement of a refusal (e.g. 426 must name the supported version). */
  judgeRefusal?: (probe: Probe) => Verdict | null;
}

/** A request the server must not upgrade. */
function mustRefuse(spec: RejectSpec): Check {
  return {
    id: spec.id,
    group: 'handshake',
    title: spec.title,
    rfc: spec.rfc,
    why: spec.why,
    bounds: ONE_HANDSHAKE,
    risky: false,
    needsUpgrade: false,
    async run(context) {
      const { probe, received } = await tryRequest(context, spec.request(context));
      try {
        if (probe.outcome.upgraded) {
          return {
            status:
              typeof spec.ifAccepted === 'function'
                ? spec.ifAccepted(context)
                : (spec.ifAccepted ?? Status.Fail),
            sent: spec.sent,
            received,
            note: 'the server upgraded the connection',
          };
        }
        const judged = spec.judgeRefusal?.(probe);
        if (judged) return { ...judged, sent: spec.sent, received: judged.received || received };
        return { status: Status.Pass, sent: spec.sent, received };
      } finally {
        probe.close();
      }
    },
  };
}

/** §4.4: a refused version must come with `Sec-WebSocket-Version` naming what the server speaks. */
function judgeVersionRefusal(probe: Probe): Verdict | null {
  const response = probe.outcome.response;
  if (response === null) return null;
  const versions = describeHeader(probe.outcome, 'sec-websocket-version', 'Sec-WebSocket-Version');
  const received = `${describeResponse(probe.outcome, probe, 0)}${versions ? `, ${versions}` : ''}`;
  if (!headerHasToken(response, 'sec-websocket-version', '13')) {
    return {
      status: Status.Fail,
      sent: '',
      received,
      note: 'the refusal does not list Sec-WebSocket-Version: 13 (§4.4 MUST)',
    };
  }
  if (response.status !== 426) {
    return {
      status: Status.Pass,
      sent: '',
      received,
      note: '426 Upgrade Required is the suggested status',
    };
  }
  return { status: Status.Pass, sent: '', received };
}

const CSWSH =
  "browsers let any page open a WebSocket to any server with the user's cookies; only the server's Origin check stops cross-site WebSocket hijacking";

/** The baseline: a correct request, same-origin, must get 101 with the right Accept value. */
export const acceptCheck: Check = {
  id: 'accept',
  group: 'handshake',
  title: 'Valid handshake and Sec-WebSocket-Accept',
  rfc: 'RFC 6455 §4.2.2',
  why: 'clients must reject a wrong Accept value; it proves the server read this key and speaks WebSocket',
  bounds: ONE_HANDSHAKE,
  risky: false,
  needsUpgrade: false,
  async run(context) {
    const sent = `GET ${context.settings.target.path} with valid key, version 13, Origin: ${context.settings.target.originBase}`;
    const { probe, received } = await tryRequest(context, {});
    try {
      const outcome = probe.outcome;
      context.profile.upgrades = outcome.upgraded;
      if (!outcome.upgraded) {
        return {
          status: Status.Fail,
          sent,
          received,
          note: 'a valid same-origin request was refused; checks that need a connection are skipped',
        };
      }
      const accept =
        describeHeader(outcome, 'sec-websocket-accept', 'Sec-WebSocket-Accept') ||
        'no Sec-WebSocket-Accept';
      if (!outcome.acceptOk) {
        return {
          status: Status.Fail,
          sent,
          received: `${received}, ${accept}`,
          note: 'the Accept value is not base64(SHA-1(key + GUID))',
        };
      }
      const response = outcome.response;
      const problems: string[] = [];
      if (response && !headerHasToken(response, 'upgrade', 'websocket'))
        problems.push('no Upgrade: websocket');
      if (response && !headerHasToken(response, 'connection', 'upgrade'))
        problems.push('no Connection: Upgrade');
      if (problems.length > 0) {
        return {
          status: Status.Fail,
          sent,
          received: `${received}, ${problems.join(', ')}`,
          note: '§4.2.2 requires both headers in the 101',
        };
      }
      if (response?.strictError !== undefined) {
        return {
          status: Status.Warn,
          sent,
          received: `${received}, correct ${accept}`,
          note: `the response head is not strictly valid HTTP/1.1 (${response.strictError}); strict clients refuse it`,
        };
      }
      return { status: Status.Pass, sent, received: `${received}, correct ${accept}` };
    } finally {
      probe.close();
    }
  },
};

const FORM_WHY =
  'an HTML form can send a cross-site POST without a preflight; a server that upgrades it (or acts on it) accepts requests a browser page forged';

/** Handshake checks, in the order they run. */
export const handshakeChecks: Check[] = [
  mustRefuse({
    id: 'origin-cross',
    title: 'Cross-origin handshake refused',
    rfc: 'RFC 6455 §10.2, §4.2.2',
    why: CSWSH,
    sent: 'valid upgrade with Origin: https://evil.example',
    request: () => ({ set: { origin: 'https://evil.example' } }),
  }),
  mustRefuse({
    id: 'origin-null',
    title: '"null" origin refused',
    rfc: 'RFC 6455 §10.2; RFC 6454 §7.3',
    why: 'sandboxed iframes and file: pages send Origin: null; accepting it lets any site hijack the socket from a sandboxed frame',
    sent: 'valid upgrade with Origin: null',
    request: () => ({ set: { origin: 'null' } }),
  }),
  mustRefuse({
    id: 'origin-scheme',
    title: 'Origin with the other scheme refused',
    rfc: 'RFC 6455 §10.2; RFC 6454 §4',
    why: 'an origin is scheme+host+port: a page served over plain http (injectable by a network attacker) is not the https site',
    sent: 'valid upgrade with the origin base in the other scheme',
    request: (context) => ({ set: { origin: swapScheme(context.settings.target.originBase) } }),
    // Accepting an http:// page for an https:// site is the risk; the reverse is only untidy.
    ifAccepted: (context) =>
      context.settings.target.originBase.startsWith('https:') ? Status.Warn : Status.Info,
  }),
  mustRefuse({
    id: 'form-urlencoded',
    title: 'Form POST (urlencoded) with Upgrade headers refused',
    rfc: 'RFC 6455 §4.1, §4.2.1',
    why: FORM_WHY,
    sent: 'POST, Content-Type: application/x-www-form-urlencoded, Upgrade headers, 7-byte body',
    request: () => ({
      method: 'POST',
      set: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '7' },
      body: Buffer.from('a=b&c=d'),
    }),
  }),
  mustRefuse({
    id: 'form-multipart',
    title: 'Form POST (multipart) with Upgrade headers refused',
    rfc: 'RFC 6455 §4.1, §4.2.1',
    why: FORM_WHY,
    sent: 'POST, Content-Type: multipart/form-data, Upgrade headers, small body',
    request: () => {
      const body = Buffer.from(
        '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n',
      );
      return {
        method: 'POST',
        set: {
          'content-type': 'multipart/form-data; boundary=x',
          'content-length': String(body.length),
        },
        body,
      };
    },
  }),
  mustRefuse({
    id: 'form-text-plain',
    title: 'Form POST (text/plain) with Upgrade headers refused',
    rfc: 'RFC 6455 §4.1, §4.2.1',
    why: FORM_WHY,
    sent: 'POST, Content-Type: text/plain, Upgrade headers, 5-byte body',
    request: () => ({
      method: 'POST',
      set: { 'content-type': 'text/plain', 'content-length': '5' },
      body: Buffer.from('hello'),
    }),
  }),
  mustRefuse({
    id: 'plain-get',
    title: 'Plain GET without Upgrade headers not upgraded',
    rfc: 'RFC 6455 §4.2.1',
    why: 'only a request carrying Upgrade: websocket and Connection: Upgrade may switch protocols',
    sent: 'GET without Upgrade, Connection, Sec-WebSocket-* headers',
    request: () => ({
      set: {
        upgrade: null,
        connection: null,
        'sec-websocket-key': null,
        'sec-websocket-version': null,
      },
    }),
  }),
  mustRefuse({
    id: 'key-missing',
    title: 'Missing Sec-WebSocket-Key refused',
    rfc: 'RFC 6455 §4.2.1 item 5',
    why: 'the key is what proves the client speaks WebSocket; without it the handshake is not one',
    sent: 'upgrade without Sec-WebSocket-Key',
    request: () => ({ set: { 'sec-websocket-key': null } }),
  }),
  mustRefuse({
    id: 'key-short',
    title: 'Short Sec-WebSocket-Key refused',
    rfc: 'RFC 6455 §4.2.1 item 5',
    why: 'the key must be base64 of exactly 16 bytes',
    sent: 'Sec-WebSocket-Key of 12 bytes (16 base64 chars)',
    request: () => ({ set: { 'sec-websocket-key': Buffer.alloc(12, 7).toString('base64') } }),
  }),
  mustRefuse({
    id: 'key-long',
    title: 'Long Sec-WebSocket-Key refused',
    rfc: 'RFC 6455 §4.2.1 item 5',
    why: 'the key must be base64 of exactly 16 bytes',
    sent: 'Sec-WebSocket-Key of 32 bytes (44 base64 chars)',
    request: () => ({ set: { 'sec-websocket-key': Buffer.alloc(32, 7).toString('base64') } }),
  }),
  mustRefuse({
    id: 'key-non-base64',
    title: 'Non-base64 Sec-WebSocket-Key refused',
    rfc: 'RFC 6455 §4.2.1 item 5',
    why: 'the key must be base64 of exactly 16 bytes',
    sent: 'Sec-WebSocket-Key: 24 chars with *, ! and spaces',
    request: () => ({ set: { 'sec-websocket-key': '!!!!*not base64 at all==' } }),
  }),
  mustRefuse({
    id: 'key-duplicate',
    title: 'Duplicate Sec-WebSocket-Key refused',
    rfc: 'RFC 6455 §4.2.1 item 5, §11.3.1',
    why: 'the header must appear once; frameworks join duplicates with ", " or keep either one, so proxies and servers may disagree',
    sent: 'two Sec-WebSocket-Key headers with different valid keys',
    request: () => ({ extra: [['Sec-WebSocket-Key', 'AAAAAAAAAAAAAAAAAAAAAA==']] }),
  }),
  ...[8, 12, 14].map((version) =>
    mustRefuse({
      id: `version-${version}`,
      title: `Sec-WebSocket-Version: ${version} refused with 426`,
      rfc: 'RFC 6455 §4.2.2, §4.4',
      why: 'only version 13 is RFC 6455; older drafts (8 = hybi-08) lack its protections, and the refusal must name 13',
      sent: `upgrade with Sec-WebSocket-Version: ${version}`,
      request: () => ({ set: { 'sec-websocket-version': String(version) } }),
      judgeRefusal: judgeVersionRefusal,
    }),
  ),
  mustRefuse({
    id: 'version-missing',
    title: 'Missing Sec-WebSocket-Version refused',
    rfc: 'RFC 6455 §4.2.1 item 6, §4.4',
    why: 'without a version the server cannot know which protocol the client speaks',
    sent: 'upgrade without Sec-WebSocket-Version',
    request: () => ({ set: { 'sec-websocket-version': null } }),
  }),
  mustRefuse({
    id: 'http-1.0',
    title: 'HTTP/1.0 upgrade refused',
    rfc: 'RFC 6455 §4.1 item 1, §4.2.1 item 1',
    why: 'the handshake must be HTTP/1.1 or higher; HTTP/1.0 has no Upgrade mechanism and proxies treat it differently',
    sent: 'valid upgrade headers on a GET ... HTTP/1.0 request line',
    request: () => ({ version: 'HTTP/1.0' }),
  }),
  mustRefuse({
    id: 'host-missing',
    title: 'Missing Host refused',
    rfc: 'RFC 6455 §4.1 item 4, §4.2.1 item 2; RFC 9112 §3.2',
    why: 'a server must know which authority the client asked for (virtual hosts, DNS-rebinding checks)',
    sent: 'upgrade without a Host header',
    request: () => ({ set: { host: null } }),
  }),
  mustRefuse({
    id: 'host-duplicate',
    title: 'Duplicate Host refused',
    rfc: 'RFC 9112 §3.2; RFC 6455 §4.2.1 item 2',
    why: 'a request with two Host headers must get 400: intermediaries may route on one and the server check the other',
    sent: 'two Host headers (the target, then attacker.example)',
    request: () => ({ extra: [['Host', 'attacker.example']] }),
    ifAccepted: Status.Warn,
  }),
  {
    id: 'dns-rebinding',
    group: 'handshake',
    title: 'Foreign Host on a loopback server refused',
    rfc: 'RFC 6455 §10.2, §4.2.1 item 2',
    why: 'through DNS rebinding, a page on attacker.example reaches a server on 127.0.0.1 with Host and Origin both attacker.example: only a Host check stops it',
    bounds: ONE_HANDSHAKE,
    risky: false,
    needsUpgrade: false,
    async run(context) {
      const sent = 'upgrade with Host: attacker.example and Origin: http://attacker.example';
      if (!isLoopback(context.settings.target.hostname)) {
        return {
          status: Status.Info,
          sent: '',
          received: '',
          note: 'not run: the target is not a loopback address',
        };
      }
      const { probe, received } = await tryRequest(context, {
        set: { host: 'attacker.example', origin: 'http://attacker.example' },
      });
      probe.close();
      if (probe.outcome.upgraded) {
        return {
          status: Status.Warn,
          sent,
          received,
          note: 'a rebinding page could open this socket; allow only loopback Host values',
        };
      }
      return { status: Status.Pass, sent, received };
    },
  },
  {
    id: 'refusal-closes',
    group: 'handshake',
    title: 'Refused handshake closes the connection',
    rfc: 'RFC 6455 §4.2.1, §4.4; RFC 9112 §9.6',
    why: 'a server that keeps reading after a refused upgrade parses the next bytes as a new request, which a proxy in front passed as WebSocket data (request smuggling)',
    bounds: 'one connection, < 1 KiB sent, up to 2 x --timeout',
    risky: false,
    needsUpgrade: false,
    async run(context) {
      const first = serializeRequest(
        buildUpgradeRequest(context.settings, { set: { 'sec-websocket-version': '14' } }).request,
      );
      const second = serializeRequest({
        method: 'GET',
        target: '/ironsock-audit-smuggled',
        version: 'HTTP/1.1',
        headers: [['Host', context.settings.target.hostHeader]],
      });
      const sent =
        'upgrade with Sec-WebSocket-Version: 14, then (same write) GET /ironsock-audit-smuggled';
      const probe = await Probe.open(context.settings);
      try {
        await probe.sendHandshake(Buffer.concat([first, second]), undefined);
        const received = describeResponse(probe.outcome, probe, context.settings.timeoutMs);
        const response = probe.outcome.response;
        if (response === null || probe.outcome.upgraded) {
          return {
            status: Status.Info,
            sent,
            received,
            note: 'the first request was not refused; nothing to judge',
          };
        }
        // A second status line after the first response: the smuggled request was answered.
        const secondAt = (): number =>
          probe.raw.bytes().indexOf('HTTP/1.', response.bodyOffset, 'latin1');
        await probe.raw.until(
          () => probe.raw.ended || secondAt() !== -1,
          context.settings.timeoutMs,
        );
        if (secondAt() !== -1) {
          const next = parseResponseHead(probe.raw.bytes().subarray(secondAt()));
          return {
            status: Status.Warn,
            sent,
            received: `${received}, then a second response (${escapeText(next?.statusLine ?? 'partial', 60)})`,
            note: 'the server parsed the bytes after a refused upgrade as a new request',
          };
        }
        if (probe.raw.ended)
          return { status: Status.Pass, sent, received: `${received}, then TCP closed` };
        return {
          status: Status.Warn,
          sent,
          received: `${received}, connection kept open`,
          note: 'send Connection: close and close the connection after refusing an upgrade',
        };
      } finally {
        probe.close();
      }
    },
  },
  bodyCheck('content-length'),
  bodyCheck('chunked'),
  {
    id: 'large-head',
    group: 'handshake',
    title: 'Oversized request head refused',
    rfc: 'RFC 9110 §15.5.20 (431); RFC 6455 §10.4',
    why: 'a server that buffers request heads of any size or header count gives each pending handshake unbounded memory and parse time',
    bounds: 'one connection, 2,500 headers (about 60 KB) in one write, one --timeout',
    risky: true,
    needsUpgrade: false,
    async run(context) {
      const extra: Array<[string, string]> = [];
      for (let i = 0; i < 2500; i++) extra.push([`X-Audit-${i}`, 'ironsock-audit-padding']);
      const sent = 'valid upgrade preceded by 2,500 extra headers (about 60 KB of head)';
      const { probe, received } = await tryRequest(context, { extra });
      probe.close();
      if (probe.outcome.upgraded) {
        return {
          status: Status.Warn,
          sent,
          received,
          note: 'limit the head size (e.g. 16 KiB) and header count',
        };
      }
      return { status: Status.Pass, sent, received };
    },
  },
];

/**
 * A GET upgrade carrying a body that holds one masked text frame, framed by Content-Length or by
 * chunked Transfer-Encoding. The body must never come out as a WebSocket message.
 */
function bodyCheck(framing: 'content-length' | 'chunked'): Check {
  const chunked = framing === 'chunked';
  return {
    id: chunked ? 'request-chunked' : 'request-body',
    group: 'handshake',
    title: chunked
      ? 'Upgrade request with a chunked body refused'
      : 'Upgrade request body not delivered as a message',
    rfc: chunked ? 'RFC 6455 §4.1; RFC 9112 §6.1, §7.1' : 'RFC 6455 §4.1, §4.2.1; RFC 9110 §9.3.1',
    why: 'bytes a proxy saw as an HTTP body must never become WebSocket frames (request smuggling)',
    bounds: ONE_HANDSHAKE,
    risky: false,
    needsUpgrade: false,
    async run(context) {
      const marker = chunked ? 'ironsock-audit-chunked' : 'ironsock-audit-body';
      const frame = Buffer.concat(
        craftFrame({ opcode: Opcode.Text, payload: Buffer.from(marker) }),
      );
      const body = chunked
        ? Buffer.concat([
            Buffer.from(`${frame.length.toString(16)}\r\n`),
            frame,
            Buffer.from('\r\n0\r\n\r\n'),
          ])
        : frame;
      const sent = chunked
        ? `upgrade GET with Transfer-Encoding: chunked and a masked text frame "${marker}" in the chunk`
        : `upgrade GET with Content-Length: ${frame.length} and a masked text frame "${marker}" as body`;
      const { probe, received } = await tryRequest(context, {
        set: chunked
          ? { 'transfer-encoding': 'chunked' }
          : { 'content-length': String(frame.length) },
        body,
      });
      try {
        if (!probe.outcome.upgraded) return { status: Status.Pass, sent, received };
        const delivered = await probe.waitMessage((m) => m.data.toString() === marker);
        if (delivered) {
          return {
            status: Status.Fail,
            sent,
            received: `${received}, then the body came back as a message`,
            note: 'the body was parsed as a WebSocket frame',
          };
        }
        return {
          status: Status.Warn,
          sent,
          received: `${received}, ${probe.closed ? describeClose(probe) : 'body not echoed'}`,
          note: context.profile.echoes
            ? 'a GET upgrade with a body should get 400'
            : 'a GET upgrade with a body should get 400 (server is not an echo server: delivery not observable)',
        };
      } finally {
        probe.close();
      }
    },
  };
}

/** Whether `host` is a loopback name or address (127/8, ::1, localhost). */
function isLoopback(host: string): boolean {
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

/** Slowloris: one header byte per second; a server should close before the bounded wait ends. */
export const slowlorisCheck: Check = {
  id: 'slowloris',
  group: 'handshake',
  title: 'Slow handshake (slowloris) closed',
  rfc: 'RFC 6455 §10.7; RFC 9112 §9.8',
  why: 'a server that waits forever for a header lets a few idle sockets hold all its connection slots',
  bounds: '1 connection, 1 byte per second for --slowloris seconds (default 15), < 100 bytes',
  risky: false,
  needsUpgrade: false,
  async run(context) {
    const seconds = context.tuning.slowlorisSeconds;
    const sent = `request line, then 1 header byte per second for up to ${seconds} s`;
    const probe = await Probe.open(context.settings);
    const { request } = buildUpgradeRequest(context.settings);
    const head = serializeRequest({ ...request, headers: request.headers.slice(0, 1) }).subarray(
      0,
      -2,
    );
    const start = performance.now();
    try {
      void probe.raw.write(head);
      const trickle = Buffer.from('X-Slow: ' + 'a'.repeat(100));
      for (let i = 0; i < seconds && !probe.raw.ended; i++) {
        if (await probe.raw.waitEnd(1000)) break;
        void probe.raw.write(trickle.subarray(i % trickle.length, (i % trickle.length) + 1));
      }
      if (!probe.raw.ended) await probe.raw.waitEnd(Math.min(1000, context.settings.timeoutMs));
      const elapsed = ((probe.raw.ended ? probe.raw.endedAt : performance.now()) - start) / 1000;
      if (probe.raw.ended) {
        const response = parseResponseHead(probe.raw.bytes());
        const answer =
          response !== null
            ? `${describeResponse({ ...probe.outcome, response }, probe, 0)}, `
            : '';
        return {
          status: Status.Pass,
          sent,
          received: `${answer}closed after ${elapsed.toFixed(1)} s`,
        };
      }
      return {
        status: Status.Warn,
        sent,
        received: `still open after ${elapsed.toFixed(1)} s`,
        note: 'set a handshake/headers timeout of about 10 s',
      };
    } finally {
      probe.close();
    }
  },
};
