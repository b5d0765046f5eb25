import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { agentBrokerSuite } from './agent-broker-suite.js';

agentBrokerSuite('aedes', async () => {
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  return { url: broker.url, stop: () => broker.stop() };
});
