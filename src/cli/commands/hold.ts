import { setLegalHold } from '../../retention/legal-hold.js';
import { engageRetention } from '../../storage/bucket.js';
import { openBucket } from '../../storage/bucket-url.js';
import { type CliIo, UserError, writeLine } from '../io.js';
import { bucketOption } from '../options.js';
import { action, defineActions } from '../spec.js';

const holdAction = (held: boolean) =>
  action({
    synopsis: 'CLIP_ID [options]',
    about: "CLIP_ID: the clip's id (its .mp4 and .jpg objects are both changed)",
    positionals: true,
    options: {
      bucket: bucketOption,
      device: {
        type: 'string',
        value: 'ID',
        help: 'the device id, needed when two devices have a clip with this id',
      },
      json: { type: 'boolean', help: 'print the changes as one JSON object' },
    },
    run: ({ values, positionals }, io) => hold(held, values, positionals, io),
  });

export const command = defineActions('hold', {
  summary: 'set or clear a legal hold on a clip (held clips survive retention)',
  actions: { set: holdAction(true), clear: holdAction(false) },
  notes: 'exit 1 when the clip is not found',
});

async function hold(
  held: boolean,
  values: { bucket?: string | undefined; device?: string | undefined; json?: boolean | undefined },
  positionals: string[],
  io: CliIo,
): Promise<number> {
  const verb = held ? 'set' : 'clear';
  const [clipId, extra] = positionals;
  if (clipId === undefined) throw new UserError('missing CLIP_ID');
  if (extra !== undefined) throw new UserError(`unexpected argument "${extra}"`);
  let result: Awaited<ReturnType<typeof setLegalHold>>;
  try {
    const bucket = openBucket(values.bucket, io.cwd);
    // Under Object Lock the hold is the store's (PutObjectLegalHold), not a metadata rewrite: ask first.
    const engaged = await engageRetention(bucket);
    if (engaged.facts?.objectLock === 'unknown') {
      // A bucket that may have Object Lock but will not say: the hold below is metadata and tags, which S3 does not
      // enforce; the owner must know before relying on it.
      const why = engaged.facts.notes.join('; ');
      writeLine(
        io.stderr,
        `warning: the bucket would not say whether it has Object Lock (${why}); the hold is ${verb} as ` +
          'metadata and tags, not as an S3 legal hold: allow s3:GetBucketObjectLockConfiguration to use it',
      );
    }
    result = await setLegalHold(
      bucket,
      clipId,
      held,
      values.device === undefined ? {} : { deviceId: values.device },
    );
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`hold ${verb} failed: ${(error as Error).message}`, 1);
  }
  if (values.json) {
    writeLine(io.stdout, JSON.stringify(result));
  } else {
    for (const change of result.changes) {
      const what = change.before === change.after ? 'unchanged' : held ? 'held' : 'released';
      writeLine(io.stdout, `${what.padEnd(9)} ${change.key}`);
    }
    writeLine(
      io.stdout,
      `clip ${result.clipId} (${result.deviceId}): legal hold ${held ? 'set' : 'cleared'}`,
    );
  }
  return 0;
}
