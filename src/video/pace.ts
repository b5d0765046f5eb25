import type { Clock } from '../clock/clock.js';

export interface PaceOptions {
  /** 1 = real time (default); 2 = twice as fast. */
  speed?: number;
  /** When the consumer falls this far behind, pacing restarts from now instead of rushing to catch up. */
  maxLagMs?: number;
  signal?: AbortSignal;
}

/**
 * Releases frames no faster than their presentation times on `clock` — a file played as a live camera feed.
 * While it waits, the decoder upstream is paused by backpressure.
 */
export async function* paceFrames<T extends { ptsMs: number }>(
  frames: AsyncIterable<T>,
  clock: Clock,
  options: PaceOptions = {},
): AsyncGenerator<T, void, undefined> {
  const speed = options.speed ?? 1;
  if (!(speed > 0)) throw new Error(`pace speed must be > 0, got ${speed}`);
  const maxLagMs = options.maxLagMs ?? 1_000;
  let anchorWall = Number.NaN;
  let anchorPts = 0;
  for await (const frame of frames) {
    if (options.signal?.aborted) return;
    if (Number.isNaN(anchorWall)) {
      anchorWall = clock.now();
      anchorPts = frame.ptsMs;
    }
    const due = anchorWall + (frame.ptsMs - anchorPts) / speed;
    const now = clock.now();
    if (now - due > maxLagMs) {
      anchorWall = now;
      anchorPts = frame.ptsMs;
    } else if (due > now) {
      await sleep(clock, due - now, options.signal);
      if (options.signal?.aborted) return;
    }
    yield frame;
  }
}

function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const onAbort = (): void => {
      clock.clearTimer(timer);
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
