import type { Bucket } from '../storage/bucket.js';
import { CLIP_META } from '../storage/clip-metadata.js';
import { assertClipId, CLIPS_PREFIX, devicePrefix, parseClipKey } from '../storage/keys.js';

/** The clip id matched no object, or more than one device: the message says which. */
export class ClipLookupError extends Error {
  constructor(message: string) {
    super(message);
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
  deviceId: string;
  held: boolean;
  changes: HoldChange[];
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

/** Sets or clears legal-hold on every object of a clip. A held clip survives retention. */
export async function setLegalHold(
  bucket: Bucket,
  clipId: string,
  held: boolean,
  options: { deviceId?: string } = {},
): Promise<HoldResult> {
  const keys = await findClipObjects(bucket, clipId, options.deviceId);
  const where = options.deviceId === undefined ? '' : ` for device "${options.deviceId}"`;
  if (keys.length === 0)
    throw new ClipLookupError(`clip "${clipId}" not found${where} in ${bucket.describe()}`);
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
    if (before !== held) await bucket.updateMetadata(key, { [CLIP_META.legalHold]: String(held) });
    changes.push({ key, before, after: held });
  }
  return { clipId, deviceId: devices[0]!, held, changes };
}
