import { randomUUID } from 'node:crypto';
import { PressSourceSchema, ResponseSchema } from '../../events/schemas.js';
import { BrokerConnectionSchema } from '../../mqtt/connection.js';
import { requestOnce } from '../../mqtt/request-client.js';
import { deviceTopics } from '../../mqtt/topics.js';
import { UserError, writeLine } from '../io.js';
import { brokerOptionSpec, connectionFrom, DEFAULT_PORT, deviceIdFrom, deviceIdOption } from '../options.js';
import { defineCommand } from '../spec.js';

export const command = defineCommand('press', {
  summary: 'ring a running doorbell over MQTT and print its response (exit 0 = it rang)',
  synopsis: '[options]',
  options: {
    ...deviceIdOption,
    prefix: { type: 'string', value: 'P', help: 'topic prefix (default doorbell)' },
    timeout: { type: 'string', value: 'MS', help: 'how long to wait for the answer (default 5000)' },
    source: {
      type: 'string',
      value: 'SOURCE',
      help: `who pressed: ${PressSourceSchema.options.join(', ')} (default cli)`,
    },
    ...brokerOptionSpec,
  },
  notes: 'Exit codes: 0 it rang, 1 it did not, 2 bad arguments, 3 no answer or no broker.',
  async run({ values }, io) {
    const deviceId = deviceIdFrom(values.id);
    const timeoutMs = Number(values.timeout ?? 5000);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new UserError(`--timeout ${values.timeout}: not a positive number of ms`);
    const source = values.source ?? 'cli';
    if (!PressSourceSchema.safeParse(source).success) {
      throw new UserError(
        `--source ${JSON.stringify(source)}: not a press source (one of ${PressSourceSchema.options.join(', ')})`,
      );
    }
    const connection = connectionFrom(values, `mqtt://127.0.0.1:${DEFAULT_PORT}`);
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
});
