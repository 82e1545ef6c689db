/**
 * Resource-limit checks (RFC 6455 §10.4, RFC 7692 §8.1): declared lengths, the message-size
 * limit, tiny fragments, decompression bombs, ping floods and idle connections. Every probe is
 * bounded in bytes sent, bytes read (`--max-bytes`) and time.
 */
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { CloseCode } from '../../protocol/codes.js';
import { createDeflateOffer } from '../../protocol/extensions/permessage-deflate.js';
import { parseExtensionHeader } from '../../protocol/handshake/index.js';
import { Status, type Check, type CheckContext, type Verdict } from './check.js';
import { describeClose, formatBytes } from './describe.js';
import { craftFrame, craftHeaderOnly, Opcode } from './frames.js';
import { headerValues } from './http.js';
import type { Probe } from './session.js';
import { openUpgraded, runViolation, skipped } from './violation.js';

const TOO_BIG = [
  CloseCode.MessageTooBig,
  CloseCode.PolicyViolation,
  CloseCode.ProtocolError,
] as const;

/** A limit above this is reported as WARN: one connection can hold that much memory. */
export const GENEROUS_LIMIT = 16 * 1024 * 1024;

/**
 * Sends a header declaring `length` bytes (no payload) and waits `quietMs`: returns the close
 * code (or 'tcp') when the server refused the declaration, or null when it kept waiting.
 */
async function declare(
  context: CheckContext,
  length: number,
  quietMs: number,
): Promise<number | 'tcp' | null | 'refused'> {
  const probe = await openUpgraded(context);
  if (probe === null) return 'refused';
  try {
    await probe.raw.write(craftHeaderOnly(Opcode.Binary, length));
    await probe.waitClosed(quietMs);
    if (probe.closeFrame !== null) return probe.closeFrame.code ?? 'tcp';
    return probe.raw.ended ? 'tcp' : null;
  } finally {
    probe.close();
  }
}

/** Frame declaring 2^40 bytes: a server must refuse it from the header alone. */
export const hugeLengthCheck: Check = {
  id: 'huge-length',
  group: 'limits',
  title: 'Frame declaring 2^40 bytes refused at once',
  rfc: 'RFC 6455 §10.4, §7.4.1 (1009)',
  why: 'a server that trusts the declared length allocates or waits for a terabyte; it must close with 1009 from the header',
  bounds: 'one connection, 14-byte header, no payload, --timeout',
  risky: true,
  needsUpgrade: true,
  run: (context) =>
    runViolation(context, {
      sent: 'binary frame header declaring 2^40 bytes (1 TiB), no payload',
      expect: [CloseCode.MessageTooBig],
      followUp: false,
      send: (probe) => probe.raw.write(craftHeaderOnly(Opcode.Binary, 2 ** 40)),
    }).then((verdict) =>
      verdict.status === Status.Fail
        ? {
            ...verdict,
            status: Status.Warn,
            note: 'the server waits for 1 TiB of payload: no limit checked on the declared length',
          }
        : verdict,
    ),
};

/**
 * For servers that do not judge declared lengths: one real message of `--max-bytes` bytes,
 * streamed in 64 KiB writes, stopping as soon as the server closes.
 */
async function realBytes(context: CheckContext, sentBefore: string): Promise<Verdict> {
  const total = context.tuning.maxBytes;
  const sent = `${sentBefore}; 1 TiB declaration accepted, so one real ${formatBytes(total)} binary message`;
  const probe = await openUpgraded(context);
  if (probe === null) return skipped(sent);
  try {
    await probe.raw.write(craftHeaderOnly(Opcode.Binary, total));
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    let written = 0;
    while (written < total && !probe.closed) {
      const size = Math.min(chunk.length, total - written);
      await probe.raw.write(chunk.subarray(0, size));
      written += size;
    }
    await probe.raw.until(
      () => probe.closed || probe.messages.length > 0 || probe.oversizedFrame,
      context.settings.timeoutMs,
    );
    if (probe.closeFrame !== null || (probe.raw.ended && !probe.raw.capped)) {
      const received = `declared lengths not checked; closed after about ${formatBytes(written)} of payload (${describeClose(probe)})`;
      return written >= GENEROUS_LIMIT
        ? {
            status: Status.Warn,
            sent,
            received,
            note: `limit above ${formatBytes(GENEROUS_LIMIT)}`,
          }
        : { status: Status.Info, sent, received };
    }
    const echoed = probe.messages.length > 0 || probe.oversizedFrame || probe.raw.capped;
    return {
      status: Status.Warn,
      sent,
      received: echoed
        ? `accepted and echoed all ${formatBytes(total)}`
        : `accepted all ${formatBytes(total)} without closing`,
      note: 'no message size limit observed up to --max-bytes, and none on declared lengths',
    };
  } finally {
    probe.close();
  }
}

