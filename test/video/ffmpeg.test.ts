import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRawVideoEncoder } from '../../scripts/lib/ffmpeg-dev.js';
import { retimedFrameCount, retimedSourceFrame } from '../../src/video/camera-picture.js';
import { encodeClip } from '../../src/video/ffmpeg/clip.js';
import { VideoError } from '../../src/video/ffmpeg/errors.js';
import { decodeGrayFrames } from '../../src/video/ffmpeg/gray-decode.js';
import { probe } from '../../src/video/ffmpeg/probe.js';
import { grabFrame } from '../../src/video/ffmpeg/still.js';
import type { GrayFrame } from '../../src/video/frames.js';
import { locateFfmpeg } from '../../src/video/locate.js';

/** A 3 s, 15 fps video whose frames carry their own index as 6 bars (white = 1), robust to compression. */
const W = 192;
const H = 96;
const FPS = 15;
const FRAMES = 45;
const BAR = W / 6;

function patternFrame(index: number): Uint8Array {
  const frame = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) frame[y * W + x] = (index >> Math.floor(x / BAR)) & 1 ? 235 : 16;
  }
  return frame;
}

function indexOf(frame: GrayFrame): number {
  let index = 0;
  for (let bit = 0; bit < 6; bit++) {
    const x = Math.floor((bit + 0.5) * (frame.width / 6));
    if (frame.data[Math.floor(frame.height / 2) * frame.width + x]! > 128) index |= 1 << bit;
  }
  return index;
}

async function decodedIndices(file: string): Promise<number[]> {
  const out: number[] = [];
  for await (const frame of decodeGrayFrames(file, { width: W })) out.push(indexOf(frame));
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

let dir: string;
let pattern: string;
const fixture = 'fixtures/video/person-crossing.mp4';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-ffmpeg-'));
  pattern = join(dir, 'pattern.mp4');
  const encoder = openRawVideoEncoder({
    output: pattern,
    width: W,
    height: H,
    fps: FPS,
    pixelFormat: 'gray',
  });
  for (let i = 0; i < FRAMES; i++) await encoder.write(patternFrame(i));
  expect(await encoder.finish()).toMatchObject({ frames: FRAMES });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('probe', () => {
  it('reports size, rate, duration, frame count and codec', async () => {
    const truth = JSON.parse(await readFile('fixtures/video/person-crossing.json', 'utf8'));
    expect(await probe(fixture)).toEqual({
      width: 640,
      height: 360,
      fps: 15,
      durationMs: truth.durationMs,
      frameCount: truth.frameCount,
      codec: 'h264',
    });
  });

  it('gives one clear line for a file that is not a video, and does not hang', async () => {
    const text = join(dir, 'notes.mp4');
    await writeFile(text, 'this is not a video\n');
    const error = await probe(text).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VideoError);
    expect((error as Error).message).toBe(`cannot probe ${text}: Invalid data found when processing input`);
  });

  it('refuses missing and empty files before running ffprobe', async () => {
    await expect(probe(join(dir, 'missing.mp4'))).rejects.toThrow(/missing\.mp4: no such file$/);
    const empty = join(dir, 'empty.mp4');
    await writeFile(empty, '');
    await expect(probe(empty)).rejects.toThrow(/empty\.mp4: file is empty$/);
  });
});

