import { parseArgs } from 'node:util';
import { createLogger } from '../../log/logger.js';
import { EmbeddedBroker } from '../../mqtt/broker.js';
import { type CliCommand, writeLine } from '../io.js';
import { portFrom } from '../options.js';

export const command: CliCommand = {
  summary: 'run only the embedded MQTT broker (for several doorbells or external tools)',
  usage: 'doorbell broker [--port N] [--host ADDR]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { port: { type: 'string' }, host: { type: 'string' } },
      strict: true,
    });
    const broker = new EmbeddedBroker({
      host: values.host ?? '127.0.0.1',
      port: portFrom(values.port, io),
      logger: createLogger(),
    });
    await broker.start();
    writeLine(io.stdout, `embedded MQTT broker listening on ${broker.url}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await broker.stop();
    return 0;
  },
};
