/**
 * A hostile HTTP answer for client tests: a 404 that declares a 100 MB body and writes it as
 * fast as the client reads, so a test can check that the client stops reading (capped reads).
 */
import type { Socket } from 'node:net';

/** The declared (and at most written) body size. */
export const FLOOD_BYTES = 100_000_000;

/** Starts the 404 flood on `socket`; returns a function giving the body bytes written so far. */
export function floodNotFound(socket: Socket): () => number {
  let sent = 0;
  socket.write(`HTTP/1.1 404 Not Found\r\nContent-Length: ${FLOOD_BYTES}\r\n\r\n`);
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  const pump = (): void => {
    while (sent < FLOOD_BYTES && !socket.destroyed) {
      sent += chunk.length;
      if (!socket.write(chunk)) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
  return () => sent;
}
