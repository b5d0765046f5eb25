import { parseArgs } from 'node:util';
import { createLogger } from '../../log/logger.js';
import { EmbeddedBroker } from '../../mqtt/broker.js';
import { type CliCommand, waitForSignal, writeLine } from '../io.js';
import { brokerSecurityFrom, brokerSecurityOptionSpec, portFrom } from '../options.js';

export const command: CliCommand = {
  summary: 'run only the embedded MQTT broker (for several doorbells or external tools)',
  usage:
    'doorbell broker [--port N] [--host ADDR] [--auth USERS.json | --insecure-anonymous]\n' +
    '                [--tls-cert FILE --tls-key FILE [--tls-ca FILE] [--tls-port N] [--tls-identity]]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { port: { type: 'string' }, host: { type: 'string' }, ...brokerSecurityOptionSpec },
      strict: true,
    });
    const broker = new EmbeddedBroker({
      host: values.host ?? '127.0.0.1',
      port: portFrom(values.port, io),
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
};
