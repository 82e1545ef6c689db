/**
 * The opening handshake of RFC 6455 (§4), sans-I/O: accept-key computation, header grammar,
 * an incremental HTTP head parser with limits, server-side request validation with origin and
 * host policies, and client-side request building and response validation. Nothing here
 * touches sockets; SHA-1 and randomness come from the injected `Platform`.
 */
export { HandshakeError } from './errors.js';
export { GUID, computeAccept, generateKey, isValidKey } from './accept.js';
export {
  isToken,
  isTokenChar,
  isValidFieldValue,
  splitList,
  parseProtocolHeader,
  parseExtensionHeader,
  serializeExtensions,
} from './header-tokens.js';
export {
  HttpHeadParser,
  DEFAULT_MAX_HEAD_BYTES,
  DEFAULT_MAX_HEADERS,
  type RequestHead,
  type ResponseHead,
  type HeadKind,
  type HeadFor,
  type HeadParseResult,
  type HttpHeadParserOptions,
} from './http-head.js';
export {
  validateUpgradeRequest,
  toRejection,
  type ServerPolicy,
  type UpgradeDecision,
  type UpgradeAccepted,
  type UpgradeRejection,
} from './server.js';
export {
  buildAcceptResponse,
  buildRejectResponse,
  reasonPhrase,
  STATUS_REASONS,
  type AcceptResponseOptions,
  type RejectResponseOptions,
} from './response.js';
export {
  createClientRequest,
  createClientRequestHead,
  validateServerResponse,
  type ClientRequestOptions,
  type ClientRequest,
  type ClientRequestHead,
  type ResponseExpectations,
  type ResponseAgreement,
} from './client.js';
export {
  normalizeOrigin,
  checkOrigin,
  compileOrigins,
  ownOrigins,
  type NormalizedOrigin,
  type OriginPolicy,
  type OriginPredicate,
  type OriginMatcher,
} from './origin.js';
export {
  parseAuthority,
  checkHost,
  matchesHostEntry,
  isSubdomainOf,
  type Authority,
  type HostPolicy,
} from './host.js';
export { parseIPv4, parseIPv6, formatIPv6, isLoopbackOrPrivate } from './ip.js';
export {
  isExtendedConnect,
  validateExtendedConnect,
  buildExtendedConnectAccept,
  createExtendedConnectRequest,
  validateExtendedConnectResponse,
  type H2Field,
  type ExtendedConnectAccepted,
  type ExtendedConnectDecision,
  type ExtendedConnectAcceptOptions,
  type ExtendedConnectRequestOptions,
  type ExtendedConnectExpectations,
  type ExtendedConnectAgreement,
} from './extended-connect.js';
