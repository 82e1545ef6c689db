/**
 * ironsock's Node entry: a secure-by-default, fast WebSocket (RFC 6455) server and client.
 * Drop-in for the `ws` package's main names (`WebSocket`, `WebSocketServer`,
 * `createWebSocketStream`); the sans-I/O engine is in `ironsock/protocol`.
 *
 * Import forms of ws work unchanged: `import WebSocket, { WebSocketServer } from 'ironsock'`,
 * `WebSocket.Server`, and in CommonJS `const WebSocket = require('ironsock')` (the `WebSocket`
 * class with the statics `Server`, `WebSocket`, `WebSocketServer`, `createWebSocketStream`, plus
 * every named export of this module; see `scripts/build-cjs.js`).
 *
 * @example
 * import { WebSocketServer } from 'ironsock';
 * const wss = new WebSocketServer({ port: 8080 });
 * wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
 */
import { WebSocket } from './node/websocket.js';
import './node/client.js'; // installs the client handshake in WebSocket (websocket.ts)
import { WebSocketServer } from './node/server.js';
import { createWebSocketStream } from './node/stream.js';

// ws's statics on the class (`new WebSocket.Server(...)` in ws's README and its CommonJS shape).
// Assigned here, not in websocket.ts, because server.ts and stream.ts import websocket.ts.
WebSocket.Server = WebSocketServer;
WebSocket.WebSocketServer = WebSocketServer;
WebSocket.WebSocket = WebSocket;
WebSocket.createWebSocketStream = createWebSocketStream;

/** The `WebSocket` class, as ws's default export (`import WebSocket from 'ironsock'`). */
export default WebSocket;
export { WebSocket, WebSocketServer, createWebSocketStream };
export { ReadyState } from './node/websocket.js';
export type {
  BinaryType,
  ConnectionTuning,
  RawData,
  SendData,
  SendOptions,
  SendResult,
  WebSocketEvents,
  WebSocketMessage,
  WebSocketOptions,
} from './node/websocket.js';
export type {
  BroadcastOptions,
  RejectionInfo,
  ServerOptions,
  VerifyClientAsync,
  VerifyClientInfo,
  VerifyClientSync,
  WebSocketServerEvents,
} from './node/server.js';
export { SendBufferFullError } from './node/socket-driver.js';
export type { WriteCallback } from './node/socket-driver.js';
export { CloseEvent, ErrorEvent, MessageEvent } from './node/events.js';
export type { KeepaliveOptions } from './node/keepalive.js';
export type { BufferedAmountPolicy } from './node/limits.js';
export { CloseCode } from './protocol/codes.js';
export { ProtocolError, UsageError } from './protocol/errors.js';
export { HandshakeError } from './protocol/handshake/errors.js';
export { ClientErrorCode, ClientHandshakeError, ClientSyntaxError } from './node/client-errors.js';
export type { ClientOptions, HandshakeResponse } from './node/client.js';
export type { Http2Options, Http2ServerOptions, Http2UpgradeRequest } from './node/http2-server.js';
export type { ClientHttp2Mode } from './node/client-http2.js';
export type { PerMessageDeflateOptions } from './protocol/extensions/permessage-deflate.js';
export type { CloseInfo } from './protocol/connection.js';
export { WebSocketStream, WebSocketError } from './node/websocket-stream.js';
export type {
  WebSocketCloseInfo,
  WebSocketOpenInfo,
  WebSocketStreamChunk,
  WebSocketStreamInput,
  WebSocketStreamOptions,
} from './node/websocket-stream.js';
export {
  ReconnectError,
  ReconnectErrorCode,
  ReconnectingWebSocket,
  shouldReconnect,
} from './node/reconnect.js';
export type {
  LastClose,
  ReconnectOptions,
  ReconnectedInfo,
  ReconnectingInfo,
  ReconnectingWebSocketEvents,
  ReconnectingWebSocketOptions,
} from './node/reconnect.js';
export { TopicHub } from './pubsub/hub.js';
export type { OverflowInfo, PubSubOptions, PubSubStats, PublishOptions } from './pubsub/hub.js';
export type { BusOptions, BusStateInfo, BusStats, GapInfo } from './pubsub/bus.js';
export type { BusAdapter, BusPosition, BusSink } from './pubsub/adapter.js';
export { memoryBus } from './pubsub/memory.js';
export type { MemoryBus } from './pubsub/memory.js';
export { clusterAdapter, clusterRelay } from './pubsub/cluster.js';
