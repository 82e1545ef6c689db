/**
 * Refusals a developer can see: what the server's 'rejected' event carries beyond the status and
 * code (the refused `Origin` or `Host`, the option that would allow the request), the one-time
 * process warning when nobody listens for 'rejected', and the answer to plain (non-upgrade)
 * HTTP requests that reach a WebSocket endpoint.
 *
 * The HTTP response body of a refusal stays short and generic (it goes to the peer); the
 * explanation naming the option goes only to the operator (the event and the warning).
 */
import type { IncomingMessage } from 'node:http';
import { validateUpgradeRequest } from '../protocol/handshake/server.js';
import type { RequestHead } from '../protocol/handshake/http-head.js';

/** What the operator learns about a refusal besides status and code. */
export interface RefusalDetails {
  /** The reason, naming the option that allows such requests when one exists. */
  reason: string;
  /** The `Origin` header of the refused request, as sent (absent when there was none). */
  origin?: string;
  /** The `Host` header, for Host refusals (`HOST_NOT_ALLOWED`, `MISSING_HOST`, `INVALID_HOST`). */
  host?: string;
  /** The server option that allows this kind of request, when one exists (e.g. `origins`). */
  option?: string;
}

/**
 * Refusals caused by the server's own policy: a legitimate client hits them when the server is
 * configured too narrowly, so the first of each kind is worth a process warning. Each names the
 * option that allows the request. Malformed handshakes are left out: they come from broken or
 * hostile clients, and a public server sees them from every scanner.
 */
const POLICY: Record<string, { option: string; explain: (d: RequestFacts) => string }> = {
  ORIGIN_NOT_ALLOWED: {
    option: 'origins',
    explain: (d) =>
      `Origin ${d.origin ?? '(none)'} is not allowed: add it to the origins option (same-origin pages are always allowed)`,
  },
  MISSING_ORIGIN: {
    option: 'requireOrigin',
    explain: () => 'the request has no Origin header and requireOrigin is true',
  },
  HOST_NOT_ALLOWED: {
    option: 'allowedHosts',
    explain: (d) =>
      `Host ${d.host ?? '(none)'} does not name this server (DNS rebinding protection): add it to the allowedHosts option`,
  },
  TOO_MANY_CONNECTIONS: {
    option: 'maxConnections',
    explain: () =>
      'too many connections: see the maxConnections and maxConnectionsPerAddress options',
  },
  TOO_MANY_HANDSHAKES: {
    option: 'maxHandshakesPerSecond',
    explain: () =>
      'too many handshakes from this address in one second: see the maxHandshakesPerSecond option',
  },
  PATH_NOT_HANDLED: {
    option: 'path',
    explain: (d) => `the request path ${d.path} is not the path option of this server`,
  },
};

/** Extra words for refusals that are not policy but have a usual cause worth naming. */
const HINTS: Record<string, string> = {
  MISSING_CONNECTION_UPGRADE:
    'a proxy in between may have dropped the hop-by-hop Connection header (nginx: proxy_set_header Connection "upgrade")',
  MISSING_UPGRADE:
    'a proxy in between may have dropped the hop-by-hop Upgrade header (nginx: proxy_set_header Upgrade $http_upgrade)',
  SERVER_CLOSING: 'close() was called; the client may retry after Retry-After seconds',
};

interface RequestFacts {
  origin: string | undefined;
  host: string | undefined;
  path: string;
}

function facts(req: IncomingMessage | undefined): RequestFacts {
  const headers = req?.headers;
  const origin = headers?.origin;
  const host = headers?.host;
  const url = req?.url ?? '';
  const query = url.indexOf('?');
  return {
    origin: typeof origin === 'string' ? origin : undefined,
    host: typeof host === 'string' ? host : undefined,
    path: JSON.stringify(query === -1 ? url : url.slice(0, query)),
  };
}

const HOST_CODES = new Set(['HOST_NOT_ALLOWED', 'MISSING_HOST', 'INVALID_HOST', 'DUPLICATE_HOST']);

