import type { Clock, TimerHandle } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { Tracked } from './upload-types.js';

/** The clip to try now: the oldest (lowest seq) whose backoff has run out, if any. */
export function nextDue(tracked: Iterable<Tracked>, now: number): Tracked | undefined {
  let best: Tracked | undefined;
  for (const candidate of tracked) {
    if (candidate.nextAttemptAt > now) continue;
    if (!best || candidate.entry.seq < best.entry.seq) best = candidate;
  }
  return best;
}

/** When the next clip becomes due, or undefined when nothing waits. */
export function earliestAttempt(tracked: Iterable<Tracked>): number | undefined {
  let earliest = Number.POSITIVE_INFINITY;
  for (const candidate of tracked) earliest = Math.min(earliest, candidate.nextAttemptAt);
  return Number.isFinite(earliest) ? earliest : undefined;
}

export interface SchedulerHooks {
  /** Whether uploads may run now (started and the spool open). */
  canRun: () => boolean;
  /** One upload attempt of one clip; never rejects for an upload failure. */
  attempt: (tracked: Tracked) => Promise<void>;
}

/**
 * Runs one upload at a time, oldest due clip first, and sleeps on the clock until the next backoff runs out.
 * kick() is cheap and idempotent: a kick during a run makes the loop look again before it sleeps.
 */
export class UploadScheduler {
  private running = false;
  private pumping: Promise<void> | undefined;
  private wanted = false;
  private wakeTimer: TimerHandle | undefined;

  constructor(
    private readonly tracked: ReadonlyMap<string, Tracked>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly hooks: SchedulerHooks,
  ) {}

  /** The run in progress, if any (resolves when it ends). */
  get busy(): Promise<void> | undefined {
    return this.pumping;
  }

  start(): void {
    this.running = true;
  }

  /** Stops scheduling; resolves once an upload in progress finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
    await this.pumping;
  }

  kick(): void {
    this.wanted = true;
    if (this.pumping || !this.running || !this.hooks.canRun()) return;
    this.pumping = this.pump()
      .catch((error: unknown) =>
        this.log.error({ err: error }, 'upload loop failed; it restarts on the next clip'),
      )
      .finally(() => {
        this.pumping = undefined;
        if (this.wanted && this.running) this.kick();
      });
  }

  /** The bucket answers again: whoever was backing off may go now. */
  releaseBackoffs(): void {
    const now = this.clock.now();
    for (const other of this.tracked.values()) other.nextAttemptAt = Math.min(other.nextAttemptAt, now);
  }

  private async pump(): Promise<void> {
    while (this.running && this.wanted) {
      this.wanted = false;
      for (;;) {
        if (!this.running) return;
        const next = nextDue(this.tracked.values(), this.clock.now());
        if (!next) break;
        await this.hooks.attempt(next);
      }
    }
    this.scheduleWake();
  }

  private scheduleWake(): void {
    this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
    if (!this.running) return;
    const earliest = earliestAttempt(this.tracked.values());
    if (earliest === undefined) return;
    this.wakeTimer = this.clock.setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.kick();
      },
      Math.max(0, earliest - this.clock.now()),
    );
  }
}
