import { createHash, randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import type { Platform } from '../protocol/platform.js';

/**
 * The optional `bufferutil` add-on (the native masking code `ws` also uses), when the
 * application has installed it. Never a dependency: without it the core's own
 * word-at-a-time loop masks at several GB/s; with it, large messages cost less CPU.
 * Set `IRONSOCK_NO_NATIVE=1` to ignore it.
 */
function loadNativeUnmask(): ((data: Uint8Array, key: Uint8Array) => void) | undefined {
  if (process.env.IRONSOCK_NO_NATIVE === '1') return undefined;
  try {
    const addon = createRequire(import.meta.url)('bufferutil') as {
      unmask?: (data: Buffer, key: Buffer) => void;
    };
    const unmask = addon.unmask;
    if (typeof unmask !== 'function') return undefined;
    // bufferutil falls back to JavaScript when its binary is missing; check it works at all.
    const probe = Buffer.from([1, 2, 3, 4]);
    unmask(probe, Buffer.from([1, 2, 3, 4]));
    if (probe.readUInt32BE(0) !== 0) return undefined;
    return unmask as (data: Uint8Array, key: Uint8Array) => void;
  } catch {
    return undefined;
  }
}

const nativeUnmask = loadNativeUnmask();

/** The Node platform for the core: CSPRNG from `node:crypto`, pooled allocation, native UTF-8 check. */
export const nodePlatform: Platform = {
  randomFill: (bytes) => {
    randomFillSync(bytes);
  },
  sha1: (data) => createHash('sha1').update(data).digest(),
  alloc: (size) => Buffer.allocUnsafe(size),
  isUtf8: (bytes) => isUtf8(bytes),
  ...(nativeUnmask === undefined ? {} : { unmask: nativeUnmask }),
};

/** Whether the optional native masking add-on is in use (reported by `ironsock bench`). */
export const usingNativeUnmask = nativeUnmask !== undefined;
