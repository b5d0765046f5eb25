import type { Clock, TimerHandle } from '../clock/clock.js';
import { type Logger, silentLogger } from '../log/logger.js';
import { describeFsError, errnoCode, isStorageUnavailable } from '../persist/fs-errors.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import type { Bucket } from './bucket.js';
import { type NormalizedClip, normalizeClip } from './clip-metadata.js';
import { ClipUploader, isPermanentFailure, uploadedClip } from './clip-uploader.js';
import { clipObjectKey } from './keys.js';
import { entryIdOf, type FailedEntry, Spool, type SpoolEntry } from './spool.js';
import { spooledOf, spoolObjectsOf } from './spool-admission.js';
import { UploadEvents } from './upload-events.js';
import { UploadHealth } from './upload-health.js';
import { UploadScheduler } from './upload-scheduler.js';
import {
  type EnqueueRequest,
  type SpoolEntrySummary,
  SpoolError,
  type SpooledClip,
  type Tracked,
  type UploadQueueEvents,
  type UploadQueueHealth,
  type UploadQueueOptions,
  type UploadQueueState,
} from './upload-types.js';

export type { SpoolMode } from './spool.js';
export {
  type EnqueueRequest,
  type RetryInfo,
  type SpoolEntrySummary,
  SpoolError,
  type SpoolErrorReason,
  type SpooledClip,
  type UploadedClip,
  type UploadedObject,
  type UploadQueueEvents,
  type UploadQueueHealth,
  type UploadQueueOptions,
  type UploadQueueState,
} from './upload-types.js';

/**
 * The durable upload queue: a clip is spooled to disk (journal fsync'd) before enqueue() resolves, uploaded
 * with retries (exponential backoff + jitter), and removed from the spool only after the bucket confirmed it
 * and every `uploaded` listener settled. Survives kill -9: start() resumes whatever the spool holds.
 *
 * This class admits clips and owns the spool's lifecycle; UploadScheduler picks what to upload when,
 * ClipUploader puts one clip's objects, UploadHealth keeps the counts, bounds and problems.
 */
export class UploadQueue {
  private readonly spool: Spool;
  private readonly bucket: Bucket;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly uploader: ClipUploader;
  private readonly scheduler: UploadScheduler;
  private readonly healthState: UploadHealth;
  private readonly events: UploadEvents;

  private readonly tracked = new Map<string, Tracked>();
  private readonly admitting = new Map<string, Promise<SpooledClip>>();
  private failedEntries: FailedEntry[] = [];
  private reservedBytes = 0;
  private nextSeq = 0;
  private state: UploadQueueState = 'stopped';
  private running = false;
  private startPromise: Promise<void> | undefined;
  private reopenTimer: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  private reopenFailures = 0;

  constructor(options: UploadQueueOptions) {
    this.spool = new Spool(options.spoolDir, options.fileOps);
    this.bucket = options.bucket;
    this.clock = options.clock;
    this.log = (options.logger ?? silentLogger()).child({ component: 'upload-queue' });
    this.random = options.random ?? Math.random;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.events = new UploadEvents(this.log);
    this.uploader = new ClipUploader(this.spool, this.bucket);
    this.scheduler = new UploadScheduler(this.tracked, this.clock, this.log, {
      canRun: () => this.state === 'open',
      attempt: (tracked) => this.attempt(tracked),
    });
    this.healthState = new UploadHealth(
      {
        maxEntries: options.maxEntries ?? 1000,
        maxBytes: options.maxBytes ?? 4 * 1024 ** 3,
        warnFraction: options.warnFraction ?? 0.8,
        unhealthyAfterFailures: options.unhealthyAfterFailures ?? 3,
      },
      () => ({
        tracked: this.tracked,
        failedEntries: this.failedEntries,
        state: this.state,
        admitting: this.admitting.size,
        reservedBytes: this.reservedBytes,
      }),
      { spoolDir: this.spool.dir, failedDir: this.spool.failedDir, bucket: this.bucket },
      this.log,
      (health) => this.events.emit('health', health),
    );
  }

  get spoolDir(): string {
    return this.spool.dir;
  }

  on<E extends keyof UploadQueueEvents>(event: E, listener: UploadQueueEvents[E]): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Opens the spool and resumes every clip in it. Never rejects for an unusable spool: the queue then
   * reports unhealthy, refuses clips with a SpoolError, and keeps trying to open it.
   */
  start(options: { holdUploads?: boolean } = {}): Promise<void> {
    if (this.running) return this.startPromise ?? Promise.resolve();
    this.running = true;
    if (!options.holdUploads) this.scheduler.start();
    this.startPromise = this.openSpool();
    return this.startPromise;
  }

  /**
   * Starts uploading after `start({ holdUploads: true })`: once whoever announces uploaded clips listens, so that a
   * clip a crash left in the spool is not uploaded (and forgotten) before anyone can say so.
   */
  resumeUploads(): void {
    if (!this.running) return;
    this.scheduler.start();
    this.scheduler.kick();
  }

  /** Stops scheduling; waits for an upload in progress to finish. What is spooled stays spooled. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const uploadsStopped = this.scheduler.stop();
    this.clock.clearTimer(this.reopenTimer);
    this.clock.clearTimer(this.probeTimer);
    this.probeTimer = undefined;
    this.reopenTimer = undefined;
    await this.startPromise;
    await Promise.allSettled([...this.admitting.values()]);
    await uploadsStopped;
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
    if (existing) return { ...spooledOf(existing.entry), duplicate: true };
    const pending = this.admitting.get(entryId);
    if (pending) return pending.then((spooled) => ({ ...spooled, duplicate: true }));
    const admission = this.admit(entryId, clip, request).finally(() => this.admitting.delete(entryId));
    this.admitting.set(entryId, admission);
    return admission;
  }

  /** Why the spool refuses clips right now (full or read-only disk under it), or undefined. */
  get spoolRefusal(): string | undefined {
    return this.healthState.spoolProblem;
  }

