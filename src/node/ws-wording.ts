/**
 * The texts the `ws` package uses when its server refuses a handshake for the same reason as
 * ironsock (issue #11, group 8): code written for ws compares them, so the response body and the
 * `wsClientError` error's message use them. ironsock's own, longer reason stays on the
 * `'rejected'` event and as the error's `explanation`; `code` is the stable identifier. Refusals
 * ws does not make (Origin, Host, body, limits) keep ironsock's text.
 */
const WS_REFUSAL_TEXT: Readonly<Record<string, string>> = {
  METHOD_NOT_ALLOWED: 'Invalid HTTP method',
  MISSING_UPGRADE: 'Invalid Upgrade header',
  MISSING_KEY: 'Missing or invalid Sec-WebSocket-Key header',
  DUPLICATE_KEY: 'Missing or invalid Sec-WebSocket-Key header',
  INVALID_KEY: 'Missing or invalid Sec-WebSocket-Key header',
  UNSUPPORTED_VERSION: 'Missing or invalid Sec-WebSocket-Version header',
  MALFORMED_PROTOCOLS: 'Invalid Sec-WebSocket-Protocol header',
  MALFORMED_EXTENSIONS: 'Invalid or unacceptable Sec-WebSocket-Extensions header',
};

/** ws's text for a handshake refusal with this ironsock code, if ws refuses for that reason. */
export function wsRefusalText(code: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(WS_REFUSAL_TEXT, code)
    ? WS_REFUSAL_TEXT[code]
    : undefined;
}

/** What ws's wording of a failed 101 check depends on: what the client offered. */
export interface ClientWordingContext {
  /** The client asked for at least one subprotocol. */
  protocolsOffered: boolean;
  /** The client offered permessage-deflate. */
  extensionsOffered: boolean;
}

/**
 * ws's text for a 101 response that failed a check of RFC 6455 §4.1, by ironsock's code, where
 * ws fails for the same reason. `MISSING_CONNECTION` and `DUPLICATE_*` have no ws counterpart
 * (ws does not make those checks) and keep ironsock's text.
 */
function wsClientText(code: unknown, context: ClientWordingContext): string | undefined {
  switch (code) {
    case 'MISSING_UPGRADE':
      return 'Invalid Upgrade header';
    case 'BAD_ACCEPT':
      return 'Invalid Sec-WebSocket-Accept header';
    case 'MALFORMED_EXTENSIONS':
    case 'INVALID_EXTENSION_PARAMS':
      return 'Invalid Sec-WebSocket-Extensions header';
    case 'UNOFFERED_EXTENSION':
      return context.extensionsOffered
        ? 'Server indicated an extension that was not requested'
        : 'Server sent a Sec-WebSocket-Extensions header but no extension was requested';
    case 'UNOFFERED_PROTOCOL':
      return context.protocolsOffered
        ? 'Server sent an invalid subprotocol'
        : 'Server sent a subprotocol but none was requested';
    default:
      return undefined;
  }
}

/**
 * Gives a client handshake failure (a `HandshakeError` from the 101 checks, or the
 * permessage-deflate `DeflateNegotiationError`) ws's message, in place: the object, its class
 * and its stable `code` stay, ironsock's own text moves to `explanation` (issue #11, group 8).
 * Errors ws has no text for get `explanation` equal to `message`. Returns `error`.
 */
export function wsClientWording<E extends Error>(error: E, context: ClientWordingContext): E {
  const explanation = error.message;
  const text = wsClientText((error as { code?: unknown }).code, context);
  Object.defineProperty(error, 'explanation', {
    value: explanation,
    enumerable: true,
    configurable: true,
    writable: false,
  });
  if (text !== undefined && text !== explanation) {
    error.message = text;
    if (typeof error.stack === 'string' && error.stack.includes(explanation))
      error.stack = error.stack.replace(explanation, text);
  }
  return error;
}
