import { stat } from 'node:fs/promises';
import type { Clock, TimerHandle } from '../clock/clock.js';
import { type Logger, silentLogger } from '../log/logger.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { type Bucket, InvalidMetadataError, type ObjectMetadata, type PutResult } from './bucket.js';
import {
  type ClipDescriptor,
  clipObjectMetadata,
  type NormalizedClip,
  normalizeClip,
} from './clip-metadata.js';
import { describeFsError, errnoCode, isStorageUnavailable } from './durable-fs.js';
import { hashFile } from './hashing.js';
import { type ClipObjectKind, clipObjectKey, InvalidKeyError } from './keys.js';
import {
  entryIdOf,
  type FailedEntry,
  fileNameFor,
  Spool,
  type SpoolEntry,
  type SpoolFileOps,
  type SpoolMode,
  type SpoolObject,
} from './spool.js';

export type { SpoolMode } from './spool.js';

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

interface Tracked {
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

type Listeners = { [E in keyof UploadQueueEvents]: Set<UploadQueueEvents[E]> };

const UPLOAD_ORDER: ClipObjectKind[] = ['thumbnail', 'clip'];

/**
 * The durable upload queue: a clip is spooled to disk (journal fsync'd) before enqueue() resolves, uploaded
 * with retries (exponential backoff + jitter), and removed from the spool only after the bucket confirmed it
 * and every `uploaded` listener settled. Survives kill -9: start() resumes whatever the spool holds.
 */
export class UploadQueue {
  private readonly spool: Spool;
  private readonly bucket: Bucket;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly warnFraction: number;
  private readonly unhealthyAfterFailures: number;
  private readonly listeners: Listeners = {
    spooled: new Set(),
    uploaded: new Set(),
    retry: new Set(),
    failed: new Set(),
    discarded: new Set(),
    health: new Set(),
  };

  private readonly tracked = new Map<string, Tracked>();
  private readonly admitting = new Map<string, Promise<SpooledClip>>();
  private failedEntries: FailedEntry[] = [];
  private reservedBytes = 0;
  private nextSeq = 0;
  private state: UploadQueueState = 'stopped';
  private running = false;
  private startPromise: Promise<void> | undefined;
  private pumping: Promise<void> | undefined;
  private wanted = false;
  private wakeTimer: TimerHandle | undefined;
  private reopenTimer: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  private reopenFailures = 0;

  private spoolProblem: string | undefined;
  private refusedForCapacity = false;
  private capacityWarned = false;
  private consecutiveFailures = 0;
  private lastError: string | undefined;
  private uploadedTotal = 0;
  private refusedTotal = 0;
  private lastHealthKey = '';

  constructor(options: UploadQueueOptions) {
    this.spool = new Spool(options.spoolDir, options.fileOps);
    this.bucket = options.bucket;
    this.clock = options.clock;
    this.log = (options.logger ?? silentLogger()).child({ component: 'upload-queue' });
    this.random = options.random ?? Math.random;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.maxEntries = options.maxEntries ?? 1000;
    this.maxBytes = options.maxBytes ?? 4 * 1024 ** 3;
    this.warnFraction = options.warnFraction ?? 0.8;
    this.unhealthyAfterFailures = options.unhealthyAfterFailures ?? 3;
  }

  get spoolDir(): string {
    return this.spool.dir;
  }

  on<E extends keyof UploadQueueEvents>(event: E, listener: UploadQueueEvents[E]): () => void {
    (this.listeners[event] as Set<UploadQueueEvents[E]>).add(listener);
    return () => {
      (this.listeners[event] as Set<UploadQueueEvents[E]>).delete(listener);
    };
  }

  /**
   * Opens the spool and resumes every clip in it. Never rejects for an unusable spool: the queue then
   * reports unhealthy, refuses clips with a SpoolError, and keeps trying to open it.
   */
  start(): Promise<void> {
    if (this.running) return this.startPromise ?? Promise.resolve();
    this.running = true;
    this.startPromise = this.openSpool();
    return this.startPromise;
  }

