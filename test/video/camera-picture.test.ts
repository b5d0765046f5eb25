import { describe, expect, it } from 'vitest';
import {
  cameraPicture,
  retimedFrameCount,
  retimedSourceFrame,
  retimeFilter,
} from '../../src/video/camera-picture.js';

describe('cameraPicture', () => {
  it("is the profile's resolution (even) and frame rate", () => {
    expect(cameraPicture({ resolution: { width: 1920, height: 1080 }, fps: 30 })).toEqual({
      width: 1920,
      height: 1080,
      fps: 30,
    });
    expect(cameraPicture({ resolution: { width: 1281, height: 721 }, fps: 15 })).toEqual({
      width: 1280,
      height: 720,
      fps: 15,
    });
  });
});

describe('re-timing a source to the camera rate (sample and hold)', () => {
  it('shows each frame twice at double the rate and every other frame at half', () => {
    expect([0, 1, 2, 3, 4, 5].map((m) => retimedSourceFrame(m, 15, 30))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(retimedFrameCount(15, 15, 30)).toBe(30);
    expect([0, 1, 2, 3].map((m) => retimedSourceFrame(m, 30, 15))).toEqual([0, 2, 4, 6]);
    expect(retimedFrameCount(15, 30, 15)).toBe(8);
  });

  it('repeats one frame in three from 15 to 20 fps and covers the source time exactly', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((m) => retimedSourceFrame(m, 15, 20))).toEqual([
      0, 0, 1, 2, 3, 3, 4, 5,
    ]);
    // 17 frames last 1133 ms: 23 frames at 20 fps start before that (the 23rd at 1100 ms).
    expect(retimedFrameCount(17, 15, 20)).toBe(23);
    expect(retimedFrameCount(0, 15, 20)).toBe(0);
  });

  it('is unchanged at the same rate, float rates included', () => {
    const ntsc = 30000 / 1001;
    expect(retimedFrameCount(300, ntsc, ntsc)).toBe(300);
    expect(Array.from({ length: 300 }, (_, m) => retimedSourceFrame(m, ntsc, ntsc))).toEqual(
      Array.from({ length: 300 }, (_, m) => m),
    );
  });

  it("is ffmpeg's fps filter rounding up", () => {
    expect(retimeFilter(30)).toBe('fps=fps=30:round=up');
  });
});
