import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsAdapter } from '../../src/pubsub/nats.js';
import { runContract } from './contract.js';
import { natsGate, startNats } from './servers.js';

runContract('NATS core (nats-server, @nats-io/transport-node)', natsGate(), async () => {
  const server = await startNats();
  const connections: NatsConnection[] = [];
  return {
    adapter: async () => {
      const nc = await connect({ servers: `127.0.0.1:${server.port}` });
      connections.push(nc);
      return natsAdapter(nc);
    },
    serverChannels: () => Promise.resolve(null),
    cleanup: async () => {
      for (const nc of connections) await nc.close();
      await server.stop();
    },
  };
});
