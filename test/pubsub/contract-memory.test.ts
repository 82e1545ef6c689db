import { memoryBus } from '../../src/pubsub/memory.js';
import { runContract } from './contract.js';

runContract('in-process bus', { skip: false }, () => {
  const bus = memoryBus();
  return Promise.resolve({
    adapter: () => Promise.resolve(bus.adapter()),
    serverChannels: () => Promise.resolve(null),
    cleanup: () => Promise.resolve(),
  });
});
