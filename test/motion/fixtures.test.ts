import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeVideo } from '../../src/analysis/analyze-video.js';
import { parseReferenceFile } from '../../src/evaluation/reference-file.js';
import type { MotionLabel } from '../../src/events/schemas.js';
import { analyzeFrames } from '../../src/motion/analyze-frames.js';
import type { MotionEvent } from '../../src/motion/detector.js';
import { MotionSettingsSchema, SENSITIVITIES, type Sensitivity } from '../../src/motion/settings.js';
import { decodeGrayFrames } from '../../src/video/ffmpeg/gray-decode.js';
import type { GrayFrame } from '../../src/video/frames.js';

interface Interval {
  startFrame: number;
  endFrame: number;
  startMs: number;
  endMs: number;
  /** In `motion`: the actors that move (person, visitor, cat); in `expected`: what they are (MotionLabel). */
  labels?: string[];
}
interface Truth {
  fixture: string;
  video: string;
  fps: number;
  frameCount: number;
  durationMs: number;
  loop: boolean;
  motion: Interval[];
  settings: Record<string, unknown>;
  withoutSettingsTriggersOn?: Sensitivity[];
  tradeOffs?: Partial<
    Record<Sensitivity, { why: string; detected: Array<{ startMs: number; endMs: number }> }>
  >;
  expected: Record<Sensitivity, Interval[]>;
}

const DIR = 'fixtures/video';
const TOLERANCE_FRAMES = 2;
const truths: Truth[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Truth);

const decoded = new Map<string, GrayFrame[]>();
beforeAll(async () => {
  for (const truth of truths) {
    const frames: GrayFrame[] = [];
    for await (const frame of decodeGrayFrames(join(DIR, truth.video))) frames.push(frame);
    decoded.set(truth.fixture, frames);
  }
});

async function eventsOf(truth: Truth, settings: Record<string, unknown>): Promise<MotionEvent[]> {
  const frames = decoded.get(truth.fixture)!;
  async function* replay() {
    yield* frames;
  }
  const events: MotionEvent[] = [];
  for await (const event of analyzeFrames(replay(), MotionSettingsSchema.parse(settings))) events.push(event);
  return events;
}

/** start/end pairs, checking that every event sits inside one start … end and updates move forward. */
function intervalsOf(events: MotionEvent[]): Array<{ startMs: number; endMs: number }> {
  const out: Array<{ startMs: number; endMs: number }> = [];
  let open: { startMs: number; lastMs: number } | undefined;
  for (const event of events) {
    if (event.type === 'start') {
      expect(open).toBeUndefined();
      open = { startMs: event.ptsMs, lastMs: event.ptsMs };
    } else {
      expect(open).toBeDefined();
      expect(event.ptsMs).toBeGreaterThanOrEqual(open!.lastMs);
      open!.lastMs = event.ptsMs;
      if (event.type === 'end') {
        out.push({ startMs: open!.startMs, endMs: event.ptsMs });
        open = undefined;
      }
    }
    expect(event.score).toBeGreaterThan(0);
    expect(event.score).toBeLessThanOrEqual(1);
    for (const v of Object.values(event.box)) expect(v).toBeGreaterThanOrEqual(0);
    expect(event.box.x + event.box.w).toBeLessThanOrEqual(1.0001);
    expect(event.box.y + event.box.h).toBeLessThanOrEqual(1.0001);
  }
  expect(open).toBeUndefined();
  return out;
}

it('has the whole fixture set, under 5 MB', () => {
  expect(truths.map((t) => t.fixture)).toEqual([
    'exposure-drift',
    'foliage-masked',
    'foliage-person',
    'foliage-swaying',
    'heavy-compression',
    'lightswitch',
    'night-noise',
    'person-crossing',
    'porch-loop',
    'quiet-porch',
    'small-animal',
    'visitor-at-door',
  ]);
  const bytes = readdirSync(DIR).reduce((sum, f) => sum + readFileSync(join(DIR, f)).length, 0);
  expect(bytes).toBeLessThan(5 * 1024 * 1024);
});

/** What a smart camera calls each actor of the generator (scripts/gen-fixtures.ts: a walker, a cat). */
const KIND_OF_ACTOR: Record<string, MotionLabel> = { person: 'person', visitor: 'person', cat: 'animal' };

