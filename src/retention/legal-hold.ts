import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withFileLock } from '../persist/file-lock.js';
import { type Bucket, setObjectLegalHold } from '../storage/bucket.js';
import { CLIP_META } from '../storage/clip-metadata.js';
import { assertClipId, CLIPS_PREFIX, devicePrefix, parseClipKey } from '../storage/keys.js';
import { UserError } from '../util/user-error.js';

/** The clip id matched no object, or more than one device: the message says which. */
export class ClipLookupError extends UserError {
  constructor(message: string) {
    super(message, 1);
    this.name = 'ClipLookupError';
  }
}

export interface HoldChange {
  key: string;
  before: boolean;
  after: boolean;
}

export interface HoldResult {
  clipId: string;
  /** The device the clip belongs to (undefined if it was found only in the spool without --device). */
  deviceId: string | undefined;
  held: boolean;
  changes: HoldChange[];
  /** Spool entries (clips not uploaded yet) whose hold was set too. */
  spooled: string[];
}

/** The part of the upload queue that can hold clips not uploaded yet (UploadQueue satisfies it). */
export interface HoldableSpool {
  setLegalHold(clipId: string, held: boolean, deviceId?: string): Promise<string[]>;
}

/**
 * Where a bucket's clip locks live: inside a folder bucket (hidden, so never listed as an object), for any other
 * bucket in the host's temp dir, keyed by the bucket's name. Every process on this host that sets holds or sweeps
 * the bucket meets there.
 */
export function clipLockDir(bucket: Bucket): string {
  const where = bucket.describe();
  if (where.startsWith('file://')) return join(fileURLToPath(where), '.locks');
  const id = createHash('sha256').update(where).digest('hex').slice(0, 16);
  return join(tmpdir(), 'virtual-doorbell-locks', id);
}

/**
 * Runs `action` holding the clip's lock: a legal hold and a retention delete of the same clip never interleave,
 * so whichever comes second sees what the first did.
 */
export function withClipLock<T>(bucket: Bucket, clipId: string, action: () => Promise<T>): Promise<T> {
  assertClipId(clipId);
  return withFileLock(clipLockDir(bucket), `clip-${clipId}`, action);
}

/** Keys of a clip's objects (.mp4 and .jpg), found by clip id, optionally within one device. */
export async function findClipObjects(bucket: Bucket, clipId: string, deviceId?: string): Promise<string[]> {
  assertClipId(clipId);
  const prefix = deviceId === undefined ? CLIPS_PREFIX : devicePrefix(deviceId);
  const keys: string[] = [];
  for await (const item of bucket.list(prefix)) {
    if (parseClipKey(item.key)?.clipId === clipId) keys.push(item.key);
  }
  return keys;
}

/**
 * Sets or clears legal-hold on every object of a clip, and on the clip in the spool when `spool` is given
 * (spool first, so a clip that finishes uploading meanwhile is caught by the bucket pass). A held clip survives
 * retention.
 */
export async function setLegalHold(
  bucket: Bucket,
  clipId: string,
  held: boolean,
  options: { deviceId?: string; spool?: HoldableSpool | undefined } = {},
): Promise<HoldResult> {
  assertClipId(clipId);
  const spooled = options.spool ? await options.spool.setLegalHold(clipId, held, options.deviceId) : [];
  return withClipLock(bucket, clipId, () => holdInBucket(bucket, clipId, held, spooled, options.deviceId));
}

async function holdInBucket(
  bucket: Bucket,
  clipId: string,
  held: boolean,
  spooled: string[],
  deviceId: string | undefined,
): Promise<HoldResult> {
  const keys = await findClipObjects(bucket, clipId, deviceId);
  const where = deviceId === undefined ? '' : ` for device "${deviceId}"`;
  if (keys.length === 0 && spooled.length === 0) {
    throw new ClipLookupError(`clip "${clipId}" not found${where} in ${bucket.describe()}`);
  }
  const devices = [...new Set(keys.map((key) => parseClipKey(key)!.deviceId))].sort();
  if (devices.length > 1) {
    throw new ClipLookupError(
      `clip "${clipId}" exists for devices ${devices.join(', ')}: choose one with --device`,
    );
  }
  const changes: HoldChange[] = [];
  for (const key of keys) {
    const head = await bucket.head(key);
    if (!head) continue;
    const before = head.metadata[CLIP_META.legalHold] === 'true';
    if (before !== held) await setObjectLegalHold(bucket, key, held);
    changes.push({ key, before, after: held });
  }
  return { clipId, deviceId: devices[0] ?? deviceId, held, changes, spooled };
}
