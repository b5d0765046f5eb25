import { describe, expect, it } from 'vitest';
import {
  FrameAssembler,
  parseFramecrcLine,
  parseRawvideoOutputSize,
  roundMs,
} from '../../src/video/frames.js';

/** 30 bytes 0..29 = five 6-byte frames, delivered in chunks that straddle frame boundaries in every way. */
const STREAM = Uint8Array.from({ length: 30 }, (_, i) => i);
const STRADDLING_CHUNKS = [
  [0, 4],
  [4, 5],
  [5, 17],
  [17, 18],
  [18, 30],
] as const;
const EXPECTED_FRAMES = [0, 1, 2, 3, 4].map((k) => [0, 1, 2, 3, 4, 5].map((i) => k * 6 + i));

describe('FrameAssembler', () => {
  const takeAll = (assembler: FrameAssembler): number[][] => {
    const frames: number[][] = [];
    for (let f = assembler.take(); f; f = assembler.take()) frames.push([...f]);
    return frames;
  };

  it('cuts frames out of writes that straddle frame boundaries in every way', () => {
    const assembler = new FrameAssembler();
    assembler.setFrameSize(6);
    const frames: number[][] = [];
    for (const [from, to] of STRADDLING_CHUNKS) {
      assembler.write(STREAM.subarray(from, to));
      frames.push(...takeAll(assembler));
    }
    expect(frames).toEqual(EXPECTED_FRAMES);
    expect(assembler.bufferedBytes).toBe(0);
  });

  it('stages bytes that come before the frame size is known, then cuts them', () => {
    const assembler = new FrameAssembler();
    assembler.write(STREAM.subarray(0, 8));
    assembler.write(STREAM.subarray(8, 15));
    expect(assembler.take()).toBeUndefined();
    expect(assembler.bufferedBytes).toBe(15);
    assembler.setFrameSize(6);
    assembler.write(STREAM.subarray(15, 30));
    expect(takeAll(assembler)).toEqual(EXPECTED_FRAMES);
  });

  it('copies what it is given: the writer may reuse its buffer at once, staged or not', () => {
    const assembler = new FrameAssembler();
    const reused = new Uint8Array(4);
    reused.set([1, 2, 3, 4]);
    assembler.write(reused);
    reused.set([5, 6, 7, 8]);
    assembler.setFrameSize(4);
    assembler.write(reused);
    reused.fill(0);
    expect(takeAll(assembler)).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });

  it('counts whole frames waiting and the partial one in bufferedBytes, the partial alone in partialBytes', () => {
    const assembler = new FrameAssembler();
    assembler.setFrameSize(6);
    assembler.write(STREAM.subarray(0, 14));
    expect(assembler.bufferedBytes).toBe(14);
    expect(assembler.partialBytes).toBe(2);
    assembler.take();
    expect(assembler.bufferedBytes).toBe(8);
  });

  it('refills recycled frame buffers instead of allocating, and only ones of the right size', () => {
    const assembler = new FrameAssembler();
    assembler.setFrameSize(6);
    assembler.write(STREAM.subarray(0, 6));
    const first = assembler.take()!;
    assembler.recycle(first);
    assembler.recycle(new Uint8Array(5));
    assembler.write(STREAM.subarray(6, 18));
    const second = assembler.take()!;
    const third = assembler.take()!;
    expect(second).toBe(first);
    expect([...second]).toEqual(EXPECTED_FRAMES[1]);
    expect(third).not.toBe(first);
    expect(third.length).toBe(6);
  });

  it('refuses a frame size that changes or is not a positive integer', () => {
    const assembler = new FrameAssembler();
    expect(() => assembler.setFrameSize(0)).toThrow(/positive integer: 0/);
    assembler.setFrameSize(6);
    assembler.setFrameSize(6);
    expect(() => assembler.setFrameSize(8)).toThrow(/changed from 6 to 8/);
  });
});

describe('parseFramecrcLine', () => {
  it('reads the integer pts of a packet line (2018 and current ffmpeg write the same)', () => {
    expect(parseFramecrcLine('0,        512,       1024,        0,        4, 0x066602a1')).toEqual({
      kind: 'frame',
      pts: 1024,
    });
    expect(parseFramecrcLine('0,         -2,         -2,     1024,        4, 0x06d302c4')).toEqual({
      kind: 'frame',
      pts: -2,
    });
  });

  it('reads the time base header', () => {
    expect(parseFramecrcLine('#tb 0: 1/15360')).toEqual({ kind: 'timebase', num: 1, den: 15360 });
  });

  it('ignores the other headers, other streams and a zero time base', () => {
    for (const line of [
      '#software: Lavf58.24.100',
      '#dimensions 0: 2x2',
      '#tb 0: 1/0',
      '1, 0, 0, 0, 4, 0x0',
      '',
    ]) {
      expect(parseFramecrcLine(line)).toBeUndefined();
    }
  });
});

describe('parseRawvideoOutputSize', () => {
  it('reads the output frame size from 2018 and current ffmpeg stream lines', () => {
    expect(
      parseRawvideoOutputSize(
        '    Stream #0:0: Video: rawvideo (Y800 / 0x30303859), gray, 320x180, q=2-31, 6912 kb/s, 15 fps, 15 tbn, 15 tbc (default)',
      ),
    ).toEqual({ width: 320, height: 180 });
    expect(
      parseRawvideoOutputSize(
        '  Stream #0:0: Video: rawvideo (Y800 / 0x30303859), gray(pc, progressive), 320x240 [SAR 1:1 DAR 4:3], q=2-31',
      ),
    ).toEqual({ width: 320, height: 240 });
  });

  it('ignores input streams and other lines', () => {
    expect(
      parseRawvideoOutputSize(
        '    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 640x360, 211 kb/s',
      ),
    ).toBeUndefined();
    expect(parseRawvideoOutputSize('Output #0, rawvideo, to pipe:1:')).toBeUndefined();
    // The pts output's 2×2 stream, which is the second output's.
    expect(
      parseRawvideoOutputSize(
        '  Stream #1:0: Video: rawvideo (Y800 / 0x30303859), gray(pc, progressive), 2x2, q=2-31',
      ),
    ).toBeUndefined();
  });
});

describe('roundMs', () => {
  it('keeps microsecond resolution without float noise', () => {
    expect(roundMs(1000 / 15)).toBe(66.667);
    expect(roundMs((1024 * 1000) / 15360)).toBe(66.667);
    expect(roundMs(20_000)).toBe(20_000);
  });
});
