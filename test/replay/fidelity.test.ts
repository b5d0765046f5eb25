/**
 * The tape's pictures are stated by their source frames and checked against them (src/replay/fidelity.ts). These
 * tests make real clips and snapshots with ffmpeg from a real fixture, then change what a regression would change
 * — the clip window by one frame, a dropped frame, the snapshot's source frame, a privacy mask — and require that
 * the check, and so the golden comparison, catches each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NormalizedPolygon, rasterizePolygons } from '../../src/geometry/polygon.js';
import { compareTapes } from '../../src/replay/compare.js';
import {
  clipFidelity,
  compareMask,
  describeFrames,
  type SourceTimeline,
  stillFidelity,
} from '../../src/replay/fidelity.js';
import { clipLuma, jpegLuma } from '../../src/replay/object-facts.js';
import { runScenario } from '../../src/replay/runner.js';
import { resolveScenario, VIDEO_FIXTURES_DIR } from '../../src/replay/scenario.js';
import { serializeTape, TAPE_VERSION, type TapeLine } from '../../src/replay/tape.js';
import { encodeClip } from '../../src/video/ffmpeg/clip.js';
import { grabFrame } from '../../src/video/ffmpeg/still.js';
import type { FrameRun } from '../../src/video/frame-runs.js';
import { type LumaFixture, lumaFixture } from '../../src/video/luma-frames.js';

const VIDEO = join(VIDEO_FIXTURES_DIR, 'visitor-at-door.mp4');
const FPS = 15;
/** The courier walks up in frames 17–78: every frame differs from its neighbours. */
const FIRST = 30;
const COUNT = 24;

let dir: string;
let fixture: LumaFixture;
let timeline: SourceTimeline;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-fidelity-'));
  fixture = await lumaFixture(VIDEO, 320);
  timeline = {
    frameCount: fixture.frames.length,
    luma: (k) => fixture.frames[k] as Uint8Array,
    frame: (k) => ({ file: 'visitor-at-door', index: k }),
  };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

let clipCount = 0;
async function clipOf(runs: Array<[number, number]>, blackout?: NormalizedPolygon[]) {
  const output = join(dir, `clip-${clipCount++}.mp4`);
  const frameRuns: FrameRun[] = runs.map(([startFrame, endFrame]) => ({ path: VIDEO, startFrame, endFrame }));
  const frames = runs.reduce((sum, [a, b]) => sum + b - a, 0);
  await encodeClip({
    input: { runs: frameRuns, fps: FPS },
    startMs: 0,
    endMs: (frames * 1000) / FPS,
    output,
    ...(blackout ? { blackout } : {}),
  });
  return clipLuma(output, { width: fixture.width, height: fixture.height });
}

async function snapshotOf(frame: number, width?: number) {
  const jpeg = await grabFrame({
    input: VIDEO,
    atFrame: { index: frame, fps: FPS },
    format: 'jpeg',
    ...(width ? { width } : {}),
  });
  return jpegLuma(jpeg.data, { width: fixture.width, height: fixture.height });
}

/** The tape line a clip becomes, as the runner writes it (header + object line). */
function tapeOf(video: Record<string, unknown>): string {
  const lines: TapeLine[] = [
    {
      tape: TAPE_VERSION,
      scenario: 's',
      device: 'd',
      profile: 'p',
      epoch: '2026-01-01T00:00:00.000Z',
      durationMs: 1,
      seed: 1,
      fps: FPS,
      frames: 1,
    },
    { object: 'clips/d/2026/01/01/d-000001.mp4', video },
  ];
  return serializeTape(lines);
}

function clipFacts(frames: Uint8Array[], first = FIRST, count = COUNT) {
  return {
    frames: frames.length,
    source: describeFrames(timeline, first, first + count),
    fidelity: clipFidelity(frames, timeline, first, count),
  };
}

