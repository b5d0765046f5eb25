/**
 * How well detected motion events agree with a reference: per reference interval the start and end error of the
 * event that overlaps it, missed intervals, false events, and per-frame precision/recall. Pure: it takes the
 * analysed frames and a parsed reference and returns the report.
 */
import type { MotionEvent } from '../motion/detector.js';
import { UserError } from '../util/user-error.js';

/** How far a reference's frame count may be from the decoded one: decoders disagree on a last partial frame. */
export const FRAME_COUNT_SLACK = 1;
/** How far a ground truth's fps may be from the one measured from the frame timestamps, as a fraction. */
export const FPS_SLACK = 0.01;

/** Frames [startFrame, endFrame): half-open, as the fixtures' ground truth writes them. */
export interface FrameInterval {
  startFrame: number;
  endFrame: number;
}

/**
 * A reference given as intervals (a fixture's ground truth): the events the detector must report. Its per-frame
 * reference is "inside one of these intervals".
 */
export interface IntervalReference {
  kind: 'intervals';
  /** The reference file as the user wrote it, for error lines. */
  name: string;
  /** How the reference reads, for the report: which field, which rule. */
  about: string;
  frameCount: number;
  fps: number;
  /** Sorted and disjoint: each starts at or after the previous one's end. */
  intervals: readonly FrameInterval[];
}

/**
 * A reference given frame by frame (another algorithm's output). Its intervals are the runs of motion frames
 * merged the way the detector merges motion into one event: a still stretch shorter than the event gap.
 */
export interface PerFrameReference {
  kind: 'per-frame';
  name: string;
  about: string;
  /** Frames the reference covers; undefined when it lists only flagged frames (the rest are still). */
  frameCount: number | undefined;
  /** The highest frame index the reference has a row for, flagged or not. */
  lastListedFrame: number;
  /** Frame indices with motion, ascending. */
  motionFrames: readonly number[];
  /** Frames before this one are not scored (a background model still learning). */
  firstScoredFrame: number;
  /** Why frames before firstScoredFrame are not scored. */
  unscoredReason?: string;
}

export type Reference = IntervalReference | PerFrameReference;

/** One analysed frame: its timestamp and the detector's own per-frame flag (FrameAnalysis.motion). */
export interface AnalysedFrame {
  ptsMs: number;
  motion: boolean;
}

/** A detected event as start and end timestamps (MotionEvent start.ptsMs, end.ptsMs). */
export interface DetectedEvent {
  startMs: number;
  endMs: number;
}

export interface EvaluationInput {
  frames: readonly AnalysedFrame[];
  events: readonly DetectedEvent[];
  reference: Reference;
  /** The settings' event gap: merges the runs of a per-frame reference into intervals. */
  eventGapMs: number;
}

export interface Span {
  startFrame: number;
  endFrame: number;
  startMs: number;
  endMs: number;
}

export interface TimingError {
  /** detected − reference. */
  frames: number;
  ms: number;
}

export interface IntervalResult {
  reference: Span;
  /** Index into `events` of the overlapping event with the most overlap; null when missed. */
  event: number | null;
  /** null when missed, or (start) when the reference run was already going before the scored frames. */
  startError: TimingError | null;
  endError: TimingError | null;
  /** The reference run began in the unscored frames, so where it really started is unknown. */
  startUnknown?: true;
}

export interface FrameScores {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
  /** null when the flag never fired (nothing to be precise about). */
  precision: number | null;
  /** null when the reference has no motion in the scored frames. */
  recall: number | null;
  f1: number | null;
}

export interface EvaluationReport {
  framesAnalysed: number;
  /** Frames scored: [firstScoredFrame, scoredEndFrame). */
  firstScoredFrame: number;
  scoredEndFrame: number;
  /** Measured from the frame timestamps; null from a single frame. */
  fps: number | null;
  eventGapMs: number;
  events: Span[];
  intervals: IntervalResult[];
  missed: number;
  /** Indices into `events` of events that overlap no reference interval within the scored frames. */
  falseEvents: number[];
  /** Events matched to more than one reference interval (indices into `events` and `intervals`). */
  eventsSpanningIntervals: Array<{ event: number; intervals: number[] }>;
  perFrame: {
    /** A frame counts as motion when it lies inside a detected event's [start, end). */
    event: FrameScores;
    /** The detector's raw per-frame motion flag, before hysteresis. */
    raw: FrameScores;
  };
  notes: string[];
}

/** Pairs a detector's start … end events into intervals; updates are skipped. An unclosed start is an error. */
export function eventIntervals(events: readonly MotionEvent[]): DetectedEvent[] {
  const out: DetectedEvent[] = [];
  let startMs: number | undefined;
  for (const event of events) {
    if (event.type === 'start') startMs = event.ptsMs;
    else if (event.type === 'end' && startMs !== undefined) {
      out.push({ startMs, endMs: event.ptsMs });
      startMs = undefined;
    }
  }
  if (startMs !== undefined) throw new Error(`motion event started at ${startMs} ms never ended`);
  return out;
}

