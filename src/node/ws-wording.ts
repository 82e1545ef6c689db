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
