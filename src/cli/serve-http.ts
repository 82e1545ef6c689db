import { nodeCrypto } from '../node/builtins.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEMO_PAGE, DEMO_SCRIPT, DEMO_STYLE } from './demo-page.js';
import { plainRequestAnswer } from '../node/refusals.js';
import { RETRY_AFTER_CLOSING_S } from '../node/limits.js';

function sha256(text: string): string {
  return `'sha256-${nodeCrypto.createHash('sha256').update(text).digest('base64')}'`;
}

/**
 * Content-Security-Policy of the demo page: nothing loads but its own inline style and
 * script (pinned by hash) and WebSocket connections to the same origin.
 */
const DEMO_CSP = [
  "default-src 'none'",
  `style-src ${sha256(DEMO_STYLE)}`,
  `script-src ${sha256(DEMO_SCRIPT)}`,
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

/** What the plain-HTTP side reports to the server's log (refusals of broken handshakes). */
export type PlainRequestReport = (status: number, code: string, reason: string) => void;

/** The paths of the demo server that speak only WebSocket. */
const WEBSOCKET_PATHS = new Set(['/echo', '/chat']);

/**
 * The plain-HTTP side of `ironsock serve`. In demo mode `GET /` (and `HEAD /`) answers the demo
 * page; other methods there get 405 with `Allow: GET, HEAD`, unknown paths 404. A WebSocket
 * endpoint (`/echo` and `/chat`, every path with `--echo`) answers a plain request with
 * `426 Upgrade Required` + `Upgrade: websocket`, and a broken handshake (say `Upgrade:
 * websocket` without `Connection: upgrade`) with the validator's status (see
 * `plainRequestAnswer`), reported through `report`. Once `closing()` is true every request gets
 * `503` + `Retry-After`. WebSocket upgrades never reach this handler.
 */
export function createHttpHandler(
  echoOnly: boolean,
  closing: () => boolean = () => false,
  report: PlainRequestReport = () => {},
): (request: IncomingMessage, response: ServerResponse) => void {
  const page = Buffer.from(DEMO_PAGE, 'utf8');
  return (request, response) => {
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').split('?', 1)[0];
    if (closing()) {
      const body = Buffer.from('server is shutting down\n');
      response.writeHead(503, {
        ...COMMON_HEADERS,
        'content-type': 'text/plain; charset=utf-8',
        'content-length': body.length,
        'retry-after': String(RETRY_AFTER_CLOSING_S),
        connection: 'close',
      });
      response.end(method === 'HEAD' ? undefined : body);
      return;
    }
    if (echoOnly || WEBSOCKET_PATHS.has(path)) {
      const answer = plainRequestAnswer(request);
      if (answer.code !== 'UPGRADE_REQUIRED') report(answer.status, answer.code, answer.reason);
      const body = Buffer.from(answer.body);
      const headers: Record<string, string | number> = {
        ...COMMON_HEADERS,
        'content-type': 'text/plain; charset=utf-8',
        'content-length': body.length,
      };
      for (const [name, value] of answer.headers) headers[name.toLowerCase()] = value;
      response.writeHead(answer.status, headers);
      response.end(method === 'HEAD' ? undefined : body);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      response.writeHead(405, { ...COMMON_HEADERS, allow: 'GET, HEAD', 'content-length': 0 });
      response.end();
      return;
    }
    if (path !== '/' && path !== '/index.html') {
      const body = Buffer.from('not found\n');
      response.writeHead(404, {
        ...COMMON_HEADERS,
        'content-type': 'text/plain; charset=utf-8',
        'content-length': body.length,
      });
      response.end(method === 'HEAD' ? undefined : body);
      return;
    }
    response.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-length': page.length,
      'content-security-policy': DEMO_CSP,
      'x-frame-options': 'DENY',
    });
    response.end(method === 'HEAD' ? undefined : page);
  };
}
