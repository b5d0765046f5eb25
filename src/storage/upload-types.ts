/** The upload queue's public shapes, shared by the queue and its parts (scheduler, uploader, health). */
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { BackoffPolicy } from './backoff.js';
import type { Bucket, ObjectMetadata, PutResult } from './bucket.js';
import type { ClipDescriptor, NormalizedClip } from './clip-metadata.js';
import type { ClipObjectKind } from './keys.js';
import type { SpoolEntry, SpoolFileOps, SpoolMode } from './spool.js';

export interface UploadQueueOptions {
  /** Local folder for spooled clips (e.g. ./.doorbell/spool). */
  spoolDir: string;
  bucket: Bucket;
  clock: Clock;
  logger?: Logger;
  /** [0, 1) source for backoff jitter; inject a seeded one for deterministic runs. */
  random?: () => number;
  backoff?: Partial<BackoffPolicy>;
  /** Spool bound, clips (default 1000). */
  maxEntries?: number;
  /** Spool bound, bytes (default 4 GiB). */
  maxBytes?: number;
  /** Warn loudly once the spool is this full, as a fraction of either bound (default 0.8). */
  warnFraction?: number;
  /** Consecutive failed attempts after which the queue reports unhealthy (default 3). */
  unhealthyAfterFailures?: number;
  /** Replaces the spool's file writes (fault injection in tests). */
  fileOps?: SpoolFileOps;
}

export interface EnqueueRequest extends ClipDescriptor {
  /** The finished MP4. */
  clipFile: string;
  /**
   * The clip's sha256 when its producer hashed the bytes as it wrote them (encryption does): the queue and bucket
   * then need not read the file again. A folder bucket that hard-links the file stores exactly those bytes; a copy
   * or an upload is still checked against it.
   */
  clipSha256?: string;
  /** The clip's MD5 from its producer, given with clipSha256 (an S3 upload then hashes nothing). */
  clipMd5?: string;
  /** Its JPEG thumbnail, if any. */
  thumbnailFile?: string;
  thumbnailSha256?: string;
  thumbnailMd5?: string;
  /** 'move' (default) takes the files (rename, or copy + delete across file systems); 'copy' leaves them. */
  mode?: SpoolMode;
}

export interface SpooledClip {
  entryId: string;
  deviceId: string;
  clipId: string;
  key: string;
  thumbnailKey?: string;
  bytes: number;
  /** True when this clip was already queued: nothing new was spooled. */
  duplicate: boolean;
}

export interface UploadedObject {
  key: string;
  bytes: number;
  sha256: string;
}

/** Emitted only after the bucket confirmed every object of the clip (size + sha256). */
export interface UploadedClip extends UploadedObject, Omit<NormalizedClip, 'extraMetadata'> {
  entryId: string;
  /** Bucket.describe(), e.g. "s3://clips" or "file:///var/doorbell/bucket". */
  bucket: string;
  thumbnail?: UploadedObject;
  /** The metadata stored on the clip object (including sha256). */
  metadata: ObjectMetadata;
  enqueuedAt: string;
  uploadedAt: string;
  attempts: number;
}

export interface RetryInfo {
  entryId: string;
  clipId: string;
  failures: number;
  delayMs: number;
  error: string;
}

/** stopped → opening → open; unavailable while the spool cannot be opened (retrying). */
export type UploadQueueState = 'stopped' | 'opening' | 'open' | 'unavailable';

export interface UploadQueueHealth {
  healthy: boolean;
  state: UploadQueueState;
  /** One line per problem; empty when healthy. */
  problems: string[];
  /** The kind of each problem, same order: spool-unavailable, spool-full, bucket-failing, failed-clips. */
  problemCodes: string[];
  /** Clips waiting in the spool (not counting failed ones). */
  depth: number;
  /** Bytes held by the spool, waiting and failed. */
  bytes: number;
  maxEntries: number;
  maxBytes: number;
  /** Clips set aside in <spool>/failed because they can never upload. */
  failed: number;
  consecutiveFailures: number;
  lastError?: string;
  uploadedTotal: number;
  refusedTotal: number;
  oldestEnqueuedAt?: string;
}

export interface SpoolEntrySummary {
  entryId: string;
  clip: NormalizedClip;
  bytes: number;
  enqueuedAt: string;
  attempts: number;
  uploading: boolean;
}

export interface UploadQueueEvents {
  spooled: (clip: SpooledClip) => void;
  /** The spool entry is removed only after every listener settles; a rejection means "try again later". */
  uploaded: (clip: UploadedClip) => void | Promise<void>;
  retry: (info: RetryInfo) => void;
  failed: (info: { entryId: string; clipId: string; reason: string }) => void;
  discarded: (info: { entryId: string; clipId: string; reason: string }) => void;
  health: (health: UploadQueueHealth) => void;
}

export type SpoolErrorReason = 'full' | 'unavailable' | 'source' | 'stopped';

/** enqueue() refused the clip; the caller still has its files. `reason` says why. */
export class SpoolError extends Error {
  constructor(
    readonly reason: SpoolErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'SpoolError';
  }
}

/** The queue's bookkeeping for one spooled clip. */
export interface Tracked {
  entry: SpoolEntry;
  bytes: number;
  attempts: number;
  failures: number;
  nextAttemptAt: number;
  /** Found on disk at start: the bucket may already hold it (crash after upload). */
  recovered: boolean;
  uploading: boolean;
  confirmed: Map<ClipObjectKind, PutResult>;
  /** The legal hold changed after (or while) objects were put: their metadata needs updating. */
  holdChanged: boolean;
}
