export type ClipTrigger = 'ding' | 'motion' | 'manual';

export interface RecordingWindowSettings {
  preRollMs: number;
  postRollMs: number;
  maxClipMs: number;
}

/** A clip being planned, in feed time (the camera feed's own clock, ms since the feed started). */
export interface PlannedClip {
  clipId: string;
  /** The first trigger names the clip; later ones that fell inside it are listed. */
  trigger: ClipTrigger;
  triggers: ClipTrigger[];
  /**
   * The ids of the events (dings, motion starts) that opened or extended this clip, in order, each once. A
   * continuation (motion outlasting maxClipMs) lists those still keeping it going: the motion in progress, and a
   * trigger whose post-roll reaches past the cut.
   */
  triggerEventIds: string[];
  /** The visit (sessionId) of the event that opened the clip: the clip belongs to it, continuations too. */
  sessionId?: string | undefined;
  triggerFeedMs: number;
  startFeedMs: number;
  endFeedMs: number;
}

interface OpenClip extends PlannedClip {
  motionActive: boolean;
  /** Until when (feed ms) each listed trigger keeps the clip going; Infinity for the motion still in progress. */
  reach: Map<string, number>;
}

/**
 * Decides which footage becomes a clip: [first trigger − preRoll, end of activity + postRoll], one clip for
 * overlapping triggers, capped at maxClipMs (motion that outlasts the cap continues in a new clip). Pure: it is
 * told the feed time and answers with the clips that are complete.
 */
export class ClipPlanner {
  private open: OpenClip | undefined;

  constructor(private readonly settings: RecordingWindowSettings) {}

  get current(): PlannedClip | undefined {
    return this.open;
  }

  /**
   * A ding or motion start at `feedMs`, the event `eventId`: it names the clip when it opens one, and is listed in
   * the clip's triggerEventIds either way.
   */
  trigger(kind: ClipTrigger, feedMs: number, eventId: string, sessionId?: string): PlannedClip {
    const { preRollMs, postRollMs } = this.settings;
    const reach = kind === 'motion' ? Number.POSITIVE_INFINITY : feedMs + postRollMs;
    if (this.open) {
      this.open.endFeedMs = Math.max(this.open.endFeedMs, feedMs + postRollMs);
      if (!this.open.triggers.includes(kind)) this.open.triggers.push(kind);
      if (!this.open.triggerEventIds.includes(eventId)) this.open.triggerEventIds.push(eventId);
      this.open.reach.set(eventId, Math.max(this.open.reach.get(eventId) ?? 0, reach));
      if (kind === 'motion') this.open.motionActive = true;
      return this.open;
    }
    this.open = {
      clipId: eventId,
      trigger: kind,
      triggers: [kind],
      triggerEventIds: [eventId],
      ...(sessionId === undefined ? {} : { sessionId }),
      triggerFeedMs: feedMs,
      startFeedMs: Math.max(0, feedMs - preRollMs),
      endFeedMs: feedMs + postRollMs,
      motionActive: kind === 'motion',
      reach: new Map([[eventId, reach]]),
    };
    return this.open;
  }

  motionEnded(feedMs: number): void {
    if (!this.open?.motionActive) return;
    this.open.motionActive = false;
    this.open.endFeedMs = Math.max(this.open.endFeedMs, feedMs + this.settings.postRollMs);
    for (const [id, until] of this.open.reach) {
      if (until === Number.POSITIVE_INFINITY) this.open.reach.set(id, feedMs + this.settings.postRollMs);
    }
  }

  /**
   * Clips whose footage is complete at `feedMs`. `nextClipId` names a continuation clip when motion outlasts the cap.
   */
  advance(feedMs: number, nextClipId: () => string): PlannedClip[] {
    const done: PlannedClip[] = [];
    while (this.open) {
      const clip = this.open;
      const capEnd = clip.startFeedMs + this.settings.maxClipMs;
      if (clip.endFeedMs > capEnd || (clip.motionActive && feedMs >= capEnd)) {
        if (feedMs < capEnd) break;
        done.push(finished({ ...clip, endFeedMs: capEnd }));
        // The continuation is the motion still in progress (and any trigger whose post-roll reaches past the cut).
        const still = clip.triggerEventIds.filter((id) => (clip.reach.get(id) ?? 0) > capEnd);
        this.open = clip.motionActive
          ? {
              ...clip,
              clipId: nextClipId(),
              triggers: [...clip.triggers],
              triggerEventIds: still,
              reach: new Map(still.map((id) => [id, clip.reach.get(id)!])),
              startFeedMs: capEnd,
              triggerFeedMs: capEnd,
              endFeedMs: Math.max(clip.endFeedMs, capEnd + this.settings.postRollMs),
            }
          : undefined;
        continue;
      }
      if (clip.motionActive || feedMs < clip.endFeedMs) break;
      done.push(finished(clip));
      this.open = undefined;
    }
    return done;
  }

  /** On shutdown: whatever is open, cut at `feedMs` (footage after it does not exist). */
  flush(feedMs: number): PlannedClip | undefined {
    const clip = this.open;
    this.open = undefined;
    if (!clip) return undefined;
    const end = Math.min(clip.endFeedMs, feedMs, clip.startFeedMs + this.settings.maxClipMs);
    return end > clip.startFeedMs ? finished({ ...clip, endFeedMs: end }) : undefined;
  }
}

function finished(clip: OpenClip): PlannedClip {
  const { motionActive: _motionActive, reach: _reach, ...plan } = clip;
  return { ...plan, triggerEventIds: [...plan.triggerEventIds] };
}
