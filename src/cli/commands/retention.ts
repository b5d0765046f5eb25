import { parseArgs } from 'node:util';
import { sweepRetention } from '../../retention/sweep.js';
import { BucketUrlError, openBucket } from '../../storage/bucket-url.js';
import { InvalidKeyError } from '../../storage/keys.js';
import { type CliCommand, UsageError, writeLine } from '../io.js';

export const command: CliCommand = {
  summary: 'delete clips past their retention (legal holds excepted), or show what would go',
  usage: `doorbell retention sweep [--bucket URL] [--dry-run] [--json] [--now ISO]

  --bucket   DIR | file:///DIR | s3://NAME?endpoint=URL&region=R   default ./.doorbell/bucket
  --dry-run  list what would be deleted, delete nothing
  --json     print the sweep report as one JSON object
  --now      sweep as if it were this time (ISO-8601), e.g. to preview next week with --dry-run
  exit 0 when every expired object was deleted, 1 if some could not be`,
  async run(args, io) {
    const [action, ...rest] = args;
    if (action !== 'sweep') {
      throw new UsageError(action ? `unknown action "${action}" (use sweep)` : 'missing action (use sweep)');
    }
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        bucket: { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        now: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const nowMs = values.now === undefined ? Date.now() : Date.parse(values.now);
    if (!Number.isFinite(nowMs))
      throw new UsageError(`--now ${JSON.stringify(values.now)} is not an ISO-8601 time`);
    let report: Awaited<ReturnType<typeof sweepRetention>>;
    try {
      const bucket = openBucket(values.bucket, io.cwd);
      report = await sweepRetention({ bucket, nowMs, dryRun: values['dry-run'] ?? false });
    } catch (error) {
      if (error instanceof BucketUrlError || error instanceof InvalidKeyError)
        throw new UsageError(error.message);
      throw new UsageError(`retention sweep failed: ${(error as Error).message}`, 1);
    }
    if (values.json) {
      writeLine(io.stdout, JSON.stringify(report));
    } else {
      const verb = report.dryRun ? 'would delete' : 'deleted';
      for (const d of report.deleted) writeLine(io.stdout, `${verb} ${d.key} (expired ${d.expiredAt})`);
      for (const h of report.held) writeLine(io.stdout, `held    ${h.key}`);
      for (const e of report.errors) writeLine(io.stderr, `error   ${e.key}: ${e.error}`);
      writeLine(
        io.stdout,
        `${report.bucket} at ${report.at}: ${report.deleted.length} ${verb}, ${report.retained} retained, ` +
          `${report.held.length} held, ${report.undated.length} undated, ${report.errors.length} errors`,
      );
    }
    return report.errors.length === 0 ? 0 : 1;
  },
};
