/**
 * The TCP side of a finished WebSocket close: who closes the TCP connection, and when the
 * socket is released. The engine decides that the WebSocket connection is closed (Close frames
 * exchanged, failed, or transport lost); this decides what happens to the socket under it.
 */
import type { Socket as NetSocket } from 'node:net';
import { nodeNet } from './builtins.js';
import type { Duplex } from 'node:stream';
import type { CloseInfo, Role } from '../protocol/connection.js';

function destroyWhenFlushed(this: Duplex): void {
  this.destroy();
}

/**
 * Ends the transport after the engine reported `info`. Everything queued must already be
 * flushed (our Close frame goes before the FIN). Returns true when the caller should arm its
 * close timeout (the socket is still open and waits for the peer), false when it was destroyed.
 *
 * - Transport lost, terminated or timed out (1006, not clean): destroyed at once.
 * - A server after a clean close on plain TCP, with every byte already in the kernel
 *   (`flushed`): destroyed at once. Closing the descriptor sends those bytes and the FIN
 *   (§7.1.1: the server closes first) with no shutdown call, 'finish' tick or close timer per
 *   connection (issue #12, connect storm). TLS (close_notify) and HTTP/2 streams (END_STREAM)
 *   take the paths below.
 * - A server (§7.1.1: the server closes the TCP connection first), or a client that failed the
 *   connection (§7.1.7): half-closes with a FIN. After a clean close a server releases the
 *   socket as soon as its bytes and the FIN are flushed: the peer has nothing more to send, and
 *   waiting for its FIN (or reset) would only wake us up again, a reset costing an error object
 *   per connection. After a failure it keeps reading instead, so that its Close frame is not
 *   lost to a reset from a peer still sending.
 * - Otherwise (a client after a clean close) it waits for the server's FIN.
 * Reading goes on in every case that waits (`resume`), so the peer's FIN or reset is seen.
 */
export function closeTransport(
  socket: Duplex,
  role: Role,
  info: CloseInfo,
  reading: boolean,
  flushed: boolean,
): boolean {
  if (info.code === 1006 && !info.wasClean) {
    socket.destroy();
    return false;
  }
  if (
    role === 'server' &&
    info.wasClean &&
    flushed &&
    socket instanceof nodeNet.Socket &&
    (socket as NetSocket & { encrypted?: boolean }).encrypted !== true
  ) {
    socket.destroy();
    return false;
  }
  if (reading) socket.resume();
  if (role === 'server' || info.error !== undefined) {
    if (!socket.writableEnded) socket.end();
    if (role === 'server' && info.wasClean) {
      if (socket.writableFinished) socket.destroy();
      else socket.on('finish', destroyWhenFlushed);
    }
  }
  return true;
}
