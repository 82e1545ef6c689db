/**
 * Reference server: the least work a correct WebSocket echo server does. Hand-written
 * handshake (§4.2.1 checks, §4.2.2 Accept), then a streaming frame loop: each client frame's
 * header is checked (§5.2 RSV bits, §5.1 mask bit, §5.5 control frames, §5.4 fragmentation
 * order) and re-framed unmasked, and the payload is unmasked straight into the output buffer as
 * it arrives, so every byte is touched once and each socket read produces one write.
 *
 * It accepts binary messages only: a text frame is answered with Close 1003 (§7.4.1 "cannot
 * accept"), which spares it UTF-8 validation. Messages above 1 MiB get Close 1009.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { serveControl } from './control.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_MESSAGE = 1024 * 1024;
const MAX_HEAD = 8192;

/** Per-connection parser state. */
class Peer {
  head: Buffer | null = Buffer.alloc(0);
  header = Buffer.alloc(14);
  headerLength = 0;
  left = 0;
  key0 = 0;
  key1 = 0;
  key2 = 0;
  key3 = 0;
  keyOffset = 0;
  opcode = 0;
  inMessage = false;
  messageLength = 0;
  control = Buffer.alloc(125);
  controlLength = 0;
  dead = false;
  constructor(readonly socket: Socket) {}
}

const peers = new Set<Peer>();

function closeFrame(code: number): Buffer {
  return Buffer.from([0x88, 2, code >>> 8, code & 0xff]);
}

function failPeer(peer: Peer, code: number, pending: Buffer, length: number): void {
  if (length > 0) peer.socket.write(pending.subarray(0, length));
  peer.socket.end(closeFrame(code));
  peer.dead = true;
}

/** Writes a server (unmasked) header and returns the new offset (§5.2). */
function putHeader(out: Buffer, o: number, first: number, length: number): number {
  out[o] = first;
  if (length <= 125) {
    out[o + 1] = length;
    return o + 2;
  }
  if (length <= 0xffff) {
    out[o + 1] = 126;
    out.writeUInt16BE(length, o + 2);
    return o + 4;
  }
  out[o + 1] = 127;
  out.writeUInt32BE(Math.floor(length / 0x100000000), o + 2);
  out.writeUInt32BE(length >>> 0, o + 6);
  return o + 10;
}

/** §5.3: target[t + j] = source[s + j] ^ key[(keyOffset + j) % 4], four bytes per step. */
function unmaskInto(
  source: Buffer,
  s: number,
  target: Buffer,
  t: number,
  length: number,
  peer: Peer,
  keyOffset: number,
): void {
  const keys = [peer.key0, peer.key1, peer.key2, peer.key3];
  const r0 = keys[keyOffset & 3];
  const r1 = keys[(keyOffset + 1) & 3];
  const r2 = keys[(keyOffset + 2) & 3];
  const r3 = keys[(keyOffset + 3) & 3];
  let j = 0;
  for (; j + 4 <= length; j += 4) {
    target[t + j] = source[s + j] ^ r0;
    target[t + j + 1] = source[s + j + 1] ^ r1;
    target[t + j + 2] = source[s + j + 2] ^ r2;
    target[t + j + 3] = source[s + j + 3] ^ r3;
  }
  for (; j < length; j++) target[t + j] = source[s + j] ^ keys[(keyOffset + j) & 3];
}

