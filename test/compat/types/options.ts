// Client and server options are closed interfaces: a misspelt option fails to compile.
import { WebSocket, WebSocketServer } from 'ironsock';
import type { ClientOptions, ServerOptions, WebSocketOptions } from 'ironsock';

const client: WebSocketOptions = {
  headers: { Authorization: 'Bearer x' },
  origin: 'https://app.example',
  handshakeTimeout: 1000,
  maxPayload: 0,
  perMessageDeflate: { threshold: 0 },
  rejectUnauthorized: true,
  followRedirects: false,
};
new WebSocket('ws://127.0.0.1:1', client);
new WebSocket('ws://127.0.0.1:1', ['chat'], { maxPayload: 1024 });
// @ts-expect-error misspelt option (handshakeTimeout)
new WebSocket('ws://127.0.0.1:1', { handshakeTimout: 1000 });
// @ts-expect-error misspelt option (perMessageDeflate)
new WebSocket('ws://127.0.0.1:1', ['chat'], { permessageDeflate: true });
const typed: ClientOptions = { origin: 'https://app.example' };
void typed;

const server: ServerOptions = { port: 0, maxPayload: 0, clientTracking: false };
new WebSocketServer(server);
// @ts-expect-error misspelt option (clientTracking)
new WebSocketServer({ noServer: true, clientTraking: false });
