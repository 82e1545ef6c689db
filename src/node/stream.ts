/**
 * `createWebSocketStream(ws, options)`: a `Duplex` over a `WebSocket`, as in ws. Each message
 * becomes a chunk on the readable side (text as a string in object mode, else as bytes); each
 * written chunk is sent as one message. Backpressure both ways: when the readable buffer is
 * full the socket stops being read (`ws.pause()`); a write completes only once its bytes were
 * handed to the kernel. Ending the writable side starts the closing handshake; destroying the
 * stream terminates the connection.
 */
import { Duplex } from 'node:stream';
import type { DuplexOptions } from 'node:stream';
import { WebSocket } from './websocket.js';

/**
 * Wraps `ws` in a Duplex stream. `options` are Node's `DuplexOptions`; `objectMode`/
 * `readableObjectMode` deliver text messages as strings. Errors of the WebSocket destroy the
 * stream with that error.
 */
export function createWebSocketStream(ws: WebSocket, options: DuplexOptions = {}): Duplex {
  let terminateOnDestroy = true;
  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
    readableObjectMode: options.readableObjectMode ?? options.objectMode ?? false,
    read() {
      if (ws.isPaused) ws.resume();
    },
    write(chunk: Buffer | string, _encoding, callback) {
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.once('open', () => ws.send(chunk, callback));
        return;
      }
      ws.send(chunk, callback);
    },
    final(callback) {
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.once('open', () => duplex._final(callback));
        return;
      }
      if (ws.readyState === WebSocket.CLOSED) {
        callback();
        return;
      }
      ws.once('close', () => callback());
      ws.close();
    },
    destroy(error, callback) {
      if (ws.readyState === WebSocket.CLOSED) {
        callback(error);
        return;
      }
      let called = false;
      ws.once('close', () => {
        if (!called) {
          called = true;
          callback(error);
        }
      });
      if (terminateOnDestroy) ws.terminate();
    },
  });
  const objectText = duplex.readableObjectMode;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const chunk = objectText && !isBinary ? data.toString('utf8') : data;
    if (!duplex.push(chunk)) ws.pause();
  });
  ws.once('error', (error: Error) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;
    duplex.destroy(error);
  });
  ws.once('close', () => {
    if (duplex.destroyed) return;
    duplex.push(null);
  });
  duplex.on('end', () => {
    if (duplex.writableFinished) duplex.destroy();
  });
  duplex.on('finish', () => {
    if (duplex.readableEnded) duplex.destroy();
  });
  return duplex;
}