/** The details of a refusal with stable `code` and generic `reason`, for the 'rejected' event. */
export function refusalDetails(
  code: string,
  reason: string,
  req: IncomingMessage | undefined,
): RefusalDetails {
  const request = facts(req);
  const details: RefusalDetails = { reason };
  if (request.origin !== undefined) details.origin = request.origin;
  if (HOST_CODES.has(code) && request.host !== undefined) details.host = request.host;
  const policy = POLICY[code];
  if (policy !== undefined) {
    details.reason = policy.explain(request);
    details.option = policy.option;
  } else if (HINTS[code] !== undefined) {
    details.reason = `${reason}; ${HINTS[code]}`;
  }
  return details;
}

const warned = new WeakMap<object, Set<string>>();

/**
 * Emits one process warning (code `IRONSOCK_HANDSHAKE_REFUSED`) for the first policy refusal
 * of each kind on `server`, when nothing listens for its 'rejected' event. Returns whether a
 * warning was emitted.
 */
export function warnUnheardRefusal(
  server: { listenerCount(event: string): number },
  status: number,
  code: string,
  details: RefusalDetails,
): boolean {
  if (details.option === undefined || server.listenerCount('rejected') > 0) return false;
  let kinds = warned.get(server);
  if (kinds === undefined) {
    kinds = new Set();
    warned.set(server, kinds);
  }
  if (kinds.has(code)) return false;
  kinds.add(code);
  process.emitWarning(
    `WebSocket handshake refused with ${status} (${code}): ${details.reason}. ` +
      "Listen for the server's 'rejected' event to see every refusal; this warning is printed once per kind.",
    { code: 'IRONSOCK_HANDSHAKE_REFUSED' },
  );
  return true;
}

/** The answer to a plain HTTP request that reached a WebSocket endpoint. */
export interface PlainAnswer {
  status: number;
  /** Stable code, as in the 'rejected' event (`UPGRADE_REQUIRED` for a plain request). */
  code: string;
  /** Generic reason (the refusal's, for a malformed handshake). */
  reason: string;
  headers: Array<[string, string]>;
  body: string;
}

const UPGRADE_REQUIRED_BODY = 'Upgrade Required';

/**
 * Decides the answer to a request that Node did not treat as an upgrade (no `Connection:
 * upgrade` + `Upgrade` pair), on a path that only speaks WebSocket:
 *
 * - a request carrying any WebSocket handshake header (`Upgrade`, `Sec-WebSocket-Key`,
 *   `Sec-WebSocket-Version`) is a broken handshake: it gets the answer the handshake validator
 *   gives (RFC 6455 §4.2.1: 426 + `Upgrade: websocket` when the `upgrade` token is missing
 *   from `Connection`, 405 for another method, 400 for a bad key...);
 * - any other request gets `426 Upgrade Required` with `Upgrade: websocket` (RFC 9110
 *   §15.5.22: the server MUST name the protocol to upgrade to), body `Upgrade Required` as ws
 *   answers.
 */
export function plainRequestAnswer(req: IncomingMessage): PlainAnswer {
  const headers = req.headers;
  const attempted =
    headers.upgrade !== undefined ||
    headers['sec-websocket-key'] !== undefined ||
    headers['sec-websocket-version'] !== undefined;
  if (attempted) {
    const head: RequestHead = {
      method: req.method ?? '',
      target: req.url ?? '',
      httpVersion: req.httpVersion,
      headers: pairs(req.rawHeaders),
    };
    // Only the request's shape matters here: the Origin and Host policy are never reached,
    // since the Connection check comes first and fails for every request that arrives here.
    const decision = validateUpgradeRequest(head, { unsafeAllowAnyOrigin: true }, req);
    if (!decision.ok) {
      return {
        status: decision.status,
        code: decision.code,
        reason: decision.reason,
        headers: decision.headers.map(([name, value]) => [name, value]),
        body: `${decision.reason}\n`,
      };
    }
  }
  return {
    status: 426,
    code: 'UPGRADE_REQUIRED',
    reason: 'a plain HTTP request reached a WebSocket endpoint',
    headers: [['Upgrade', 'websocket']],
    body: UPGRADE_REQUIRED_BODY,
  };
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i].toLowerCase(), raw[i + 1]]);
  return out;
}
