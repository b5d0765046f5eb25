import { type LumaFrame, MotionDetector, type MotionEvent } from './detector.js';
import type { MotionSettings } from './settings.js';

export interface AnalyzeFramesOptions<F extends LumaFrame> {
  /** An aborted analysis ends without closing an open event. */
  signal?: AbortSignal | undefined;
  /** Called after each frame has been analysed, before its events are yielded. Awaited (backpressure). */
  onFrame?:
    | ((frame: F, detector: MotionDetector, events: readonly MotionEvent[]) => void | Promise<void>)
    | undefined;
}

/**
 * Motion events of a sequence of frames, analysed as fast as they come (no pacing). When the frames end, an open
 * event is closed (`end` at the first still frame, or just after the last frame). The detector is sized by the first
 * frame.
 */
export async function* analyzeFrames<F extends LumaFrame>(
  frames: AsyncIterable<F>,
  settings: MotionSettings,
  options: AnalyzeFramesOptions<F> = {},
): AsyncGenerator<MotionEvent, void, undefined> {
  let detector: MotionDetector | undefined;
  for await (const frame of frames) {
    detector ??= new MotionDetector(settings, { width: frame.width, height: frame.height });
    const events = detector.push(frame);
    if (options.onFrame) await options.onFrame(frame, detector, events);
    for (const event of events) yield event;
  }
  if (detector && !options.signal?.aborted) for (const event of detector.finish()) yield event;
}
