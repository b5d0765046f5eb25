import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_AUDIT_LOG_PATH } from '../../audit/audit-log.js';
import { verifyAuditLog } from '../../audit/audit-verify.js';
import { AuditHeadSchema } from '../../events/schemas.js';
import { readRetained } from '../../mqtt/request-client.js';
import { deviceTopics } from '../../mqtt/topics.js';
import { type CliCommand, type CliIo, UsageError, writeLine } from '../io.js';
import { type BrokerFlags, brokerOptionSpec, connectionFrom, deviceIdFrom } from '../options.js';

export const command: CliCommand = {
  summary: 'verify the hash-chained audit log of share requests, decisions, releases and legal holds',
  usage: `doorbell audit verify [FILE] [--head HASH | --broker URL --id ID [--username U --password P …]]

  FILE     the audit log; default ${DEFAULT_AUDIT_LOG_PATH}
  --head   the head hash you recorded earlier; also catches removed or rewritten newest records
  --broker read the head the device published (retained on <prefix>/<id>/owner/audit-head, for owners) instead
  exit 0 "ok, N records, head H"; exit 1 naming the first bad line; exit 3 when the broker holds no head`,
  async run(args, io) {
    const [action, ...rest] = args;
    if (action !== 'verify') {
      throw new UsageError(
        action ? `unknown action "${action}" (use verify)` : 'missing action (use verify)',
      );
    }
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        head: { type: 'string' },
        id: { type: 'string' },
        prefix: { type: 'string' },
        timeout: { type: 'string' },
        ...brokerOptionSpec,
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    if (values.head !== undefined && !/^[0-9a-f]{64}$/.test(values.head)) {
      throw new UsageError(`--head ${JSON.stringify(values.head)} is not a 64-digit hex hash`);
    }
    if (values.head !== undefined && values.broker !== undefined) {
      throw new UsageError('give --head or --broker, not both');
    }
    const expectedHead = values.broker === undefined ? values.head : await publishedHead(values, io);
    const path = resolve(io.cwd, positionals[0] ?? DEFAULT_AUDIT_LOG_PATH);
    const result = await verifyAuditLog(path, expectedHead === undefined ? {} : { expectedHead }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw new UsageError(`audit log ${path} not found`);
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
  },
};

/** The head the device published, retained, on its owner topic. */
async function publishedHead(
  values: BrokerFlags & {
    id?: string | undefined;
    prefix?: string | undefined;
    timeout?: string | undefined;
  },
  io: CliIo,
): Promise<string> {
  const timeoutMs = Number(values.timeout ?? 5000);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new UsageError(`--timeout ${JSON.stringify(values.timeout)}: not a positive number of ms`);
  }
  const connection = connectionFrom(values, io, '');
  const topic = deviceTopics(values.prefix ?? 'doorbell', deviceIdFrom(values.id, io)).ownerAuditHead;
  const read = await readRetained(connection, topic, timeoutMs);
  if (read.kind === 'connect-error')
    throw new UsageError(`cannot reach broker ${connection.url}: ${read.message}`, 3);
  if (read.kind === 'none') {
    throw new UsageError(
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
  if (!head.success) throw new UsageError(`${topic}: not an audit head ({seq, hash})`, 1);
  return head.data.hash;
}
