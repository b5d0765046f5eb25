import { parseArgs } from 'node:util';
import { ClipLookupError, setLegalHold } from '../../retention/legal-hold.js';
import { BucketUrlError, openBucket } from '../../storage/bucket-url.js';
import { InvalidKeyError } from '../../storage/keys.js';
import { type CliCommand, UsageError, writeLine } from '../io.js';

export const command: CliCommand = {
  summary: 'set or clear a legal hold on a clip (held clips survive retention)',
  usage: `doorbell hold set|clear CLIP_ID [--bucket URL] [--device ID] [--json]

  CLIP_ID    the clip's id (its .mp4 and .jpg objects are both changed)
  --bucket   DIR | file:///DIR | s3://NAME?endpoint=URL&region=R   default ./.doorbell/bucket
  --device   the device id, needed when two devices have a clip with this id
  exit 1 when the clip is not found`,
  async run(args, io) {
    const [action, ...rest] = args;
    if (action !== 'set' && action !== 'clear') {
      throw new UsageError(
        action ? `unknown action "${action}" (use set or clear)` : 'missing action (use set or clear)',
      );
    }
    const { values, positionals } = parseArgs({
      args: rest,
      options: { bucket: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    const [clipId, extra] = positionals;
    if (clipId === undefined) throw new UsageError('missing CLIP_ID');
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const held = action === 'set';
    let result: Awaited<ReturnType<typeof setLegalHold>>;
    try {
      const bucket = openBucket(values.bucket, io.cwd);
      result = await setLegalHold(
        bucket,
        clipId,
        held,
        values.device === undefined ? {} : { deviceId: values.device },
      );
    } catch (error) {
      if (error instanceof BucketUrlError || error instanceof InvalidKeyError)
        throw new UsageError(error.message);
      if (error instanceof ClipLookupError) throw new UsageError(error.message, 1);
      throw new UsageError(`hold ${action} failed: ${(error as Error).message}`, 1);
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
  },
};