describe('decodeGrayFrames', () => {
  it('yields every frame of a fixture exactly once, with its pts from the file', async () => {
    const truth = JSON.parse(await readFile('fixtures/video/person-crossing.json', 'utf8'));
    const frames: Array<Omit<GrayFrame, 'data'> & { bytes: number }> = [];
    for await (const { data, ...rest } of decodeGrayFrames(fixture))
      frames.push({ ...rest, bytes: data.length });
    expect(frames).toHaveLength(truth.frameCount);
    frames.forEach((frame, k) => {
      expect(frame).toEqual({
        index: k,
        ptsMs: Math.round((k * 1000 * 1000) / 15) / 1000,
        width: 320,
        height: 180,
        bytes: 320 * 180,
      });
    });
  });

  it('keeps every frame in order (no duplicates, no drops)', async () => {
    expect(await decodedIndices(pattern)).toEqual(range(0, FRAMES));
  });

  it('loops with increasing pts, and stops ffmpeg when the consumer breaks out', async () => {
    const seen: Array<{ index: number; ptsMs: number; id: number }> = [];
    for await (const frame of decodeGrayFrames(pattern, { width: W, loop: true })) {
      seen.push({ index: frame.index, ptsMs: frame.ptsMs, id: indexOf(frame) });
      if (seen.length === FRAMES * 2 + 3) break;
    }
    expect(seen.map((s) => s.id)).toEqual([...range(0, FRAMES), ...range(0, FRAMES), 0, 1, 2]);
    expect(seen.map((s) => s.ptsMs)).toEqual(seen.map((_, k) => Math.round((k * 1000 * 1000) / FPS) / 1000));
  });

  it('with recycled buffers, keeps each frame intact until the next-but-one and reuses buffers', async () => {
    // 400 frames of 18 KB: more than the decoder may hold for a slow consumer, so buffers must come round again.
    const total = 400;
    const buffers = new Set<Uint8Array>();
    let previous: { frame: GrayFrame; id: number } | undefined;
    const ids: number[] = [];
    for await (const frame of decodeGrayFrames(pattern, { width: W, loop: true, recycleBuffers: true })) {
      if (previous) expect(indexOf(previous.frame)).toBe(previous.id);
      ids.push(indexOf(frame));
      previous = { frame, id: ids.at(-1)! };
      buffers.add(frame.data);
      if (ids.length === total) break;
    }
    expect(ids).toEqual(range(0, total).map((k) => k % FRAMES));
    expect(buffers.size).toBeLessThan(total / 2);
  });

  it('decodes frames larger than what it buffers for a slow consumer (2 MB)', async () => {
    const sizes: string[] = [];
    for await (const frame of decodeGrayFrames(pattern, { width: 2900, stallTimeoutMs: 5_000 })) {
      sizes.push(`${frame.width}x${frame.height}:${frame.data.length}`);
      if (sizes.length === 3) break;
    }
    expect(sizes).toEqual(Array(3).fill(`2900x1450:${2900 * 1450}`));
  });

  it('ends quietly when the signal aborts', async () => {
    const controller = new AbortController();
    let count = 0;
    for await (const _frame of decodeGrayFrames(pattern, {
      width: W,
      loop: true,
      signal: controller.signal,
    })) {
      count++;
      if (count === 10) controller.abort();
    }
    expect(count).toBe(10);
  });

  it('fails with one clear line on a truncated file instead of hanging', async () => {
    const broken = join(dir, 'truncated.mp4');
    const bytes = await readFile(fixture);
    await writeFile(broken, bytes.subarray(0, 2000));
    const run = async () => {
      for await (const _frame of decodeGrayFrames(broken)) {
        // draining
      }
    };
    const error = await run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VideoError);
    expect((error as Error).message).toMatch(/^cannot decode .*truncated\.mp4: [^\n]+$/);
  });

  it('rejects an odd width', async () => {
    await expect(decodeGrayFrames(pattern, { width: 321 }).next()).rejects.toThrow(/even whole number.*321/);
  });
});

