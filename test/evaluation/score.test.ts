import { describe, expect, it } from 'vitest';
import {
  type AnalysedFrame,
  type DetectedEvent,
  evaluate,
  eventIntervals,
  type PerFrameReference,
  type Reference,
} from '../../src/evaluation/score.js';
import type { MotionEvent } from '../../src/motion/detector.js';
import { UserError } from '../../src/util/user-error.js';
import { errorOf } from '../helpers/errors.js';

/** n frames at 10 fps (100 ms apart); `motion` lists the frames whose raw flag is set. */
function frames(n: number, motion: number[] = []): AnalysedFrame[] {
  return Array.from({ length: n }, (_, i) => ({ ptsMs: i * 100, motion: motion.includes(i) }));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function truth(...intervals: Array<[number, number]>): Reference & { kind: 'intervals' } {
  return {
    kind: 'intervals',
    name: 't.json',
    about: 'test',
    frameCount: 60,
    fps: 10,
    intervals: intervals.map(([startFrame, endFrame]) => ({ startFrame, endFrame })),
  };
}

function run(reference: Reference, events: DetectedEvent[], analysed = frames(60)) {
  return evaluate({ frames: analysed, events, reference, eventGapMs: 1500 });
}

describe('evaluate against intervals', () => {
  it('an exact match has zero errors and perfect per-frame scores', () => {
    const report = run(truth([10, 20]), [{ startMs: 1000, endMs: 2000 }]);
    expect(report.intervals).toEqual([
      {
        reference: { startFrame: 10, endFrame: 20, startMs: 1000, endMs: 2000 },
        event: 0,
        startError: { frames: 0, ms: 0 },
        endError: { frames: 0, ms: 0 },
      },
    ]);
    expect(report.missed).toBe(0);
    expect(report.falseEvents).toEqual([]);
    expect(report.perFrame.event).toEqual({
      truePositives: 10,
      falsePositives: 0,
      falseNegatives: 0,
      trueNegatives: 50,
      precision: 1,
      recall: 1,
      f1: 1,
    });
    expect(report).toMatchObject({ framesAnalysed: 60, firstScoredFrame: 0, scoredEndFrame: 60, fps: 10 });
  });

  it('an early start and a late end are negative and positive errors (detected − reference)', () => {
    const report = run(truth([10, 20]), [{ startMs: 800, endMs: 2300 }]);
    expect(report.intervals[0]!.startError).toEqual({ frames: -2, ms: -200 });
    expect(report.intervals[0]!.endError).toEqual({ frames: 3, ms: 300 });
    expect(report.perFrame.event).toMatchObject({ truePositives: 10, falsePositives: 5, precision: 0.667 });
    expect(report.perFrame.event.recall).toBe(1);
    expect(report.perFrame.event.f1).toBe(0.8);
  });

  it('counts a missed interval and a false event', () => {
    const report = run(truth([10, 20], [40, 50]), [
      { startMs: 1000, endMs: 2000 },
      { startMs: 2500, endMs: 3000 },
    ]);
    expect(report.intervals.map((i) => i.event)).toEqual([0, null]);
    expect(report.intervals[1]).toMatchObject({ startError: null, endError: null });
    expect(report.missed).toBe(1);
    expect(report.falseEvents).toEqual([1]);
    // 10 of 20 reference frames found; 5 of 15 flagged frames outside the reference.
    expect(report.perFrame.event).toMatchObject({
      truePositives: 10,
      falsePositives: 5,
      falseNegatives: 10,
      precision: 0.667,
      recall: 0.5,
      f1: 0.571,
    });
  });

  it('matches the event that overlaps an interval most', () => {
    const report = run(truth([10, 30]), [
      { startMs: 800, endMs: 1200 },
      { startMs: 1500, endMs: 3100 },
    ]);
    expect(report.intervals[0]!.event).toBe(1);
    expect(report.falseEvents).toEqual([]);
  });

  it('scores the raw per-frame flag apart from the event flag', () => {
    const report = run(truth([10, 20]), [{ startMs: 1000, endMs: 2000 }], frames(60, [...range(12, 18), 30]));
    expect(report.perFrame.raw).toMatchObject({ truePositives: 6, falsePositives: 1, falseNegatives: 4 });
    expect(report.perFrame.raw.precision).toBe(0.857);
    expect(report.perFrame.raw.recall).toBe(0.6);
  });

  it('has no precision without detections and no recall without reference motion', () => {
    const report = run(truth(), []);
    expect(report.intervals).toEqual([]);
    expect(report.perFrame.event).toMatchObject({
      precision: null,
      recall: null,
      f1: null,
      trueNegatives: 60,
    });
  });

  it('an event closed after the last frame ends at frame count', () => {
    const report = run(truth([50, 60]), [{ startMs: 5000, endMs: 6000 }]);
    expect(report.intervals[0]!.endError).toEqual({ frames: 0, ms: 0 });
    expect(report.events[0]).toEqual({ startFrame: 50, endFrame: 60, startMs: 5000, endMs: 6000 });
  });

  it('scores the frames both sides have when they differ by one, and says so', () => {
    const report = run(truth([10, 20]), [{ startMs: 1000, endMs: 2000 }], frames(59));
    expect(report.scoredEndFrame).toBe(59);
    expect(report.notes).toEqual([
      'the reference covers 60 frames, the video decoded to 59: scored the first 59',
    ]);
  });

  it('counts an interval past the decoded frames as missed, not dropped', () => {
    const report = run(truth([10, 20], [59, 60]), [{ startMs: 1000, endMs: 2000 }], frames(59));
    expect(report.intervals).toHaveLength(2);
    expect(report.intervals[1]).toMatchObject({
      reference: { startFrame: 59, endFrame: 60, startMs: 5900, endMs: 6000 },
      event: null,
    });
    expect(report.missed).toBe(1);
    expect(report.notes).toContain(
      '1 reference interval starts after the last scored frame (58): counted as missed',
    );
  });

  it('refuses a ground truth made for more or fewer frames than the video has', () => {
    expect(errorOf(() => run(truth([10, 20]), [], frames(50)))).toBe(
      't.json: frameCount 60 but the video decoded to 50 frames',
    );
    expect(errorOf(() => run(truth([10, 20]), [], frames(62)))).toBe(
      't.json: frameCount 60 but the video decoded to 62 frames',
    );
    // The vacuous pass of review B4: one frame against a 60-frame truth.
    expect(errorOf(() => run(truth([10, 20]), [], frames(1)))).toBe(
      't.json: frameCount 60 but the video decoded to 1 frame',
    );
  });

  it('refuses a ground truth whose fps is more than 1 % off the measured one', () => {
    expect(errorOf(() => run({ ...truth([10, 20]), fps: 15 }, []))).toBe(
      "t.json: fps 15 but the video's frame timestamps give 10 fps",
    );
    // 100.5 ms apart: 9.95 fps, within 1 % of 10.
    const slightlySlow = frames(60).map((f, i) => ({ ...f, ptsMs: i * 100.5 }));
    expect(run(truth([10, 20]), [], slightlySlow).fps).toBe(9.95);
  });

  it('does not make up an fps from a single frame', () => {
    const report = run({ ...truth([0, 1]), frameCount: 1 }, [{ startMs: 0, endMs: 100 }], frames(1));
    expect(report.fps).toBeNull();
    expect(report.intervals[0]).toMatchObject({ event: 0, endError: { frames: 0, ms: 0 } });
  });

  it('refuses zero frames as a user error', () => {
    expect(() => run(truth(), [], [])).toThrow(UserError);
    expect(errorOf(() => run(truth(), [], []))).toBe(
      'the video decoded to no frames: nothing to score against t.json',
    );
  });

  it('flags an event matched to more than one interval', () => {
    const report = run(truth([10, 20], [25, 35], [50, 55]), [{ startMs: 1000, endMs: 3500 }]);
    expect(report.intervals.map((i) => i.event)).toEqual([0, 0, null]);
    expect(report.eventsSpanningIntervals).toEqual([{ event: 0, intervals: [0, 1] }]);
    expect(report.notes).toEqual(['event #1 spans reference intervals 1 and 2']);
    const three = run(truth([10, 20], [25, 35], [40, 45]), [{ startMs: 1000, endMs: 4500 }]);
    expect(three.notes).toEqual(['event #1 spans reference intervals 1, 2 and 3']);
    expect(run(truth([10, 20]), [{ startMs: 1000, endMs: 2000 }]).eventsSpanningIntervals).toEqual([]);
  });
});

describe('evaluate against a per-frame reference', () => {
  const perFrame = (motionFrames: number[], firstScoredFrame = 0): PerFrameReference => ({
    kind: 'per-frame',
    name: 'ref.csv',
    about: 'test',
    frameCount: 60,
    lastListedFrame: 59,
    motionFrames,
    firstScoredFrame,
    unscoredReason: 'learning',
  });

  it('merges runs of motion frames closer than the event gap into one interval', () => {
    // Runs 10-12 and 16-20: 400 ms apart (< 1500), one interval; 45-47 is 2.5 s later, a second one.
    const report = run(perFrame([...range(10, 13), ...range(16, 21), 45, 46]), [
      { startMs: 1000, endMs: 2100 },
    ]);
    expect(report.intervals.map((i) => [i.reference.startFrame, i.reference.endFrame])).toEqual([
      [10, 21],
      [45, 47],
    ]);
    expect(report.missed).toBe(1);
    // Per frame, the gap frames 13-15 are not reference motion.
    expect(report.perFrame.event).toMatchObject({ truePositives: 8, falsePositives: 3, falseNegatives: 2 });
  });

  it('leaves the unscored frames out and marks a run that began in them', () => {
    const report = run(perFrame([...range(3, 20), 40], 10), [
      { startMs: 300, endMs: 2000 },
      { startMs: 200, endMs: 500 },
    ]);
    expect(report.firstScoredFrame).toBe(10);
    expect(report.notes).toEqual(['frames before 10 are not scored (learning)']);
    expect(report.intervals[0]).toMatchObject({
      reference: { startFrame: 10, endFrame: 20 },
      event: 0,
      startError: null,
      startUnknown: true,
      endError: { frames: 0, ms: 0 },
    });
    // The event inside the unscored frames is neither matched nor false.
    expect(report.falseEvents).toEqual([]);
    expect(report.perFrame.event).toMatchObject({ truePositives: 10, falseNegatives: 1, trueNegatives: 39 });
  });

  it('a run that starts after a still unscored frame has a known start', () => {
    const report = run(perFrame(range(10, 20), 10), [{ startMs: 900, endMs: 2000 }]);
    expect(report.intervals[0]!.startError).toEqual({ frames: -1, ms: -100 });
    expect(report.intervals[0]!.startUnknown).toBeUndefined();
  });

  it('a list of flagged frames covers the analysed frames', () => {
    const report = run({ ...perFrame([5, 6, 60]), frameCount: undefined, lastListedFrame: 60 }, []);
    expect(report.scoredEndFrame).toBe(60);
    expect(report.notes).toEqual(['1 reference motion frames lie past frame 59: not scored']);
  });

  it('refuses a reference with rows more than one frame past the decoded ones', () => {
    expect(errorOf(() => run({ ...perFrame([5]), frameCount: undefined, lastListedFrame: 61 }, []))).toBe(
      'ref.csv: has rows up to frame 61 but the video decoded to 60 frames',
    );
    expect(
      errorOf(() => run({ ...perFrame([5]), frameCount: 200, lastListedFrame: 199 }, [], frames(1))),
    ).toBe('ref.csv: has rows up to frame 199 but the video decoded to 1 frame');
  });
});

describe('eventIntervals', () => {
  const event = (type: MotionEvent['type'], ptsMs: number): MotionEvent => ({
    type,
    ptsMs,
    score: 0.9,
    box: { x: 0, y: 0, w: 1, h: 1 },
    zones: ['frame'],
  });

  it('pairs start and end, skipping updates', () => {
    expect(
      eventIntervals([
        event('start', 100),
        event('update', 1100),
        event('end', 1500),
        event('start', 3000),
        event('end', 3200),
      ]),
    ).toEqual([
      { startMs: 100, endMs: 1500 },
      { startMs: 3000, endMs: 3200 },
    ]);
  });
});
