/** Short explanations of the close codes registered in RFC 6455 §7.4.1 (and 1012-1014, IANA). */
const CLOSE_CODE_NAMES: Readonly<Record<number, string>> = {
  1000: 'normal closure',
  1001: 'going away',
  1002: 'protocol error',
  1003: 'unsupported data',
  1005: 'no status code received',
  1006: 'abnormal closure: the connection ended without a Close frame',
  1007: 'invalid payload data',
  1008: 'policy violation',
  1009: 'message too big',
  1010: 'mandatory extension missing',
  1011: 'internal server error',
  1012: 'service restart',
  1013: 'try again later',
  1014: 'bad gateway',
  1015: 'TLS handshake failure',
};

/**
 * A human description of a close code: its registered meaning, "application-defined" for
 * 3000-4999, or "unknown".
 */
export function describeCloseCode(code: number): string {
  const name = CLOSE_CODE_NAMES[code];
  if (name !== undefined) return name;
  if (code >= 3000 && code <= 3999) return 'registered for libraries and frameworks';
  if (code >= 4000 && code <= 4999) return 'application-defined';
  return 'unknown code';
}

/** True for the close codes `ironsock connect` treats as a normal end: 1000 and 1001. */
export function isNormalClose(code: number): boolean {
  return code === 1000 || code === 1001;
}
