/**
 * Reference files for `doorbell motion --truth`: a fixture's ground-truth JSON, a MOG2 per-frame CSV or the Motion
 * daemon's list of flagged frames. The format is told by the extension and the CSV header; a bad file is one line
 * naming the file and the line or field.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Sensitivity } from '../motion/settings.js';
import { UserError } from '../util/user-error.js';
import { issueLine } from '../util/zod-errors.js';
import { type GroundTruth, GroundTruthSchema } from './ground-truth.js';
import type { FrameInterval, PerFrameReference, Reference } from './score.js';

/** MOG2 reference: a frame has motion when more than this share of it is foreground after a 3×3 opening. */
export const MOG2_MOTION_FRACTION = 0.005;
/** MOG2 learns the background in its first second; what it flags then is not motion. */
export const MOG2_LEARNING_S = 1.0;

export type ReferenceFile =
  /**
   * `expected`: the events the detector must report, per sensitivity; `settings`: the motion block the fixture was
   * made for (masks, zones…), empty when it needs none.
   */
  | ({ format: 'ground-truth' } & GroundTruth)
  | { format: 'mog2-csv' | 'motion-csv'; reference: PerFrameReference };

/** Reads and parses a reference file; `shown` is how the user wrote its path. */
export async function readReferenceFile(path: string, shown: string): Promise<ReferenceFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`${shown}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`);
  }
  return parseReferenceFile(text, shown);
}

export function parseReferenceFile(text: string, name: string): ReferenceFile {
  const body = text.replace(/^\uFEFF/, '');
  if (name.toLowerCase().endsWith('.json') || body.trimStart().startsWith('{')) {
    return parseGroundTruth(body, name);
  }
  const lines = body.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  if (header.includes('fg_frac_open3'))
    return { format: 'mog2-csv', reference: parseMog2(lines, header, name) };
  if (header.includes('src_frame'))
    return { format: 'motion-csv', reference: parseMotionDaemon(lines, header, name) };
  throw new UserError(
    `${name}: line 1: unknown header "${lines[0]?.slice(0, 80) ?? ''}" (expected a ground-truth JSON, a MOG2 CSV ` +
      'with frame,t_s,fg_frac_open3 or a Motion CSV with src_frame,flag_thr<N>)',
  );
}

/** The reference at one sensitivity: a ground truth has its own expected events per sensitivity. */
export function referenceAt(file: ReferenceFile, sensitivity: Sensitivity, name: string): Reference {
  if (file.format !== 'ground-truth') return file.reference;
  const intervals = file.expected[sensitivity];
  if (!intervals)
    throw new UserError(
      `${name}: expected.${sensitivity}: missing (no expected events at ${sensitivity} sensitivity)`,
    );
  const outside = intervals.find((i) => i.endFrame > file.frameCount);
  if (outside) {
    throw new UserError(
      `${name}: expected.${sensitivity}: interval ${outside.startFrame}-${outside.endFrame} ends after frameCount ${file.frameCount}`,
    );
  }
  return {
    kind: 'intervals',
    name,
    about: `expected.${sensitivity}: the events the detector must report at ${sensitivity} sensitivity`,
    frameCount: file.frameCount,
    fps: file.fps,
    intervals,
  };
}

/**
 * The ground truth beside a video (`porch-loop.mp4` → `porch-loop.json`): undefined when there is none, a `problem`
 * (one line) when the file is there but is not a ground truth.
 */
