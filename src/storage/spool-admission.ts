import { stat } from 'node:fs/promises';
import { describeFsError } from '../persist/fs-errors.js';
import type { NormalizedClip } from './clip-metadata.js';
import { type ClipObjectKind, clipObjectKey } from './keys.js';
import { fileNameFor, type SpoolEntry, type SpoolObject } from './spool.js';
import { type EnqueueRequest, SpoolError, type SpooledClip } from './upload-types.js';

/** The objects of a clip about to be spooled, each checked to be a readable file. */
export async function spoolObjectsOf(clip: NormalizedClip, request: EnqueueRequest): Promise<SpoolObject[]> {
  const files: Array<{
    kind: ClipObjectKind;
    source: string;
    sha256: string | undefined;
    md5: string | undefined;
  }> = [{ kind: 'clip', source: request.clipFile, sha256: request.clipSha256, md5: request.clipMd5 }];
  if (request.thumbnailFile !== undefined) {
    files.push({
      kind: 'thumbnail',
      source: request.thumbnailFile,
      sha256: request.thumbnailSha256,
      md5: request.thumbnailMd5,
    });
  }
  const objects: SpoolObject[] = [];
  for (const { kind, source, sha256, md5 } of files) {
    const info = await stat(source).catch((error: unknown) => {
      throw new SpoolError('source', `clip ${clip.clipId}: ${describeFsError(error, 'cannot read', source)}`);
    });
    if (!info.isFile()) throw new SpoolError('source', `clip ${clip.clipId}: ${source} is not a file`);
    objects.push({
      kind,
      key: clipObjectKey(clip, kind),
      file: fileNameFor(kind),
      bytes: info.size,
      source,
      ...(sha256 === undefined ? {} : { sha256 }),
      // An MD5 is only worth keeping beside the sha256 it was taken with.
      ...(sha256 !== undefined && md5 !== undefined ? { md5 } : {}),
    });
  }
  return objects;
}

export function spooledOf(entry: SpoolEntry): Omit<SpooledClip, 'duplicate'> {
  const clipObject = entry.objects.find((o) => o.kind === 'clip')!;
  const thumbnail = entry.objects.find((o) => o.kind === 'thumbnail');
  return {
    entryId: entry.entryId,
    deviceId: entry.clip.deviceId,
    clipId: entry.clip.clipId,
    key: clipObject.key,
    ...(thumbnail ? { thumbnailKey: thumbnail.key } : {}),
    bytes: entry.objects.reduce((sum, o) => sum + o.bytes, 0),
  };
}