  /** Stops scheduling; waits for an upload in progress to finish. What is spooled stays spooled. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.clock.clearTimer(this.wakeTimer);
    this.clock.clearTimer(this.reopenTimer);
    this.clock.clearTimer(this.probeTimer);
    this.probeTimer = undefined;
    this.wakeTimer = undefined;
    this.reopenTimer = undefined;
    await this.startPromise;
    await Promise.allSettled([...this.admitting.values()]);
    await this.pumping;
    this.state = 'stopped';
    this.tracked.clear();
  }

  /** Whether the clip is in the spool or already in the bucket (a recording a crash interrupted may be). */
  async keeps(deviceId: string, clipId: string, recordedAt: string): Promise<boolean> {
    if (this.tracked.has(entryIdOf(deviceId, clipId))) return true;
    return (await this.bucket.head(clipObjectKey({ deviceId, clipId, recordedAt }, 'clip'))) !== undefined;
  }

  /** Resolves once the clip is durably in the spool (not uploaded). Rejects with SpoolError when refused. */
  async enqueue(request: EnqueueRequest): Promise<SpooledClip> {
    const clip = normalizeClip(request);
    const entryId = entryIdOf(clip.deviceId, clip.clipId);
    const existing = this.tracked.get(entryId);
    if (existing) return { ...this.spooledOf(existing.entry), duplicate: true };
    const pending = this.admitting.get(entryId);
    if (pending) return pending.then((spooled) => ({ ...spooled, duplicate: true }));
    const admission = this.admit(entryId, clip, request).finally(() => this.admitting.delete(entryId));
    this.admitting.set(entryId, admission);
    return admission;
  }

  /** Why the spool refuses clips right now (full or read-only disk under it), or undefined. */
  get spoolRefusal(): string | undefined {
    return this.spoolProblem;
  }

  health(): UploadQueueHealth {
    const current = this.currentProblems();
    const problems = current.map((p) => p.text);
    let oldest: string | undefined;
    for (const tracked of this.tracked.values()) {
      if (oldest === undefined || tracked.entry.enqueuedAt < oldest) oldest = tracked.entry.enqueuedAt;
    }
    return {
      healthy: problems.length === 0,
      state: this.state,
      problems,
      problemCodes: current.map((p) => p.code),
      depth: this.tracked.size,
      bytes: this.spoolBytes(),
      maxEntries: this.maxEntries,
      maxBytes: this.maxBytes,
      failed: this.failedEntries.length,
      consecutiveFailures: this.consecutiveFailures,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      uploadedTotal: this.uploadedTotal,
      refusedTotal: this.refusedTotal,
      ...(oldest !== undefined ? { oldestEnqueuedAt: oldest } : {}),
    };
  }

  private currentProblems(): Array<{ code: string; text: string }> {
    const problems: Array<{ code: string; text: string }> = [];
    if (this.spoolProblem) problems.push({ code: 'spool-unavailable', text: this.spoolProblem });
    if (this.refusedForCapacity) {
      problems.push({
        code: 'spool-full',
        text: `spool full (${this.tracked.size}/${this.maxEntries} clips, ${this.spoolBytes()}/${this.maxBytes} bytes): new clips are refused`,
      });
    }
    if (this.consecutiveFailures >= this.unhealthyAfterFailures) {
      problems.push({
        code: 'bucket-failing',
        text: `uploads to ${this.bucket.describe()} failed ${this.consecutiveFailures} times in a row: ${this.lastError ?? 'unknown error'}`,
      });
    }
    if (this.failedEntries.length > 0) {
      problems.push({
        code: 'failed-clips',
        text: `${this.failedEntries.length} clip(s) cannot be uploaded and are kept in ${this.spool.failedDir}`,
      });
    }
    return problems;
  }

  /** What is waiting, oldest first (for the retention sweeper and device state). */
  entries(): SpoolEntrySummary[] {
    return [...this.tracked.values()]
      .sort((a, b) => a.entry.seq - b.entry.seq)
      .map((t) => ({
        entryId: t.entry.entryId,
        clip: t.entry.clip,
        bytes: t.bytes,
        enqueuedAt: t.entry.enqueuedAt,
        attempts: t.attempts,
        uploading: t.uploading,
      }));
  }

