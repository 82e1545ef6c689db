/**
 * `createWebSocketStream(ws, options)`: a `Duplex` over a `WebSocket`, as in ws. Each message
 * becomes a chunk on the readable side (text as a string in object mode, else as bytes); each
 * written chunk is sent as one message. Backpressure both ways: when the readable buffer is
 * full the socket stops being read (`ws.pause()`); a write completes only once its bytes were
 * handed to the kernel. Ending the writable side starts the closing handshake; destroying the
 * stream terminates the connection.
 *
 * The life cycle follows ws's, so code written for ws behaves the same:
 * - writes made while the socket is CONNECTING wait for `'open'`, in order;
 * - `end()` while CONNECTING waits for `'open'` and then starts the closing handshake; if the
 *   handshake fails instead, the stream is destroyed with the handshake error;
 * - the stream is destroyed (and emits `'close'`) once both `'end'` and `'finish'` were emitted,
 *   or when the WebSocket reports an error (the stream gets that error);
 * - `destroy()` terminates the connection unless it already failed, and `'close'` follows the
 *   WebSocket's own `'close'`.
 */
import type { Duplex } from 'node:stream';
import { nodeStream } from './builtins.js';
import type { DuplexOptions } from 'node:stream';
import { WebSocket } from './websocket.js';

type Callback = (error?: Error | null) => void;

/**
 * Wraps `ws` in a Duplex stream. `options` go to the `Duplex` constructor (for example
 * `encoding`, `allowHalfOpen`, `highWaterMark`), except that the writable side never is in object
 * mode and `autoDestroy`/`emitClose` are managed here; `objectMode`/`readableObjectMode`
 * deliver text messages as strings and binary ones as Buffers.
 * Errors of the WebSocket destroy the stream with that error.
 *
 * @example
 * const duplex = createWebSocketStream(new WebSocket('ws://127.0.0.1:8080'));
 * process.stdin.pipe(duplex).pipe(process.stdout);
 */
export function createWebSocketStream(ws: WebSocket, options: DuplexOptions = {}): Duplex {
  // After a WebSocket error the connection is already gone: destroy() must not terminate again.
  let terminateOnDestroy = true;
  const duplex = new nodeStream.Duplex({
    ...options,
    // Destruction is driven by the WebSocket's life cycle (below), not by Node's defaults.
    autoDestroy: false,
    emitClose: true,
    objectMode: false,
    writableObjectMode: false,
    readableObjectMode: options.readableObjectMode ?? options.objectMode ?? false,
  });
  const textAsString = duplex.readableObjectMode;

  duplex._read = (): void => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = (chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void => {
    if (ws.readyState === WebSocket.CONNECTING) {
      // Sent on 'open'; the 'open' listeners run in the order of the writes, so order is kept.
      ws.once('open', () => ws.send(chunk, callback));
      return;
    }
    ws.send(chunk, callback);
  };

  duplex._final = (callback: Callback): void => {
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.once('open', () => duplex._final(callback));
      return;
    }
    // The handshake failed or was aborted: there is no connection to close. The WebSocket's
    // error (or close) ends the stream; finishing it here would report a success.
    if (ws._socket === null && ws.readyState !== WebSocket.CLOSED) return;
    if (ws.readyState === WebSocket.CLOSED) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
      return;
    }
    ws.once('close', () => callback());
    ws.close();
  };

  duplex._destroy = (error: Error | null, callback: Callback): void => {
    if (ws.readyState === WebSocket.CLOSED) {
      callback(error);
      return;
    }
    ws.once('close', () => callback(error));
    if (terminateOnDestroy) ws.terminate();
  };

  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const chunk = textAsString && !isBinary ? messageText(data) : data;
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
  // A failed write (or any error emitted by the stream) destroys it, which terminates the
  // connection. The error still reaches the user's listeners; without any, it is re-emitted so
  // that it throws as an unhandled stream error would.
  const onStreamError = (error: Error): void => {
    duplex.off('error', onStreamError);
    duplex.destroy();
    if (duplex.listenerCount('error') === 0) duplex.emit('error', error);
  };
  duplex.on('error', onStreamError);
  duplex.on('end', () => {
    if (duplex.writableFinished) duplex.destroy();
  });
  duplex.on('finish', () => {
    if (duplex.readableEnded) duplex.destroy();
  });
  return duplex;
}

function messageText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
