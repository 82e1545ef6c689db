/**
 * The implementation under test for the interop suites: ironsock's public Node entry.
 * (Before src/index.ts existed this re-exported `ws`, to validate the harness itself.)
 */
export { WebSocket, WebSocketServer, createWebSocketStream } from '../../src/index.js';