export async function groundTruthBeside(
  video: string,
): Promise<{ truth: GroundTruth } | { problem: string } | undefined> {
  const path = `${video.slice(0, video.length - extname(video).length)}.json`;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const { format: _format, ...truth } = parseGroundTruth(text.replace(/^\uFEFF/, ''), path);
    return { truth };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

function parseGroundTruth(text: string, name: string): ReferenceFile & { format: 'ground-truth' } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${name}: not valid JSON (${(error as Error).message})`);
  }
  const result = GroundTruthSchema.safeParse(json);
  if (!result.success) {
    throw new UserError(issueLine(result.error.issues[0]!, { source: name, root: '(root)', input: json }));
  }
  for (const [sensitivity, intervals] of Object.entries(result.data.expected)) {
    assertSortedAndDisjoint(intervals, `expected.${sensitivity}`, name);
  }
  return { format: 'ground-truth', ...result.data };
}

/** One event per interval is only well defined when the intervals neither overlap nor come out of order. */
function assertSortedAndDisjoint(intervals: readonly FrameInterval[], field: string, name: string): void {
  for (let i = 1; i < intervals.length; i++) {
    const previousEnd = intervals[i - 1]!.endFrame;
    const start = intervals[i]!.startFrame;
    if (start < previousEnd) {
      throw new UserError(
        `${name}: ${field}[${i}]: starts at frame ${start}, before the previous interval ends (${previousEnd})`,
      );
    }
  }
}

function columnsOf(header: string[], wanted: string[], name: string): number[] {
  return wanted.map((column) => {
    const at = header.indexOf(column);
    if (at < 0) throw new UserError(`${name}: line 1: no column "${column}" (header: ${header.join(',')})`);
    return at;
  });
}

/** Data rows with their 1-based line numbers; blank lines are skipped, a short row is an error. */
function rowsOf(lines: string[], columns: number, name: string): Array<{ line: number; cells: string[] }> {
  const rows: Array<{ line: number; cells: string[] }> = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    const cells = lines[i]!.split(',').map((c) => c.trim());
    if (cells.length !== columns) {
      throw new UserError(`${name}: line ${i + 1}: ${cells.length} fields, the header has ${columns}`);
    }
    rows.push({ line: i + 1, cells });
  }
  if (rows.length === 0) throw new UserError(`${name}: no data rows after the header`);
  return rows;
}

function numberIn(
  value: string,
  field: string,
  line: number,
  name: string,
  min: number,
  max: number,
): number {
  const n = value === '' ? Number.NaN : Number(value);
  if (!(n >= min && n <= max)) {
    throw new UserError(
      `${name}: line ${line}: ${field} must be a number from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}

function frameIndex(value: string, field: string, line: number, name: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw new UserError(`${name}: line ${line}: ${field} must be a frame index (0, 1, …), got "${value}"`);
  }
  return Number(value);
}

function parseMog2(lines: string[], header: string[], name: string): PerFrameReference {
  const [frameAt, timeAt, fractionAt] = columnsOf(header, ['frame', 't_s', 'fg_frac_open3'], name) as [
    number,
    number,
    number,
  ];
  const rows = rowsOf(lines, header.length, name);
  const motionFrames: number[] = [];
  let firstScoredFrame: number | undefined;
  rows.forEach(({ line, cells }, expected) => {
    const frame = frameIndex(cells[frameAt]!, 'frame', line, name);
    if (frame !== expected) {
      throw new UserError(
        `${name}: line ${line}: frame is ${frame}, expected ${expected} (one row per frame from 0)`,
      );
    }
    const seconds = numberIn(cells[timeAt]!, 't_s', line, name, 0, 1e7);
    const fraction = numberIn(cells[fractionAt]!, 'fg_frac_open3', line, name, 0, 1);
    if (firstScoredFrame === undefined && seconds >= MOG2_LEARNING_S) firstScoredFrame = frame;
    if (fraction > MOG2_MOTION_FRACTION) motionFrames.push(frame);
  });
  return {
    kind: 'per-frame',
    name,
    about: `MOG2 foreground: motion where fg_frac_open3 > ${MOG2_MOTION_FRACTION}`,
    frameCount: rows.length,
    lastListedFrame: rows.length - 1,
    motionFrames,
    firstScoredFrame: firstScoredFrame ?? rows.length,
    unscoredReason: `t_s < ${MOG2_LEARNING_S.toFixed(1)}: MOG2 is still learning the background`,
  };
}

function parseMotionDaemon(lines: string[], header: string[], name: string): PerFrameReference {
  const flagColumn = header.find((h) => /^flag_thr\d+$/.test(h));
  if (!flagColumn)
    throw new UserError(`${name}: line 1: no column "flag_thr<N>" (header: ${header.join(',')})`);
  const [frameAt, flagAt] = columnsOf(header, ['src_frame', flagColumn], name) as [number, number];
  const flagged = new Set<number>();
  const listed = new Set<number>();
  let lastListed = 0;
  for (const { line, cells } of rowsOf(lines, header.length, name)) {
    const frame = frameIndex(cells[frameAt]!, 'src_frame', line, name);
    const flag = cells[flagAt]!;
    if (flag !== '0' && flag !== '1') {
      throw new UserError(`${name}: line ${line}: ${flagColumn} must be 0 or 1, got "${flag}"`);
    }
    if (listed.has(frame)) throw new UserError(`${name}: line ${line}: src_frame ${frame} is listed twice`);
    listed.add(frame);
    lastListed = Math.max(lastListed, frame);
    if (flag === '1') flagged.add(frame);
  }
  return {
    kind: 'per-frame',
    name,
    about: `Motion daemon: motion in the frames listed with ${flagColumn} = 1; frames not listed are still`,
    frameCount: undefined,
    lastListedFrame: lastListed,
    motionFrames: [...flagged].sort((a, b) => a - b),
    firstScoredFrame: 0,
  };
}
