import { type FrameRun, frameAt } from '../video/frame-runs.js';

export interface PlaySwitch {
  /** Feed time the switch happens at: the first frame at or after it comes from `path`. */
  atMs: number;
  path: string;
  loop: boolean;
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
    let current = { path: base.path, cursor: 0, loop: true, length: base.frameCount, isBase: true };
    let next = 0;
    for (let k = 0; k < this.frameCount; k++) {
      while (next < starts.length && starts[next]!.frame <= k) {
        const play = starts[next++]!;
        if (current.isBase) baseCursor = current.cursor;
        const length = frameCounts.get(play.path);
        if (!length) throw new Error(`no frame count for ${play.path}`);
        current = { path: play.path, cursor: 0, loop: play.loop, length, isBase: false };
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
      current.cursor++;
    }
  }

  /** Which file and frame the camera shows as frame k. */
  frameAt(k: number): { path: string; index: number } {
    return frameAt(this.segments, k);
  }

  /** True when the whole timeline is one file played in a loop from its start (no composition needed). */
  get singleFile(): boolean {
    return new Set(this.segments.map((s) => s.path)).size === 1;
  }

  private append(path: string, index: number): void {
    const last = this.segments.at(-1);
    if (last && last.path === path && last.endFrame === index) last.endFrame++;
    else this.segments.push({ path, startFrame: index, endFrame: index + 1 });
  }
}
