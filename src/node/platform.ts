import { createRequire } from 'node:module';
import { nodeBuffer, nodeCrypto } from './builtins.js';
import type { Platform } from '../protocol/platform.js';

/**
 * The optional `bufferutil` add-on (the native masking code `ws` also uses), when the
 * application has installed it. Never a dependency: without it the core's own
 * word-at-a-time loop masks at several GB/s; with it, large messages cost less CPU.
 * Set `IRONSOCK_NO_NATIVE=1` to ignore it.
 */
type NativeUnmask = (data: Uint8Array, key: Uint8Array) => void;
type NativeMask = (
  source: Uint8Array,
  key: Uint8Array,
  target: Uint8Array,
  offset: number,
  length: number,
) => void;

/**
 * This module's URL, so `bufferutil` is resolved from ironsock's own location. The CommonJS build
 * (`scripts/build-cjs.js`) replaces the `import.meta.url` below with the CommonJS equivalent,
 * because `import.meta` is a syntax error in a CommonJS module.
 */
function moduleUrl(): string {
  // eslint-disable-next-line @typescript-eslint/ban-ts-comment
  // @ts-ignore TS1343 in the CommonJS pass only (rewritten there, see above)
  return import.meta.url;
}

function loadNative(): { unmask: NativeUnmask; mask: NativeMask | undefined } | undefined {
  if (process.env.IRONSOCK_NO_NATIVE === '1') return undefined;
  try {
    const addon = createRequire(moduleUrl())('bufferutil') as {
      unmask?: NativeUnmask;
      mask?: NativeMask;
    };
    const unmask = addon.unmask;
    if (typeof unmask !== 'function') return undefined;
    // bufferutil falls back to JavaScript when its binary is missing; check it works at all.
    const probe = Buffer.from([1, 2, 3, 4]);
    unmask(probe, Buffer.from([1, 2, 3, 4]));
    if (probe.readUInt32BE(0) !== 0) return undefined;
    let mask = typeof addon.mask === 'function' ? addon.mask : undefined;
    if (mask !== undefined) {
      const out = Buffer.from([9, 9, 9, 9, 9, 9]);
      mask(Buffer.from([1, 2, 3, 4]), Buffer.from([1, 2, 3, 4]), out, 1, 4);
      if (out.readUInt32BE(1) !== 0 || out[0] !== 9 || out[5] !== 9) mask = undefined;
    }
    return { unmask, mask };
  } catch {
    return undefined;
  }
}

const native = loadNative();
const nativeUnmask = native?.unmask;
const nativeMask = native?.mask;

/**
 * `crypto.hash` (Node ≥ 20.12 / 21.7): a one-shot digest without a `Hash` object. Read through
 * the namespace so older Node versions (and their type definitions) fall back to `createHash`.
 */
type OneShotHash = (algorithm: string, data: string, encoding: 'base64') => string;
const oneShotHash = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

const { createHash, randomFillSync } = nodeCrypto;
const { isUtf8 } = nodeBuffer;

/** base64(SHA-1(text)) for ASCII text: `Sec-WebSocket-Accept` in one native call. */
const sha1Base64 =
  typeof oneShotHash === 'function'
    ? (text: string): string => oneShotHash('sha1', text, 'base64')
    : (text: string): string => createHash('sha1').update(text, 'utf8').digest('base64');

/** The Node platform for the core: CSPRNG from `node:crypto`, pooled allocation, native UTF-8 check. */
export const nodePlatform: Platform = {
  randomFill: (bytes) => {
    randomFillSync(bytes);
  },
  sha1: (data) => createHash('sha1').update(data).digest(),
  sha1Base64,
  alloc: (size) => Buffer.allocUnsafe(size),
  isUtf8: (bytes) => isUtf8(bytes),
  ...(nativeUnmask === undefined ? {} : { unmask: nativeUnmask }),
  ...(nativeMask === undefined ? {} : { mask: nativeMask }),
};

/** Whether the optional native masking add-on is in use (reported by `ironsock bench`). */
export const usingNativeUnmask = nativeUnmask !== undefined;
