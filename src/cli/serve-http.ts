import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEMO_PAGE, DEMO_SCRIPT, DEMO_STYLE } from './demo-page.js';

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
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

/**
 * The plain-HTTP side of `ironsock serve`. `GET /` (and `HEAD /`) answers the demo page,
 * or, in echo mode, a one-line text explaining that every path echoes; other paths get 404,
 * other methods 405 with `Allow: GET, HEAD`. WebSocket upgrades never reach this handler.
 */
export function createHttpHandler(
  echoOnly: boolean,
): (request: IncomingMessage, response: ServerResponse) => void {
  const page = Buffer.from(DEMO_PAGE, 'utf8');
  const echoText = Buffer.from(
    'ironsock echo server: open a WebSocket connection to any path; every message is echoed.\n',
  );
  return (request, response) => {
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').split('?', 1)[0];
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
    const body = echoOnly ? echoText : page;
    const headers: Record<string, string | number> = {
      ...COMMON_HEADERS,
      'content-type': echoOnly ? 'text/plain; charset=utf-8' : 'text/html; charset=utf-8',
      'content-length': body.length,
    };
    if (!echoOnly) {
      headers['content-security-policy'] = DEMO_CSP;
      headers['x-frame-options'] = 'DENY';
    }
    response.writeHead(200, headers);
    response.end(method === 'HEAD' ? undefined : body);
  };
}
