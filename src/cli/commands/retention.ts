import { sweepRetention } from '../../retention/sweep.js';
import { engageRetention } from '../../storage/bucket.js';
import { openBucket } from '../../storage/bucket-url.js';
import { type CliIo, UserError, writeLine } from '../io.js';
import { bucketOption } from '../options.js';
import { action, defineActions } from '../spec.js';

export const command = defineActions('retention', {
  summary: 'delete clips past their retention (legal holds excepted), or show what would go',
  actions: {
    sweep: action({
      synopsis: '[options]',
      options: {
        bucket: bucketOption,
        'dry-run': { type: 'boolean', help: 'list what would be deleted, delete nothing' },
        json: { type: 'boolean', help: 'print the sweep report as one JSON object' },
        now: {
          type: 'string',
          value: 'ISO',
          help: 'sweep as if it were this time (ISO-8601), e.g. to preview next week with --dry-run',
        },
      },
      run: ({ values }, io) => sweep(values, io),
    }),
  },
  notes: 'exit 0 when every expired object was deleted, 1 if some could not be',
});

async function sweep(
  values: {
    bucket?: string | undefined;
    'dry-run'?: boolean | undefined;
    json?: boolean | undefined;
    now?: string | undefined;
  },
  io: CliIo,
): Promise<number> {
  const nowMs = values.now === undefined ? Date.now() : Date.parse(values.now);
  if (!Number.isFinite(nowMs))
    throw new UserError(`--now ${JSON.stringify(values.now)} is not an ISO-8601 time`);
  let report: Awaited<ReturnType<typeof sweepRetention>>;
  try {
    const bucket = openBucket(values.bucket, io.cwd);
    const { mode } = await engageRetention(bucket);
    report = await sweepRetention({ bucket, nowMs, dryRun: values['dry-run'] ?? false, mode });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`retention sweep failed: ${(error as Error).message}`, 1);
  }
  if (values.json) {
    writeLine(io.stdout, JSON.stringify(report));
  } else {
    const verb = report.dryRun ? 'would delete' : 'deleted';
    for (const d of report.deleted) writeLine(io.stdout, `${verb} ${d.key} (expired ${d.expiredAt})`);
    for (const d of report.due)
      writeLine(io.stdout, `due     ${d.key} (expired ${d.expiredAt}; the bucket removes it)`);
    for (const h of report.held) writeLine(io.stdout, `held    ${h.key}`);
    for (const e of report.errors) writeLine(io.stderr, `error   ${e.key}: ${e.error}`);
    writeLine(
      io.stdout,
      `${report.bucket} at ${report.at} (retention mode ${report.mode}): ${report.deleted.length} ${verb}, ` +
        `${report.retained} retained, ${report.held.length} held, ${report.undated.length} undated, ` +
        `${report.errors.length} errors` +
        (report.mode === 'sweeper' ? '' : `, ${report.due.length} due (the bucket removes them)`),
    );
  }
  return report.errors.length === 0 ? 0 : 1;
}
