import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { paceFrames } from '../../src/video/pace.js';

async function* frames(pts: number[]) {
  for (const ptsMs of pts) yield { ptsMs };
}

/** Runs the paced iteration while moving the virtual clock from timer to timer. */
async function drive(clock: VirtualClock, iterate: () => Promise<void>): Promise<void> {
  let done = false;
  const running = iterate().finally(() => {
    done = true;
  });
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!done) clock.runNext();
  }
  await running;
}

describe('paceFrames', () => {
  it('releases frames at their presentation times', async () => {
    const clock = new VirtualClock(0);
    const seen: Array<[number, number]> = [];
    await drive(clock, async () => {
      for await (const f of paceFrames(frames([5000, 5100, 5200, 5400]), clock))
        seen.push([f.ptsMs, clock.now()]);
    });
    expect(seen).toEqual([
      [5000, 0],
      [5100, 100],
      [5200, 200],
      [5400, 400],
    ]);
  });

  it('runs faster with speed > 1', async () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    await drive(clock, async () => {
      for await (const _f of paceFrames(frames([0, 100, 200]), clock, { speed: 4 })) seen.push(clock.now());
    });
    expect(seen).toEqual([0, 25, 50]);
  });

  it('restarts pacing instead of rushing when the consumer fell far behind', async () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    await drive(clock, async () => {
      for await (const f of paceFrames(frames([0, 100, 200, 300]), clock, { maxLagMs: 1000 })) {
        seen.push(clock.now());
        if (f.ptsMs === 100) clock.advance(5000);
      }
    });
    // Frame 200 was due at 200 but came at 5100: it goes at once and the next one 100 ms later.
    expect(seen).toEqual([0, 100, 5100, 5200]);
  });

  it('stops waiting when aborted', async () => {
    const clock = new VirtualClock(0);
    const controller = new AbortController();
    const seen: number[] = [];
    const iteration = (async () => {
      for await (const f of paceFrames(frames([0, 60_000]), clock, { signal: controller.signal }))
        seen.push(f.ptsMs);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await iteration;
    expect(seen).toEqual([0]);
  });
});
