import { nodeCrypto } from '../node/builtins.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { demoPage } from './demo-page.js';
import { plainRequestAnswer } from '../node/refusals.js';
import { RETRY_AFTER_CLOSING_S } from '../node/limits.js';

function sha256(text: string): string {
  return `'sha256-${nodeCrypto.createHash('sha256').update(text).digest('base64')}'`;
}

/**
 * The demo page's bytes and its Content-Security-Policy: nothing loads but its own inline style
 * and script (pinned by hash) and WebSocket connections to the same origin.
 */
function demoResponse(): { page: Buffer; csp: string } {
  const { page, style, script } = demoPage();
  const csp = [
    "default-src 'none'",
    `style-src ${sha256(style)}`,
    `script-src ${sha256(script)}`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { page: Buffer.from(page, 'utf8'), csp };
}

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
  let demo: { page: Buffer; csp: string } | undefined;
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
    demo ??= demoResponse();
    response.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-length': demo.page.length,
      'content-security-policy': demo.csp,
      'x-frame-options': 'DENY',
    });
    response.end(method === 'HEAD' ? undefined : demo.page);
  };
}
