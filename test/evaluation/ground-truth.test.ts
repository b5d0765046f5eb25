import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  GroundTruthSchema,
  loopedFileLabeller,
  MotionLabelTracker,
  truthLabelsAt,
} from '../../src/evaluation/ground-truth.js';

const porch = GroundTruthSchema.parse(JSON.parse(readFileSync('fixtures/video/porch-loop.json', 'utf8')));
const FRAME_MS = 1000 / 15;

describe('labels from a ground truth', () => {
  it('a frame takes the labels of the expected event it falls in, at the sensitivity asked for', () => {
    // porch-loop: a resident (frames 25-104), a cat (148-248, an event at high only), a courier (280-341, 386-421).
    expect(truthLabelsAt(porch, 'medium', 24)).toBeUndefined();
    expect(truthLabelsAt(porch, 'medium', 25)).toEqual(['person']);
    expect(truthLabelsAt(porch, 'medium', 103)).toEqual(['person']);
    expect(truthLabelsAt(porch, 'medium', 104)).toBeUndefined();
    expect(truthLabelsAt(porch, 'medium', 200)).toBeUndefined();
    expect(truthLabelsAt(porch, 'high', 200)).toEqual(['animal']);
    expect(truthLabelsAt(porch, 'low', 390)).toEqual(['person']);
    expect(
      truthLabelsAt({ expected: { medium: [{ startFrame: 0, endFrame: 9 }] } }, 'medium', 3),
    ).toBeUndefined();
    expect(truthLabelsAt({ expected: {} }, 'high', 3)).toBeUndefined();
  });

  it('a looped fixture labels feed time modulo its length (30 s for porch-loop)', () => {
    const labels = loopedFileLabeller(porch);
    expect(labels(150 * FRAME_MS, 'high')).toEqual(['animal']);
    expect(labels(30_000 + 150 * FRAME_MS, 'high')).toEqual(['animal']);
    expect(labels(3 * 30_000 + 25 * FRAME_MS, 'medium')).toEqual(['person']);
    expect(labels(3 * 30_000 + 24 * FRAME_MS, 'medium')).toBeUndefined();
    // Presentation times are rounded to the microsecond: still the same frame.
    expect(labels(1666.667, 'medium')).toEqual(['person']);
    expect(labels(1599.999, 'medium')).toBeUndefined();
  });
});

describe('one motion, one label', () => {
  const labeller = loopedFileLabeller(porch);
  const at = (frame: number) => frame * FRAME_MS;

  it('a start inside an event takes its labels, kept to the end even when the motion runs into another', () => {
    const tracker = new MotionLabelTracker(labeller);
    expect(tracker.labelsFor({ type: 'start', ptsMs: at(140) }, 'high')).toBeUndefined();
    expect(tracker.labelsFor({ type: 'update', ptsMs: at(147) }, 'high')).toBeUndefined();
    // The cat came into view after the motion started: the update finds it.
    expect(tracker.labelsFor({ type: 'update', ptsMs: at(150) }, 'high')).toEqual(['animal']);
    // The courier later in the same motion does not relabel it.
    expect(tracker.labelsFor({ type: 'update', ptsMs: at(290) }, 'high')).toEqual(['animal']);
    expect(tracker.labelsFor({ type: 'end', ptsMs: at(300) }, 'high')).toEqual(['animal']);
    // The next motion starts afresh.
    expect(tracker.labelsFor({ type: 'start', ptsMs: at(30) }, 'high')).toEqual(['person']);
    expect(tracker.labelsFor({ type: 'end', ptsMs: at(110) }, 'high')).toEqual(['person']);
    expect(tracker.labelsFor({ type: 'start', ptsMs: at(120) }, 'high')).toBeUndefined();
    expect(tracker.labelsFor({ type: 'end', ptsMs: at(130) }, 'high')).toBeUndefined();
  });

  it('an end with no start before it takes its own labels and leaves nothing behind', () => {
    const tracker = new MotionLabelTracker(labeller);
    expect(tracker.labelsFor({ type: 'end', ptsMs: at(30) }, 'medium')).toEqual(['person']);
    expect(tracker.labelsFor({ type: 'update', ptsMs: at(120) }, 'medium')).toBeUndefined();
  });
});
