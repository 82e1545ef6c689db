import { createHash, randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { Platform } from '../protocol/platform.js';

/** The Node platform for the core: CSPRNG from `node:crypto`, pooled allocation, native UTF-8 check. */
export const nodePlatform: Platform = {
  randomFill: (bytes) => {
    randomFillSync(bytes);
  },
  sha1: (data) => createHash('sha1').update(data).digest(),
  alloc: (size) => Buffer.allocUnsafe(size),
  isUtf8: (bytes) => isUtf8(bytes),
};