  /**
   * Removes a waiting clip without uploading it (retention expired it). Logged loudly and emitted as
   * `discarded`. Returns false if the clip is absent or uploading right now.
   */
  async discard(
    entryId: string,
    reason: string,
    keep?: (clip: SpoolEntry['clip']) => boolean,
  ): Promise<boolean> {
    const tracked = this.tracked.get(entryId);
    if (!tracked || tracked.uploading || keep?.(tracked.entry.clip)) return false;
    this.tracked.delete(entryId);
    try {
      await this.spool.remove(entryId);
    } catch (error) {
      this.tracked.set(entryId, tracked);
      throw error;
    }
    this.log.warn(
      { entryId, clipId: tracked.entry.clip.clipId, reason },
      'discarded a spooled clip without uploading it',
    );
    this.emit('discarded', { entryId, clipId: tracked.entry.clip.clipId, reason });
    this.updateCapacityFlags();
    this.publishHealth();
    return true;
  }

  /**
   * Sets or clears the legal hold of a clip still in the spool (durably, in its journal); it is uploaded with
   * that hold, and an upload already under way is corrected before `uploaded`. Returns the entries changed.
   */
  async setLegalHold(clipId: string, held: boolean, deviceId?: string): Promise<string[]> {
    const changed: string[] = [];
    for (const tracked of this.tracked.values()) {
      const { clip } = tracked.entry;
      if (clip.clipId !== clipId || (deviceId !== undefined && clip.deviceId !== deviceId)) continue;
      const { entryId } = tracked.entry;
      if (clip.legalHold !== held) {
        // In memory first, so an upload in flight sees it; then in the journal, unless the clip just left.
        tracked.entry = { ...tracked.entry, clip: { ...clip, legalHold: held } };
        tracked.holdChanged = true;
        await this.spool.rewrite(tracked.entry).catch((error: unknown) => {
          if (this.tracked.has(entryId)) throw error;
        });
      }
      changed.push(entryId);
    }
    return changed;
  }

  /** Resolves when no upload attempt is running (tests and graceful shutdown). */
  async whenIdle(): Promise<void> {
    while (this.pumping || this.admitting.size > 0 || this.state === 'opening') {
      await Promise.allSettled([this.pumping, this.startPromise, ...this.admitting.values()]);
    }
  }

  // ---------------------------------------------------------------- spool

  private async openSpool(): Promise<void> {
    this.state = 'opening';
    try {
      const scan = await this.spool.open();
      if (!this.running) return;
      for (const problem of scan.problems) this.log.error({ spool: this.spool.dir }, `set aside: ${problem}`);
      this.failedEntries = scan.failed;
      for (const entry of scan.entries) {
        this.track(entry, true);
        this.nextSeq = Math.max(this.nextSeq, entry.seq + 1);
      }
      this.state = 'open';
      this.spoolProblem = undefined;
      this.reopenFailures = 0;
      if (scan.entries.length > 0) {
        this.log.info({ resumed: scan.entries.length, spool: this.spool.dir }, 'resuming spooled clips');
      }
      this.updateCapacityFlags();
      this.publishHealth();
      this.kick();
    } catch (error) {
      this.state = 'unavailable';
      this.spoolProblem = `spool unavailable: ${describeFsError(error, 'cannot open', this.spool.dir)}`;
      this.log.error({ spool: this.spool.dir }, this.spoolProblem);
      this.publishHealth();
      if (this.running) {
        this.reopenFailures += 1;
        const delay = backoffDelay(this.backoff, this.reopenFailures, this.random);
        this.reopenTimer = this.clock.setTimeout(() => {
          this.reopenTimer = undefined;
          if (this.running) this.startPromise = this.openSpool();
        }, delay);
      }
    }
  }

  /**
   * After a write to an open spool failed (full, read-only), checks every second whether it takes writes again, so
   * the problem clears by itself rather than on the next clip that happens to come.
   */
  private scheduleSpoolProbe(): void {
    if (this.probeTimer || !this.running) return;
    this.probeTimer = this.clock.setTimeout(async () => {
      this.probeTimer = undefined;
      if (!this.running || this.state !== 'open' || !this.spoolProblem) return;
      try {
        await this.spool.probeWritable();
      } catch {
        this.scheduleSpoolProbe();
        return;
      }
      this.spoolProblem = undefined;
      this.log.info({ spool: this.spool.dir }, 'spool takes writes again');
      this.publishHealth();
    }, SPOOL_PROBE_MS);
  }

