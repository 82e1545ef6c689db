/**
 * Shared by the compatibility tests: the repository root, and the package loaded by its name
 * (a self-reference through package.json `exports`, as an application would load it).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/compat). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** CommonJS `require` from inside the package, so `require('ironsock')` resolves by name. */
export const requireFromPackage = createRequire(join(ROOT, 'package.json'));

/** `import(name)` with a runtime specifier, so tsc does not need the built types to compile it. */
export function importByName(name: string): Promise<any> {
  return import(name);
}

export { once } from '../helpers/events.js';

/** The names `ironsock` exports, sorted (STYLE.md §7: changing them is a conscious decision). */
export const MAIN_NAMES = [
  'ClientErrorCode',
  'ClientHandshakeError',
  'ClientSyntaxError',
  'CloseCode',
  'CloseEvent',
  'ErrorEvent',
  'HandshakeError',
  'MessageEvent',
  'ProtocolError',
  'ReadyState',
  'ReconnectError',
  'ReconnectErrorCode',
  'ReconnectingWebSocket',
  'SendBufferFullError',
  'TopicHub',
  'UsageError',
  'WebSocket',
  'WebSocketError',
  'WebSocketServer',
  'WebSocketStream',
  'clusterAdapter',
  'clusterRelay',
  'createWebSocketStream',
  'default',
  'memoryBus',
  'shouldReconnect',
];
