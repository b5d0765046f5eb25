import { stat } from 'node:fs/promises';
import {
  type Bucket,
  InvalidMetadataError,
  type ObjectMetadata,
  type PutResult,
  setObjectLegalHold,
} from './bucket.js';
import { clipObjectMetadata } from './clip-metadata.js';
import { hashFile } from './hashing.js';
import { type ClipObjectKind, InvalidKeyError } from './keys.js';
import type { Spool, SpoolObject } from './spool.js';
import type { Tracked, UploadedClip } from './upload-types.js';

const UPLOAD_ORDER: ClipObjectKind[] = ['thumbnail', 'clip'];

/** A clip that no retry can fix (its spooled data is gone, its key is invalid). */
export class PermanentFailure extends Error {}

/** Whether `error` means the clip can never upload (set it aside) rather than "try again later". */
export function isPermanentFailure(error: unknown): boolean {
  return (
    error instanceof PermanentFailure ||
    error instanceof InvalidKeyError ||
    error instanceof InvalidMetadataError
  );
}

/**
 * Puts the objects of one spooled clip into the bucket, thumbnail first, each confirmed by the bucket (size +
 * sha256); after a crash or a lost answer it asks the bucket before uploading again.
 */
export class ClipUploader {
  constructor(
    private readonly spool: Spool,
    private readonly bucket: Bucket,
  ) {}

  async upload(tracked: Tracked): Promise<Map<ClipObjectKind, PutResult>> {
    const results = new Map<ClipObjectKind, PutResult>();
    for (const kind of UPLOAD_ORDER) {
      const object = tracked.entry.objects.find((o) => o.kind === kind);
      if (!object) continue;
      results.set(kind, await this.uploadObject(tracked, object));
    }
    return results;
  }

  private async uploadObject(tracked: Tracked, object: SpoolObject): Promise<PutResult> {
    const done = tracked.confirmed.get(object.kind);
    if (done) return done;
    const path = this.spool.dataPath(tracked.entry, object);
    const local = await stat(path).catch(() => undefined);
    if (!local || local.size !== object.bytes) {
      throw new PermanentFailure(
        `spooled ${object.file} is ${local ? `${local.size} bytes, expected ${object.bytes}` : 'missing'}`,
      );
    }
    if (tracked.recovered || tracked.failures > 0) {
      // A crash (or a lost answer) may have come after the bucket stored it: do not upload twice.
      const head = await this.bucket.head(object.key);
      // The sha256 must be the store's word, or the server's MD5 must match the producer's: S3 metadata goes up
      // before the body, so an upload cut short of its verification would otherwise pass unverified.
      const proven =
        head?.sha256Verified === true || (object.md5 !== undefined && head?.contentMd5 === object.md5);
      if (head && proven && head.bytes === object.bytes && head.sha256 !== '') {
        object.sha256 ??= (await hashFile(path)).sha256;
        if (head.sha256 === object.sha256) {
          const result = { key: object.key, bytes: head.bytes, sha256: head.sha256 };
          tracked.confirmed.set(object.kind, result);
          return result;
        }
      }
    }
    const metadata: ObjectMetadata = clipObjectMetadata(tracked.entry.clip);
    if (object.sha256) metadata['sha256'] = object.sha256;
    const result = await this.bucket.put(object.key, path, metadata, {
      immutableSource: true,
      ...(object.md5 ? { md5: object.md5 } : {}),
    });
    object.sha256 = result.sha256;
    tracked.confirmed.set(object.kind, result);
    return result;
  }

  /** Brings the legal hold of the objects already put up to date, until no change came in meanwhile. */
  async applyHoldChanges(tracked: Tracked, results: Map<ClipObjectKind, PutResult>): Promise<void> {
    while (tracked.holdChanged) {
      tracked.holdChanged = false;
      for (const result of results.values()) {
        await setObjectLegalHold(this.bucket, result.key, tracked.entry.clip.legalHold);
      }
    }
  }
}

/** What `uploaded` announces: the clip, where its objects are, and what the bucket confirmed. */
export function uploadedClip(
  tracked: Tracked,
  results: Map<ClipObjectKind, PutResult>,
  bucket: string,
  uploadedAt: string,
): UploadedClip {
  const { clip } = tracked.entry;
  const main = results.get('clip')!;
  const thumbnail = results.get('thumbnail');
  return {
    entryId: tracked.entry.entryId,
    deviceId: clip.deviceId,
    clipId: clip.clipId,
    eventId: clip.eventId,
    trigger: clip.trigger,
    ...(clip.triggerEventIds ? { triggerEventIds: clip.triggerEventIds } : {}),
    ...(clip.sessionId ? { sessionId: clip.sessionId } : {}),
    recordedAt: clip.recordedAt,
    ...(clip.startedAt ? { startedAt: clip.startedAt } : {}),
    ...(clip.endedAt ? { endedAt: clip.endedAt } : {}),
    retentionDays: clip.retentionDays,
    retainUntil: clip.retainUntil,
    encrypted: clip.encrypted,
    legalHold: clip.legalHold,
    bucket,
    key: main.key,
    bytes: main.bytes,
    sha256: main.sha256,
    ...(thumbnail
      ? { thumbnail: { key: thumbnail.key, bytes: thumbnail.bytes, sha256: thumbnail.sha256 } }
      : {}),
    metadata: { ...clipObjectMetadata(clip), sha256: main.sha256 },
    enqueuedAt: tracked.entry.enqueuedAt,
    uploadedAt,
    attempts: tracked.attempts,
  };
}