function onFrames(peer: Peer, chunk: Buffer): void {
  const n = chunk.length;
  const out = Buffer.allocUnsafe(n + 140);
  let o = 0;
  let i = 0;
  while (i < n) {
    if (peer.left > 0) {
      const take = Math.min(n - i, peer.left);
      const k = peer.keyOffset;
      const isControl = peer.opcode >= 8;
      const target = isControl ? peer.control : out;
      const t = isControl ? peer.controlLength : o;
      unmaskInto(chunk, i, target, t, take, peer, k);
      if (isControl) peer.controlLength = t + take;
      else o = t + take;
      i += take;
      peer.left -= take;
      peer.keyOffset = (k + take) & 3;
      if (peer.left > 0) break;
    } else {
      const h = peer.header;
      h[peer.headerLength++] = chunk[i++];
      if (peer.headerLength < 2) continue;
      const length7 = h[1] & 0x7f;
      const need = 6 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0);
      if (peer.headerLength < need) continue;
      peer.headerLength = 0;
      const fin = (h[0] & 0x80) !== 0;
      const opcode = h[0] & 0x0f;
      // §5.2: RSV bits MUST be 0 without an extension; §5.1: client frames MUST be masked.
      if ((h[0] & 0x70) !== 0 || (h[1] & 0x80) === 0) return failPeer(peer, 1002, out, o);
      let length = length7;
      if (length7 === 126) length = h.readUInt16BE(2);
      else if (length7 === 127) length = h.readUInt32BE(2) * 0x100000000 + h.readUInt32BE(6);
      const keyAt = need - 4;
      peer.key0 = h[keyAt];
      peer.key1 = h[keyAt + 1];
      peer.key2 = h[keyAt + 2];
      peer.key3 = h[keyAt + 3];
      peer.keyOffset = 0;
      peer.opcode = opcode;
      peer.left = length;
      if (opcode >= 8) {
        // §5.5: control frames have at most 125 bytes of payload and are never fragmented.
        if (opcode > 10 || length > 125 || !fin) return failPeer(peer, 1002, out, o);
        peer.controlLength = 0;
      } else {
        if (opcode === 1) return failPeer(peer, 1003, out, o);
        // §5.4: a continuation needs a message in progress; a new message needs none.
        if (opcode === 0 ? !peer.inMessage : opcode !== 2 || peer.inMessage) {
          return failPeer(peer, 1002, out, o);
        }
        peer.messageLength = opcode === 0 ? peer.messageLength + length : length;
        if (peer.messageLength > MAX_MESSAGE) return failPeer(peer, 1009, out, o);
        peer.inMessage = !fin;
        o = putHeader(out, o, h[0], length);
      }
      if (length > 0) continue;
    }
    // A frame is complete.
    if (peer.opcode === 9) {
      o = putHeader(out, o, 0x8a, peer.controlLength);
      peer.control.copy(out, o, 0, peer.controlLength);
      o += peer.controlLength;
    } else if (peer.opcode === 8) {
      // §5.5.1: echo the status code back, then the server closes TCP first (§7.1.1).
      const code = peer.controlLength >= 2 ? peer.control.readUInt16BE(0) : 0;
      if (o > 0) peer.socket.write(out.subarray(0, o));
      peer.socket.end(code === 0 ? Buffer.from([0x88, 0]) : closeFrame(code));
      peer.dead = true;
      return;
    }
  }
  if (o > 0) peer.socket.write(out.subarray(0, o));
}

function onHandshake(peer: Peer, chunk: Buffer): void {
  const head = Buffer.concat([peer.head as Buffer, chunk]);
  const end = head.indexOf('\r\n\r\n');
  if (end < 0) {
    if (head.length > MAX_HEAD) peer.socket.destroy();
    else peer.head = head;
    return;
  }
  const lines = head.toString('latin1', 0, end).split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const key = headers.get('sec-websocket-key');
  // §4.2.1: GET, HTTP/1.1, Upgrade: websocket, Connection: Upgrade, a 16-byte key, version 13.
  const ok =
    lines[0].startsWith('GET ') &&
    lines[0].endsWith(' HTTP/1.1') &&
    headers.get('upgrade')?.toLowerCase() === 'websocket' &&
    /(^|,)\s*upgrade\s*(,|$)/i.test(headers.get('connection') ?? '') &&
    headers.get('sec-websocket-version') === '13' &&
    key !== undefined &&
    Buffer.from(key, 'base64').length === 16;
  if (!ok) {
    peer.socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    peer.dead = true;
    return;
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  peer.socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  peer.head = null;
  peers.add(peer);
  if (head.length > end + 4) onFrames(peer, head.subarray(end + 4));
}

const server = createServer({ noDelay: true }, (socket) => {
  const peer = new Peer(socket);
  socket.on('data', (chunk: Buffer) => {
    if (peer.dead) return;
    if (peer.head !== null) onHandshake(peer, chunk);
    else onFrames(peer, chunk);
  });
  socket.on('error', () => {});
  socket.on('close', () => peers.delete(peer));
});
server.listen(0, '127.0.0.1', 1024, () => {
  serveControl((server.address() as AddressInfo).port, {
    broadcast: (data) => {
      const frame = Buffer.allocUnsafe(data.length + 10);
      const o = putHeader(frame, 0, 0x82, data.length);
      data.copy(frame, o);
      const bytes = frame.subarray(0, o + data.length);
      for (const peer of peers) if (!peer.dead) peer.socket.write(bytes);
    },
    connections: () => peers.size,
  });
});
