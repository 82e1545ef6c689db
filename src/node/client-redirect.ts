/**
 * Redirect policy of the client handshake (checklist K5). Redirects are only followed when the
 * caller opts in (`followRedirects`); even then a redirect may not leave TLS, may only go to
 * ws/wss/http/https URLs, and credentials never follow it to another origin.
 */
import { ClientErrorCode, ClientHandshakeError, ClientSyntaxError } from './client-errors.js';
import { parseClientUrl, WS_SCHEME_TEXT, type ClientTarget } from './client-url.js';

/** Statuses that carry a `Location` to follow (RFC 9110 §15.4). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** True for 301, 302, 303, 307 and 308. */
export function isRedirectStatus(statusCode: number): boolean {
  return REDIRECT_STATUSES.has(statusCode);
}

/** Where a redirect goes and whether it leaves the origin of the first URL. */
export interface RedirectDecision {
  readonly target: ClientTarget;
  /** True when scheme, host or port differ from the URL the caller gave. */
  readonly crossOrigin: boolean;
}

/**
 * Resolves `location` against the current URL and applies the policy:
 * only ws/wss (http/https mapped) targets, never `ws+unix:`; never from TLS to plain TCP.
 * A fragment in `location` is dropped (it has no meaning for a WebSocket URL, §3).
 *
 * @returns the decision, or the error to fail the handshake with: as `ws`, a `SyntaxError`
 *   (`ClientSyntaxError`, `REDIRECT_INVALID`) for a `Location` that is not a URL (`Invalid URL:
 *   <location>`) or has a scheme other than ws/wss/http/https; a `ClientHandshakeError` for
 *   ironsock's refusals (`REDIRECT_INVALID` for `ws+unix:`, `REDIRECT_DOWNGRADE`). Never throws.
 */
export function applyRedirectPolicy(
  from: ClientTarget,
  location: string,
  original: ClientTarget,
): RedirectDecision | ClientHandshakeError | ClientSyntaxError {
  let resolved: URL;
  try {
    resolved = new URL(location, from.url);
  } catch {
    return new ClientSyntaxError(
      'REDIRECT_INVALID',
      `Invalid URL: ${location.slice(0, 200)}`,
      'Redirect Location is not a valid URL',
    );
  }
  resolved.hash = '';
  if (resolved.protocol === 'ws+unix:') {
    // ws follows these; ironsock does not let a remote server point it at a local socket.
    return new ClientHandshakeError(
      ClientErrorCode.REDIRECT_INVALID,
      'Redirect to a ws+unix: URL refused',
    );
  }
  let target: ClientTarget;
  try {
    target = parseClientUrl(
      resolved.href.endsWith('#') ? resolved.href.slice(0, -1) : resolved.href,
      false,
    );
  } catch {
    return new ClientSyntaxError(
      'REDIRECT_INVALID',
      WS_SCHEME_TEXT,
      `Redirect to an unsupported URL scheme refused: ${resolved.protocol}`,
    );
  }
  if (from.secure && !target.secure) {
    return new ClientHandshakeError(
      ClientErrorCode.REDIRECT_DOWNGRADE,
      'Redirect from wss: to ws: refused',
    );
  }
  return { target, crossOrigin: target.origin !== original.origin };
}
