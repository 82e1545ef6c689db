/**
 * The implementation under test for the interop suites: ironsock's public entry. (While the
 * package entry did not exist yet this re-exported `ws`, to validate the harness itself.)
 */
export { WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
