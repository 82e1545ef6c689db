/**
 * The in-process bus: several hubs (several `WebSocketServer`s) in one process share topics as
 * if they were nodes on Redis or NATS, through the same envelope, batching and gap detection.
 * Used by the contract suite as the reference adapter, and useful to run two servers (say, ws://
 * and wss://) in one process with common rooms.
 *
 * Delivery is asynchronous (a microtask after `publish`), in publish order, exactly once per
 * subscribed adapter, never to the publishing adapter itself unless it subscribed the channel.
 *
 * @example
 * const bus = memoryBus();
 * const a = new WebSocketServer({ port: 8080, pubsub: { adapter: bus.adapter() } });
 * const b = new WebSocketServer({ port: 8081, pubsub: { adapter: bus.adapter() } });
 */
import type { BusAdapter, BusSink } from './adapter.js';

/** A shared in-process bus; each `adapter()` is one node on it. */
export interface MemoryBus {
  /** A new node's adapter. */
  adapter(): BusAdapter;
  /** Number of open adapters. */
  readonly size: number;
}

interface Node {
  sink: BusSink | null;
  channels: Set<string>;
  closed: boolean;
}

/** Creates an in-process bus. */
export function memoryBus(): MemoryBus {
  const nodes = new Set<Node>();
  return {
    get size() {
      return nodes.size;
    },
    adapter(): BusAdapter {
      const node: Node = { sink: null, channels: new Set(), closed: false };
      return {
        name: 'memory',
        open(sink) {
          node.sink = sink;
          nodes.add(node);
          return Promise.resolve();
        },
        subscribe(channel) {
          node.channels.add(channel);
          return Promise.resolve();
        },
        unsubscribe(channel) {
          node.channels.delete(channel);
          return Promise.resolve();
        },
        publish(channel, message) {
          if (node.closed) return;
          const targets: Node[] = [];
          for (const other of nodes) if (other.channels.has(channel)) targets.push(other);
          queueMicrotask(() => {
            for (const target of targets) {
              if (!target.closed && target.channels.has(channel))
                target.sink?.message(channel, message);
            }
          });
        },
        close() {
          node.closed = true;
          nodes.delete(node);
          node.channels.clear();
          return Promise.resolve();
        },
      };
    },
  };
}
