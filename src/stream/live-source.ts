/**
 * The camera's live picture as ffmpeg inputs and a filter graph: the sample video from a feed position, looped,
 * framed at a stream's size, privacy zones burned in, at the stream's frame rate, optionally paced in real time.
 * Shared by the live encoder and the one-shot snapshot so both show the same picture.
 */
import type { Writable } from 'node:stream';
import type ffmpeg from 'fluent-ffmpeg';
import type { NormalizedPolygon } from '../geometry/polygon.js';
import { seconds } from '../video/ffmpeg/args.js';
import { VideoError } from '../video/ffmpeg/errors.js';
import { drawablePolygons, type MaskFile, writeMaskFile } from '../video/ffmpeg/mask.js';
import { cameraFramingFilter, evenPictureSize, type PictureSize } from '../video/ffmpeg/picture.js';
import { command, FfmpegRun, runToStdout } from '../video/ffmpeg/process.js';
import type { StreamName } from './live-video.js';

/** One stream's live picture, as its encoders (H.264 and JPEG) start it. */
export interface LivePicture {
  name: StreamName;
  size: PictureSize;
  fps: number;
  /** The sample video the camera feed loops, and its duration. */
  source: string;
  loopDurationMs: number;
  /** The sample video's own size (privacy zones are blended at no more than it). */
  sourceSize?: PictureSize | undefined;
  /** The camera feed's time now (CameraFeed.feedNow): the stream starts where the feed is. */
  feedNow(): number;
  /** The privacy zones in force now (burned in). */
  privacyZones(): readonly NormalizedPolygon[];
}

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
  /** The sample video's own size: privacy zones are burned in at no more than it (see maskSize). */
  sourceSize?: PictureSize | undefined;
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
 * Where the mask is blended: at the stream's size, or, when that is larger than the source, at the stream's aspect
 * and the source's width, scaled up afterwards with the picture. Blending is the costly part (measured on this
 * machine, wired-1080p: 3.1 CPU s per 10 s of stream unmasked, 8.3 with the mask blended at 1920×1080), and an
 * upscaled source has no more detail to hide at 1080p than at its own size.
 */
export function maskSize(size: PictureSize, sourceSize: PictureSize | undefined): PictureSize {
  if (!sourceSize || size.width <= sourceSize.width) return evenPictureSize(size);
  return evenPictureSize({
    width: sourceSize.width,
    height: Math.round((sourceSize.width * size.height) / size.width),
  });
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
  /** The mask input's size, or undefined: no mask. */
  maskSize: PictureSize | undefined;
  realTime: boolean;
}): string {
  const { size, maskSize: masked } = options;
  const loop = '[0:v:0][1:v:0]concat=n=2:v=1:a=0';
  const tail = [`fps=${options.fps}`, 'format=yuv420p', ...(options.realTime ? ['realtime'] : [])].join(',');
  if (!masked) return `${loop},${cameraFramingFilter(size)},${tail}[v]`;
  const upscale =
    masked.width === size.width && masked.height === size.height
      ? ''
      : `scale=${size.width}:${size.height},setsar=1,`;
  // Blended before fps: a 30 fps stream of a 15 fps source blends each source picture once.
  return `${loop},${cameraFramingFilter(masked)}[framed];[framed][2:v]overlay=0:0:format=auto,${upscale}${tail}[v]`;
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
  const blendSize = maskSize(size, options.sourceSize);
  const mask = zones.length > 0 ? await writeMaskFile(blendSize.width, blendSize.height, zones) : undefined;
  if (mask) cmd.input(mask.file);
  const graph = liveSourceGraph({
    size,
    fps: options.fps,
    maskSize: mask ? blendSize : undefined,
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

/** The command for a stream's live picture from `feedMs`, paced in real time; add the encoder's output options. */
export function livePictureCommand(picture: LivePicture, feedMs: number): Promise<LiveSourceCommand> {
  return liveSourceCommand({
    source: picture.source,
    loopDurationMs: picture.loopDurationMs,
    feedMs,
    size: picture.size,
    fps: picture.fps,
    privacyZones: picture.privacyZones(),
    sourceSize: picture.sourceSize,
    realTime: true,
  });
}

/**
 * Runs a live picture command (its output options set) into `sink` until ffmpeg ends or is stopped, then lets go
 * of its mask. `started` hands over the process and says whether the run is still wanted (else it is stopped at
 * once). Resolves with why it ended: undefined when it was stopped.
 */
export async function runLiveCommand(
  { cmd, mask }: LiveSourceCommand,
  sink: Writable,
  what: string,
  source: string,
  started: (ffmpeg: FfmpegRun) => boolean,
): Promise<Error | undefined> {
  const ffmpeg = new FfmpegRun(cmd, what, { inputFile: source });
  cmd.pipe(sink, { end: true });
  if (!started(ffmpeg)) void ffmpeg.stop();
  await ffmpeg.done;
  await mask?.dispose();
  return ffmpeg.failure ?? (ffmpeg.stopRequested ? undefined : new Error('ffmpeg ended'));
}
