/**
 * The camera side of one device: the feed (decode, detect, pace), the recorder (clips and snapshots cut from the
 * source, privacy zones, encryption) and the pipeline that decides when to record. The agent wires its callbacks.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Clock } from '../clock/clock.js';
import { PACKAGE_ROOT } from '../config/paths.js';
import type { DeviceProfile } from '../config/profile.js';
import type { Logger } from '../log/logger.js';
import type { MotionEvent } from '../motion/detector.js';
import {
  IntentJournal,
  type IntentSource,
  type LostClip,
  recoverIntents,
  removeLeftoverEncodes,
} from '../recording/intents.js';
import { ClipRefusedError, Recorder } from '../recording/recorder.js';
import type { UploadQueue } from '../storage/upload-queue.js';
import { cameraPicture } from '../video/camera-picture.js';
import { probe } from '../video/ffmpeg/probe.js';
import type { FrameRunFeed } from '../video/frame-runs.js';
import { cameraSource } from '../video/frame-source.js';
import type { GrayFrame } from '../video/frames.js';
import { CameraFeed } from './camera-feed.js';
import { RecordingPipeline } from './recording-pipeline.js';

export interface CameraRig {
  feed: CameraFeed;
  recorder: Recorder;
  pipeline: RecordingPipeline;
  /** A new effective profile: motion settings (with the privacy zones as masks, always) and recording. */
  reconfigure(profile: DeviceProfile): void;
}

export interface CameraRigOptions {
  deviceId: string;
  profile: DeviceProfile;
  /** The video the camera loops (already resolved, see resolveVideoSource). */
  source: string;
  /** A composed camera (replay): clips and snapshots are cut from these frame runs instead of `source`. */
  cameraRuns?: FrameRunFeed | undefined;
  deviceDir: string;
  queue: UploadQueue;
  clock: Clock;
  logger: Logger;
  cwd?: string | undefined;
  /** Owner's public key PEM path; overrides the profile's. */
  ownerPublicKey?: string | undefined;
  feedSpeed?: number | undefined;
  drivenCamera?: boolean | undefined;
  onMotion(event: MotionEvent, deviceMs: number): void;
  onFrame(frame: GrayFrame, feedMs: number): void;
  onFeedError(): void;
  onRecordingFailure(): void;
  /** Why clips cannot be recorded now (disk pressure), or undefined. */
  clipRefusal?: () => string | undefined;
  /** A trigger's clip will never be stored (events/clip, status "lost"). */
  onClipLost?: (lost: LostClip) => void;
  /** The outbox's last event seq when this run started (see recoverIntents). */
  lastPublishedSeq?: number | undefined;
  /** Whether a clip's outcome was announced before this run (see recoverIntents). */
  announced?: (clipId: string) => boolean;
}

