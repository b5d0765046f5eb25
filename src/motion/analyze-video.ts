/**
 * The adapter between a video file and the pure detector: decode (video/ffmpeg) → MotionDetector → events.
 * Shared by `doorbell motion`, the agent's camera feed and the benchmark. The detector itself stays pure.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeGrayFrames, type GrayFrame } from '../video/ffmpeg.js';
import { MotionDetector, type MotionEvent } from './detector.js';
import { renderHeatmap } from './heatmap.js';
import { type MotionSettings, type MotionSettingsInput, MotionSettingsSchema } from './settings.js';

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
  /** Frames to analyse instead of decoding `file` (a shared decode, a paced feed). */
  frames?: AsyncIterable<GrayFrame>;
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
  const frames =
    options.frames ??
    decodeGrayFrames(file, {
      width: parsed.analysisWidth,
      loop: options.loop ?? false,
      ...(options.signal && { signal: options.signal }),
      recycleBuffers: true,
    });
  const debug = options.debugDir
    ? new HeatmapWriter(options.debugDir, options.debugMaxFrames ?? 2000)
    : undefined;
  let detector: MotionDetector | undefined;
  for await (const frame of frames) {
    detector ??= new MotionDetector(parsed, { width: frame.width, height: frame.height });
    const events = detector.push(frame);
    if (debug) await debug.maybeWrite(frame, detector, events);
    if (options.onFrame) await options.onFrame(frame, detector, events);
    for (const event of events) yield event;
  }
  if (detector && !options.signal?.aborted) for (const event of detector.finish()) yield event;
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
