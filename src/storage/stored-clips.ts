import type { Bucket, ObjectHead } from './bucket.js';
import { CLIP_META } from './clip-metadata.js';
import { devicePrefix, parseClipKey } from './keys.js';

/** A clip object in the bucket with the times its metadata records. */
export interface StoredClip {
  clipId: string;
  key: string;
  head: ObjectHead;
  /** ISO times of the clip's first and last frame (recorded-at when the window was not stored). */
  startedAt: string;
  endedAt: string;
}

/** Every clip (not thumbnail) one device has in the bucket. */
export async function listStoredClips(bucket: Bucket, deviceId: string): Promise<StoredClip[]> {
  const clips: StoredClip[] = [];
  for await (const object of bucket.list(devicePrefix(deviceId))) {
    const parsed = parseClipKey(object.key);
    if (parsed?.kind !== 'clip') continue;
    const head = await bucket.head(object.key);
    if (!head) continue;
    const recordedAt = head.metadata[CLIP_META.recordedAt] ?? '';
    clips.push({
      clipId: parsed.clipId,
      key: object.key,
      head,
      startedAt: head.metadata[CLIP_META.startedAt] ?? recordedAt,
      endedAt: head.metadata[CLIP_META.endedAt] ?? recordedAt,
    });
  }
  return clips;
}
