/**
 * Framing checks on an established connection (RFC 6455 §5, §7, §8): each sends one kind of
 * invalid frame and expects the server to fail the connection with the right close code.
 */
import { CloseCode } from '../../protocol/codes.js';
import { Status, type Check, type Verdict } from './check.js';
import { escapeText } from './describe.js';
import { closePayload, maskKey, Opcode } from './frames.js';
import { openUpgraded, runViolation, runViolations, skipped } from './violation.js';

const SMALL = 'one connection per probe, < 1 KiB sent, up to 2 x --timeout';

/** Autobahn 6.3.1's invalid sequence: valid Greek text, then an encoded UTF-16 surrogate (ED A0 80). */
const INVALID_UTF8 = Buffer.from([
  0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64,
  0x69, 0x74, 0x65, 0x64,
]);

/** Whether the server echoed a text message starting with `prefix`. */
function echoedPrefix(prefix: string) {
  return (probe: { messages: ReadonlyArray<{ data: Buffer }> }): boolean =>
    probe.messages.some(
      (m) =>
        m.data.subarray(0, prefix.length).toString('latin1') ===
        Buffer.from(prefix).toString('latin1'),
    );
}

/** Echo detection (INFO): many checks use an echo as evidence that a frame was delivered. */
export const echoCheck: Check = {
  id: 'echo',
  group: 'framing',
  title: 'Echo behaviour (used as evidence by later checks)',
  rfc: 'RFC 6455 §6',
  why: 'when the server echoes, a delivered invalid frame is visible; otherwise only closes are',
  bounds: SMALL,
  risky: false,
  needsUpgrade: true,
  async run(context) {
    const text = `ironsock-audit-echo-${Date.now()}`;
    const sent = `masked text message "${text}"`;
    const probe = await openUpgraded(context);
    if (probe === null) return skipped(sent);
    try {
      await probe.sendText(text);
      const echoed = await probe.waitMessage(() => true);
      context.profile.echoes = echoed && probe.hasText(text);
      if (context.profile.echoes)
        return { status: Status.Info, sent, received: 'the same text back: an echo server' };
      if (echoed) {
        const first = probe.messages[0];
        return {
          status: Status.Info,
          sent,
          received: `a different message (${first.binary ? 'binary' : 'text'} "${escapeText(first.data.toString(), 40)}")`,
          note: 'not an echo server: delivery of invalid frames is judged by closes only',
        };
      }
      return {
        status: Status.Info,
        sent,
        received: probe.closed
          ? `closed (${probe.closeFrame?.code ?? 'no Close frame'})`
          : 'no message',
        note: 'not an echo server: delivery of invalid frames is judged by closes only',
      };
    } finally {
      probe.close();
    }
  },
};

