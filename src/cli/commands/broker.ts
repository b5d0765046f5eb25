import { createLogger } from '../../log/logger.js';
import { EmbeddedBroker } from '../../mqtt/broker.js';
import { waitForSignal, writeLine } from '../io.js';
import { brokerSecurityFrom, brokerSecurityOptionSpec, listenOptionSpec, portFrom } from '../options.js';
import { defineCommand } from '../spec.js';

export const command = defineCommand('broker', {
  summary: 'run only the embedded MQTT broker (for several doorbells or external tools)',
  synopsis: '[options]',
  options: { ...listenOptionSpec, ...brokerSecurityOptionSpec },
  async run({ values }, io) {
    const broker = new EmbeddedBroker({
      host: values.host ?? '127.0.0.1',
      port: portFrom(values.port),
      logger: createLogger(),
      ...(await brokerSecurityFrom(values, io)),
    });
    await broker.start();
    writeLine(io.stdout, `embedded MQTT broker listening on ${broker.url}`);
    if (broker.tlsPort) writeLine(io.stdout, `TLS listener on ${broker.tlsUrl}`);
    if (broker.auth) writeLine(io.stdout, `users and ACL from ${values.auth}`);
    await waitForSignal();
    await broker.stop();
    return 0;
  },
});
