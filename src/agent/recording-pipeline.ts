import type { Clock } from '../clock/clock.js';
import type { DeviceProfile } from '../config/profile.js';
import { iso } from '../events/envelope.js';
import type { DeviceEvent } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import { ClipPlanner, type PlannedClip } from '../recording/clip-planner.js';
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
}

/** Device events → planned clips → the recorder, in feed time. */
export class RecordingPipeline {
  private planner: ClipPlanner;
  private continuation = 0;

  constructor(private readonly options: RecordingPipelineOptions) {
    this.planner = new ClipPlanner(options.profile.recording);
  }

  reconfigure(profile: DeviceProfile): void {
    if (!this.planner.current) this.planner = new ClipPlanner(profile.recording);
  }

  onDeviceEvent(event: DeviceEvent): void {
    const { feed } = this.options;
    if (!feed.live) return;
    if (event.kind === 'ding') {
      this.planner.trigger('ding', feed.deviceToFeed(Date.parse(event.payload.at)), event.payload.id);
    } else if (event.kind === 'motion') {
      const feedMs = feed.deviceToFeed(Date.parse(event.payload.at));
      if (event.payload.type === 'start') this.planner.trigger('motion', feedMs, event.payload.id);
      if (event.payload.type === 'end') this.planner.motionEnded(feedMs);
    }
  }

  /** Called as the feed advances: clips whose footage now exists are recorded. */
  onFeedTime(feedMs: number): void {
    for (const plan of this.planner.advance(feedMs, () => this.nextContinuationId())) this.record(plan);
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
    recorder.record(plan, times).catch((error: Error) => this.options.onFailure?.(plan.clipId, error));
  }

  private nextContinuationId(): string {
    const current = this.planner.current?.clipId ?? 'clip';
    return `${current.replace(/-part\d+$/, '')}-part${++this.continuation}`;
  }
}
