/**
 * What an application gets from `import { WebSocketServer } from 'ironsock'`: the package's
 * entry, the bundle in dist/lib (scripts/bundle.js), typed by the modules it is built from. The
 * bench servers take ironsock from here so that they measure what ships.
 */
const shipped = (await import(
  new URL('../../lib/index.js', import.meta.url).href
)) as typeof import('../../src/index.js');

export const { WebSocketServer } = shipped;