describe('encodeClip', () => {
  it('covers [startMs, endMs) to the frame', async () => {
    const out = join(dir, 'clip.mp4');
    const clip = await encodeClip({ input: pattern, startMs: 1000, endMs: 2000, output: out });
    expect(clip.bytes).toBeGreaterThan(0);
    expect(await decodedIndices(out)).toEqual(range(15, 30));
    const head = await readFile(out);
    // +faststart: the moov box comes before mdat.
    expect(head.indexOf('moov')).toBeLessThan(head.indexOf('mdat'));
  });

  it('takes windows that do not start on a frame boundary to the nearest frames', async () => {
    const out = join(dir, 'clip-offgrid.mp4');
    await encodeClip({ input: pattern, startMs: 1010, endMs: 1990, output: out });
    const indices = await decodedIndices(out);
    expect(Math.abs(indices[0]! - 15)).toBeLessThanOrEqual(1);
    expect(Math.abs(indices.at(-1)! - 29)).toBeLessThanOrEqual(1);
    expect(indices).toEqual(range(indices[0]!, indices.at(-1)! + 1));
  });

  it('wraps around the end of a looping source', async () => {
    const out = join(dir, 'clip-wrap.mp4');
    await encodeClip({ input: pattern, startMs: 2600, endMs: 3600, output: out, loopDurationMs: 3000 });
    expect(await decodedIndices(out)).toEqual([...range(39, 45), ...range(0, 9)]);
  });

  it('takes a window in a later pass of the loop (and before 0) modulo the loop length', async () => {
    const out = join(dir, 'clip-later.mp4');
    await encodeClip({ input: pattern, startMs: 7000, endMs: 7400, output: out, loopDurationMs: 3000 });
    expect(await decodedIndices(out)).toEqual(range(15, 21));
    await encodeClip({ input: pattern, startMs: -400, endMs: 200, output: out, loopDurationMs: 3000 });
    expect(await decodedIndices(out)).toEqual([...range(39, 45), 0, 1, 2]);
  });

  it('cuts a window out of a feed composed of frame runs of several files, to the frame', async () => {
    const copy = join(dir, 'pattern-copy.mp4');
    await copyFile(pattern, copy);
    const feed = {
      fps: FPS,
      runs: [
        { path: pattern, startFrame: 10, endFrame: 15 },
        { path: copy, startFrame: 30, endFrame: 35 },
        { path: pattern, startFrame: 0, endFrame: 5 },
      ],
    };
    const out = join(dir, 'clip-runs.mp4');
    const clip = await encodeClip({ input: feed, startMs: 3000 / FPS, endMs: 12_000 / FPS, output: out });
    expect(await decodedIndices(out)).toEqual([13, 14, 30, 31, 32, 33, 34, 0, 1]);
    expect(clip.durationMs).toBeCloseTo(9000 / FPS, 6);
    // Past the end of the feed it is clamped to what the camera showed.
    await encodeClip({ input: feed, startMs: -500, endMs: 60_000, output: out });
    expect(await decodedIndices(out)).toEqual([...range(10, 15), ...range(30, 35), ...range(0, 5)]);
    await expect(encodeClip({ input: feed, startMs: 5000, endMs: 6000, output: out })).rejects.toThrow(
      /pattern\.mp4, .*pattern-copy\.mp4: window \[5000, 6000\) ms holds none of its 15 frames$/,
    );
  });

  it('cuts frame runs to the frame from a file whose video starts after its audio', async () => {
    // -ss counts from the file's earliest stream: here a silent audio track at 0 and the video 0.2 s later.
    const delayed = join(dir, 'delayed-video.mp4');
    await promisify(execFile)(locateFfmpeg().ffmpeg, [
      ...[
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'anullsrc=r=8000:cl=mono',
        '-itsoffset',
        '0.2',
        '-i',
        pattern,
      ],
      ...['-map', '1:v', '-map', '0:a', '-c:v', 'copy', '-c:a', 'aac', '-shortest', delayed],
    ]);
    expect((await probe(delayed)).videoStartMs).toBeCloseTo(200, 0);
    const out = join(dir, 'clip-delayed.mp4');
    const feed = { fps: FPS, runs: [{ path: delayed, startFrame: 5, endFrame: 9 }] };
    await encodeClip({ input: feed, startMs: 0, endMs: 10_000, output: out });
    expect(await decodedIndices(out)).toEqual([5, 6, 7, 8]);
    // A snapshot of the same frame lands on the same frame.
    const still = await grabFrame({ input: delayed, atFrame: { index: 5, fps: FPS } });
    const luma = Uint8Array.from({ length: W * H }, (_, p) => still.data[p * 3]!);
    expect(indexOf({ index: 0, ptsMs: 0, width: W, height: H, data: luma })).toBe(5);
  });

  it('gives one-frame runs a whole frame each: every frame keeps its place on the clock', async () => {
    const feed = {
      fps: FPS,
      runs: [
        { path: pattern, startFrame: 44, endFrame: 45 },
        { path: pattern, startFrame: 0, endFrame: 2 },
        { path: pattern, startFrame: 20, endFrame: 21 },
        { path: pattern, startFrame: 40, endFrame: 42 },
      ],
    };
    const out = join(dir, 'clip-single-frames.mp4');
    await encodeClip({ input: feed, startMs: 0, endMs: 10_000, output: out });
    const frames: GrayFrame[] = [];
    for await (const frame of decodeGrayFrames(out, { width: W })) frames.push(frame);
    expect(frames.map(indexOf)).toEqual([44, 0, 1, 20, 40, 41]);
    expect(frames.map((f) => f.ptsMs)).toEqual(frames.map((_, k) => Math.round((k * 1e6) / FPS) / 1000));
  });

  describe("at the camera's picture (size and frame rate)", () => {
    /** Twice the pattern's size, same proportion: framing only scales, so the bars still read. */
    const at = (fps: number) => ({ width: 2 * W, height: 2 * H, fps });
    /** The source frames `shown` re-timed to `fps`: what a camera sampling them at that rate shows. */
    const retimed = (shown: number[], fps: number) =>
      range(0, retimedFrameCount(shown.length, FPS, fps)).map((m) => shown[retimedSourceFrame(m, FPS, fps)]!);

    for (const fps of [30, 20, 10]) {
      it(`re-times a looped file's window, wrapped or not, to ${fps} fps`, async () => {
        const out = join(dir, `clip-${fps}.mp4`);
        await encodeClip({ input: pattern, startMs: 1000, endMs: 2000, output: out, picture: at(fps) });
        const info = await probe(out);
        expect([info.width, info.height, info.fps]).toEqual([2 * W, 2 * H, fps]);
        expect(await decodedIndices(out)).toEqual(retimed(range(15, 30), fps));
        const wrap = { startMs: 2600, endMs: 3600, loopDurationMs: 3000 };
        await encodeClip({ input: pattern, ...wrap, output: out, picture: at(fps) });
        expect(await decodedIndices(out)).toEqual(retimed([...range(39, 45), ...range(0, 9)], fps));
      });
    }

    it('re-times frame runs, one-frame runs included, with a privacy mask drawn at the output size', async () => {
      const feed = {
        fps: FPS,
        runs: [
          { path: pattern, startFrame: 44, endFrame: 45 },
          { path: pattern, startFrame: 0, endFrame: 2 },
          { path: pattern, startFrame: 20, endFrame: 24 },
        ],
      };
      const out = join(dir, 'clip-runs-30.mp4');
      const topStrip: [number, number][] = [
        [0, 0],
        [1, 0],
        [1, 0.25],
        [0, 0.25],
      ];
      await encodeClip({
        input: feed,
        startMs: 0,
        endMs: 10_000,
        output: out,
        picture: at(30),
        blackout: [topStrip],
      });
      const frames: GrayFrame[] = [];
      for await (const frame of decodeGrayFrames(out, { width: 2 * W })) frames.push(frame);
      expect(frames.map(indexOf)).toEqual(retimed([44, 0, 1, 20, 21, 22, 23], 30));
      expect(frames.map((f) => f.ptsMs)).toEqual(frames.map((_, k) => Math.round((k * 1e6) / 30) / 1000));
      // The strip is black over its whole width on every frame (a white bar would show through an unmasked one).
      for (const frame of frames) {
        const strip = frame.data.subarray(0, Math.floor(0.25 * frame.height - 2) * frame.width);
        expect(Math.max(...strip)).toBeLessThanOrEqual(24);
      }
    });
  });

  it('is byte-for-byte deterministic', async () => {
    const a = join(dir, 'same-a.mp4');
    const b = join(dir, 'same-b.mp4');
    await encodeClip({ input: fixture, startMs: 2000, endMs: 3000, output: a });
    await encodeClip({ input: fixture, startMs: 2000, endMs: 3000, output: b });
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
  });

  it('burns privacy polygons in as black', async () => {
    const out = join(dir, 'clip-blackout.mp4');
    await encodeClip({
      input: pattern,
      startMs: (31 * 1000) / FPS,
      endMs: (33 * 1000) / FPS,
      output: out,
      blackout: [
        [
          [0, 0],
          [0.5, 0],
          [0.5, 1],
          [0, 1],
        ],
      ],
    });
    const frames: GrayFrame[] = [];
    for await (const frame of decodeGrayFrames(out, { width: W })) frames.push(frame);
    // Frame 31 = bits 0-4 set: the left half (bits 0-2) is blacked out, the right half still shows bits 3-4.
    const first = frames[0]!;
    expect(indexOf(first)).toBe(0b011000);
  });

  it('never leaves a partial output behind on failure', async () => {
    const out = join(dir, 'never.mp4');
    const broken = join(dir, 'broken.mp4');
    await copyFile(fixture, broken);
    await writeFile(broken, 'garbage');
    await expect(encodeClip({ input: broken, startMs: 0, endMs: 1000, output: out })).rejects.toBeInstanceOf(
      VideoError,
    );
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
    await expect(encodeClip({ input: pattern, startMs: 5, endMs: 5, output: out })).rejects.toThrow(
      /is empty/,
    );
    await expect(encodeClip({ input: pattern, startMs: -900, endMs: -100, output: out })).rejects.toThrow(
      /ends before the video starts/,
    );
  });
});

