import type { Logger } from '../log/logger.js';
import type { Bucket } from './bucket.js';
import type { FailedEntry } from './spool.js';
import { SpoolError, type Tracked, type UploadQueueHealth, type UploadQueueState } from './upload-types.js';

export interface HealthLimits {
  maxEntries: number;
  maxBytes: number;
  warnFraction: number;
  unhealthyAfterFailures: number;
}

/** What the health reads from the queue, asked afresh each time: its clips, the ones set aside, its state. */
export interface HealthView {
  readonly tracked: ReadonlyMap<string, Tracked>;
  readonly failedEntries: readonly FailedEntry[];
  readonly state: UploadQueueState;
  /** Clips being admitted right now, and the bytes they reserve. */
  readonly admitting: number;
  readonly reservedBytes: number;
}

interface Problem {
  code: 'spool-unavailable' | 'spool-full' | 'bucket-failing' | 'failed-clips';
  text: string;
}

/**
 * The queue's health and capacity: counts uploads, failures and refusals, refuses clips past the spool bounds,
 * warns once when the spool fills up, and announces each change of kind of problem (not every new failure count).
 */
export class UploadHealth {
  /** Why the spool refuses clips right now (full or read-only disk under it), or undefined. */
  spoolProblem: string | undefined;
  private refusedForCapacity = false;
  private capacityWarned = false;
  private consecutiveFailures = 0;
  private lastError: string | undefined;
  private uploadedTotal = 0;
  private refusedTotal = 0;
  private lastHealthKey = '';

  constructor(
    private readonly limits: HealthLimits,
    private readonly current: () => HealthView,
    private readonly places: { spoolDir: string; failedDir: string; bucket: Pick<Bucket, 'describe'> },
    private readonly log: Logger,
    private readonly announce: (health: UploadQueueHealth) => void,
  ) {}

  snapshot(): UploadQueueHealth {
    const current = this.problems();
    const problems = current.map((p) => p.text);
    const view = this.current();
    let oldest: string | undefined;
    for (const tracked of view.tracked.values()) {
      if (oldest === undefined || tracked.entry.enqueuedAt < oldest) oldest = tracked.entry.enqueuedAt;
    }
    return {
      healthy: problems.length === 0,
      state: view.state,
      problems,
      problemCodes: current.map((p) => p.code),
      depth: view.tracked.size,
      bytes: this.spoolBytes(),
      maxEntries: this.limits.maxEntries,
      maxBytes: this.limits.maxBytes,
      failed: view.failedEntries.length,
      consecutiveFailures: this.consecutiveFailures,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      uploadedTotal: this.uploadedTotal,
      refusedTotal: this.refusedTotal,
      ...(oldest !== undefined ? { oldestEnqueuedAt: oldest } : {}),
    };
  }

  private problems(): Problem[] {
    const { maxEntries, maxBytes, unhealthyAfterFailures } = this.limits;
    const { tracked, failedEntries } = this.current();
    const problems: Problem[] = [];
    if (this.spoolProblem) problems.push({ code: 'spool-unavailable', text: this.spoolProblem });
    if (this.refusedForCapacity) {
      problems.push({
        code: 'spool-full',
        text: `spool full (${tracked.size}/${maxEntries} clips, ${this.spoolBytes()}/${maxBytes} bytes): new clips are refused`,
      });
    }
    if (this.consecutiveFailures >= unhealthyAfterFailures) {
      problems.push({
        code: 'bucket-failing',
        text: `uploads to ${this.places.bucket.describe()} failed ${this.consecutiveFailures} times in a row: ${this.lastError ?? 'unknown error'}`,
      });
    }
    const failed = failedEntries.length;
    if (failed > 0) {
      problems.push({
        code: 'failed-clips',
        text: `${failed} clip(s) cannot be uploaded and are kept in ${this.places.failedDir}`,
      });
    }
    return problems;
  }

  recordUpload(): void {
    this.uploadedTotal += 1;
    this.consecutiveFailures = 0;
    this.lastError = undefined;
  }

  recordFailure(message: string): void {
    this.consecutiveFailures += 1;
    this.lastError = message;
  }

  recordRefusal(): void {
    this.refusedTotal += 1;
  }

  /** Throws a SpoolError('full') when a clip of `bytes` would take the spool past either bound. */
  checkCapacity(clipId: string, bytes: number): void {
    const { maxEntries, maxBytes } = this.limits;
    const { tracked, failedEntries, admitting, reservedBytes } = this.current();
    const entries = tracked.size + failedEntries.length + admitting;
    const total = this.spoolBytes() + reservedBytes + bytes;
    if (entries > maxEntries || total > maxBytes) {
      this.refusedTotal += 1;
      this.refusedForCapacity = true;
      const message =
        `spool ${this.places.spoolDir} is full (${entries - 1}/${maxEntries} clips, ` +
        `${this.spoolBytes() + reservedBytes}/${maxBytes} bytes): clip ${clipId} (${bytes} bytes) refused`;
      this.log.error({ clipId }, message);
      this.publish();
      throw new SpoolError('full', message);
    }
  }

  /** Warns once as the spool crosses warnFraction; below it again, the spool takes clips again. */
  updateCapacity(): void {
    const { maxEntries, maxBytes, warnFraction } = this.limits;
    const { tracked, failedEntries } = this.current();
    const entries = tracked.size + failedEntries.length;
    const fill = Math.max(entries / maxEntries, this.spoolBytes() / maxBytes);
    if (fill >= warnFraction && !this.capacityWarned) {
      this.capacityWarned = true;
      this.log.warn(
        { depth: tracked.size, bytes: this.spoolBytes(), maxEntries, maxBytes },
        `spool is ${Math.round(fill * 100)}% full: clips are waiting for ${this.places.bucket.describe()}`,
      );
    }
    if (fill < warnFraction) {
      this.capacityWarned = false;
      this.refusedForCapacity = false;
    }
  }

  private spoolBytes(): number {
    let total = 0;
    const { tracked, failedEntries } = this.current();
    for (const waiting of tracked.values()) total += waiting.bytes;
    for (const failed of failedEntries) for (const o of failed.entry.objects) total += o.bytes;
    return total;
  }

  /** Announces the health when the kinds of problem changed (healthy ↔ unhealthy, which problems). */
  publish(): void {
    const key = JSON.stringify(this.problems().map((p) => p.code));
    if (key === this.lastHealthKey) return;
    const health = this.snapshot();
    const wasReported = this.lastHealthKey !== '';
    this.lastHealthKey = key;
    if (!health.healthy) this.log.warn({ problems: health.problems }, 'upload queue unhealthy');
    else if (wasReported) this.log.info('upload queue healthy again');
    this.announce(health);
  }
}