/** Binary search of the largest declared frame length the server lets through. */
export const messageLimitCheck: Check = {
  id: 'message-limit',
  group: 'limits',
  title: 'Message size limit',
  rfc: 'RFC 6455 §10.4',
  why: 'each connection may hold up to the limit in memory; limits of 100 MiB (a common default) let a few clients exhaust a server',
  bounds:
    'about 12 connections, headers only (no payload), min(--timeout, 1 s) each; if a 1 TiB declaration is accepted, one real message of --max-bytes',
  risky: true,
  needsUpgrade: true,
  async run(context) {
    const quietMs = Math.min(context.settings.timeoutMs, 1000);
    const sent =
      'frame headers only (no payload) declaring sizes from 1 KiB to 1 TiB, binary search';
    let low = 2 ** 10;
    let high = 2 ** 40;
    const first = await declare(context, low, quietMs);
    if (first === 'refused') return skipped(sent);
    if (first !== null) {
      return {
        status: Status.Info,
        sent,
        received: `refused a 1 KiB declaration (${first})`,
        note: 'limit below 1 KiB',
      };
    }
    const top = await declare(context, high, quietMs);
    if (top === 'refused') return skipped(sent);
    if (top === null) return realBytes(context, sent);
    let refusedCode: number | 'tcp' | 'refused' = top;
    // Bisect the exponent first, then the value, to about 1/64 of the limit.
    let lowExp = 10;
    let highExp = 40;
    while (highExp - lowExp > 1) {
      const mid = (lowExp + highExp) >> 1;
      const result = await declare(context, 2 ** mid, quietMs);
      if (result === null) lowExp = mid;
      else {
        highExp = mid;
        refusedCode = result;
      }
    }
    low = 2 ** lowExp;
    high = 2 ** highExp;
    while (high - low > Math.max(1, low / 64)) {
      const mid = Math.floor((low + high) / 2);
      const result = await declare(context, mid, quietMs);
      if (result === null) low = mid;
      else {
        high = mid;
        refusedCode = result;
      }
    }
    context.profile.observedLimit = low;
    const how = refusedCode === 'tcp' ? 'TCP close' : `Close ${refusedCode}`;
    const received = `accepts ${formatBytes(low)} (${low} B), refuses ${formatBytes(high)} (${high} B, ${how})`;
    const wsDefault = 100 * 1024 * 1024;
    const note =
      low <= wsDefault && wsDefault < high ? 'matches the 100 MiB default of ws' : undefined;
    if (low >= GENEROUS_LIMIT) {
      return {
        status: Status.Warn,
        sent,
        received,
        note: `limit of about ${formatBytes(low)} per message is above ${formatBytes(GENEROUS_LIMIT)}${note ? `; ${note}` : ''}`,
      };
    }
    return { status: Status.Info, sent, received, note };
  },
};

