import { describe, expect, it } from 'vitest';
import { feedFrameCount, frameAtMs, runsInWindow } from '../../src/video/frame-runs.js';

// 10 fps: frame k is shown at 100·k ms. Feed frames 0-2 = a[5..8), 3-6 = b[0..4), 7-8 = a[0..2).
const feed = {
  fps: 10,
  runs: [
    { path: 'a', startFrame: 5, endFrame: 8 },
    { path: 'b', startFrame: 0, endFrame: 4 },
    { path: 'a', startFrame: 0, endFrame: 2 },
  ],
};

describe('runsInWindow', () => {
  it('maps a window across run boundaries to runs of the source files', () => {
    expect(runsInWindow(feed, 200, 800)).toEqual([
      { path: 'a', startFrame: 7, endFrame: 8 },
      { path: 'b', startFrame: 0, endFrame: 4 },
      { path: 'a', startFrame: 0, endFrame: 1 },
    ]);
  });

  it('keeps a frame exactly on the start, drops one exactly on the end, and tolerates float noise', () => {
    expect(runsInWindow(feed, 300, 500)).toEqual([{ path: 'b', startFrame: 0, endFrame: 2 }]);
    expect(runsInWindow(feed, 300.0000001, 499.9999999)).toEqual([{ path: 'b', startFrame: 0, endFrame: 2 }]);
    expect(runsInWindow(feed, 301, 501)).toEqual([{ path: 'b', startFrame: 1, endFrame: 3 }]);
  });

  it('clamps to the feed and is empty outside it', () => {
    expect(feedFrameCount(feed)).toBe(9);
    expect(runsInWindow(feed, -1000, 150)).toEqual([{ path: 'a', startFrame: 5, endFrame: 7 }]);
    expect(runsInWindow(feed, 750, 5000)).toEqual([{ path: 'a', startFrame: 1, endFrame: 2 }]);
    expect(runsInWindow(feed, 850, 5000)).toEqual([]);
    expect(runsInWindow(feed, 400, 400)).toEqual([]);
  });
});

describe('frameAtMs', () => {
  it('names the frame nearest to a time (earlier on a tie), so truncated times still find their frame', () => {
    expect(frameAtMs(feed, 300)).toEqual({ path: 'b', index: 0 });
    expect(frameAtMs(feed, 299)).toEqual({ path: 'b', index: 0 });
    expect(frameAtMs(feed, 349)).toEqual({ path: 'b', index: 0 });
    expect(frameAtMs(feed, 350)).toEqual({ path: 'b', index: 0 });
    expect(frameAtMs(feed, 351)).toEqual({ path: 'b', index: 1 });
  });

  it('clamps to the first and last frame', () => {
    expect(frameAtMs(feed, -500)).toEqual({ path: 'a', index: 5 });
    expect(frameAtMs(feed, 99_999)).toEqual({ path: 'a', index: 1 });
    expect(() => frameAtMs({ fps: 10, runs: [] }, 0)).toThrow(/no frames/);
  });
});
