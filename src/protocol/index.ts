/**
 * `ironsock/protocol`: the sans-I/O WebSocket engine (RFC 6455), for other runtimes and
 * transports. Bytes in, events and bytes out; no sockets, timers or Node APIs.
 */
export { Connection } from './connection.js';
export type {
  CloseInfo,
  ConnectionHandler,
  ConnectionOptions,
  ConnectionState,
  Role,
} from './connection.js';
export { Opcode, CloseCode, isValidWireCloseCode, isControlOpcode } from './codes.js';
export { ProtocolError, ProtocolViolation, UsageError } from './errors.js';
export type { ProtocolViolationCode } from './errors.js';
export { resolveLimits, DEFAULT_MAX_PAYLOAD } from './limits.js';
export type { Limits } from './limits.js';
export type { Platform } from './platform.js';
export { webPlatform } from './platform.js';
export { encodeFrame, writeHeader, headerSize } from './frame.js';
export type { FrameHeader } from './frame.js';
export { Utf8Validator, isValidUtf8 } from './utf8.js';
export { parseClosePayload, buildClosePayload, MAX_CLOSE_REASON_BYTES } from './close.js';
export { ExtensionError } from './extensions/extension.js';
export type { Extension, ExtensionOffer, TransformCallback } from './extensions/extension.js';

// The opening handshake (§4), sans-I/O.
export {
  HandshakeError,
  GUID,
  computeAccept,
  generateKey,
  isValidKey,
  parseProtocolHeader,
  parseExtensionHeader,
  serializeExtensions,
  HttpHeadParser,
  validateUpgradeRequest,
  toRejection,
  buildAcceptResponse,
  buildRejectResponse,
  STATUS_REASONS,
  createClientRequest,
  createClientRequestHead,
  validateServerResponse,
  normalizeOrigin,
  checkOrigin,
  compileOrigins,
  // WebSockets over HTTP/2 (RFC 8441).
  isExtendedConnect,
  validateExtendedConnect,
  buildExtendedConnectAccept,
  createExtendedConnectRequest,
  validateExtendedConnectResponse,
} from './handshake/index.js';
export type {
  RequestHead,
  ResponseHead,
  ServerPolicy,
  UpgradeDecision,
  UpgradeAccepted,
  UpgradeRejection,
  ClientRequestOptions,
  ClientRequest,
  ClientRequestHead,
  OriginPolicy,
  H2Field,
  ExtendedConnectDecision,
  ExtendedConnectAccepted,
} from './handshake/index.js';

// permessage-deflate negotiation (RFC 7692 §7); the codec itself is injected (see Extension).
export {
  createDeflateOffer,
  negotiateDeflateServer,
  acceptDeflateResponse,
} from './extensions/permessage-deflate.js';
export type { DeflateParams, PerMessageDeflateOptions } from './extensions/permessage-deflate.js';