/** Builds the rig and starts the feed. */
export async function startCameraRig(options: CameraRigOptions): Promise<CameraRig> {
  const { profile, source, cameraRuns, logger } = options;
  const ownerKey = options.ownerPublicKey ?? profile.privacy.encryption.ownerPublicKey;
  const loopDurationMs = cameraRuns ? 0 : (await probe(source)).durationMs;
  const workDir = join(options.deviceDir, 'recording');
  // Encodes a kill -9 interrupted (*.partial-<pid>): their clips are cut again from the journal below.
  const leftovers = removeLeftoverEncodes(workDir);
  if (leftovers > 0) logger.warn({ workDir, removed: leftovers }, 'removed encodes a crash interrupted');
  const intentSource: IntentSource = cameraRuns
    ? { kind: 'unrecoverable', why: 'a composed (replay) camera cannot be cut again after a restart' }
    : { kind: 'looped-file', path: source, bytes: (await stat(source)).size, loopDurationMs };
  const journal = new IntentJournal(join(options.deviceDir, 'recording-intents'));
  const recorder = new Recorder({
    deviceId: options.deviceId,
    source: cameraRuns
      ? { kind: 'frame-runs', feed: cameraRuns }
      : { kind: 'looped-file', path: source, loopDurationMs },
    picture: cameraPicture(profile),
    workDir,
    queue: options.queue,
    retentionDays: profile.retentionDays,
    blackout: profile.privacy.zones.map((zone) => zone.polygon),
    ...(options.clipRefusal ? { refusal: options.clipRefusal } : {}),
    // --owner-key is the owner asking for encryption: it turns it on whatever the profile says.
    ...((profile.privacy.encryption.enabled || options.ownerPublicKey) && ownerKey
      ? { ownerPublicKey: await readOwnerKey(ownerKey, options.cwd) }
      : {}),
    logger,
  });
  let pipeline: RecordingPipeline | undefined;
  const speed = options.feedSpeed || 1;
  const feed = new CameraFeed({
    source: cameraSource(source, { clock: options.clock, speed }),
    settings: withPrivacyMasks(profile),
    clock: options.clock,
    speed,
    ...(options.drivenCamera ? { driven: true } : {}),
    logger,
    onMotion: options.onMotion,
    onFrame: (frame, feedMs) => {
      pipeline?.onFeedTime(feedMs);
      options.onFrame(frame, feedMs);
    },
    onError: options.onFeedError,
  });
  pipeline = new RecordingPipeline({
    profile,
    feed,
    recorder,
    clock: options.clock,
    logger,
    // A clip refused for the disk or spool is that problem (already in state), not a failed recording.
    onFailure: (_clipId, error) => {
      if (!(error instanceof ClipRefusedError)) options.onRecordingFailure();
    },
    intents: { journal, source: intentSource },
    ...(options.onClipLost ? { onLost: options.onClipLost } : {}),
  });
  const recovery = await recoverIntents({
    journal,
    source: intentSource,
    maxClipMs: profile.recording.maxClipMs,
    now: () => new Date(options.clock.now()).toISOString(),
    alreadyKept: (intent, startedAt) => options.queue.keeps(options.deviceId, intent.clipId, startedAt),
    record: (plan, times) => recorder.record(plan, times),
    onLost: (lost) => options.onClipLost?.(lost),
    ...(options.lastPublishedSeq === undefined ? {} : { lastPublishedSeq: options.lastPublishedSeq }),
    ...(options.announced ? { announced: options.announced } : {}),
  });
  if (recovery.recut.length + recovery.lost + recovery.alreadyKept + recovery.unpublished > 0) {
    logger.warn(
      {
        recut: recovery.recut.length,
        lost: recovery.lost,
        alreadyKept: recovery.alreadyKept,
        unpublished: recovery.unpublished,
      },
      'recordings a crash interrupted: cutting again what the source still has, announcing the rest as lost',
    );
  }
  feed.start();
  return {
    feed,
    recorder,
    pipeline,
    reconfigure(next) {
      feed.updateSettings(withPrivacyMasks(next));
      recorder.setBlackout(next.privacy.zones.map((zone) => zone.polygon));
      pipeline?.reconfigure(next);
    },
  };
}

/** The camera's video: `--video` (null = no camera) over the profile's, which is relative to the package. */
export function resolveVideoSource(
  profile: DeviceProfile,
  video: string | null | undefined,
  cwd: string | undefined,
): string | undefined {
  if (video === null) return undefined;
  if (video !== undefined) return resolve(cwd ?? process.cwd(), video);
  if (!profile.video) return undefined;
  return isAbsolute(profile.video) ? profile.video : resolve(PACKAGE_ROOT, profile.video);
}

/** Privacy zones are also motion masks: nothing that happens inside them is detected. */
function withPrivacyMasks(profile: DeviceProfile) {
  const privacyMasks = profile.privacy.zones.map((zone) => ({ polygon: zone.polygon }));
  return { ...profile.motion, masks: [...profile.motion.masks, ...privacyMasks] };
}

async function readOwnerKey(path: string, cwd: string | undefined): Promise<string> {
  try {
    return await readFile(resolve(cwd ?? process.cwd(), path), 'utf8');
  } catch (error) {
    throw new Error(
      `owner public key "${path}" (--owner-key or privacy.encryption.ownerPublicKey): cannot read it (${(error as NodeJS.ErrnoException).code}); ` +
        'create a key pair with `doorbell keys generate --out .doorbell` and keep owner.pem off the device',
    );
  }
}