  private async admit(entryId: string, clip: NormalizedClip, request: EnqueueRequest): Promise<SpooledClip> {
    if (!this.running || this.state === 'stopped') {
      throw new SpoolError('stopped', 'upload queue is not started: call start() before enqueue()');
    }
    await this.startPromise;
    if (this.state !== 'open') {
      this.refusedTotal += 1;
      throw new SpoolError(
        'unavailable',
        `clip ${clip.clipId} refused: ${this.spoolProblem ?? 'spool is not open'}`,
      );
    }
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
        throw new SpoolError(
          'source',
          `clip ${clip.clipId}: ${describeFsError(error, 'cannot read', source)}`,
        );
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
    const bytes = objects.reduce((sum, o) => sum + o.bytes, 0);
    this.checkCapacity(clip.clipId, bytes);
    const entry: SpoolEntry = {
      v: 1,
      entryId,
      seq: this.nextSeq++,
      enqueuedAt: new Date(this.clock.now()).toISOString(),
      mode: request.mode ?? 'move',
      clip,
      objects,
    };
    this.reservedBytes += bytes;
    try {
      await this.spool.admit(entry);
    } catch (error) {
      this.refusedTotal += 1;
      if (isStorageUnavailable(error)) {
        this.spoolProblem = `spool unavailable: ${describeFsError(error, 'cannot write', this.spool.dir)}`;
        this.log.error({ clipId: clip.clipId }, `clip refused, ${this.spoolProblem}`);
        this.publishHealth();
        this.scheduleSpoolProbe();
        throw new SpoolError('unavailable', `clip ${clip.clipId} refused: ${this.spoolProblem}`);
      }
      if (errnoCode(error) === 'ENOENT') {
        throw new SpoolError(
          'source',
          `clip ${clip.clipId}: ${describeFsError(error, 'cannot spool', request.clipFile)}`,
        );
      }
      throw error;
    } finally {
      this.reservedBytes -= bytes;
    }
    this.spoolProblem = undefined;
    this.track(entry, false);
    const spooled = { ...this.spooledOf(entry), duplicate: false };
    this.log.info({ clipId: clip.clipId, bytes, depth: this.tracked.size }, 'clip spooled');
    this.emit('spooled', spooled);
    this.updateCapacityFlags();
    this.publishHealth();
    this.kick();
    return spooled;
  }

  private checkCapacity(clipId: string, bytes: number): void {
    const entries = this.tracked.size + this.failedEntries.length + this.admitting.size;
    const total = this.spoolBytes() + this.reservedBytes + bytes;
    if (entries > this.maxEntries || total > this.maxBytes) {
      this.refusedTotal += 1;
      this.refusedForCapacity = true;
      const message =
        `spool ${this.spool.dir} is full (${entries - 1}/${this.maxEntries} clips, ` +
        `${this.spoolBytes() + this.reservedBytes}/${this.maxBytes} bytes): clip ${clipId} (${bytes} bytes) refused`;
      this.log.error({ clipId }, message);
      this.publishHealth();
      throw new SpoolError('full', message);
    }
  }

  private updateCapacityFlags(): void {
    const entries = this.tracked.size + this.failedEntries.length;
    const fill = Math.max(entries / this.maxEntries, this.spoolBytes() / this.maxBytes);
    if (fill >= this.warnFraction && !this.capacityWarned) {
      this.capacityWarned = true;
      this.log.warn(
        {
          depth: this.tracked.size,
          bytes: this.spoolBytes(),
          maxEntries: this.maxEntries,
          maxBytes: this.maxBytes,
        },
        `spool is ${Math.round(fill * 100)}% full: clips are waiting for ${this.bucket.describe()}`,
      );
    }
    if (fill < this.warnFraction) {
      this.capacityWarned = false;
      this.refusedForCapacity = false;
    }
  }

  private spoolBytes(): number {
    let total = 0;
    for (const tracked of this.tracked.values()) total += tracked.bytes;
    for (const failed of this.failedEntries) for (const o of failed.entry.objects) total += o.bytes;
    return total;
  }