describe.each(truths.map((t) => [t.fixture, t] as const))('%s', (_name, truth) => {
  it('is a valid ground truth whose every expected event says what moves in it', () => {
    const file = parseReferenceFile(readFileSync(join(DIR, `${truth.fixture}.json`), 'utf8'), truth.fixture);
    if (file.format !== 'ground-truth') throw new Error(file.format);
    for (const sensitivity of SENSITIVITIES) {
      for (const interval of truth.expected[sensitivity]) {
        // The actors moving in the event (a cat only where cats are events: at high), as the labels say.
        const actors = truth.motion
          .filter((m) => m.startFrame < interval.endFrame && m.endFrame > interval.startFrame)
          .flatMap((m) => m.labels ?? [])
          .filter((actor) => actor !== 'cat' || sensitivity === 'high');
        const kinds = new Set(actors.map((actor) => KIND_OF_ACTOR[actor]));
        expect(new Set(interval.labels), `${sensitivity} ${interval.startFrame}`).toEqual(kinds);
      }
    }
  });

  it('decodes to exactly the frames of its ground truth', () => {
    const frames = decoded.get(truth.fixture)!;
    expect(frames).toHaveLength(truth.frameCount);
    expect(frames.at(-1)!.ptsMs).toBeCloseTo(((truth.frameCount - 1) * 1000) / truth.fps, 2);
  });

  it.each(SENSITIVITIES.filter((sensitivity) => !truth.tradeOffs?.[sensitivity]))(
    'matches the ground truth within ±2 frames at %s sensitivity',
    async (sensitivity) => {
      const events = await eventsOf(truth, { ...truth.settings, sensitivity });
      const got = intervalsOf(events);
      const want = truth.expected[sensitivity];
      expect(got.length, JSON.stringify({ got, want })).toBe(want.length);
      const frameMs = 1000 / truth.fps;
      got.forEach((interval, i) => {
        expect(Math.abs(interval.startMs - want[i]!.startMs) / frameMs).toBeLessThanOrEqual(
          TOLERANCE_FRAMES + 1e-3,
        );
        expect(Math.abs(interval.endMs - want[i]!.endMs) / frameMs).toBeLessThanOrEqual(
          TOLERANCE_FRAMES + 1e-3,
        );
      });
    },
  );

  for (const [sensitivity, { why, detected }] of Object.entries(truth.tradeOffs ?? {})) {
    it(`at ${sensitivity} sensitivity gives the documented miss within ±2 frames: ${why}`, async () => {
      expect(truth.tradeOffs?.medium, 'the default sensitivity has no excuses').toBeUndefined();
      const got = intervalsOf(await eventsOf(truth, { ...truth.settings, sensitivity }));
      const close = (a: Array<{ startMs: number; endMs: number }>, b: typeof a) =>
        a.length === b.length &&
        a.every(
          (interval, i) =>
            Math.abs(interval.startMs - b[i]!.startMs) <= (TOLERANCE_FRAMES * 1000) / truth.fps + 1e-3 &&
            Math.abs(interval.endMs - b[i]!.endMs) <= (TOLERANCE_FRAMES * 1000) / truth.fps + 1e-3,
        );
      // Getting it right now would be good news: then drop the trade-off from the fixture and the docs.
      expect(close(got, truth.expected[sensitivity as Sensitivity]), 'the miss is gone').toBe(false);
      expect(close(got, detected), JSON.stringify({ got, documented: detected })).toBe(true);
    });
  }

  if (truth.withoutSettingsTriggersOn) {
    it('does trigger without its settings (so the settings are what keeps it quiet)', async () => {
      for (const sensitivity of truth.withoutSettingsTriggersOn!) {
        const events = await eventsOf(truth, { sensitivity });
        expect(events.filter((e) => e.type === 'start').length).toBeGreaterThan(0);
      }
    });
  }
});

it('labels the porch loop as what moves in it: a resident, a cat (an event at high only), a courier twice', () => {
  const porch = truths.find((t) => t.fixture === 'porch-loop')!;
  const labels = (sensitivity: Sensitivity) => porch.expected[sensitivity].map((i) => i.labels);
  expect(labels('high')).toEqual([['person'], ['animal'], ['person'], ['person']]);
  expect(labels('medium')).toEqual([['person'], ['person'], ['person']]);
  expect(labels('low')).toEqual(labels('medium'));
  expect(truths.find((t) => t.fixture === 'small-animal')!.expected.high.map((i) => i.labels)).toEqual([
    ['animal'],
  ]);
});

describe('repeatability', () => {
  it('gives identical events on repeated runs from the file', async () => {
    const run = async () => {
      const events: MotionEvent[] = [];
      for await (const e of analyzeVideo(join(DIR, 'porch-loop.mp4'), { sensitivity: 'high' }))
        events.push(e);
      return events;
    };
    const first = await run();
    expect(first.length).toBeGreaterThan(8);
    expect(await run()).toEqual(first);
  });
});

describe('looped feed', () => {
  it('repeats the events of the loop with pts that keep increasing', async () => {
    const truth = truths.find((t) => t.fixture === 'porch-loop')!;
    const controller = new AbortController();
    const starts: number[] = [];
    for await (const event of analyzeVideo(
      join(DIR, truth.video),
      {},
      { loop: true, signal: controller.signal },
    )) {
      if (event.type !== 'start') continue;
      starts.push(event.ptsMs);
      if (starts.length === truth.expected.medium.length + 1) controller.abort();
    }
    const firstPass = truth.expected.medium.map((i) => i.startMs);
    expect(starts.slice(0, firstPass.length).map((s, i) => Math.abs(s - firstPass[i]!))).toSatisfy(
      (d: number[]) => d.every((x) => x <= (2 * 1000) / truth.fps),
    );
    expect(Math.abs(starts.at(-1)! - (truth.durationMs + firstPass[0]!))).toBeLessThanOrEqual(
      (2 * 1000) / truth.fps,
    );
  });
});
