import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_AUDIT_LOG_PATH } from '../../audit/audit-log.js';
import { verifyAuditLog } from '../../audit/audit-verify.js';
import { type CliCommand, UsageError, writeLine } from '../io.js';

export const command: CliCommand = {
  summary: 'verify the hash-chained audit log of share requests, decisions, releases and legal holds',
  usage: `doorbell audit verify [FILE] [--head HASH]

  FILE     the audit log; default ${DEFAULT_AUDIT_LOG_PATH}
  --head   the head hash you recorded earlier; also catches removed or rewritten newest records
  exit 0 "ok, N records, head H"; exit 1 naming the first bad line`,
  async run(args, io) {
    const [action, ...rest] = args;
    if (action !== 'verify') {
      throw new UsageError(
        action ? `unknown action "${action}" (use verify)` : 'missing action (use verify)',
      );
    }
    const { values, positionals } = parseArgs({
      args: rest,
      options: { head: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    if (values.head !== undefined && !/^[0-9a-f]{64}$/.test(values.head)) {
      throw new UsageError(`--head ${JSON.stringify(values.head)} is not a 64-digit hex hash`);
    }
    const path = resolve(io.cwd, positionals[0] ?? DEFAULT_AUDIT_LOG_PATH);
    const result = await verifyAuditLog(
      path,
      values.head === undefined ? {} : { expectedHead: values.head },
    ).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new UsageError(`audit log ${path} not found`);
      throw error;
    });
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
