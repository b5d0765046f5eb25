import { type LifecycleConfigurationShape, lifecycleRules } from '../../retention/enforcement.js';
import { engageRetention } from '../../storage/bucket.js';
import { openBucket } from '../../storage/bucket-url.js';
import { S3Bucket } from '../../storage/s3-bucket.js';
import { type CliIo, UserError, writeLine } from '../io.js';
import { bucketOption } from '../options.js';
import { action, defineActions } from '../spec.js';

export const command = defineActions('bucket', {
  summary: 'set up and check the retention an S3 bucket enforces itself (Object Lock, lifecycle)',
  actions: {
    setup: action({
      synopsis: '--retention-days N [--dry-run] [options]',
      options: {
        bucket: bucketOption,
        'retention-days': {
          type: 'string',
          value: 'N',
          help: "expire clips tagged retention-days=N after N days (the profile's retentionDays)",
        },
        'dry-run': {
          type: 'boolean',
          help: 'print the lifecycle configuration as JSON (for Terraform, CloudFormation, aws s3api), write nothing',
        },
      },
      run: ({ values }, io) => setup(values, io),
    }),
    status: action({
      synopsis: '[options]',
      options: {
        bucket: bucketOption,
        'retention-days': {
          type: 'string',
          value: 'N',
          help: "the profile's retentionDays (lifecycle mode needs a rule for them; default: any rule)",
        },
        json: { type: 'boolean', help: 'print the mode and what the bucket answered as one JSON object' },
      },
      run: ({ values }, io) => status(values, io),
    }),
  },
  notes:
    "setup writes the lifecycle rules (keeping the bucket's other rules); status says which retention mode an agent " +
    'gets on the bucket: object-lock, lifecycle or sweeper',
});

function retentionDays(value: string | undefined, required: true): number;
function retentionDays(value: string | undefined, required: false): number | undefined;
function retentionDays(value: string | undefined, required: boolean): number | undefined {
  if (value === undefined) {
    if (required) throw new UserError('missing --retention-days N (e.g. 60, as in the profile)');
    return undefined;
  }
  const days = Number(value);
  if (!/^\d+$/.test(value) || days < 1 || days > 3650) {
    throw new UserError(
      `--retention-days ${JSON.stringify(value)} must be a whole number of days from 1 to 3650`,
    );
  }
  return days;
}

async function setup(
  values: {
    bucket?: string | undefined;
    'retention-days'?: string | undefined;
    'dry-run'?: boolean | undefined;
  },
  io: CliIo,
): Promise<number> {
  const days = retentionDays(values['retention-days'], true);
  if (values['dry-run']) {
    const configuration: LifecycleConfigurationShape = { Rules: lifecycleRules(days) };
    writeLine(io.stdout, JSON.stringify(configuration, null, 2));
    return 0;
  }
  const bucket = openBucket(values.bucket, io.cwd);
  if (!(bucket instanceof S3Bucket)) {
    throw new UserError(
      `${bucket.describe()} is a folder: it has no lifecycle rules, the agent's sweeper keeps its retention`,
    );
  }
  let written: LifecycleConfigurationShape;
  try {
    written = await bucket.writeLifecycleRules(days);
  } catch (error) {
    throw new UserError(`bucket setup failed: ${(error as Error).message}`, 1);
  }
  writeLine(io.stdout, JSON.stringify(written, null, 2));
  writeLine(io.stderr, `${bucket.describe()}: lifecycle rules for retention-days=${days} written`);
  return 0;
}

async function status(
  values: { bucket?: string | undefined; 'retention-days'?: string | undefined; json?: boolean | undefined },
  io: CliIo,
): Promise<number> {
  const days = retentionDays(values['retention-days'], false);
  const bucket = openBucket(values.bucket, io.cwd);
  let engaged: Awaited<ReturnType<typeof engageRetention>>;
  try {
    engaged = await engageRetention(bucket, days === undefined ? {} : { retentionDays: days });
  } catch (error) {
    throw new UserError(`bucket status failed: ${(error as Error).message}`, 1);
  }
  if (values.json) writeLine(io.stdout, JSON.stringify({ bucket: bucket.describe(), ...engaged }));
  else writeLine(io.stdout, `${bucket.describe()}: retention mode ${engaged.mode}: ${engaged.reason}`);
  return 0;
}