/** Thousands of 1-byte fragments: a server should bound per-fragment cost, not only bytes. */
export const tinyFragmentsCheck: Check = {
  id: 'tiny-fragments',
  group: 'limits',
  title: 'Thousands of tiny fragments',
  rfc: 'RFC 6455 §5.4, §10.4',
  why: 'per-frame bookkeeping costs far more than one byte; without a fragment limit a small message costs a lot of memory and CPU',
  bounds: 'one connection, --fragments frames of 7 bytes (default 10,000: 70 KB), 2 x --timeout',
  risky: true,
  needsUpgrade: true,
  async run(context) {
    const count = context.tuning.fragments;
    const sent = `text message of ${count} one-byte fragments`;
    const probe = await openUpgraded(context);
    if (probe === null) return skipped(sent);
    try {
      const batch: Uint8Array[] = [];
      for (let i = 0; i < count && !probe.raw.ended; i++) {
        batch.push(
          ...craftFrame({
            opcode: i === 0 ? Opcode.Text : Opcode.Continuation,
            fin: i === count - 1,
            payload: Buffer.from('a'),
          }),
        );
        if (batch.length >= 1000 || i === count - 1) {
          await probe.raw.write(batch.splice(0));
        }
      }
      await probe.raw.until(
        () => probe.closed || probe.messages.length > 0,
        context.settings.timeoutMs * 2,
      );
      if (probe.messages.length > 0) {
        const size = probe.messages[0].data.length;
        return {
          status: Status.Info,
          sent,
          received: `echoed a ${size}-byte message assembled from ${count} fragments`,
          note: 'fine if the server charges a per-fragment cost against its message limit (raise --fragments to find it)',
        };
      }
      if (probe.closed) {
        const code = probe.closeFrame?.code;
        return {
          status:
            code !== undefined && code !== null && (TOO_BIG as readonly number[]).includes(code)
              ? Status.Pass
              : Status.Info,
          sent,
          received: describeClose(probe),
        };
      }
      return {
        status: Status.Info,
        sent,
        received: 'no message and no close',
        note: context.profile.echoes
          ? 'the echo server neither delivered nor refused the message'
          : 'server does not echo: acceptance not observable',
      };
    } finally {
      probe.close();
    }
  },
};

let bombCache: { bytes: number; data: Buffer } | null = null;

/**
 * A raw-deflate stream of `bytes` zero bytes, built from one full-flushed block of 1 MiB of
 * zeros repeated (a full flush resets the window, so the block is independent of what precedes
 * it). Ends at a sync flush, whose trailing 00 00 FF FF permessage-deflate strips (RFC 7692 §7.2.1).
 */
export function deflateBomb(bytes: number): Buffer {
  if (bombCache?.bytes === bytes) return bombCache.data;
  const block = deflateRawSync(Buffer.alloc(1024 * 1024), {
    level: 9,
    finishFlush: zlib.Z_FULL_FLUSH,
  });
  const repeats = Math.max(1, Math.ceil(bytes / (1024 * 1024)));
  const data = Buffer.concat(Array.from({ length: repeats }, () => block)).subarray(
    0,
    block.length * repeats - 4,
  );
  bombCache = { bytes, data };
  return data;
}

/** Decompression bomb, when the server negotiates permessage-deflate. */
export const deflateBombCheck: Check = {
  id: 'deflate-bomb',
  group: 'limits',
  title: 'Decompression bomb refused',
  rfc: 'RFC 7692 §8.1; RFC 6455 §10.4',
  why: 'a few KB of deflate data can inflate to gigabytes; the limit must apply to inflated bytes, while inflating',
  bounds:
    'one connection, about 1 KiB sent per inflated MiB (--bomb-mib, default 256), reads at most --max-bytes, 2 x --timeout',
  risky: true,
  needsUpgrade: true,
  async run(context) {
    const offer = createDeflateOffer({});
    const inflated = context.tuning.bombBytes;
    const sentBase = `upgrade offering ${offer}`;
    const probe = await openUpgraded(context, offer);
    if (probe === null) return skipped(sentBase);
    try {
      const response = probe.outcome.response;
      let negotiated = false;
      try {
        negotiated =
          response !== null &&
          headerValues(response, 'sec-websocket-extensions').some((value) =>
            parseExtensionHeader(value).some(
              (extension) => extension.name === 'permessage-deflate',
            ),
          );
      } catch {
        return {
          status: Status.Warn,
          sent: sentBase,
          received: 'unparsable Sec-WebSocket-Extensions in the 101',
          note: 'RFC 6455 §9.1 grammar; clients must fail such a handshake',
        };
      }
      if (!negotiated) {
        return {
          status: Status.Pass,
          sent: sentBase,
          received: '101 without permessage-deflate',
          note: 'compression not negotiated: no bomb possible',
        };
      }
      const bomb = deflateBomb(inflated);
      const sent = `${sentBase}; a ${formatBytes(bomb.length)} compressed message inflating to ${formatBytes(inflated)}`;
      await probe.send({ opcode: Opcode.Binary, rsv: 4, payload: bomb });
      await probe.raw.until(
        () => probe.closed || probe.frames.some((f) => f.opcode <= 2) || probe.oversizedFrame,
        context.settings.timeoutMs * 2,
      );
      if (probe.frames.some((f) => f.opcode <= 2) || probe.oversizedFrame || probe.raw.capped) {
        return {
          status: Status.Fail,
          sent,
          received: 'the server inflated it and started sending it back',
          note: 'no limit on inflated size',
        };
      }
      if (probe.closed) {
        const code = probe.closeFrame?.code;
        return {
          status: code === CloseCode.MessageTooBig ? Status.Pass : Status.Warn,
          sent,
          received: describeClose(probe),
          note: code === CloseCode.MessageTooBig ? undefined : 'expected Close 1009',
        };
      }
      return {
        status: context.profile.echoes ? Status.Warn : Status.Info,
        sent,
        received: 'no message and no close',
        note: context.profile.echoes
          ? 'an echo server accepted the bomb without answering'
          : 'server does not echo: inflation not observable',
      };
    } finally {
      probe.close();
    }
  },
};

