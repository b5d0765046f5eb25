import type { Clock } from '../clock/clock.js';
import type { DeviceProfile } from '../config/profile.js';
import { iso } from '../events/envelope.js';
import type { DeviceEvent } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import { describeFsError } from '../persist/fs-errors.js';
import { ClipPlanner, type PlannedClip } from '../recording/clip-planner.js';
import { type IntentJournal, type IntentSource, intentOf, type LostClip } from '../recording/intents.js';
import type { Recorder } from '../recording/recorder.js';
import type { CameraFeed } from './camera-feed.js';

export interface RecordingPipelineOptions {
  profile: DeviceProfile;
  feed: CameraFeed;
  recorder: Recorder;
  clock: Clock;
  logger: Logger;
  /** Called when a recording fails (the clip is lost: say so loudly). */
  onFailure?: (clipId: string, error: Error) => void;
  /** Each open clip's plan is journaled here, so a crash cannot lose it silently. */
  intents?: { journal: IntentJournal; source: IntentSource };
  /** A trigger's clip will never be stored: announce it (events/clip, status "lost"). */
  onLost?: (lost: LostClip) => void;
}

/** Device events → planned clips → the recorder, in feed time. */
export class RecordingPipeline {
  private planner: ClipPlanner;
  private continuation = 0;
  private journaled = '';

  constructor(private readonly options: RecordingPipelineOptions) {
    this.planner = new ClipPlanner(options.profile.recording);
  }

  reconfigure(profile: DeviceProfile): void {
    if (!this.planner.current) this.planner = new ClipPlanner(profile.recording);
  }

  onDeviceEvent(event: DeviceEvent): void {
    const { feed } = this.options;
    if (!feed.live) {
      if (event.kind === 'ding' || (event.kind === 'motion' && event.payload.type === 'start')) {
        const { id, at } = event.payload;
        const trigger = event.kind;
        this.options.onLost?.({
          clipId: id,
          trigger,
          startedAt: at,
          endedAt: at,
          reason: 'the camera had no picture yet',
        });
      }
      return;
    }
    if (event.kind === 'ding') {
      this.planner.trigger('ding', feed.deviceToFeed(Date.parse(event.payload.at)), event.payload.id);
    } else if (event.kind === 'motion') {
      const feedMs = feed.deviceToFeed(Date.parse(event.payload.at));
      if (event.payload.type === 'start') this.planner.trigger('motion', feedMs, event.payload.id);
      if (event.payload.type === 'end') this.planner.motionEnded(feedMs);
    }
    this.journalOpenClip();
  }

  /** Called as the feed advances: clips whose footage now exists are recorded. */
  onFeedTime(feedMs: number): void {
    const done = this.planner.advance(feedMs, () => this.nextContinuationId());
    if (done.length === 0) return;
    for (const plan of done) this.record(plan);
    this.journalOpenClip();
  }

  /** Records whatever is open (cut at the current feed time) and waits for every recording. */
  async flush(): Promise<void> {
    const plan = this.planner.flush(this.options.feed.feedNow());
    if (plan) this.record(plan);
    await this.options.recorder.idle();
  }

  private record(plan: PlannedClip): void {
    const { feed, recorder, logger } = this.options;
    const times = {
      startedAt: iso(feed.feedToDevice(plan.startFeedMs)),
      endedAt: iso(feed.feedToDevice(plan.endFeedMs)),
      eventId: plan.clipId,
    };
    logger.info({ clipId: plan.clipId, trigger: plan.trigger, ...times }, 'recording clip');
    this.journal(plan);
    recorder.record(plan, times).then(
      () => this.options.intents?.journal.finish(plan.clipId),
      (error: Error) => {
        this.options.onFailure?.(plan.clipId, error);
        const { startedAt, endedAt } = times;
        this.options.onLost?.({
          clipId: plan.clipId,
          trigger: plan.trigger,
          startedAt,
          endedAt,
          reason: error.message,
        });
        this.options.intents?.journal.finish(plan.clipId);
      },
    );
  }

  private journalOpenClip(): void {
    if (this.planner.current) this.journal(this.planner.current);
  }

  private journal(plan: PlannedClip): void {
    const { intents, feed } = this.options;
    if (!intents) return;
    const intent = intentOf(plan, intents.source, (feedMs) => feed.feedToDevice(feedMs));
    // Written (fsync'd) only when the plan changed, not on every event while a clip is open.
    const text = JSON.stringify(intent);
    if (text === this.journaled) return;
    try {
      intents.journal.save(intent);
      this.journaled = text;
    } catch (error) {
      // A full or read-only disk: the clip itself will be refused and announced lost, so it is not silent either.
      this.options.logger.error(
        { clipId: plan.clipId, err: describeFsError(error, 'cannot journal', intents.journal.dir) },
        'recording plan not journaled',
      );
    }
  }

  private nextContinuationId(): string {
    const current = this.planner.current?.clipId ?? 'clip';
    return `${current.replace(/-part\d+$/, '')}-part${++this.continuation}`;
  }
}
