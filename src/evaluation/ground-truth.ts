/**
 * A fixture's ground truth (fixtures/video/<name>.json, written by scripts/gen-fixtures.ts): the events the detector
 * must report at each sensitivity, each with the labels of what moves in it. `doorbell motion --truth` scores against
 * it; the agent and replay label motion from it (simulated smart detection). Pure: the schema and the look-ups.
 */
import { z } from 'zod';
import { type MotionLabel, MotionLabelSchema } from '../events/schemas.js';
import { SENSITIVITIES, type Sensitivity } from '../motion/settings.js';

export const GroundTruthIntervalSchema = z
  .object({
    startFrame: z.int().min(0),
    endFrame: z.int().min(1),
    labels: z
      .array(MotionLabelSchema)
      .min(1)
      .optional()
      .describe('what moves in it (person, animal…): the labels its motion events carry'),
  })
  .refine((i) => i.endFrame > i.startFrame, {
    message: 'endFrame must be after startFrame',
    path: ['endFrame'],
  });

export const GroundTruthSchema = z.object({
  fps: z.number().positive(),
  frameCount: z.int().positive(),
  expected: z.partialRecord(z.enum(SENSITIVITIES), z.array(GroundTruthIntervalSchema)),
  settings: z.record(z.string(), z.unknown()).default({}),
});

export type GroundTruth = z.output<typeof GroundTruthSchema>;

/**
 * The labels of the expected event at `sensitivity` that frame `frame` of the fixture (0-based) falls in, or
 * undefined when the frame is in none or that event declares none.
 */
export function truthLabelsAt(
  truth: Pick<GroundTruth, 'expected'>,
  sensitivity: Sensitivity,
  frame: number,
): readonly MotionLabel[] | undefined {
  const interval = truth.expected[sensitivity]?.find((i) => i.startFrame <= frame && frame < i.endFrame);
  return interval?.labels;
}

/** What moved at a feed time, by what the camera showed then; undefined: nothing known. */
export type MotionLabeller = (feedMs: number, sensitivity: Sensitivity) => readonly MotionLabel[] | undefined;

/** The labels of a fixture the camera plays in a loop from feed time 0 (the agent's sample video). */
export function loopedFileLabeller(
  truth: Pick<GroundTruth, 'expected' | 'fps' | 'frameCount'>,
): MotionLabeller {
  return (feedMs, sensitivity) => {
    const frame = Math.round((feedMs * truth.fps) / 1000) % truth.frameCount;
    return truthLabelsAt(truth, sensitivity, frame);
  };
}

/**
 * Labels one motion at a time: a start takes the labels of what the camera showed at its feed time; while it has
 * none, an update or the end takes them from its own time (the motion ran into a labelled event later); once found,
 * they stay for the rest of that motion. Undefined: the device keeps what it has (`motion`).
 */
export class MotionLabelTracker {
  private current: readonly MotionLabel[] | undefined;

  constructor(private readonly labeller: MotionLabeller) {}

  labelsFor(
    event: { type: 'start' | 'update' | 'end'; ptsMs: number },
    sensitivity: Sensitivity,
  ): readonly MotionLabel[] | undefined {
    if (event.type === 'start') this.current = undefined;
    this.current ??= this.labeller(event.ptsMs, sensitivity);
    const labels = this.current;
    if (event.type === 'end') this.current = undefined;
    return labels;
  }
}
