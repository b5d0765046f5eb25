import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { PressSourceSchema, ResponseSchema } from '../../events/schemas.js';
import { BrokerConnectionSchema } from '../../mqtt/connection.js';
import { requestOnce } from '../../mqtt/request-client.js';
import { deviceTopics } from '../../mqtt/topics.js';
import { type CliCommand, UsageError, writeLine } from '../io.js';
import { brokerOptionSpec, connectionFrom, DEFAULT_PORT, deviceIdFrom } from '../options.js';

export const command: CliCommand = {
  summary: 'ring a running doorbell over MQTT and print its response (exit 0 = it rang)',
  usage:
    'doorbell press [--id ID] [--broker URL] [--prefix doorbell] [--timeout MS] [--source cli|scenario|…]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        id: { type: 'string' },
        prefix: { type: 'string' },
        timeout: { type: 'string' },
        source: { type: 'string' },
        ...brokerOptionSpec,
      },
      strict: true,
    });
    const deviceId = deviceIdFrom(values.id, io);
    const timeoutMs = Number(values.timeout ?? 5000);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new UsageError(`--timeout ${values.timeout}: not a positive number of ms`);
    const source = values.source ?? 'cli';
    if (!PressSourceSchema.safeParse(source).success) {
      throw new UsageError(
        `--source ${JSON.stringify(source)}: not a press source (one of ${PressSourceSchema.options.join(', ')})`,
      );
    }
    const connection = connectionFrom(values, io, `mqtt://127.0.0.1:${DEFAULT_PORT}`);
    BrokerConnectionSchema.parse(connection);
    const topics = deviceTopics(values.prefix ?? 'doorbell', deviceId);
    const transaction = randomUUID();
    const reply = await requestOnce({
      connection,
      requestTopic: topics.request('press'),
      responseTopic: topics.response('press'),
      body: { transaction, source },
      transaction,
      timeoutMs,
    });
    if (reply.kind === 'timeout') {
      writeLine(
        io.stderr,
        `doorbell press: no answer from "${deviceId}" within ${timeoutMs} ms (is it running on ${connection.url}?)`,
      );
      return 3;
    }
    if (reply.kind === 'connect-error') {
      writeLine(io.stderr, `doorbell press: cannot reach broker ${connection.url}: ${reply.message}`);
      return 3;
    }
    const response = ResponseSchema.parse(reply.response);
    writeLine(io.stdout, JSON.stringify(response));
    if (response.status !== 'ok') return 1;
    return (response.data as { rang?: boolean } | undefined)?.rang ? 0 : 1;
  },
};