describe('clip fidelity against the source frames', () => {
  it('a clip of exactly its window passes, and its tape line names the frames', async () => {
    const clip = await clipOf([[FIRST, FIRST + COUNT]]);
    expect(clip.frames).toHaveLength(COUNT);
    expect(clipFacts(clip.frames)).toEqual({
      frames: COUNT,
      source: `visitor-at-door#${FIRST}-${FIRST + COUNT - 1}`,
      fidelity: 'ok',
    });
  });

  it('a window one frame late is caught, and the golden comparison shows it', async () => {
    const golden = tapeOf(clipFacts((await clipOf([[FIRST, FIRST + COUNT]])).frames));
    const late = await clipOf([[FIRST + 1, FIRST + COUNT + 1]]);
    const facts = clipFacts(late.frames);
    expect(facts.fidelity).toBe(
      `frames are 1 frame late against visitor-at-door#${FIRST}-${FIRST + COUNT - 1}`,
    );
    const diff = compareTapes(golden, tapeOf(facts));
    expect(diff.equal).toBe(false);
    expect(diff.report).toContain('video.fidelity: "ok" →');
  });

  it('a window one frame early is caught', async () => {
    const early = await clipOf([[FIRST - 1, FIRST + COUNT - 1]]);
    expect(clipFacts(early.frames).fidelity).toMatch(/^frames are 1 frame early/);
  });

  it('a dropped frame is caught, whether the clip is a frame short or holds one frame too many after it', async () => {
    const golden = tapeOf(clipFacts((await clipOf([[FIRST, FIRST + COUNT]])).frames));
    const short = await clipOf([
      [FIRST, FIRST + 10],
      [FIRST + 11, FIRST + COUNT],
    ]);
    const shortFacts = clipFacts(short.frames);
    expect(shortFacts.fidelity).toBe(
      `${COUNT - 1} frames decoded, ${COUNT} expected from visitor-at-door#${FIRST}-${FIRST + COUNT - 1}`,
    );
    expect(compareTapes(golden, tapeOf(shortFacts)).report).toContain(
      `video.frames: ${COUNT} → ${COUNT - 1}`,
    );

    const skipped = await clipOf([
      [FIRST, FIRST + 10],
      [FIRST + 11, FIRST + COUNT + 1],
    ]);
    const skippedFacts = clipFacts(skipped.frames);
    expect(skippedFacts.frames).toBe(COUNT);
    expect(skippedFacts.fidelity).toMatch(
      /^frame 1\d shows visitor-at-door#\d+ rather than visitor-at-door#\d+$/,
    );
    expect(compareTapes(golden, tapeOf(skippedFacts)).equal).toBe(false);
  });

  it('a frame shown twice is caught, wherever it is (first, middle, last)', async () => {
    for (const at of [0, 12, COUNT - 1]) {
      const runs: Array<[number, number]> =
        at === 0
          ? [
              [FIRST + 1, FIRST + 2],
              [FIRST + 1, FIRST + COUNT],
            ]
          : [
              [FIRST, FIRST + at],
              [FIRST + at - 1, FIRST + COUNT - 1],
            ];
      const repeated = await clipOf(runs);
      expect(repeated.frames).toHaveLength(COUNT);
      expect(clipFacts(repeated.frames).fidelity, `repeated frame at ${at}`).toMatch(
        new RegExp(`^frame ${at} shows visitor-at-door#\\d+ rather than visitor-at-door#${FIRST + at}$`),
      );
    }
  });

  it('privacy zones: a masked clip passes against the mask, an unmasked one is caught', async () => {
    const zone: NormalizedPolygon = [
      [0.05, 0.05],
      [0.3, 0.05],
      [0.3, 0.4],
      [0.05, 0.4],
    ];
    const mask = compareMask(
      rasterizePolygons(fixture.width, fixture.height, [zone]),
      fixture.width,
      fixture.height,
    );
    const masked = await clipOf([[FIRST, FIRST + COUNT]], [zone]);
    expect(clipFidelity(masked.frames, timeline, FIRST, COUNT, mask)).toBe('ok');
    const unmasked = await clipOf([[FIRST, FIRST + COUNT]]);
    expect(clipFidelity(unmasked.frames, timeline, FIRST, COUNT, mask)).toBe(
      'frame 0: privacy-masked pixels are not black',
    );
  });
});

describe('snapshot fidelity against the source frame', () => {
  const AT = 45;

  it('the frame asked for passes; a neighbouring or later frame is caught', async () => {
    expect(stillFidelity((await snapshotOf(AT)).luma, timeline, AT)).toBe('ok');
    expect(stillFidelity((await snapshotOf(AT + 1)).luma, timeline, AT)).toMatch(
      new RegExp(`^shows visitor-at-door#${AT + 1} rather than visitor-at-door#${AT}$`),
    );
    expect(stillFidelity((await snapshotOf(AT - 3)).luma, timeline, AT)).toMatch(
      /^shows visitor-at-door#42 /,
    );
  });

  it('a thumbnail (half size) passes at its own floor', async () => {
    const thumbnail = await snapshotOf(AT, 320);
    expect(thumbnail.width).toBe(320);
    expect(stillFidelity(thumbnail.luma, timeline, AT, { minPsnrDb: 26 })).toBe('ok');
  });

  it('a picture of another scene fails the quality floor', async () => {
    const other = await lumaFixture(join(VIDEO_FIXTURES_DIR, 'lightswitch.mp4'), 320);
    const picture = other.frames[other.frames.length - 1] as Uint8Array;
    expect(stillFidelity(picture, timeline, AT)).toBe('below 30 dB against visitor-at-door#45');
  });
});

describe('tape format', () => {
  it('a golden tape of an older format asks to be re-recorded instead of showing a diff', () => {
    const old = tapeOf({}).replace(`"tape":${TAPE_VERSION}`, '"tape":1');
    const diff = compareTapes(old, tapeOf({}));
    expect(diff.equal).toBe(false);
    expect(diff.report).toBe(
      `the golden tape is format 1, this replay writes format ${TAPE_VERSION}: re-record it with --update (docs/replay.md, "The tape")`,
    );
  });
});

describe('a replay states its pictures', () => {
  it('a press on the scenario’s last instant gets a snapshot and a thumbnail checked against the last frame', async () => {
    const resolved = await resolveScenario(
      {
        name: 'last-instant',
        device: { id: 'front-door', profile: 'wired-1080p' },
        video: 'quiet-porch',
        durationMs: 3000,
        timeline: [{ at: 3000, do: 'press' }],
      },
      '<inline>',
    );
    if (!resolved.ok) throw new Error(resolved.errors.join('\n'));
    const result = await runScenario(resolved.value);
    expect(result.problems).toEqual([]);
    expect(result.text).toMatch(
      /"jpeg":\{"fidelity":"ok","height":1080,"source":"quiet-porch#44","width":1920\}/,
    );
    expect(result.text).toMatch(
      /"picture":\{"fidelity":"ok","height":180,"source":"quiet-porch#44","width":320\}/,
    );
  }, 120_000);
});