export function evaluate(input: EvaluationInput): EvaluationReport {
  const { frames, reference, eventGapMs } = input;
  const analysed = frames.length;
  if (analysed === 0) {
    throw new UserError(`the video decoded to no frames: nothing to score against ${reference.name}`);
  }
  const notes: string[] = [];
  const clock = frameClock(frames, reference.kind === 'intervals' ? reference.fps : undefined);
  const measuredFps = analysed > 1 ? clock.fps : null;
  assertSameVideo(reference, analysed, measuredFps);

  const referenceFrames = reference.frameCount ?? analysed;
  if (referenceFrames !== analysed) {
    notes.push(
      `the reference covers ${referenceFrames} frames, the video decoded to ${analysed}: ` +
        `scored the first ${Math.min(referenceFrames, analysed)}`,
    );
  }
  const scoredEnd = Math.min(referenceFrames, analysed);
  const firstScored = reference.kind === 'per-frame' ? Math.min(reference.firstScoredFrame, scoredEnd) : 0;
  if (reference.kind === 'per-frame' && reference.firstScoredFrame > 0) {
    notes.push(
      `frames before ${firstScored} are not scored` +
        (reference.unscoredReason ? ` (${reference.unscoredReason})` : ''),
    );
  }

  const referenceFlags = new Uint8Array(scoredEnd);
  let referenceIntervals: Array<FrameInterval & { startUnknown?: true }>;
  if (reference.kind === 'intervals') {
    referenceIntervals = reference.intervals.map((i) => ({ startFrame: i.startFrame, endFrame: i.endFrame }));
    // fill clamps to the scored frames; an interval past them stays in the list and so counts as missed.
    for (const i of referenceIntervals) referenceFlags.fill(1, i.startFrame, i.endFrame);
    const beyond = referenceIntervals.filter((i) => i.startFrame >= scoredEnd).length;
    if (beyond > 0) {
      notes.push(
        `${beyond} reference interval${beyond === 1 ? ' starts' : 's start'} after the last scored frame ` +
          `(${scoredEnd - 1}): counted as missed`,
      );
    }
  } else {
    const motion = new Set(reference.motionFrames);
    for (let f = firstScored; f < scoredEnd; f++) if (motion.has(f)) referenceFlags[f] = 1;
    referenceIntervals = mergeRuns(runsOf(referenceFlags, firstScored, scoredEnd), eventGapMs, clock.ptsOf);
    const beyond = reference.motionFrames.filter((f) => f >= scoredEnd).length;
    if (beyond > 0)
      notes.push(`${beyond} reference motion frames lie past frame ${scoredEnd - 1}: not scored`);
    const first = referenceIntervals[0];
    // A run going on through the last unscored frame began there or earlier: its start is not known.
    if (first && first.startFrame === firstScored && firstScored > 0 && motion.has(firstScored - 1)) {
      first.startUnknown = true;
    }
  }

  const events = input.events.map((e) => {
    const startFrame = clock.frameAt(e.startMs);
    return { startFrame, endFrame: Math.max(startFrame + 1, clock.frameFrom(e.endMs)), ...e };
  });

  const overlaps = (a: FrameInterval, b: FrameInterval) =>
    Math.min(a.endFrame, b.endFrame) - Math.max(a.startFrame, b.startFrame);
  const intervals: IntervalResult[] = referenceIntervals.map((interval) => {
    let best = -1;
    let bestOverlap = 0;
    events.forEach((event, i) => {
      const overlap = overlaps(event, interval);
      if (overlap > bestOverlap) {
        best = i;
        bestOverlap = overlap;
      }
    });
    const span = clock.span(interval);
    if (best < 0) return { reference: span, event: null, startError: null, endError: null };
    const event = events[best]!;
    return {
      reference: span,
      event: best,
      startError: interval.startUnknown
        ? null
        : { frames: event.startFrame - interval.startFrame, ms: round1(event.startMs - span.startMs) },
      endError: { frames: event.endFrame - interval.endFrame, ms: round1(event.endMs - span.endMs) },
      ...(interval.startUnknown ? { startUnknown: true as const } : {}),
    };
  });

  const eventsSpanningIntervals = events.flatMap((_, event) => {
    const matched = intervals.flatMap((interval, i) => (interval.event === event ? [i] : []));
    return matched.length > 1 ? [{ event, intervals: matched }] : [];
  });
  for (const { event, intervals: matched } of eventsSpanningIntervals) {
    const listed = matched.map((i) => String(i + 1));
    notes.push(
      `event #${event + 1} spans reference intervals ${listed.slice(0, -1).join(', ')} and ${listed.at(-1)}`,
    );
  }

  const scoredWindow = { startFrame: firstScored, endFrame: scoredEnd };
  const falseEvents = events.flatMap((event, i) =>
    overlaps(event, scoredWindow) > 0 && !referenceIntervals.some((r) => overlaps(event, r) > 0) ? [i] : [],
  );

  const eventFlags = new Uint8Array(scoredEnd);
  for (const e of events) eventFlags.fill(1, e.startFrame, Math.min(e.endFrame, scoredEnd));
  const rawFlags = Uint8Array.from(frames.slice(0, scoredEnd), (f) => (f.motion ? 1 : 0));

  return {
    framesAnalysed: analysed,
    firstScoredFrame: firstScored,
    scoredEndFrame: scoredEnd,
    fps: measuredFps === null ? null : Math.round(measuredFps * 100) / 100,
    eventGapMs,
    events: events.map((e) => ({
      startFrame: e.startFrame,
      endFrame: e.endFrame,
      startMs: round1(e.startMs),
      endMs: round1(e.endMs),
    })),
    intervals,
    missed: intervals.filter((i) => i.event === null).length,
    falseEvents,
    eventsSpanningIntervals,
    perFrame: {
      event: frameScores(eventFlags, referenceFlags, firstScored, scoredEnd),
      raw: frameScores(rawFlags, referenceFlags, firstScored, scoredEnd),
    },
    notes,
  };
}

