/**
 * `doorbell motion`'s pipeline: a video file's frames (video/) through the pure detector (motion/) into events,
 * with heat-map PNGs of the interesting frames written on request. The file and image I/O lives here so that
 * motion/ stays pure.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { analyzeFrames } from '../motion/analyze-frames.js';
import type { MotionDetector, MotionEvent } from '../motion/detector.js';
import { renderHeatmap } from '../motion/heatmap.js';
import { type MotionSettings, type MotionSettingsInput, MotionSettingsSchema } from '../motion/settings.js';
import { type FrameSource, videoFileSource } from '../video/frame-source.js';
import type { GrayFrame } from '../video/frames.js';

export interface AnalyzeOptions {
  /** Loop the file as a live feed (ends only when `signal` aborts). */
  loop?: boolean;
  signal?: AbortSignal;
  /**
   * Called after each frame has been analysed, before its events are yielded. Awaited (backpressure). When the
   * frames are decoded here, their buffers are recycled: copy `frame.data` to keep it past the next frame.
   */
  onFrame?: (
    frame: GrayFrame,
    detector: MotionDetector,
    events: readonly MotionEvent[],
  ) => void | Promise<void>;
  /** Where the frames come from instead of decoding `file` (a shared decode, a paced feed). */
  source?: FrameSource;
  /** Write a heat-map PNG of every frame with (weak) motion, a lightswitch or an event into this directory. */
  debugDir?: string | undefined;
  /** At most this many heat maps (default 2000). */
  debugMaxFrames?: number;
}

/**
 * Motion events of a video, analysed as fast as frames come (no pacing). At the end of the file an open event is
 * closed (`end` at the first still frame, or just after the last frame).
 */
export async function* analyzeVideo(
  file: string,
  settings: MotionSettings | MotionSettingsInput = {},
  options: AnalyzeOptions = {},
): AsyncGenerator<MotionEvent, void, undefined> {
  const parsed = MotionSettingsSchema.parse(settings);
  const source =
    options.source ?? videoFileSource(file, { loop: options.loop === true, recycleBuffers: true });
  const frames = source.frames({ width: parsed.analysisWidth, signal: options.signal });
  const debug = options.debugDir
    ? new HeatmapWriter(options.debugDir, options.debugMaxFrames ?? 2000)
    : undefined;
  const { onFrame } = options;
  yield* analyzeFrames(frames, parsed, {
    signal: options.signal,
    onFrame: debug
      ? async (frame, detector, events) => {
          await debug.maybeWrite(frame, detector, events);
          if (onFrame) await onFrame(frame, detector, events);
        }
      : onFrame,
  });
}
class HeatmapWriter {
  written = 0;
  private ready: Promise<unknown> | undefined;

  constructor(
    readonly dir: string,
    readonly maxFrames: number,
  ) {}

  async maybeWrite(
    frame: GrayFrame,
    detector: MotionDetector,
    events: readonly MotionEvent[],
  ): Promise<void> {
    const analysis = detector.last;
    if (this.written >= this.maxFrames) return;
    if (!analysis.weakMotion && !analysis.lightswitch && events.length === 0) return;
    this.ready ??= mkdir(this.dir, { recursive: true });
    await this.ready;
    const image = renderHeatmap(frame, analysis);
    const tag = events.map((e) => `-${e.type}`).join('');
    const name = `frame-${String(frame.index).padStart(6, '0')}-${Math.round(frame.ptsMs)}ms${tag}.png`;
    await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .png({ compressionLevel: 3 })
      .toFile(join(this.dir, name));
    this.written++;
  }
}
