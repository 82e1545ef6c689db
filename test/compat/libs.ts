/**
 * The two libraries every ws-against-ironsock case runs against (ws-client and ws-oracle tests):
 * loaded when this module is imported, so only those suites pay for loading both.
 */
import { importByName, requireFromPackage } from './support.js';

/** ws's CommonJS shape, as both libraries have it: the class with `Server` and friends. */
export type Lib = any;

/**
 * ws (its CommonJS entry; its ES module default has no `Server` static) as the oracle, and
 * ironsock loaded by name.
 */
export const LIBS: Array<[name: 'ws' | 'ironsock', lib: Lib]> = [
  ['ws', requireFromPackage('ws')],
  ['ironsock', (await importByName('ironsock')).default],
];