  private track(entry: SpoolEntry, recovered: boolean): Tracked {
    const tracked: Tracked = {
      entry,
      bytes: entry.objects.reduce((sum, o) => sum + o.bytes, 0),
      attempts: 0,
      failures: 0,
      nextAttemptAt: this.clock.now(),
      recovered,
      uploading: false,
      confirmed: new Map(),
      holdChanged: false,
    };
    this.tracked.set(entry.entryId, tracked);
    return tracked;
  }

  private spooledOf(entry: SpoolEntry): Omit<SpooledClip, 'duplicate'> {
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

  // ---------------------------------------------------------------- uploading

  private kick(): void {
    this.wanted = true;
    if (this.pumping || !this.running || this.state !== 'open') return;
    this.pumping = this.pump()
      .catch((error: unknown) =>
        this.log.error({ err: error }, 'upload loop failed; it restarts on the next clip'),
      )
      .finally(() => {
        this.pumping = undefined;
        if (this.wanted && this.running) this.kick();
      });
  }

  private async pump(): Promise<void> {
    while (this.running && this.wanted) {
      this.wanted = false;
      for (;;) {
        if (!this.running) return;
        const next = this.nextDue();
        if (!next) break;
        await this.attempt(next);
      }
    }
    this.scheduleWake();
  }

  private nextDue(): Tracked | undefined {
    const now = this.clock.now();
    let best: Tracked | undefined;
    for (const tracked of this.tracked.values()) {
      if (tracked.nextAttemptAt > now) continue;
      if (!best || tracked.entry.seq < best.entry.seq) best = tracked;
    }
    return best;
  }

  private scheduleWake(): void {
    this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
    if (!this.running) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const tracked of this.tracked.values()) earliest = Math.min(earliest, tracked.nextAttemptAt);
    if (!Number.isFinite(earliest)) return;
    this.wakeTimer = this.clock.setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.kick();
      },
      Math.max(0, earliest - this.clock.now()),
    );
  }

  private async attempt(tracked: Tracked): Promise<void> {
    const { entry } = tracked;
    tracked.attempts += 1;
    tracked.uploading = true;
    try {
      const results = new Map<ClipObjectKind, PutResult>();
      for (const kind of UPLOAD_ORDER) {
        const object = entry.objects.find((o) => o.kind === kind);
        if (!object) continue;
        results.set(kind, await this.uploadObject(tracked, object));
      }
      await this.applyHoldChanges(tracked, results);
      const uploaded = this.uploadedClip(tracked, results);
      await this.emitUploaded(uploaded);
      await this.spool.remove(entry.entryId);
      this.tracked.delete(entry.entryId);
      // A hold set while the listeners ran still has to reach the bucket.
      await this.applyHoldChanges(tracked, results).catch((error: unknown) =>
        this.log.error(
          { err: error, clipId: entry.clip.clipId },
          'could not apply a legal hold change to the bucket',
        ),
      );
      this.uploadedTotal += 1;
      this.consecutiveFailures = 0;
      this.lastError = undefined;
      this.log.info(
        { clipId: entry.clip.clipId, key: uploaded.key, bytes: uploaded.bytes, attempts: tracked.attempts },
        'clip uploaded',
      );
      // The bucket answers again: whoever was backing off may go now.
      for (const other of this.tracked.values())
        other.nextAttemptAt = Math.min(other.nextAttemptAt, this.clock.now());
      this.updateCapacityFlags();
      this.publishHealth();
    } catch (error) {
      await this.handleFailure(tracked, error);
    } finally {
      tracked.uploading = false;
    }
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

  private async applyHoldChanges(tracked: Tracked, results: Map<ClipObjectKind, PutResult>): Promise<void> {
    while (tracked.holdChanged) {
      tracked.holdChanged = false;
      for (const result of results.values()) {
        await this.bucket.updateMetadata(result.key, { 'legal-hold': String(tracked.entry.clip.legalHold) });
      }
    }
  }

  private uploadedClip(tracked: Tracked, results: Map<ClipObjectKind, PutResult>): UploadedClip {
    const { clip } = tracked.entry;
    const main = results.get('clip')!;
    const thumbnail = results.get('thumbnail');
    return {
      entryId: tracked.entry.entryId,
      deviceId: clip.deviceId,
      clipId: clip.clipId,
      eventId: clip.eventId,
      trigger: clip.trigger,
      recordedAt: clip.recordedAt,
      ...(clip.startedAt ? { startedAt: clip.startedAt } : {}),
      ...(clip.endedAt ? { endedAt: clip.endedAt } : {}),
      retentionDays: clip.retentionDays,
      retainUntil: clip.retainUntil,
      encrypted: clip.encrypted,
      legalHold: clip.legalHold,
      bucket: this.bucket.describe(),
      key: main.key,
      bytes: main.bytes,
      sha256: main.sha256,
      ...(thumbnail
        ? { thumbnail: { key: thumbnail.key, bytes: thumbnail.bytes, sha256: thumbnail.sha256 } }
        : {}),
      metadata: { ...clipObjectMetadata(clip), sha256: main.sha256 },
      enqueuedAt: tracked.entry.enqueuedAt,
      uploadedAt: new Date(this.clock.now()).toISOString(),
      attempts: tracked.attempts,
    };
  }

  private async emitUploaded(clip: UploadedClip): Promise<void> {
    const failures: string[] = [];
    for (const listener of this.listeners.uploaded) {
      try {
        await listener(clip);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
    if (failures.length > 0) throw new Error(`an uploaded listener failed: ${failures.join('; ')}`);
  }

  private async handleFailure(tracked: Tracked, error: unknown): Promise<void> {
    const { entry } = tracked;
    const message = error instanceof Error ? error.message : String(error);
    if (
      error instanceof PermanentFailure ||
      error instanceof InvalidKeyError ||
      error instanceof InvalidMetadataError
    ) {
      this.tracked.delete(entry.entryId);
      try {
        await this.spool.quarantine(entry.entryId, message);
        this.failedEntries.push({ entry, reason: message });
      } catch (moveError) {
        this.log.error({ err: moveError, entryId: entry.entryId }, 'could not move the clip to failed/');
      }
      this.log.error(
        { clipId: entry.clip.clipId, reason: message },
        `clip can never upload; kept in ${this.spool.failedDir}`,
      );
      this.emit('failed', { entryId: entry.entryId, clipId: entry.clip.clipId, reason: message });
      this.publishHealth();
      return;
    }
    tracked.failures += 1;
    this.consecutiveFailures += 1;
    this.lastError = message;
    const delayMs = backoffDelay(this.backoff, tracked.failures, this.random);
    tracked.nextAttemptAt = this.clock.now() + delayMs;
    this.log.warn(
      {
        clipId: entry.clip.clipId,
        failures: tracked.failures,
        retryInMs: delayMs,
        bucket: this.bucket.describe(),
      },
      `upload failed, will retry: ${message}`,
    );
    this.emit('retry', {
      entryId: entry.entryId,
      clipId: entry.clip.clipId,
      failures: tracked.failures,
      delayMs,
      error: message,
    });
    this.publishHealth();
  }

  // ---------------------------------------------------------------- events

  private emit<E extends Exclude<keyof UploadQueueEvents, 'uploaded'>>(
    event: E,
    payload: Parameters<UploadQueueEvents[E]>[0],
  ): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (value: typeof payload) => void)(payload);
      } catch (error) {
        this.log.error({ err: error, event }, 'an upload queue listener threw');
      }
    }
  }

  private publishHealth(): void {
    const health = this.health();
    // Announce changes of kind (healthy ↔ unhealthy, which problems), not every new failure count.
    const key = JSON.stringify(this.currentProblems().map((p) => p.code));
    if (key === this.lastHealthKey) return;
    const wasReported = this.lastHealthKey !== '';
    this.lastHealthKey = key;
    if (!health.healthy) this.log.warn({ problems: health.problems }, 'upload queue unhealthy');
    else if (wasReported) this.log.info('upload queue healthy again');
    this.emit('health', health);
  }
}

const SPOOL_PROBE_MS = 1_000;

/** A clip that no retry can fix (its spooled data is gone, its key is invalid). */
class PermanentFailure extends Error {}
