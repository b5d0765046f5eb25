import type { Clock } from '../clock/clock.js';
import type { DeviceProfile } from '../config/profile.js';
import type { ClipFacts } from '../device/doorbell.js';
import { iso } from '../events/envelope.js';
import type { ClipEventPayload, DeviceEvent } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import { describeFsError } from '../persist/fs-errors.js';
import { ClipPlanner, type PlannedClip } from '../recording/clip-planner.js';
import {
  type IntentJournal,
  type IntentSource,
  intentOf,
  type LostClip,
  type RecordingIntent,
} from '../recording/intents.js';
import type { Recorder } from '../recording/recorder.js';
import type { UploadedClip } from '../storage/upload-queue.js';
import type { CameraFeed } from './camera-feed.js';
import type { ClipLink } from './clip-links.js';

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
  /** The seq of each trigger event an open clip lists (its opener's among them), for its journal entry. */
  private readonly triggerSeqs = new Map<string, number>();

  constructor(private readonly options: RecordingPipelineOptions) {
    this.planner = new ClipPlanner(options.profile.recording);
  }

  reconfigure(profile: DeviceProfile): void {
    if (!this.planner.current) this.planner = new ClipPlanner(profile.recording);
  }

  /**
   * Plans (and journals) the clip an event calls for. Called before the event enters the outbox; what it returns runs
   * right after, so a kill -9 between the two leaves a plan whose trigger nobody saw (recovery drops it by its seq),
   * never a published trigger without an outcome.
   */
  onDeviceEvent(event: DeviceEvent): (() => void) | undefined {
    const { feed } = this.options;
    const trigger = triggerOf(event);
    if (!feed.live) {
      if (!trigger) return undefined;
      return this.loseWithoutPicture(trigger);
    }
    if (trigger) {
      this.triggerSeqs.set(trigger.id, trigger.seq);
      this.planner.trigger(
        trigger.kind,
        feed.deviceToFeed(Date.parse(trigger.at)),
        trigger.id,
        trigger.sessionId,
      );
    } else if (event.kind === 'motion' && event.payload.type === 'end') {
      this.planner.motionEnded(feed.deviceToFeed(Date.parse(event.payload.at)));
    }
    this.journalOpenClip();
    return undefined;
  }

  /** No picture yet: the clip is lost. Journaled first, announced once the trigger is out, so a crash cannot hide it. */
  private loseWithoutPicture(trigger: Trigger): () => void {
    const reason = 'the camera had no picture yet';
    const deviceMs = Date.parse(trigger.at);
    this.saveIntent(trigger.id, {
      v: 1,
      clipId: trigger.id,
      trigger: trigger.kind,
      triggerSeq: trigger.seq,
      triggerEvents: [{ id: trigger.id, seq: trigger.seq }],
      sessionId: trigger.sessionId,
      triggerFeedMs: 0,
      startFeedMs: 0,
      endFeedMs: 0,
      feedZeroDeviceMs: deviceMs,
      deviceMsPerFeedMs: 1,
      source: { kind: 'unrecoverable', why: reason },
    });
    return () => {
      this.options.onLost?.({
        clipId: trigger.id,
        trigger: trigger.kind,
        triggerEventIds: [trigger.id],
        sessionId: trigger.sessionId,
        startedAt: trigger.at,
        endedAt: trigger.at,
        reason,
      });
      this.options.intents?.journal.finish(trigger.id);
    };
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
    // A continuation still lists the motion in progress: its seq stays for the continuation's journal entry.
    const open = new Set(this.planner.current?.triggerEventIds);
    for (const id of plan.triggerEventIds) if (!open.has(id)) this.triggerSeqs.delete(id);
    recorder.record(plan, times).then(
      () => this.options.intents?.journal.finish(plan.clipId),
      (error: Error) => {
        this.options.onFailure?.(plan.clipId, error);
        const { startedAt, endedAt } = times;
        this.options.onLost?.({
          clipId: plan.clipId,
          trigger: plan.trigger,
          triggerEventIds: plan.triggerEventIds,
          ...(plan.sessionId === undefined ? {} : { sessionId: plan.sessionId }),
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
    const seq = this.triggerSeqs.get(plan.clipId);
    this.saveIntent(
      plan.clipId,
      intentOf(
        plan,
        intents.source,
        (feedMs) => feed.feedToDevice(feedMs),
        seq,
        (id) => this.triggerSeqs.get(id),
      ),
    );
  }

  private saveIntent(clipId: string, intent: RecordingIntent): void {
    const { intents } = this.options;
    if (!intents) return;
    // Written only when the plan changed, not on every event while a clip is open.
    const text = JSON.stringify(intent);
    if (text === this.journaled) return;
    try {
      intents.journal.save(intent);
      this.journaled = text;
    } catch (error) {
      // A full or read-only disk: the clip itself will be refused and announced lost, so it is not silent either.
      this.options.logger.error(
        { clipId, err: describeFsError(error, 'cannot journal', intents.journal.dir) },
        'recording plan not journaled',
      );
    }
  }

  private nextContinuationId(): string {
    const current = this.planner.current?.clipId ?? 'clip';
    return `${current.replace(/-part\d+$/, '')}-part${++this.continuation}`;
  }
}

interface Trigger {
  kind: 'ding' | 'motion';
  id: string;
  seq: number;
  at: string;
  sessionId: string;
}

/** A ding or a motion start: an event that calls for a clip. */
function triggerOf(event: DeviceEvent): Trigger | undefined {
  if (event.kind === 'ding') return { kind: 'ding', ...pick(event.payload) };
  if (event.kind === 'motion' && event.payload.type === 'start')
    return { kind: 'motion', ...pick(event.payload) };
  return undefined;
}

function pick({ id, seq, at, sessionId }: { id: string; seq: number; at: string; sessionId: string }) {
  return { id, seq, at, sessionId };
}

/** The `events/clip` announcement of a clip the bucket now holds, with its link if it has one. */
export function clipEventOf(clip: UploadedClip, link?: ClipLink): ClipFacts<ClipEventPayload> {
  return {
    clipId: clip.clipId,
    trigger: clip.trigger as 'ding' | 'motion' | 'manual',
    startedAt: clip.startedAt ?? clip.recordedAt,
    endedAt: clip.endedAt ?? clip.recordedAt,
    bytes: clip.bytes,
    sha256: clip.sha256,
    bucket: clip.bucket,
    key: clip.key,
    retainUntil: clip.retainUntil,
    encrypted: clip.encrypted,
    // A clip spooled by a version that did not keep them cannot name its triggers.
    triggerEventIds: clip.triggerEventIds ?? [],
    ...(clip.sessionId === undefined ? {} : { sessionId: clip.sessionId }),
    ...(clip.thumbnail ? { thumbnailKey: clip.thumbnail.key } : {}),
    ...(link ? { url: link.url, urlExpiresAt: link.urlExpiresAt } : {}),
  };
}
