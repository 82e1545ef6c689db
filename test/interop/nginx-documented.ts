/**
 * The nginx configuration of docs/deploying.md, read from the document itself, so that what the
 * interop tests run and what users copy cannot drift apart. The test-only changes (ports, the
 * fixture certificate, a short `proxy_read_timeout`) are exact substitutions of lines that must
 * be present in the document: if the document changes them, the helper fails loudly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/peers.js';

const BEGIN = '<!-- tested-nginx-config:begin -->';
const END = '<!-- tested-nginx-config:end -->';

/** The nginx block between the markers of docs/deploying.md (comments and fences removed). */
export function documentedNginxConfig(): string {
  const doc = readFileSync(join(repoRoot(), 'docs', 'deploying.md'), 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start)
    throw new Error('docs/deploying.md lost its tested-nginx-config markers');
  const section = doc.slice(start + BEGIN.length, end);
  const fence = /```nginx\n([\s\S]*?)```/.exec(section);
  if (fence === null) throw new Error('no ```nginx block between the markers of docs/deploying.md');
  return fence[1];
}

function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) {
    throw new Error(`docs/deploying.md: expected exactly one '${from}' in the nginx configuration`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** The body of the documented `location /ws/ { ... }` block: its directive lines. */
export function documentedLocationDirectives(): string[] {
  const config = documentedNginxConfig();
  const match = /location \/ws\/ \{\n([\s\S]*?)\n\s*\}/.exec(config);
  if (match === null) throw new Error('docs/deploying.md: no location /ws/ block');
  return match[1]
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The documented `map $http_upgrade $connection_upgrade { ... }` block. */
export function documentedUpgradeMap(): string {
  const match = /map \$http_upgrade \$connection_upgrade \{[\s\S]*?\n\}/.exec(
    documentedNginxConfig(),
  );
  if (match === null) throw new Error('docs/deploying.md: no map for $connection_upgrade');
  return match[0];
}

/**
 * A `location` built from the documented directives, pointing at `127.0.0.1:<target>` and
 * sending `Host <host>` instead of the documented `$http_host` (for the tests that show what
 * `$host` does).
 */
export function documentedLocation(path: string, target: number, host = '$http_host'): string {
  const lines = documentedLocationDirectives().map((line) => {
    if (line === 'proxy_pass http://ironsock;') return `proxy_pass http://127.0.0.1:${target};`;
    if (line === 'proxy_set_header Host $http_host;') return `proxy_set_header Host ${host};`;
    return line;
  });
  if (!lines.includes(`proxy_pass http://127.0.0.1:${target};`)) {
    throw new Error('docs/deploying.md: the location no longer has proxy_pass http://ironsock;');
  }
  return `location ${path} {\n      ${lines.join('\n      ')}\n    }`;
}

export interface DocumentedSite {
  /** Port nginx listens on (TLS, 127.0.0.1). */
  listenPort: number;
  /** Port of the ironsock server (the documented `127.0.0.1:8080`). */
  upstreamPort: number;
  certFile: string;
  keyFile: string;
  /** Replaces the documented `proxy_read_timeout 60s` (e.g. '3s' for a quick idle test). */
  readTimeout?: string;
}

/**
 * The documented configuration with the test's ports and certificate: the `http` block's
 * content (map, upstream, server), ready to be wrapped in a scaffold with temp paths.
 */
export function documentedSite(site: DocumentedSite): string {
  let config = documentedNginxConfig();
  config = replaceOnce(config, 'server 127.0.0.1:8080;', `server 127.0.0.1:${site.upstreamPort};`);
  config = replaceOnce(config, 'listen 443 ssl;', `listen 127.0.0.1:${site.listenPort} ssl;`);
  config = replaceOnce(config, '/etc/nginx/tls/app.example.crt', site.certFile);
  config = replaceOnce(config, '/etc/nginx/tls/app.example.key', site.keyFile);
  if (site.readTimeout !== undefined) {
    config = replaceOnce(
      config,
      'proxy_read_timeout 60s;',
      `proxy_read_timeout ${site.readTimeout};`,
    );
  }
  return config;
}

/** A complete nginx.conf around `httpContent`, with every path inside `dir`. */
export function nginxScaffold(dir: string, httpContent: string): string {
  return `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr notice;
events { worker_connections 128; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpContent}
}
`;
}
