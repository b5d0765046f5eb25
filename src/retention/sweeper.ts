import { createTask, type ScheduledTask, validateDetailed } from 'node-cron';
import type { Clock, TimerHandle } from '../clock/clock.js';
import { type Logger, silentLogger } from '../log/logger.js';
import type { Bucket } from '../storage/bucket.js';
import { UserError } from '../util/user-error.js';
import type { RetentionMode } from './modes.js';
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
  /** Who enforces retention in the bucket, asked at each sweep (default sweeper: the sweep deletes). */
  mode?: () => RetentionMode;
  /** Called after every scheduled or manual sweep. */
  onSweep?: (report: SweepReport) => void;
}

/** A cron expression node-cron cannot run; the message names the field. */
export class CronExpressionError extends UserError {
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

/** node-cron's own "next time this expression matches" (its TimeMatcher), used without its wall-clock timer. */
interface NextMatch {
  getNextMatch(from: Date): Date;
}

function cronMatcher(expression: string, timezone: string | undefined): NextMatch {
  const task: ScheduledTask = createTask(expression, () => undefined, timezone ? { timezone } : {});
  const matcher = (task as unknown as { timeMatcher?: Partial<NextMatch> }).timeMatcher;
  // Never started; destroying it only takes it off node-cron's task registry.
  Promise.resolve(task.destroy()).catch(() => undefined);
  if (typeof matcher?.getNextMatch !== 'function')
    throw new Error('this node-cron has no TimeMatcher.getNextMatch; the sweeper needs node-cron 4');
  return matcher as NextMatch;
}

/**
 * Runs the retention sweep on a cron schedule kept on the device Clock, like every other timer: node-cron parses
 * the expression and finds the next match; a virtual clock (replay) decides when that is, not the wall clock.
 */
export class RetentionSweeper {
  readonly cron: string;
  private readonly log: Logger;
  private readonly matcher: NextMatch;
  private timer: TimerHandle | undefined;
  private next: Date | undefined;
  private running: Promise<SweepReport> | undefined;

  constructor(private readonly options: RetentionSweeperOptions) {
    this.cron = checkCronExpression(options.cron ?? DEFAULT_RETENTION_CRON);
    this.log = (options.logger ?? silentLogger()).child({ component: 'retention' });
    this.matcher = cronMatcher(this.cron, options.timezone);
  }

  start(): void {
    if (this.next) return;
    this.scheduleNext();
  }

  async stop(): Promise<void> {
    this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.next = undefined;
    await this.running?.catch(() => undefined);
  }

  /** When the next scheduled sweep fires, by the Clock (undefined when stopped). */
  nextRun(): Date | undefined {
    return this.next;
  }

  private scheduleNext(): void {
    const { clock } = this.options;
    const next = this.matcher.getNextMatch(new Date(clock.now()));
    this.next = next;
    this.timer = clock.setTimeout(
      () => {
        this.timer = undefined;
        // A sweep still running when the next one is due is not doubled (runNow shares it).
        this.runNow().catch((error: unknown) =>
          this.log.error({ err: error, bucket: this.options.bucket.describe() }, 'retention sweep failed'),
        );
        if (this.next === next) this.scheduleNext();
      },
      Math.max(0, next.getTime() - clock.now()),
    );
  }

  /** One sweep now (at clock.now()); concurrent calls share the sweep in progress. */
  runNow(): Promise<SweepReport> {
    this.running ??= sweepRetention({
      bucket: this.options.bucket,
      nowMs: this.options.clock.now(),
      logger: this.log,
      ...(this.options.spool ? { spool: this.options.spool } : {}),
      ...(this.options.mode ? { mode: this.options.mode() } : {}),
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
