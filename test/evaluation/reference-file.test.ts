import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  groundTruthBeside,
  parseReferenceFile,
  readReferenceFile,
  referenceAt,
} from '../../src/evaluation/reference-file.js';
import { errorOf } from '../helpers/errors.js';

const MOG2_HEADER = 'frame,t_s,fg_frac_raw,fg_frac_open3';

/** A MOG2 CSV at 4 fps: `fractions` are fg_frac_open3 per frame. */
function mog2(fractions: number[]): string {
  const rows = fractions.map((f, i) => `${i},${(i / 4).toFixed(3)},${f},${f}`);
  return `${MOG2_HEADER}\n${rows.join('\n')}\n`;
}

describe('ground-truth JSON', () => {
  const text = readFileSync('fixtures/video/porch-loop.json', 'utf8');

  it('gives the expected events of the sensitivity asked for', () => {
    const file = parseReferenceFile(text, 'porch-loop.json');
    expect(referenceAt(file, 'medium', 'porch-loop.json')).toEqual({
      kind: 'intervals',
      name: 'porch-loop.json',
      about: 'expected.medium: the events the detector must report at medium sensitivity',
      frameCount: 450,
      fps: 15,
      intervals: [
        expect.objectContaining({ startFrame: 25, endFrame: 104 }),
        expect.objectContaining({ startFrame: 280, endFrame: 341 }),
        expect.objectContaining({ startFrame: 386, endFrame: 421 }),
      ],
    });
    expect(referenceAt(file, 'high', 'porch-loop.json')).toMatchObject({
      intervals: { length: 4 },
    });
  });

  it('names the field and value of a bad ground truth', () => {
    const truth = JSON.parse(text);
    const bad = (change: (t: Record<string, unknown>) => void) => {
      const copy = structuredClone(truth);
      change(copy);
      return errorOf(() => parseReferenceFile(JSON.stringify(copy), 't.json'));
    };
    expect(bad((t) => delete t['fps'])).toBe(
      't.json: fps: Invalid input: expected number, received undefined (missing)',
    );
    expect(
      bad((t) => {
        (t['expected'] as Record<string, Array<Record<string, number>>>)['low']![0]!['endFrame'] = 10;
      }),
    ).toBe('t.json: expected.low.0.endFrame: endFrame must be after startFrame (got 10)');
    expect(errorOf(() => parseReferenceFile('{"fps": 15,', 't.json'))).toMatch(/^t\.json: not valid JSON \(/);
  });

  it('carries the labels of each expected event; a label that is not a motion label is refused', () => {
    const file = parseReferenceFile(text, 'porch-loop.json');
    if (file.format !== 'ground-truth') throw new Error(file.format);
    expect(file.expected.high!.map((i) => i.labels)).toEqual([
      ['person'],
      ['animal'],
      ['person'],
      ['person'],
    ]);
    const copy = JSON.parse(text);
    copy.expected.high[1].labels = ['cat'];
    expect(errorOf(() => parseReferenceFile(JSON.stringify(copy), 't.json'))).toMatch(
      /^t\.json: expected\.high\.1\.labels\.0: .*"motion"\|"person"\|"animal"\|"vehicle"\|"package".* \(got "cat"\)$/,
    );
    copy.expected.high[1].labels = [];
    expect(errorOf(() => parseReferenceFile(JSON.stringify(copy), 't.json'))).toMatch(
      /^t\.json: expected\.high\.1\.labels: /,
    );
  });

  it('refuses intervals that overlap or come out of order', () => {
    const withMedium = (intervals: Array<[number, number]>) =>
      errorOf(() =>
        parseReferenceFile(
          JSON.stringify({
            fps: 15,
            frameCount: 100,
            expected: { medium: intervals.map(([startFrame, endFrame]) => ({ startFrame, endFrame })) },
          }),
          't.json',
        ),
      );
    expect(
      withMedium([
        [0, 60],
        [10, 70],
      ]),
    ).toBe('t.json: expected.medium[1]: starts at frame 10, before the previous interval ends (60)');
    expect(
      withMedium([
        [50, 60],
        [70, 80],
        [20, 30],
      ]),
    ).toBe('t.json: expected.medium[2]: starts at frame 20, before the previous interval ends (80)');
    // Touching is fine: the first interval's end is exclusive.
    expect(() =>
      parseReferenceFile(
        JSON.stringify({
          fps: 15,
          frameCount: 100,
          expected: {
            medium: [
              { startFrame: 0, endFrame: 60 },
              { startFrame: 60, endFrame: 70 },
            ],
          },
        }),
        't.json',
      ),
    ).not.toThrow();
  });

  it('keeps the settings block the fixture was made with', () => {
    const masked = parseReferenceFile(
      readFileSync('fixtures/video/foliage-masked.json', 'utf8'),
      'foliage-masked.json',
    );
    expect(masked).toMatchObject({ settings: { masks: [expect.objectContaining({ name: 'bush' })] } });
    expect(parseReferenceFile(text, 'porch-loop.json')).toMatchObject({ settings: {} });
  });

  it('refuses a sensitivity it has no expected events for', () => {
    const file = parseReferenceFile(
      JSON.stringify({ fps: 15, frameCount: 10, expected: { low: [] } }),
      't.json',
    );
    expect(errorOf(() => referenceAt(file, 'high', 't.json'))).toBe(
      't.json: expected.high: missing (no expected events at high sensitivity)',
    );
  });
});

describe('MOG2 CSV', () => {
  it('reads motion as fg_frac_open3 > 0.005 and skips the first second', () => {
    const file = parseReferenceFile(mog2([1, 0, 0, 0, 0.0051, 0.005, 0.02, 0]), 'mog2_x_320.csv');
    expect(file).toEqual({
      format: 'mog2-csv',
      reference: {
        kind: 'per-frame',
        name: 'mog2_x_320.csv',
        about: 'MOG2 foreground: motion where fg_frac_open3 > 0.005',
        frameCount: 8,
        lastListedFrame: 7,
        motionFrames: [0, 4, 6],
        firstScoredFrame: 4,
        unscoredReason: 't_s < 1.0: MOG2 is still learning the background',
      },
    });
  });

  it('names the line and field of a bad row', () => {
    const lines = mog2([0, 0, 0]).split('\n');
    const withLine = (line: number, text: string) => {
      const copy = [...lines];
      copy[line - 1] = text;
      return errorOf(() => parseReferenceFile(copy.join('\n'), 'm.csv'));
    };
    expect(withLine(3, '1,0.250,0,x')).toBe(
      'm.csv: line 3: fg_frac_open3 must be a number from 0 to 1, got "x"',
    );
    expect(withLine(3, '1,0.250,0')).toBe('m.csv: line 3: 3 fields, the header has 4');
    expect(withLine(4, '5,0.5,0,0')).toBe('m.csv: line 4: frame is 5, expected 2 (one row per frame from 0)');
    expect(withLine(2, '-1,0,0,0')).toBe('m.csv: line 2: frame must be a frame index (0, 1, …), got "-1"');
    expect(errorOf(() => parseReferenceFile(`${MOG2_HEADER}\n`, 'm.csv'))).toBe(
      'm.csv: no data rows after the header',
    );
    expect(errorOf(() => parseReferenceFile('frame,t,fg_frac_open3\n0,0,0\n', 'm.csv'))).toBe(
      'm.csv: line 1: no column "t_s" (header: frame,t,fg_frac_open3)',
    );
  });
});

describe('Motion daemon CSV', () => {
  it('takes the listed frames flagged 1 as motion; the rest are still', () => {
    const file = parseReferenceFile(
      'src_frame,motion_changed_px,flag_thr1500\n21,430758,1\n22,1200,0\r\n5,2000,1\n',
      'motion.csv',
    );
    expect(file).toEqual({
      format: 'motion-csv',
      reference: {
        kind: 'per-frame',
        name: 'motion.csv',
        about:
          'Motion daemon: motion in the frames listed with flag_thr1500 = 1; frames not listed are still',
        frameCount: undefined,
        lastListedFrame: 22,
        motionFrames: [5, 21],
        firstScoredFrame: 0,
      },
    });
  });

  it('names the line and field of a bad row', () => {
    const head = 'src_frame,motion_changed_px,flag_thr1500\n';
    expect(errorOf(() => parseReferenceFile(`${head}21,4,1\n21,5,1\n`, 'd.csv'))).toBe(
      'd.csv: line 3: src_frame 21 is listed twice',
    );
    expect(errorOf(() => parseReferenceFile(`${head}21,4,yes\n`, 'd.csv'))).toBe(
      'd.csv: line 2: flag_thr1500 must be 0 or 1, got "yes"',
    );
    expect(errorOf(() => parseReferenceFile(`${head}2.5,4,1\n`, 'd.csv'))).toBe(
      'd.csv: line 2: src_frame must be a frame index (0, 1, …), got "2.5"',
    );
    expect(errorOf(() => parseReferenceFile('src_frame,px\n1,2\n', 'd.csv'))).toBe(
      'd.csv: line 1: no column "flag_thr<N>" (header: src_frame,px)',
    );
  });
});

describe('reading', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'doorbell-reference-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an unknown format and a missing file in one line', async () => {
    expect(errorOf(() => parseReferenceFile('a,b\n1,2\n', 'x.csv'))).toBe(
      'x.csv: line 1: unknown header "a,b" (expected a ground-truth JSON, a MOG2 CSV with frame,t_s,fg_frac_open3 ' +
        'or a Motion CSV with src_frame,flag_thr<N>)',
    );
    await expect(readReferenceFile(join(dir, 'none.csv'), 'none.csv')).rejects.toThrow(
      /^none\.csv: cannot read \(no such file\)$/,
    );
  });

  it('finds the ground truth beside a video: none, a truth, or one line saying why it is not one', async () => {
    expect(await groundTruthBeside(join(dir, 'nothing.mp4'))).toBeUndefined();
    await writeFile(join(dir, 'porch.json'), readFileSync('fixtures/video/porch-loop.json', 'utf8'));
    expect(await groundTruthBeside(join(dir, 'porch.mp4'))).toEqual({
      truth: expect.objectContaining({ fps: 15, frameCount: 450 }),
    });
    await writeFile(join(dir, 'notes.json'), '{"todo": []}');
    expect(await groundTruthBeside(join(dir, 'notes.mp4'))).toEqual({
      problem: `${join(dir, 'notes.json')}: fps: Invalid input: expected number, received undefined (missing)`,
    });
  });
});