/** Ping flood: bounded count; the server must survive (and may close 1008). */
export const pingFloodCheck: Check = {
  id: 'ping-flood',
  group: 'limits',
  title: 'Ping flood survived',
  rfc: 'RFC 6455 §5.5.2, §5.5.3, §10.4',
  why: 'each ping forces a pong; a server that queues them without bound can be made to buffer a lot for a client that never reads',
  bounds: 'one connection, --pings pings of 10 bytes (default 10,000: 100 KB), 2 x --timeout',
  risky: true,
  needsUpgrade: true,
  async run(context) {
    const count = context.tuning.pings;
    const sent = `${count} pings with 4-byte payloads in one burst`;
    const probe = await openUpgraded(context);
    if (probe === null) return skipped(sent);
    try {
      const start = performance.now();
      const batch: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        batch.push(
          ...craftFrame({
            opcode: Opcode.Ping,
            payload: Buffer.from([i >>> 24, i >>> 16, i >>> 8, i].map((b) => b & 0xff)),
          }),
        );
        if (batch.length >= 1000 || i === count - 1) void probe.raw.write(batch.splice(0));
      }
      await probe.raw.until(
        () => probe.closed || probe.pongs >= count,
        context.settings.timeoutMs * 2,
      );
      const ms = Math.round(performance.now() - start);
      const received = `${probe.pongs} pongs in ${ms} ms${probe.closed ? `, then ${describeClose(probe)}` : ''}`;
      return {
        status: Status.Info,
        sent,
        received,
        note:
          probe.pongs < count && !probe.closed
            ? 'not every ping was answered (allowed: §5.5.3)'
            : undefined,
      };
    } finally {
      probe.close();
    }
  },
};

/** Idle connection: how long the server keeps a silent (but pong-answering) client. */
export const idleCheck: Check = {
  id: 'idle-timeout',
  group: 'limits',
  title: 'Idle connection timeout',
  rfc: 'RFC 6455 §5.5.2',
  why: 'connections that never send anything still hold a slot; servers usually ping and drop dead peers',
  bounds: 'one connection, nothing sent but pongs, waits --idle seconds (default 30)',
  risky: false,
  needsUpgrade: true,
  async run(context): Promise<Verdict> {
    const seconds = context.tuning.idleSeconds;
    const sent = `nothing for up to ${seconds} s (pings answered)`;
    const probe: Probe | null = await openUpgraded(context);
    if (probe === null) return skipped(sent);
    const start = performance.now();
    try {
      await probe.waitClosed(seconds * 1000);
      const elapsed = ((performance.now() - start) / 1000).toFixed(1);
      const pings =
        probe.pings > 0 ? `; the server sent ${probe.pings} ping(s)` : '; no pings from the server';
      if (probe.closed)
        return {
          status: Status.Info,
          sent,
          received: `${describeClose(probe)} after ${elapsed} s${pings}`,
        };
      return {
        status: Status.Info,
        sent,
        received: `still open after ${elapsed} s${pings}`,
        note: 'idle connections are kept at least this long',
      };
    } finally {
      probe.close();
    }
  },
};

/** Limit checks, in the order they run. */
export const limitChecks: Check[] = [
  hugeLengthCheck,
  messageLimitCheck,
  tinyFragmentsCheck,
  deflateBombCheck,
  pingFloodCheck,
  idleCheck,
];
