/**
 * A camera feed composed of runs of frames from several files at one frame rate (a replay's camera timeline).
 * Clips and snapshots are cut straight from the runs' files, so nothing is rendered up front. Pure.
 */

/** Consecutive frames [startFrame, endFrame) of one video file, never wrapping around its end. */
export interface FrameRun {
  path: string;
  startFrame: number;
  endFrame: number;
}

export interface FrameRunFeed {
  runs: readonly FrameRun[];
  fps: number;
}

/** Feed frame k is shown at k·1000/fps ms; a boundary within a microsecond of a frame's time counts as on it. */
const EPSILON_FRAMES = 1e-6;

export function feedFrameCount(feed: FrameRunFeed): number {
  return feed.runs.reduce((sum, run) => sum + run.endFrame - run.startFrame, 0);
}

/** Feed frames [first, end) shown in [startMs, endMs), clamped to a feed of `frameCount` frames. */
export function framesInWindow(
  fps: number,
  frameCount: number,
  startMs: number,
  endMs: number,
): { first: number; end: number } {
  return {
    first: Math.max(0, Math.ceil((startMs * fps) / 1000 - EPSILON_FRAMES)),
    end: Math.min(frameCount, Math.ceil((endMs * fps) / 1000 - EPSILON_FRAMES)),
  };
}

/** The frames of the feed shown in [startMs, endMs), as runs of their files (clamped to the feed). */
export function runsInWindow(feed: FrameRunFeed, startMs: number, endMs: number): FrameRun[] {
  const { first, end } = framesInWindow(feed.fps, feedFrameCount(feed), startMs, endMs);
  const out: FrameRun[] = [];
  let offset = 0;
  for (const run of feed.runs) {
    const length = run.endFrame - run.startFrame;
    const from = Math.max(first, offset);
    const to = Math.min(end, offset + length);
    if (from < to) {
      out.push({
        path: run.path,
        startFrame: run.startFrame + from - offset,
        endFrame: run.startFrame + to - offset,
      });
    }
    offset += length;
    if (offset >= end) break;
  }
  return out;
}

/**
 * The file and frame the feed shows at `ms`: the frame nearest to it (earlier on a tie), like grabFrame's half-frame
 * tolerance, so a time truncated to whole ms still names its frame. Clamped to the feed.
 */
export function frameAtMs(feed: FrameRunFeed, ms: number): { path: string; index: number } {
  const total = feedFrameCount(feed);
  if (total === 0) throw new RangeError('the feed has no frames');
  return frameAt(feed.runs, nearestFrameIndex(feed.fps, total, ms));
}

/** The frame of a feed of `frameCount` frames nearest to `ms` (earlier on a tie), clamped to the feed. */
export function nearestFrameIndex(fps: number, frameCount: number, ms: number): number {
  return Math.min(frameCount - 1, Math.max(0, Math.ceil((ms * fps) / 1000 - 0.5 - EPSILON_FRAMES)));
}

/** Which file and frame is frame k of the runs played one after another. */
export function frameAt(runs: readonly FrameRun[], k: number): { path: string; index: number } {
  let offset = 0;
  for (const run of runs) {
    const length = run.endFrame - run.startFrame;
    if (k >= 0 && k < offset + length) return { path: run.path, index: run.startFrame + (k - offset) };
    offset += length;
  }
  throw new RangeError(`frame ${k} is past the feed (${offset} frames)`);
}
