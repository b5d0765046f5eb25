import { describe, it } from 'vitest';
import { mosquittoPath, startMosquitto } from '../helpers/mqtt.js';
import { agentBrokerSuite } from './agent-broker-suite.js';

if (mosquittoPath()) {
  agentBrokerSuite('mosquitto', startMosquitto);
} else {
  describe('agent on mosquitto', () => {
    it.skipIf(true)(
      'needs the mosquitto binary (apt-get install mosquitto); not found, so these checks did not run',
      () => {},
    );
  });
}
