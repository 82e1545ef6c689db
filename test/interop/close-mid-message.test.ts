/**
 * A Close in the middle of a fragmented message (RFC 6455 §5.4, §5.5.1; docs/design.md "A Close
 * in the middle of a fragmented message"), against the `ws` package in both roles: the sender
 * abandons its message with close(4000); the receiver delivers nothing of it, echoes 4000, and
 * both sides end cleanly with that code.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ws from 'ws';
import * as impl from './impl.js';
import { listening, shutdown, type ServerLike, type SocketLike } from './support.js';

interface Side {
  name: string;
  WebSocket: new (...args: any[]) => SocketLike;
  WebSocketServer: new (...args: any[]) => ServerLike;
}
const WS: Side = {
  name: 'ws',
  WebSocket: ws.WebSocket as any,
  WebSocketServer: ws.WebSocketServer as any,
};
const IRONSOCK: Side = {
  name: 'ironsock',
  WebSocket: impl.WebSocket as any,
  WebSocketServer: impl.WebSocketServer as any,
};

function closed(socket: SocketLike): Promise<number> {
  return new Promise((resolve) => socket.once('close', (code: number) => resolve(code)));
}

for (const [server, client] of [
  [IRONSOCK, WS],
  [WS, IRONSOCK],
] as const) {
  describe(`${server.name} server, ${client.name} client`, { timeout: 30_000 }, () => {
    for (const abandoning of ['client', 'server'] as const) {
      test(`the ${abandoning} sends a first fragment, then Close 4000: nothing delivered, both close 4000`, async () => {
        const wss = new server.WebSocketServer({ port: 0, host: '127.0.0.1' });
        const port = await listening(wss);
        const accepted = new Promise<SocketLike>((resolve) => wss.once('connection', resolve));
        const c = new client.WebSocket(`ws://127.0.0.1:${port}`);
        c.on('error', () => {});
        const s = await accepted;
        if (c.readyState !== 1) await new Promise((resolve) => c.once('open', resolve));
        const [sender, receiver] = abandoning === 'client' ? [c, s] : [s, c];
        const messages: unknown[] = [];
        receiver.on('message', (data: unknown) => messages.push(data));
        const codes = Promise.all([closed(sender), closed(receiver)]);
        sender.send('never finished', { fin: false });
        sender.close(4000, 'abandon');
        assert.deepEqual(await codes, [4000, 4000]);
        assert.deepEqual(messages, []);
        await shutdown(wss);
      });
    }
  });
}
