/**
 * The camera's live picture as ffmpeg inputs and a filter graph: the sample video from a feed position, looped,
 * framed at a stream's size, privacy zones burned in, at the stream's frame rate, optionally paced in real time.
 * Shared by the live encoder and the one-shot snapshot so both show the same picture.
 */
import type ffmpeg from 'fluent-ffmpeg';
import type { NormalizedPolygon } from '../geometry/polygon.js';
import { seconds } from '../video/ffmpeg/args.js';
import { VideoError } from '../video/ffmpeg/errors.js';
import { drawablePolygons, type MaskFile, writeMaskFile } from '../video/ffmpeg/mask.js';
import { cameraFramingFilter, evenPictureSize, type PictureSize } from '../video/ffmpeg/picture.js';
import { command, runToStdout } from '../video/ffmpeg/process.js';

export interface LiveSourceOptions {
  /** The sample video the camera loops. */
  source: string;
  /** Its duration: one loop of the camera feed. */
  loopDurationMs: number;
  /** Feed time of the first picture (any value: taken modulo the loop). */
  feedMs: number;
  size: PictureSize;
  fps: number;
  privacyZones: readonly NormalizedPolygon[];
  /** Emit pictures at the speed they play (a live stream), not as fast as ffmpeg can (a still). */
  realTime: boolean;
}

export interface LiveSourceCommand {
  cmd: ffmpeg.FfmpegCommand;
  /** The mask file the command reads; dispose once ffmpeg exited. */
  mask: MaskFile | undefined;
}

/** Where a feed time falls in the looped file. */
export function loopPosition(feedMs: number, loopDurationMs: number): number {
  if (!(loopDurationMs > 0)) return 0;
  return ((feedMs % loopDurationMs) + loopDurationMs) % loopDurationMs;
}

/**
 * The filter graph from inputs 0 (the file from the seek position, once), 1 (the file looped for ever) and, with a
 * mask, 2 (the mask PNG) to the label [v]. The two-input concat is the loop: `-ss` with `-stream_loop` restarts
 * every later loop at the seek position too (measured on Debian's ffmpeg 5.1 and the bundled 2018 build).
 * `realtime` paces the output (`-re` would pace each input on its own clock).
 */
export function liveSourceGraph(options: {
  size: PictureSize;
  fps: number;
  masked: boolean;
  realTime: boolean;
}): string {
  const steps = ['[0:v:0][1:v:0]concat=n=2:v=1:a=0', cameraFramingFilter(options.size), `fps=${options.fps}`];
  const tail = ['format=yuv420p', ...(options.realTime ? ['realtime'] : [])].join(',');
  if (!options.masked) return `${steps.join(',')},${tail}[v]`;
  return `${steps.join(',')}[framed];[framed][2:v]overlay=0:0:format=auto,${tail}[v]`;
}

/** The command reading the camera's picture, mapped to its one video output; add the output options. */
export async function liveSourceCommand(options: LiveSourceOptions): Promise<LiveSourceCommand> {
  const size = evenPictureSize(options.size);
  const seekMs = loopPosition(options.feedMs, options.loopDurationMs);
  const cmd = command(options.source)
    .inputOptions(['-ss', seconds(seekMs)])
    .input(options.source)
    .inputOptions(['-hide_banner', '-nostats', '-stream_loop', '-1']);
  const zones = drawablePolygons(options.privacyZones);
  const mask = zones.length > 0 ? await writeMaskFile(size.width, size.height, zones) : undefined;
  if (mask) cmd.input(mask.file);
  const graph = liveSourceGraph({
    size,
    fps: options.fps,
    masked: mask !== undefined,
    realTime: options.realTime,
  });
  cmd.outputOptions(['-filter_complex', graph, '-map', '[v]', '-an', '-sn', '-dn']);
  return { cmd, mask };
}

/** One JPEG of the camera's live picture at `feedMs` (privacy zones burned in), as fast as ffmpeg makes it. */
export async function liveStillJpeg(
  options: Omit<LiveSourceOptions, 'realTime'>,
  timeoutMs = 15_000,
): Promise<Buffer> {
  const { cmd, mask } = await liveSourceCommand({ ...options, realTime: false });
  try {
    cmd.outputOptions([
      '-frames:v',
      '1',
      '-c:v',
      'mjpeg',
      '-q:v',
      '3',
      '-pix_fmt',
      'yuvj420p',
      '-f',
      'image2pipe',
    ]);
    const chunks: Buffer[] = [];
    const what = `cannot take a snapshot from ${options.source}`;
    const run = await runToStdout(cmd, what, options.source, (chunk) => chunks.push(chunk), timeoutMs);
    const jpeg = Buffer.concat(chunks);
    if (run.stopRequested || jpeg.length === 0)
      throw new VideoError(`${what}: no picture within ${timeoutMs} ms`);
    return jpeg;
  } finally {
    await mask?.dispose();
  }
}
