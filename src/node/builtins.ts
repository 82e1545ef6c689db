/**
 * Node built-ins that only some applications use, loaded on first use rather than when ironsock
 * is imported. Every module a process loads stays in its heap for good (source, compiled code,
 * module records), and a server whose heap is a few megabytes larger spends measurably more time
 * in V8's incremental marking under load (see "Heap at start" in BENCHMARKS.md). `node:http2`
 * and `node:stream/web` cost about 220 and 170 KB each in Node 20.
 */
import { createRequire } from 'node:module';
import type * as Http2 from 'node:http2';
import type * as StreamWeb from 'node:stream/web';

// Built-ins resolve the same from any base path.
const requireBuiltin = createRequire('/');

let http2: typeof Http2 | undefined;
let streamWeb: typeof StreamWeb | undefined;

/** `node:http2`, loaded on the first call. */
export function nodeHttp2(): typeof Http2 {
  return (http2 ??= requireBuiltin('node:http2') as typeof Http2);
}

/** `node:stream/web`, loaded on the first call. */
export function nodeStreamWeb(): typeof StreamWeb {
  return (streamWeb ??= requireBuiltin('node:stream/web') as typeof StreamWeb);
}