  health(): UploadQueueHealth {
    return this.healthState.snapshot();
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
    this.events.emit('discarded', { entryId, clipId: tracked.entry.clip.clipId, reason });
    this.healthState.updateCapacity();
    this.healthState.publish();
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
    while (this.scheduler.busy || this.admitting.size > 0 || this.state === 'opening') {
      await Promise.allSettled([this.scheduler.busy, this.startPromise, ...this.admitting.values()]);
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
      this.healthState.spoolProblem = undefined;
      this.reopenFailures = 0;
      if (scan.entries.length > 0) {
        this.log.info({ resumed: scan.entries.length, spool: this.spool.dir }, 'resuming spooled clips');
      }
      this.healthState.updateCapacity();
      this.healthState.publish();
      this.scheduler.kick();
    } catch (error) {
      this.state = 'unavailable';
      const problem = `spool unavailable: ${describeFsError(error, 'cannot open', this.spool.dir)}`;
      this.healthState.spoolProblem = problem;
      this.log.error({ spool: this.spool.dir }, problem);
      this.healthState.publish();
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
      if (!this.running || this.state !== 'open' || !this.healthState.spoolProblem) return;
      try {
        await this.spool.probeWritable();
      } catch {
        this.scheduleSpoolProbe();
        return;
      }
      this.healthState.spoolProblem = undefined;
      this.log.info({ spool: this.spool.dir }, 'spool takes writes again');
      this.healthState.publish();
    }, SPOOL_PROBE_MS);
  }

  private async admit(entryId: string, clip: NormalizedClip, request: EnqueueRequest): Promise<SpooledClip> {
    if (!this.running || this.state === 'stopped') {
      throw new SpoolError('stopped', 'upload queue is not started: call start() before enqueue()');
    }
    await this.startPromise;
    if (this.state !== 'open') {
      this.healthState.recordRefusal();
      throw new SpoolError(
        'unavailable',
        `clip ${clip.clipId} refused: ${this.healthState.spoolProblem ?? 'spool is not open'}`,
      );
    }
    const objects = await spoolObjectsOf(clip, request);
    const bytes = objects.reduce((sum, o) => sum + o.bytes, 0);
    this.healthState.checkCapacity(clip.clipId, bytes);
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
      this.healthState.recordRefusal();
      if (isStorageUnavailable(error)) {
        const problem = `spool unavailable: ${describeFsError(error, 'cannot write', this.spool.dir)}`;
        this.healthState.spoolProblem = problem;
        this.log.error({ clipId: clip.clipId }, `clip refused, ${problem}`);
        this.healthState.publish();
        this.scheduleSpoolProbe();
        throw new SpoolError('unavailable', `clip ${clip.clipId} refused: ${problem}`);
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
    this.healthState.spoolProblem = undefined;
    this.track(entry, false);
    const spooled = { ...spooledOf(entry), duplicate: false };
    this.log.info({ clipId: clip.clipId, bytes, depth: this.tracked.size }, 'clip spooled');
    this.events.emit('spooled', spooled);
    this.healthState.updateCapacity();
    this.healthState.publish();
    this.scheduler.kick();
    return spooled;
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

  // ---------------------------------------------------------------- uploading

  private async attempt(tracked: Tracked): Promise<void> {
    const { entry } = tracked;
    tracked.attempts += 1;
    tracked.uploading = true;
    try {
      const results = await this.uploader.upload(tracked);
      await this.uploader.applyHoldChanges(tracked, results);
      const uploaded = uploadedClip(
        tracked,
        results,
        this.bucket.describe(),
        new Date(this.clock.now()).toISOString(),
      );
      await this.events.emitUploaded(uploaded);
      await this.spool.remove(entry.entryId);
      this.tracked.delete(entry.entryId);
      // A hold set while the listeners ran still has to reach the bucket.
      await this.uploader
        .applyHoldChanges(tracked, results)
        .catch((error: unknown) =>
          this.log.error(
            { err: error, clipId: entry.clip.clipId },
            'could not apply a legal hold change to the bucket',
          ),
        );
      this.healthState.recordUpload();
      this.log.info(
        { clipId: entry.clip.clipId, key: uploaded.key, bytes: uploaded.bytes, attempts: tracked.attempts },
        'clip uploaded',
      );
      this.scheduler.releaseBackoffs();
      this.healthState.updateCapacity();
      this.healthState.publish();
    } catch (error) {
      await this.handleFailure(tracked, error);
    } finally {
      tracked.uploading = false;
    }
  }

  private async handleFailure(tracked: Tracked, error: unknown): Promise<void> {
    const { entry } = tracked;
    const message = error instanceof Error ? error.message : String(error);
    if (isPermanentFailure(error)) {
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
      this.events.emit('failed', { entryId: entry.entryId, clipId: entry.clip.clipId, reason: message });
      this.healthState.publish();
      return;
    }
    tracked.failures += 1;
    this.healthState.recordFailure(message);
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
    this.events.emit('retry', {
      entryId: entry.entryId,
      clipId: entry.clip.clipId,
      failures: tracked.failures,
      delayMs,
      error: message,
    });
    this.healthState.publish();
  }
}

const SPOOL_PROBE_MS = 1_000;
