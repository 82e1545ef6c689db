// `ironsock/protocol`: the engine's public surface, without its internal plumbing.
import { Connection, resolveLimits } from 'ironsock/protocol';
import type { ConnectionHandler, ConnectionOptions } from 'ironsock/protocol';

declare const options: ConnectionOptions;
declare const handler: ConnectionHandler;
const conn = new Connection(options, handler);
conn.receiveData(new Uint8Array(0));
void resolveLimits({ maxPayload: 0 }).maxPayload;
// @ts-expect-error the parser callbacks are internal (stripped from the published types)
conn.onHeader(true, 0, 1, false, 0);
