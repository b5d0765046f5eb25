import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { decodeGrayFrames } from '../../src/video/ffmpeg/gray-decode.js';
import { cameraSource, lumaFileSource, videoFileSource } from '../../src/video/frame-source.js';
import type { GrayFrame } from '../../src/video/frames.js';
import { lumaFixture } from '../../src/video/luma-frames.js';

const VIDEO = 'fixtures/video/lightswitch.mp4';

async function take(frames: AsyncIterable<GrayFrame>, count: number, copy = false): Promise<GrayFrame[]> {
  const out: GrayFrame[] = [];
  for await (const frame of frames) {
    out.push(copy ? { ...frame, data: frame.data.slice() } : frame);
    if (out.length === count) break;
  }
  return out;
}

describe('FrameSource', () => {
  it('videoFileSource gives the frames decodeGrayFrames gives', async () => {
    const direct = await take(decodeGrayFrames(VIDEO, { width: 160 }), Number.POSITIVE_INFINITY);
    const viaSource = await take(
      videoFileSource(VIDEO, { recycleBuffers: true }).frames({ width: 160 }),
      Number.POSITIVE_INFINITY,
      true,
    );
    expect(viaSource.length).toBe(direct.length);
    expect(viaSource).toEqual(direct);
  });

  it('lumaFileSource plays the fixture loop after loop with increasing times', async () => {
    const luma = await lumaFixture(VIDEO, 160);
    const frames = await take(
      lumaFileSource(VIDEO, { loops: 2 }).frames({ width: 160 }),
      Number.POSITIVE_INFINITY,
    );
    expect(frames.length).toBe(2 * luma.frames.length);
    const n = luma.frames.length;
    expect(frames[n]!.data).toBe(luma.frames[0]);
    expect(frames[n]!.ptsMs).toBe(n * luma.frameMs);
    expect(frames.map((f) => f.index)).toEqual(frames.map((_, i) => i));
  });

  it('lumaFileSource stops when the signal aborts', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    for await (const frame of lumaFileSource(VIDEO, { loops: 1000 }).frames({
      width: 160,
      signal: controller.signal,
    })) {
      seen.push(frame.index);
      if (seen.length === 3) controller.abort();
    }
    expect(seen).toEqual([0, 1, 2]);
  });

  it('cameraSource releases frames at their presentation times on the clock', async () => {
    const clock = new VirtualClock(0);
    const controller = new AbortController();
    const iterator = cameraSource(VIDEO, { clock, speed: 2 })
      .frames({ width: 160, signal: controller.signal })
      [Symbol.asyncIterator]();
    const first = (await iterator.next()).value!;
    expect(clock.now()).toBe(0);
    const second = iterator.next();
    // The next frame waits on the clock until its time has come.
    await vi.waitFor(() => expect(clock.pendingTimers()).toBe(1));
    clock.runNext();
    const next = (await second).value!;
    expect(next.index).toBe(1);
    expect(clock.now()).toBe((next.ptsMs - first.ptsMs) / 2);
    controller.abort();
    await iterator.return?.();
  });
});
