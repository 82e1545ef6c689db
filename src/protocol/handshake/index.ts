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
