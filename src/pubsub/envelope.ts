/**
 * The bus envelope: one bus message carries a batch of publishes for one channel, stamped with
 * the sending node's id and the per-node, per-channel sequence number of its first message.
 *
 * ```
 * 0      u8   magic 0x69 ('i')
 * 1      u8   version (1)
 * 2      u8   kind: 0 = data batch, 1 = liveness probe
 * 3      u8   node id length L (1..64), then L bytes of node id (ASCII)
 * 4+L    u48  sequence number of the first message (probe: the probe token), big-endian
 * 10+L   u32  number of messages (probe: 0)
 * then per message:
 *        u8   flags (bit 0: binary)
 *        u16  topic length T, u32 payload length P, T bytes topic (UTF-8), P bytes payload
 * ```
 * Message n of a batch has sequence number `first + n`: a receiver that knows the last number
 * it saw from that node on that channel knows exactly how many messages it missed.
 */

export const ENVELOPE_MAGIC = 0x69;
export const ENVELOPE_VERSION = 1;
export const EnvelopeKind = { Data: 0, Probe: 1 } as const;
export type EnvelopeKind = (typeof EnvelopeKind)[keyof typeof EnvelopeKind];

/** Longest node id, in bytes. */
export const MAX_NODE_ID = 64;
/** Bytes before the first message for a node id of `idLength` bytes. */
export function envelopeHeaderSize(idLength: number): number {
  return 4 + idLength + 10;
}
const MESSAGE_HEADER = 7;

/**
 * Builds one data batch in a growable buffer. The header space is reserved at the start and
 * filled by `finish`; payloads are copied in at `add` time, so callers may reuse their buffers.
 */
export class BatchWriter {
  private buffer: Buffer;
  private used: number;
  count = 0;
  /** Payload + topic bytes added so far. */
  bytes = 0;
  private readonly header: number;

  constructor(
    private readonly nodeId: Buffer,
    initial = 4096,
  ) {
    this.header = envelopeHeaderSize(nodeId.length);
    this.buffer = Buffer.allocUnsafe(Math.max(initial, this.header + 64));
    this.used = this.header;
  }

  /** Appends one message (`topic` already UTF-8 encoded). */
  add(topic: Buffer, payload: Uint8Array, isBinary: boolean): void {
    const need = MESSAGE_HEADER + topic.length + payload.length;
    if (this.used + need > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + need));
      this.buffer.copy(grown, 0, 0, this.used);
      this.buffer = grown;
    }
    const b = this.buffer;
    let at = this.used;
    b[at] = isBinary ? 1 : 0;
    b.writeUInt16BE(topic.length, at + 1);
    b.writeUInt32BE(payload.length, at + 3);
    at += MESSAGE_HEADER;
    topic.copy(b, at);
    at += topic.length;
    b.set(payload, at);
    this.used = at + payload.length;
    this.count++;
    this.bytes += topic.length + payload.length;
  }

  /** Writes the header and returns the finished envelope (a view of this writer's buffer). */
  finish(firstSeq: number): Buffer {
    writeHeader(this.buffer, EnvelopeKind.Data, this.nodeId, firstSeq, this.count);
    return this.buffer.subarray(0, this.used);
  }
}

function writeHeader(
  b: Buffer,
  kind: EnvelopeKind,
  nodeId: Buffer,
  seq: number,
  count: number,
): void {
  b[0] = ENVELOPE_MAGIC;
  b[1] = ENVELOPE_VERSION;
  b[2] = kind;
  b[3] = nodeId.length;
  nodeId.copy(b, 4);
  const at = 4 + nodeId.length;
  b.writeUIntBE(seq, at, 6);
  b.writeUInt32BE(count, at + 6);
}

/** A probe envelope: kind 1, the token in the sequence field, no messages. */
export function encodeProbe(nodeId: Buffer, token: number): Buffer {
  const b = Buffer.allocUnsafe(envelopeHeaderSize(nodeId.length));
  writeHeader(b, EnvelopeKind.Probe, nodeId, token, 0);
  return b;
}

/** The header of a received envelope; `at` is where its first message starts. */
export interface EnvelopeHeader {
  kind: EnvelopeKind;
  nodeId: string;
  seq: number;
  count: number;
  at: number;
}

/**
 * Reads an envelope header. Returns null for anything that is not a well-formed envelope of
 * this version (a foreign publisher on the same channel must not crash a node).
 */
export function readHeader(message: Uint8Array): EnvelopeHeader | null {
  const b = Buffer.isBuffer(message)
    ? message
    : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (b.length < 4 || b[0] !== ENVELOPE_MAGIC || b[1] !== ENVELOPE_VERSION) return null;
  const kind = b[2];
  const idLength = b[3];
  if ((kind !== EnvelopeKind.Data && kind !== EnvelopeKind.Probe) || idLength === 0) return null;
  if (idLength > MAX_NODE_ID || b.length < envelopeHeaderSize(idLength)) return null;
  const at = 4 + idLength;
  return {
    kind: kind as EnvelopeKind,
    nodeId: b.toString('latin1', 4, at),
    seq: b.readUIntBE(at, 6),
    count: b.readUInt32BE(at + 6),
    at: at + 10,
  };
}

/**
 * Calls `each(topic, payload, isBinary)` for the messages of a data envelope, in order.
 * `payload` is a view of `message`. Returns false (after delivering the well-formed prefix)
 * when the envelope is truncated or its count does not match.
 */
export function forEachMessage(
  message: Uint8Array,
  header: EnvelopeHeader,
  each: (topic: string, payload: Buffer, isBinary: boolean) => void,
): boolean {
  const b = Buffer.isBuffer(message)
    ? message
    : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  let at = header.at;
  // A batch usually repeats one topic: decode it once while the bytes stay the same.
  let topic = '';
  let topicAt = -1;
  let topicLengthSeen = -1;
  for (let n = 0; n < header.count; n++) {
    if (at + MESSAGE_HEADER > b.length) return false;
    const isBinary = (b[at] & 1) === 1;
    const topicLength = b.readUInt16BE(at + 1);
    const payloadLength = b.readUInt32BE(at + 3);
    at += MESSAGE_HEADER;
    if (at + topicLength + payloadLength > b.length) return false;
    if (
      topicLength !== topicLengthSeen ||
      b.compare(b, topicAt, topicAt + topicLength, at, at + topicLength) !== 0
    ) {
      topic = b.toString('utf8', at, at + topicLength);
      topicLengthSeen = topicLength;
    }
    topicAt = at;
    at += topicLength;
    each(topic, b.subarray(at, at + payloadLength), isBinary);
    at += payloadLength;
  }
  return at === b.length;
}
