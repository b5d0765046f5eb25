import { type GroundTruth, type MotionLabeller, truthLabelsAt } from '../evaluation/ground-truth.js';
import type { MotionLabel } from '../events/schemas.js';
import { type FrameRun, frameAt } from '../video/frame-runs.js';

export interface PlaySwitch {
  /** Feed time the switch happens at: the first frame at or after it comes from `path`. */
  atMs: number;
  path: string;
  loop: boolean;
  /** What moves in it, as the scenario declares (over the fixture's ground truth). */
  labels?: readonly MotionLabel[] | undefined;
}

/** Timeline frames [startFrame, endFrame) of one play that declares its labels. */
interface DeclaredRun {
  startFrame: number;
  endFrame: number;
  labels: readonly MotionLabel[];
}

export interface TimelineVideo {
  path: string;
  frameCount: number;
}

/**
 * What the camera shows, frame by frame: the base video looped; a play switches to another video from its first
 * frame (once, then the base resumes where it was, or looped until the next play). Pure.
 */
export class CameraTimeline {
  readonly segments: FrameRun[] = [];
  readonly frameCount: number;
  private readonly declared: DeclaredRun[] = [];

  constructor(
    base: TimelineVideo,
    plays: readonly PlaySwitch[],
    readonly frameMs: number,
    durationMs: number,
    frameCounts: ReadonlyMap<string, number>,
  ) {
    this.frameCount = Math.max(1, Math.ceil(durationMs / frameMs - 1e-9));
    const starts = plays.map((play) => ({ ...play, frame: Math.ceil(play.atMs / frameMs - 1e-9) }));
    let baseCursor = 0;
    let current: {
      path: string;
      cursor: number;
      loop: boolean;
      length: number;
      isBase: boolean;
      labels?: readonly MotionLabel[] | undefined;
    } = { path: base.path, cursor: 0, loop: true, length: base.frameCount, isBase: true };
    let next = 0;
    for (let k = 0; k < this.frameCount; k++) {
      let started = false;
      while (next < starts.length && starts[next]!.frame <= k) {
        const play = starts[next++]!;
        if (current.isBase) baseCursor = current.cursor;
        const length = frameCounts.get(play.path);
        if (!length) throw new Error(`no frame count for ${play.path}`);
        current = { path: play.path, cursor: 0, loop: play.loop, length, isBase: false, labels: play.labels };
        started = true;
      }
      if (current.cursor >= current.length) {
        if (current.loop) current.cursor = 0;
        else
          current = {
            path: base.path,
            cursor: baseCursor,
            loop: true,
            length: base.frameCount,
            isBase: true,
          };
        if (current.cursor >= current.length) current.cursor = 0;
      }
      this.append(current.path, current.cursor);
      if (current.labels) this.declare(k, current.labels, started);
      current.cursor++;
    }
  }

  /** The labels the play on screen at frame k declares (undefined: none, the fixture's ground truth says). */
  declaredLabelsAt(k: number): readonly MotionLabel[] | undefined {
    return this.declared.find((run) => run.startFrame <= k && k < run.endFrame)?.labels;
  }

  /** Which file and frame the camera shows as frame k. */
  frameAt(k: number): { path: string; index: number } {
    return frameAt(this.segments, k);
  }

  /** True when the whole timeline is one file played in a loop from its start (no composition needed). */
  get singleFile(): boolean {
    return new Set(this.segments.map((s) => s.path)).size === 1;
  }

  private declare(k: number, labels: readonly MotionLabel[], newPlay: boolean): void {
    const last = this.declared.at(-1);
    if (last && !newPlay && last.endFrame === k) last.endFrame++;
    else this.declared.push({ startFrame: k, endFrame: k + 1, labels });
  }

  private append(path: string, index: number): void {
    const last = this.segments.at(-1);
    if (last && last.path === path && last.endFrame === index) last.endFrame++;
    else this.segments.push({ path, startFrame: index, endFrame: index + 1 });
  }
}

/**
 * What moved at a feed time in replay: the labels the play on screen declares, else those of the ground truth of the
 * fixture on screen, at the frame of it shown then (a looped play or the base video resumed included).
 */
export function timelineLabeller(
  timeline: CameraTimeline,
  truths: ReadonlyMap<string, GroundTruth>,
): MotionLabeller {
  return (feedMs, sensitivity) => {
    const k = Math.min(timeline.frameCount - 1, Math.max(0, Math.round(feedMs / timeline.frameMs)));
    const declared = timeline.declaredLabelsAt(k);
    if (declared) return declared;
    const shown = timeline.frameAt(k);
    const truth = truths.get(shown.path);
    return truth ? truthLabelsAt(truth, sensitivity, shown.index) : undefined;
  };
}