/** The framing checks, in the order they run. */
export const framingChecks: Check[] = [
  {
    id: 'unmasked',
    group: 'framing',
    title: 'Unmasked client frame refused',
    rfc: 'RFC 6455 §5.1, §5.3',
    why: 'masking stops a page from making the socket emit bytes that poison intermediary caches; a server MUST close on an unmasked frame',
    bounds: SMALL,
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolation(context, {
        sent: 'unmasked text frame "ironsock-audit-unmasked"',
        expect: [CloseCode.ProtocolError],
        send: (probe) =>
          probe.send({
            opcode: Opcode.Text,
            payload: Buffer.from('ironsock-audit-unmasked'),
            masked: false,
          }),
        delivered: echoedPrefix('ironsock-audit-unmasked'),
        deliveredAs: 'echoed the unmasked message',
      }),
  },
  {
    id: 'opcode-reserved',
    group: 'framing',
    title: 'Reserved opcodes refused',
    rfc: 'RFC 6455 §5.2',
    why: 'an unknown opcode means the peers disagree on the protocol; continuing misreads the stream',
    bounds: '2 connections, < 1 KiB sent, up to 4 x --timeout',
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolations(
        context,
        [0x3, 0xb].map((opcode) => ({
          sent: `frame with reserved opcode 0x${opcode.toString(16)}`,
          expect: [CloseCode.ProtocolError],
          send: (probe) => probe.send({ opcode, payload: Buffer.from('ironsock-audit-opcode') }),
          delivered: echoedPrefix('ironsock-audit-opcode'),
          deliveredAs: 'echoed its payload',
        })),
      ),
  },
  {
    id: 'rsv-bits',
    group: 'framing',
    title: 'RSV bits without an extension refused',
    rfc: 'RFC 6455 §5.2',
    why: 'RSV bits belong to negotiated extensions; a server that ignores them may misread compressed or extended frames',
    bounds: '3 connections, < 1 KiB sent, up to 6 x --timeout',
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolations(
        context,
        [4, 2, 1].map((rsv) => ({
          sent: `text frame with RSV${rsv === 4 ? 1 : rsv === 2 ? 2 : 3} set`,
          expect: [CloseCode.ProtocolError],
          send: (probe) =>
            probe.send({ opcode: Opcode.Text, rsv, payload: Buffer.from('ironsock-audit-rsv') }),
          delivered: echoedPrefix('ironsock-audit-rsv'),
          deliveredAs: 'echoed the message',
        })),
      ),
  },
  {
    id: 'utf8-invalid',
    group: 'framing',
    title: 'Invalid UTF-8 text refused',
    rfc: 'RFC 6455 §8.1, §5.6',
    why: 'text messages MUST be UTF-8; passing invalid text on lets it reach parsers and browsers that treat it differently',
    bounds: SMALL,
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolation(context, {
        sent: 'text frame containing ED A0 80 (an encoded surrogate)',
        expect: [CloseCode.InvalidData],
        send: (probe) => probe.send({ opcode: Opcode.Text, payload: INVALID_UTF8 }),
        delivered: (probe) =>
          probe.messages.some((m) => m.data.length >= 14 && m.data[11] === 0xed),
        deliveredAs: 'echoed the invalid text',
      }),
  },
  {
    id: 'utf8-fail-fast',
    group: 'framing',
    title: 'Invalid UTF-8 in the first of 3 fragments fails fast',
    rfc: 'RFC 6455 §8.1, §5.4',
    why: 'a server that validates only whole messages buffers a message it will reject anyway (Autobahn 6.4)',
    bounds: SMALL,
    risky: false,
    needsUpgrade: true,
    async run(context) {
      const sent =
        'fragment 1/3 (FIN=0) with invalid UTF-8; fragments 2 and 3 only if the server waits';
      const probe = await openUpgraded(context);
      if (probe === null) return skipped(sent);
      try {
        await probe.send({ opcode: Opcode.Text, fin: false, payload: INVALID_UTF8 });
        if (await probe.waitClosed()) {
          const code = probe.closeFrame?.code;
          if (code === CloseCode.InvalidData)
            return { status: Status.Pass, sent, received: 'Close 1007 before the final fragment' };
          return {
            status: Status.Warn,
            sent,
            received: code === undefined ? 'TCP closed without a Close frame' : `Close ${code}`,
            note: 'expected Close 1007',
          };
        }
        await probe.send(
          { opcode: Opcode.Continuation, fin: false, payload: Buffer.from('abc') },
          { opcode: Opcode.Continuation, fin: true, payload: Buffer.from('def') },
        );
        const delivered = await probe.waitMessage(() => true);
        if (delivered) {
          return {
            status: Status.Fail,
            sent,
            received: 'the invalid message was delivered',
            note: 'no UTF-8 validation (§8.1 MUST fail)',
          };
        }
        const closed = probe.closed || (await probe.waitClosed());
        if (closed && probe.closeFrame?.code === CloseCode.InvalidData) {
          return {
            status: Status.Warn,
            sent,
            received: 'Close 1007 only after the final fragment',
            note: 'validates whole messages: invalid input is buffered until the end',
          };
        }
        if (closed) {
          return {
            status: Status.Warn,
            sent,
            received: `closed with ${probe.closeFrame?.code ?? 'no Close frame'} after the final fragment`,
            note: 'expected Close 1007',
          };
        }
        return {
          status: Status.Fail,
          sent,
          received: 'connection still open after the final fragment',
          note: context.profile.echoes
            ? 'expected Close 1007'
            : 'expected Close 1007 (server does not echo)',
        };
      } finally {
        probe.close();
      }
    },
  },
  {
    id: 'control-too-long',
    group: 'framing',
    title: 'Control frame longer than 125 bytes refused',
    rfc: 'RFC 6455 §5.5',
    why: 'control payloads are capped at 125 bytes so they can be interleaved cheaply; larger ones must be refused',
    bounds: SMALL,
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolation(context, {
        sent: 'ping with a 126-byte payload',
        expect: [CloseCode.ProtocolError],
        send: (probe) => probe.send({ opcode: Opcode.Ping, payload: Buffer.alloc(126, 0x61) }),
        delivered: (probe) => probe.pongs > 0,
        deliveredAs: 'answered with a pong',
      }),
  },
  {
    id: 'control-fragmented',
    group: 'framing',
    title: 'Fragmented control frame refused',
    rfc: 'RFC 6455 §5.5, §5.4',
    why: 'control frames MUST NOT be fragmented; accepting one desynchronises message assembly',
    bounds: SMALL,
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolation(context, {
        sent: 'ping with FIN=0, then a continuation with FIN=1',
        expect: [CloseCode.ProtocolError],
        send: (probe) =>
          probe.send(
            { opcode: Opcode.Ping, fin: false, payload: Buffer.from('ping') },
            { opcode: Opcode.Continuation, fin: true, payload: Buffer.from('pong') },
          ),
        delivered: (probe) => probe.pongs > 0,
        deliveredAs: 'answered with a pong',
      }),
  },
  {
    id: 'continuation-unexpected',
    group: 'framing',
    title: 'Continuation without a message refused',
    rfc: 'RFC 6455 §5.4',
    why: 'a continuation frame with no message in progress means the peers disagree on message boundaries',
    bounds: SMALL,
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolation(context, {
        sent: 'continuation frame (FIN=1) "ironsock-audit-cont" with no message in progress',
        expect: [CloseCode.ProtocolError],
        send: (probe) =>
          probe.send({ opcode: Opcode.Continuation, payload: Buffer.from('ironsock-audit-cont') }),
        delivered: echoedPrefix('ironsock-audit-cont'),
        deliveredAs: 'echoed it as a message',
      }),
  },
  {
    id: 'fragment-interleaved',
    group: 'framing',
    title: 'New message inside a fragmented one refused',
    rfc: 'RFC 6455 §5.4',
    why: 'fragments of one message must not be interleaved with another data message; accepting it mixes up messages',
    bounds: SMALL,
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolation(context, {
        sent: 'text FIN=0 "ironsock-audit-a", then a new text frame FIN=1 "ironsock-audit-b"',
        expect: [CloseCode.ProtocolError],
        send: (probe) =>
          probe.send(
            { opcode: Opcode.Text, fin: false, payload: Buffer.from('ironsock-audit-a') },
            { opcode: Opcode.Text, fin: true, payload: Buffer.from('ironsock-audit-b') },
          ),
        delivered: (probe) => probe.messages.some((m) => m.data.includes('ironsock-audit-b')),
        deliveredAs: 'delivered the second message',
      }),
  },
  {
    id: 'length-msb',
    group: 'framing',
    title: '64-bit length with the most significant bit set refused',
    rfc: 'RFC 6455 §5.2',
    why: 'the top bit of a 64-bit length MUST be 0; parsers that read it as signed get negative lengths (CVE-2020-27813 class)',
    bounds: SMALL,
    risky: true,
    needsUpgrade: true,
    run: (context) =>
      runViolation(context, {
        sent: 'binary frame header with length bytes 80 00 00 00 00 00 00 00, then 1 byte',
        expect: [CloseCode.ProtocolError, CloseCode.MessageTooBig],
        followUp: false,
        send: (probe) =>
          probe.raw.write(
            Buffer.concat([
              Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0]),
              maskKey(),
              Buffer.from([0x41]),
            ]),
          ),
      }).then((verdict) =>
        verdict.status === Status.Fail
          ? {
              ...verdict,
              status: Status.Warn,
              note: 'no reaction: the server may be waiting for 2^63 bytes',
            }
          : verdict,
      ),
  },
  {
    id: 'close-one-byte',
    group: 'framing',
    title: 'Close frame with a 1-byte payload refused',
    rfc: 'RFC 6455 §5.5.1',
    why: 'a close body is empty or starts with a 2-byte code; a 1-byte body is malformed',
    bounds: SMALL,
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolation(context, {
        sent: 'Close frame with the 1-byte payload 03',
        expect: [CloseCode.ProtocolError],
        followUp: false,
        send: (probe) => probe.send({ opcode: Opcode.Close, payload: Buffer.from([0x03]) }),
        delivered: (probe) =>
          probe.closeFrame !== null &&
          (probe.closeFrame.code === null || probe.closeFrame.code === CloseCode.Normal),
        deliveredAs: 'completed the closing handshake as if it were valid',
      }),
  },
  {
    id: 'close-codes',
    group: 'framing',
    title: 'Invalid close codes refused',
    rfc: 'RFC 6455 §7.4.1, §7.4.2, §11.7',
    why: 'codes 0-999, 1004-1006, 1015, 1016-2999 and >= 5000 must never appear on the wire; echoing them back confuses peers',
    bounds: '9 connections, < 100 bytes each, up to 9 x --timeout',
    risky: false,
    needsUpgrade: true,
    async run(context) {
      const codes = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000];
      const sent = `Close frames with codes ${codes.join(', ')} (one connection each)`;
      const outcomes: string[] = [];
      let status: Verdict['status'] = Status.Pass;
      const bad: number[] = [];
      for (const code of codes) {
        const probe = await openUpgraded(context);
        if (probe === null) return skipped(sent);
        try {
          await probe.send({ opcode: Opcode.Close, payload: closePayload(code) });
          await probe.waitClosed();
          const reply = probe.closeFrame;
          if (reply !== null && reply.code === CloseCode.ProtocolError) {
            outcomes.push(`${code}->1002`);
          } else if (reply !== null) {
            outcomes.push(`${code}->${reply.code ?? 'empty'}`);
            if (reply.code === code || reply.code === CloseCode.Normal || reply.code === null) {
              status = Status.Fail;
              bad.push(code);
            } else if (status !== Status.Fail) status = Status.Warn;
          } else if (probe.raw.ended) {
            outcomes.push(`${code}->TCP close`);
            if (status !== Status.Fail) status = Status.Warn;
          } else {
            outcomes.push(`${code}->open`);
            status = Status.Fail;
            bad.push(code);
          }
        } finally {
          probe.close();
        }
      }
      return {
        status,
        sent,
        received: outcomes.join(', '),
        note:
          status === Status.Fail
            ? `accepted invalid code(s) ${bad.join(', ')} (expected Close 1002)`
            : status === Status.Warn
              ? 'expected Close 1002 for each'
              : undefined,
      };
    },
  },
  {
    id: 'close-reason-utf8',
    group: 'framing',
    title: 'Close reason with invalid UTF-8 refused',
    rfc: 'RFC 6455 §5.5.1, §8.1',
    why: 'the close reason is UTF-8 text; accepting invalid bytes passes them to logs and applications',
    bounds: SMALL,
    risky: false,
    needsUpgrade: true,
    run: (context) =>
      runViolation(context, {
        sent: 'Close 1000 whose reason contains ED A0 80',
        expect: [CloseCode.InvalidData, CloseCode.ProtocolError],
        followUp: false,
        send: (probe) =>
          probe.send({ opcode: Opcode.Close, payload: closePayload(1000, INVALID_UTF8) }),
        delivered: (probe) =>
          probe.closeFrame?.code === CloseCode.Normal || probe.closeFrame?.code === null,
        deliveredAs: 'completed the closing handshake normally',
      }),
  },
];
