import { resolve } from 'node:path';
import { DEFAULT_AUDIT_LOG_PATH } from '../../audit/audit-log.js';
import { verifyAuditLog } from '../../audit/audit-verify.js';
import { AuditHeadSchema } from '../../events/schemas.js';
import { readRetained } from '../../mqtt/request-client.js';
import { deviceTopics } from '../../mqtt/topics.js';
import { type CliIo, UserError, writeLine } from '../io.js';
import {
  type BrokerFlags,
  brokerOptionSpec,
  connectionFrom,
  deviceIdFrom,
  deviceIdOption,
} from '../options.js';
import { action, defineActions } from '../spec.js';

export const command = defineActions('audit', {
  summary: 'verify the hash-chained audit log of share requests, decisions, releases and legal holds',
  actions: {
    verify: action({
      synopsis: '[FILE] [--head HASH | --broker URL --id ID [--username U --password P …]]',
      about: `FILE: the audit log; default ${DEFAULT_AUDIT_LOG_PATH}`,
      positionals: true,
      options: {
        head: {
          type: 'string',
          value: 'HASH',
          help: 'the head hash you recorded earlier; also catches removed or rewritten newest records',
        },
        ...brokerOptionSpec,
        // Only the flag picks the broker here: without it the log is checked on its own.
        broker: {
          type: 'string',
          value: 'URL',
          help: 'read the head the device published from this broker instead of --head',
        },
        ...deviceIdOption,
        prefix: { type: 'string', value: 'P', help: 'topic prefix (default doorbell)' },
        timeout: { type: 'string', value: 'MS', help: 'how long to wait for the head (default 5000)' },
      },
      run: ({ values, positionals }, io) => verify(values, positionals, io),
    }),
  },
  notes:
    '--broker reads the head the device published instead (retained on <prefix>/<id>/owner/audit-head, for owners).\n' +
    'exit 0 "ok, N records, head H"; exit 1 naming the first bad line; exit 3 when the broker holds no head',
});

async function verify(
  values: BrokerFlags & {
    head?: string | undefined;
    id?: string | undefined;
    prefix?: string | undefined;
    timeout?: string | undefined;
  },
  positionals: string[],
  io: CliIo,
): Promise<number> {
  if (positionals.length > 1) throw new UserError(`unexpected argument "${positionals[1]}"`);
  if (values.head !== undefined && !/^[0-9a-f]{64}$/.test(values.head)) {
    throw new UserError(`--head ${JSON.stringify(values.head)} is not a 64-digit hex hash`);
  }
  if (values.head !== undefined && values.broker !== undefined) {
    throw new UserError('give --head or --broker, not both');
  }
  const expectedHead = values.broker === undefined ? values.head : await publishedHead(values);
  const path = resolve(io.cwd, positionals[0] ?? DEFAULT_AUDIT_LOG_PATH);
  const result = await verifyAuditLog(path, expectedHead === undefined ? {} : { expectedHead }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new UserError(`audit log ${path} not found`);
      throw error;
    },
  );
  if (result.ok) {
    writeLine(io.stdout, `ok, ${result.records} records, head ${result.head}`);
    return 0;
  }
  writeLine(
    io.stderr,
    `${path}: line ${result.line}: ${result.reason} (${result.records} records before it verify)`,
  );
  return 1;
}

/** The head the device published, retained, on its owner topic. */
async function publishedHead(
  values: BrokerFlags & {
    id?: string | undefined;
    prefix?: string | undefined;
    timeout?: string | undefined;
  },
): Promise<string> {
  const timeoutMs = Number(values.timeout ?? 5000);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new UserError(`--timeout ${JSON.stringify(values.timeout)}: not a positive number of ms`);
  }
  const connection = connectionFrom(values, '');
  const topic = deviceTopics(values.prefix ?? 'doorbell', deviceIdFrom(values.id)).ownerAuditHead;
  const read = await readRetained(connection, topic, timeoutMs);
  if (read.kind === 'connect-error')
    throw new UserError(`cannot reach broker ${connection.url}: ${read.message}`, 3);
  if (read.kind === 'none') {
    throw new UserError(
      `no audit head retained on ${topic} (is the device's log empty, or are you not its owner?)`,
      3,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(read.payload.toString('utf8'));
  } catch {
    json = undefined;
  }
  const head = AuditHeadSchema.safeParse(json);
  if (!head.success) throw new UserError(`${topic}: not an audit head ({seq, hash})`, 1);
  return head.data.hash;
}
