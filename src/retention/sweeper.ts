import { createTask, type ScheduledTask, validateDetailed } from 'node-cron';
import type { Clock } from '../clock/clock.js';
import { type Logger, silentLogger } from '../log/logger.js';
import type { Bucket } from '../storage/bucket.js';
import { type SpoolView, type SweepReport, sweepRetention } from './sweep.js';

export const DEFAULT_RETENTION_CRON = '0 * * * *';

export interface RetentionSweeperOptions {
  bucket: Bucket;
  clock: Clock;
  /** Also expire clips still waiting in the spool. */
  spool?: SpoolView;
  /** node-cron expression (5 or 6 fields); default hourly at minute 0. */
  cron?: string;
  /** IANA zone for the cron expression (default: the host's). */
  timezone?: string;
  logger?: Logger;
  /** Called after every scheduled or manual sweep. */
  onSweep?: (report: SweepReport) => void;
}

/** A cron expression node-cron cannot run; the message names the field. */
export class CronExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronExpressionError';
  }
}

export function checkCronExpression(expression: string): string {
  const result = validateDetailed(expression);
  if (!result.valid) {
    const detail = result.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    throw new CronExpressionError(`retention cron "${expression}" is invalid (${detail})`);
  }
  return expression;
}

/**
 * Runs the retention sweep on a node-cron schedule. The schedule is wall-clock (cron), while each sweep
 * takes "now" from the Clock, so a virtual clock decides what has expired.
 */
export class RetentionSweeper {
  readonly cron: string;
  private readonly log: Logger;
  private task: ScheduledTask | undefined;
  private running: Promise<SweepReport> | undefined;

  constructor(private readonly options: RetentionSweeperOptions) {
    this.cron = checkCronExpression(options.cron ?? DEFAULT_RETENTION_CRON);
    this.log = (options.logger ?? silentLogger()).child({ component: 'retention' });
  }

  start(): void {
    if (this.task) return;
    this.task = createTask(
      this.cron,
      async () => {
        try {
          await this.runNow();
        } catch (error) {
          this.log.error({ err: error, bucket: this.options.bucket.describe() }, 'retention sweep failed');
        }
      },
      {
        name: 'retention-sweep',
        noOverlap: true,
        ...(this.options.timezone ? { timezone: this.options.timezone } : {}),
      },
    );
    void this.task.start();
  }

  async stop(): Promise<void> {
    const task = this.task;
    this.task = undefined;
    if (task) {
      await task.stop();
      await task.destroy();
    }
    await this.running?.catch(() => undefined);
  }

  /** When the next scheduled sweep fires (undefined when stopped). */
  nextRun(): Date | undefined {
    return this.task?.getNextRun() ?? undefined;
  }

  /** One sweep now (at clock.now()); concurrent calls share the sweep in progress. */
  runNow(): Promise<SweepReport> {
    this.running ??= sweepRetention({
      bucket: this.options.bucket,
      nowMs: this.options.clock.now(),
      logger: this.log,
      ...(this.options.spool ? { spool: this.options.spool } : {}),
    })
      .then((report) => {
        this.options.onSweep?.(report);
        return report;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
