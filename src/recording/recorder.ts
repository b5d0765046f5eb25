import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { NormalizedPolygon } from '../geometry/polygon.js';
import type { Logger } from '../log/logger.js';
import { encryptFile } from '../privacy/envelope.js';
import type { KeyInput } from '../privacy/owner-keys.js';
import { hashFile } from '../storage/hashing.js';
import { type ClipKeyParts, type ClipObjectKind, clipObjectKey } from '../storage/keys.js';
import type { EnqueueRequest, UploadQueue } from '../storage/upload-queue.js';
import { SerialQueue } from '../util/serial-queue.js';
import type { CameraPicture } from '../video/camera-picture.js';
import { encodeClip } from '../video/ffmpeg/clip.js';
import { grabFrame } from '../video/ffmpeg/still.js';
import { type FrameRunFeed, frameAtMs } from '../video/frame-runs.js';
import type { PlannedClip } from './clip-planner.js';

/** sha256 and MD5 of the clip file (one read) and of the thumbnail bytes. */
async function producedDigests(
  clipFile: string,
  thumbnail: Buffer,
): Promise<Pick<EnqueueRequest, 'clipSha256' | 'clipMd5' | 'thumbnailSha256' | 'thumbnailMd5'>> {
  const clipMd5 = createHash('md5');
  const clip = await hashFile(clipFile, [clipMd5]);
  return {
    clipSha256: clip.sha256,
    clipMd5: clipMd5.digest('hex'),
    thumbnailSha256: createHash('sha256').update(thumbnail).digest('hex'),
    thumbnailMd5: createHash('md5').update(thumbnail).digest('hex'),
  };
}

function shownFrame(feed: FrameRunFeed, feedMs: number) {
  const { path, index } = frameAtMs(feed, feedMs);
  return { input: path, atFrame: { index, fps: feed.fps } };
}

export interface RecorderOptions {
  deviceId: string;
  source: ClipSource;
  /** What the camera's encoder makes (the profile's resolution and fps): every clip and snapshot comes out so. */
  picture: CameraPicture;
  /** Scratch space for encodes; files move from here into the spool. */
  workDir: string;
  queue: UploadQueue;
  retentionDays: number;
  /** Privacy zones, burned in as black before anything leaves the device. */
  blackout: readonly NormalizedPolygon[];
  /** Encrypt clips and thumbnails to the owner's public key before they are spooled. */
  ownerPublicKey?: KeyInput;
  thumbnailWidth?: number;
  logger: Logger;
  /** Why no clip can be recorded now (a full or read-only disk), or undefined: asked before each clip. */
  refusal?: () => string | undefined;
}

/** The clip was not recorded; the message says why ("disk full: <path> …", "… read-only file system …"). */
export class ClipRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClipRefusedError';
  }
}

/**
 * What the camera showed, for cutting clips and snapshots: the sample video looping with its duration as the
 * period, or a feed composed of frame runs of several files (a replay's camera timeline).
 */
export type ClipSource =
  | { kind: 'looped-file'; path: string; loopDurationMs: number }
  | { kind: 'frame-runs'; feed: FrameRunFeed };

export interface ClipTimes {
  /** Device time (ISO) of the clip's first frame, last frame and trigger. */
  startedAt: string;
  endedAt: string;
  eventId: string;
}

/**
 * Turns planned clips into files in the upload queue: cut from the source with ffmpeg (privacy zones
 * blacked out), a JPEG thumbnail from the trigger frame, optionally encrypted, then spooled. One at a time,
 * in order, so encodes never compete for the CPU with each other.
 */
export class Recorder {
  private readonly encodes = new SerialQueue();

  constructor(private options: RecorderOptions) {}

  get inProgress(): number {
    return this.encodes.size;
  }

  /** Queues a clip for encoding; resolves when it is spooled (or failed, which is logged and reported). */
  record(plan: PlannedClip, times: ClipTimes): Promise<void> {
    return this.encodes.run(() => this.encodeAndSpool(plan, times));
  }

  /** Waits for every queued recording. */
  async idle(): Promise<void> {
    await this.encodes.idle();
  }

  /** The owner changed the privacy zones: clips and snapshots cut from now on black out these. */
  setBlackout(blackout: readonly NormalizedPolygon[]): void {
    this.options = { ...this.options, blackout };
  }

