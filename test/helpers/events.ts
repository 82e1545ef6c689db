/** Waiting for events in tests (imports nothing from src, so any suite may use it). */
import type { EventEmitter } from 'node:events';

/** Resolves with the event's arguments, rejects after `ms` (default 5 s). */
export function once<T extends unknown[] = any[]>(
  emitter: Pick<EventEmitter, 'once' | 'off'>,
  event: string,
  ms = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' within ${ms} ms`));
    }, ms);
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as T);
    };
    emitter.once(event, listener);
  });
}
