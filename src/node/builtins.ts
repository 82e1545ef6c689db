/**
 * The one place the library loads Node's built-in modules.
 *
 * Every module a process loads stays in its heap for good, and a server whose heap is a few
 * megabytes larger spends measurably more time in V8's incremental marking under large messages
 * over many connections ("Large messages over many connections" in BENCHMARKS.md). Two rules
 * keep a server's heap small:
 *
 * - Built-ins are taken with `process.getBuiltinModule` (Node 20.16+; `require` before that),
 *   never with `import ... from 'node:x'`. An ES module import of a built-in builds a facade
 *   of all its exports, and reading each export runs the lazy getters behind it: node:crypto's
 *   `webcrypto`, node:fs's streams, node:util's `MIMEType`, node:net's `BlockList`, node:tls's
 *   root certificate list. In Node 20 that was about 0.3 MB of an `ironsock serve` process.
 * - Built-ins only some applications use are loaded on first use, by the functions below.
 *
 * Type-only imports (`import type`) are free and stay where they are used.
 */
import { createRequire } from 'node:module';
import type * as Buffer from 'node:buffer';
import type Cluster from 'node:cluster';
import type * as Crypto from 'node:crypto';
import type * as Events from 'node:events';
import type * as Fs from 'node:fs';
import type * as Http from 'node:http';
import type * as Http2 from 'node:http2';
import type * as Https from 'node:https';
import type * as Net from 'node:net';
import type * as Os from 'node:os';
import type * as Stream from 'node:stream';
import type * as StreamWeb from 'node:stream/web';
import type * as Tls from 'node:tls';
import type * as Url from 'node:url';
import type * as Util from 'node:util';
import type * as Zlib from 'node:zlib';

type LoadBuiltin = (id: string) => unknown;

const load: LoadBuiltin =
  (process as { getBuiltinModule?: LoadBuiltin }).getBuiltinModule ?? createRequire('/');

function lazy<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load(id) as T);
}

// Loaded by every process that imports the library (node:net, node:http and node:stream are
// part of any server; node:events, node:buffer and node:crypto are loaded by Node itself).
export const nodeBuffer = load('node:buffer') as typeof Buffer;
export const nodeCrypto = load('node:crypto') as typeof Crypto;
export const nodeEvents = load('node:events') as typeof Events;
export const nodeHttp = load('node:http') as typeof Http;
export const nodeNet = load('node:net') as typeof Net;
export const nodeStream = load('node:stream') as typeof Stream;

/** `node:https`: TLS servers and `wss:` clients. */
export const nodeHttps = lazy<typeof Https>('node:https');
/** `node:tls`: `wss:` clients and TLS checks. */
export const nodeTls = lazy<typeof Tls>('node:tls');
/** `node:zlib`: permessage-deflate (RFC 7692) codecs. */
export const nodeZlib = lazy<typeof Zlib>('node:zlib');
/** `node:http2` (about 220 KB): WebSockets over HTTP/2 (RFC 8441). */
export const nodeHttp2 = lazy<typeof Http2>('node:http2');
/** `node:stream/web` (about 170 KB): `WebSocketStream`. */
export const nodeStreamWeb = lazy<typeof StreamWeb>('node:stream/web');
/** `node:cluster`: the CLI's `--workers`. */
export const nodeCluster = lazy<typeof Cluster>('node:cluster');
/** `node:fs`, `node:os`, `node:url`, `node:util`: the CLI's files, host name and arguments. */
export const nodeFs = lazy<typeof Fs>('node:fs');
export const nodeOs = lazy<typeof Os>('node:os');
export const nodeUrl = lazy<typeof Url>('node:url');
export const nodeUtil = lazy<typeof Util>('node:util');