  /** A JPEG of the feed at `feedMs`, privacy zones blacked out. */
  async snapshot(feedMs: number): Promise<Buffer> {
    const { source, blackout, picture } = this.options;
    const at =
      source.kind === 'looped-file'
        ? { input: source.path, atMs: feedMs, loopDurationMs: source.loopDurationMs }
        : shownFrame(source.feed, feedMs);
    const frame = await grabFrame({ ...at, format: 'jpeg', picture, blackout });
    return frame.data;
  }

  private async encodeAndSpool(plan: PlannedClip, times: ClipTimes): Promise<void> {
    const { options } = this;
    const dir = join(options.workDir, plan.clipId);
    try {
      const refused = options.refusal?.();
      if (refused) throw new ClipRefusedError(`clip ${plan.clipId} refused: ${refused}`);
      await mkdir(dir, { recursive: true });
      const clipFile = join(dir, `${plan.clipId}.mp4`);
      const { source } = options;
      await encodeClip({
        ...(source.kind === 'looped-file'
          ? { input: source.path, loopDurationMs: source.loopDurationMs }
          : { input: source.feed }),
        startMs: plan.startFeedMs,
        endMs: plan.endFeedMs,
        output: clipFile,
        picture: options.picture,
        blackout: options.blackout,
      });
      const snapshot = await this.snapshot(plan.triggerFeedMs);
      const thumbnailFile = join(dir, `${plan.clipId}.jpg`);
      const thumbnail = await sharp(snapshot)
        .resize({ width: options.thumbnailWidth ?? 320 })
        .jpeg({ quality: 75 })
        .toBuffer();
      await writeFile(thumbnailFile, thumbnail);
      // The checksums are taken here, where the files are made, and travel with them: the upload stores them and
      // checks the bucket's copy against what the recorder produced (end to end), without hashing again.
      const sealed = options.ownerPublicKey
        ? await this.encrypt(clipFile, thumbnailFile, options.ownerPublicKey, {
            deviceId: options.deviceId,
            clipId: plan.clipId,
            recordedAt: times.startedAt,
          })
        : {
            clipFile,
            thumbnailFile,
            extraMetadata: undefined,
            digests: await producedDigests(clipFile, thumbnail),
          };
      await options.queue.enqueue({
        clipFile: sealed.clipFile,
        thumbnailFile: sealed.thumbnailFile,
        ...sealed.digests,
        mode: 'move',
        deviceId: options.deviceId,
        clipId: plan.clipId,
        eventId: times.eventId,
        trigger: plan.trigger,
        triggerEventIds: plan.triggerEventIds,
        ...(plan.sessionId === undefined ? {} : { sessionId: plan.sessionId }),
        recordedAt: times.startedAt,
        startedAt: times.startedAt,
        endedAt: times.endedAt,
        retentionDays: options.retentionDays,
        encrypted: Boolean(options.ownerPublicKey),
        ...(sealed.extraMetadata ? { extraMetadata: sealed.extraMetadata } : {}),
      });
    } catch (error) {
      // ffmpeg says only "Conversion failed!" when the disk fills under it: name the cause the device has seen.
      const cause = error instanceof ClipRefusedError ? undefined : options.refusal?.();
      const failure = cause ? new ClipRefusedError(`clip ${plan.clipId} not recorded: ${cause}`) : error;
      options.logger.error({ clipId: plan.clipId, err: (failure as Error).message }, 'clip recording failed');
      throw failure;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Encrypts both files next to themselves; their sha256 comes from the encryption pass (no second read). */
  /** Each envelope is bound to the object key it is uploaded as (see EnvelopeBinding). */
  private async encrypt(
    clipFile: string,
    thumbnailFile: string,
    ownerPublicKey: KeyInput,
    object: ClipKeyParts,
  ) {
    const binding = (kind: ClipObjectKind) => ({ key: clipObjectKey(object, kind), clipId: object.clipId });
    const clip = await encryptFile(clipFile, `${clipFile}.enc`, ownerPublicKey, {
      durable: false,
      binding: binding('clip'),
    });
    const thumbnail = await encryptFile(thumbnailFile, `${thumbnailFile}.enc`, ownerPublicKey, {
      durable: false,
      binding: binding('thumbnail'),
    });
    return {
      clipFile: `${clipFile}.enc`,
      thumbnailFile: `${thumbnailFile}.enc`,
      extraMetadata: clip.metadata,
      digests: { clipSha256: clip.sha256, thumbnailSha256: thumbnail.sha256 },
    };
  }
}