/**
 * A reference made for another video (or another cut of it) would score vacuously: its intervals past the decoded
 * frames would be missed by construction, or the frame indices would point at other moments.
 */
function assertSameVideo(reference: Reference, analysed: number, measuredFps: number | null): void {
  const decoded = `the video decoded to ${analysed} frame${analysed === 1 ? '' : 's'}`;
  if (reference.kind === 'per-frame') {
    if (reference.lastListedFrame > analysed - 1 + FRAME_COUNT_SLACK) {
      throw new UserError(
        `${reference.name}: has rows up to frame ${reference.lastListedFrame} but ${decoded}`,
      );
    }
    return;
  }
  if (Math.abs(reference.frameCount - analysed) > FRAME_COUNT_SLACK) {
    throw new UserError(`${reference.name}: frameCount ${reference.frameCount} but ${decoded}`);
  }
  if (measuredFps !== null && Math.abs(measuredFps - reference.fps) > reference.fps * FPS_SLACK) {
    throw new UserError(
      `${reference.name}: fps ${reference.fps} but the video's frame timestamps give ` +
        `${Math.round(measuredFps * 100) / 100} fps`,
    );
  }
}

/** Frame index ↔ timestamp of the analysed frames; `fallbackFps` spaces frames past a single decoded one. */
function frameClock(frames: readonly AnalysedFrame[], fallbackFps = 1) {
  const n = frames.length;
  const last = frames[n - 1]!.ptsMs;
  const first = frames[0]!.ptsMs;
  const interval = n > 1 ? (last - first) / (n - 1) : 1000 / fallbackFps;
  // Half a millisecond: event times are frame timestamps, possibly re-derived from a time base.
  const slack = 0.5;
  const ptsOf = (frame: number) => (frame < n ? frames[frame]!.ptsMs : last + (frame - n + 1) * interval);
  /** The first frame at or after `ms` (n when past the last frame). */
  const frameFrom = (ms: number) => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (frames[mid]!.ptsMs < ms - slack) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    fps: 1000 / interval,
    ptsOf,
    frameFrom,
    /** The frame showing time `ms`: the last one at or before it. */
    frameAt: (ms: number) => {
      const next = frameFrom(ms);
      return next < n && Math.abs(frames[next]!.ptsMs - ms) <= slack ? next : Math.max(0, next - 1);
    },
    span: (i: FrameInterval): Span => ({
      startFrame: i.startFrame,
      endFrame: i.endFrame,
      startMs: round1(ptsOf(i.startFrame)),
      endMs: round1(ptsOf(i.endFrame)),
    }),
  };
}

function runsOf(flags: Uint8Array, from: number, to: number): FrameInterval[] {
  const runs: FrameInterval[] = [];
  for (let f = from; f < to; f++) {
    if (!flags[f]) continue;
    const last = runs.at(-1);
    if (last && last.endFrame === f) last.endFrame = f + 1;
    else runs.push({ startFrame: f, endFrame: f + 1 });
  }
  return runs;
}

/** As the detector ends an event: eventGapMs after the first still frame, unless motion comes back before. */
function mergeRuns(
  runs: FrameInterval[],
  eventGapMs: number,
  ptsOf: (frame: number) => number,
): FrameInterval[] {
  const merged: FrameInterval[] = [];
  for (const run of runs) {
    const last = merged.at(-1);
    if (last && ptsOf(run.startFrame) - ptsOf(last.endFrame) < eventGapMs) last.endFrame = run.endFrame;
    else merged.push({ ...run });
  }
  return merged;
}

function frameScores(detected: Uint8Array, reference: Uint8Array, from: number, to: number): FrameScores {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let f = from; f < to; f++) {
    if (detected[f] && reference[f]) tp++;
    else if (detected[f]) fp++;
    else if (reference[f]) fn++;
    else tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = tp + fn > 0 ? tp / (tp + fn) : null;
  const f1 =
    precision === null || recall === null
      ? null
      : precision + recall > 0
        ? (2 * precision * recall) / (precision + recall)
        : 0;
  return {
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    trueNegatives: tn,
    precision: round3(precision),
    recall: round3(recall),
    f1: round3(f1),
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round3(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000;
}