describe('grabFrame', () => {
  it('returns the frame shown at a time as raw RGB', async () => {
    const frame = await grabFrame({ input: pattern, atMs: 1000 });
    expect(frame).toMatchObject({ format: 'rgb', width: W, height: H });
    expect(frame.data.length).toBe(W * H * 3);
    const gray = new Uint8Array(W * H);
    for (let i = 0; i < W * H; i++) gray[i] = frame.data[i * 3]!;
    expect(indexOf({ index: 0, ptsMs: 0, width: W, height: H, data: gray })).toBe(15);
  });

  it('returns a JPEG when asked, scaled and modulo the loop', async () => {
    const jpeg = await grabFrame({
      input: fixture,
      atMs: 9000 + 500,
      format: 'jpeg',
      width: 320,
      loopDurationMs: 9000,
    });
    expect(jpeg).toMatchObject({ format: 'jpeg', width: 320, height: 180 });
    expect(jpeg.data.subarray(0, 2).toString('hex')).toBe('ffd8');
  });

  it('says so when there is no frame at that time', async () => {
    await expect(grabFrame({ input: pattern, atMs: 60_000 })).rejects.toThrow(/no frame there/);
  });
});

describe('stopping', () => {
  it('stops a looping decode that is abandoned before its first frame', async () => {
    const started = performance.now();
    const frames = decodeGrayFrames(pattern, { width: W, loop: true });
    const first = await frames.next();
    expect(first.done).toBe(false);
    await frames.return(undefined);
    // `q` is enough: no wait for the SIGINT fallback.
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('stops a looping decode aborted before ffmpeg was even spawned', async () => {
    const controller = new AbortController();
    const iterator = decodeGrayFrames(pattern, { width: W, loop: true, signal: controller.signal });
    const pending = iterator.next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
  });
});
