/** Stills: the frame shown at a time (or frame index) of a file, as raw RGB or JPEG, privacy masks burned in. */
import type { NormalizedPolygon } from '../../geometry/polygon.js';
import { seconds } from './args.js';
import { VideoError } from './errors.js';
import { drawablePolygons, type MaskFile, writeMaskFile } from './mask.js';
import { cameraFramingFilter, evenPictureSize, type PictureSize } from './picture.js';
import { frameSeekMs, probe } from './probe.js';
import { command, runToStdout } from './process.js';

export type GrabFrameOptions = GrabFrameCommon &
  (
    | { atMs: number }
    /** The file's frame `index`, frames counted at `fps` (as frame runs count them). */
    | { atFrame: { index: number; fps: number } }
  );

interface GrabFrameCommon {
  input: string;
  /** 'rgb' (default): raw rgb24 bytes; 'jpeg': a JPEG file's bytes. */
  format?: 'rgb' | 'jpeg';
  /** The camera's picture size: the frame framed as the camera's encoder frames it (cover, centre crop). */
  picture?: PictureSize;
  /** Without `picture`: scale to this width (even), keeping the aspect ratio; default: source size. */
  width?: number;
  loopDurationMs?: number;
  blackout?: readonly NormalizedPolygon[];
  timeoutMs?: number;
}

export interface GrabbedFrame {
  format: 'rgb' | 'jpeg';
  width: number;
  height: number;
  data: Buffer;
}

/** The frame shown at `atMs` (the last frame whose pts ≤ atMs), as raw RGB or JPEG. */
export async function grabFrame(options: GrabFrameOptions): Promise<GrabbedFrame> {
  const { input } = options;
  const format = options.format ?? 'rgb';
  const info = await probe(input);
  let atMs =
    'atFrame' in options ? frameSeekMs(info, options.atFrame.index, options.atFrame.fps) : options.atMs;
  const where = 'atFrame' in options ? `frame ${options.atFrame.index}` : `${options.atMs} ms`;
  if (options.loopDurationMs)
    atMs = ((atMs % options.loopDurationMs) + options.loopDurationMs) % options.loopDurationMs;
  const { width, height, filter } = outputPicture(options, info);
  const blackout = drawablePolygons(options.blackout);
  let mask: MaskFile | undefined;
  try {
    // Seek to the frame at or before atMs: go half a frame back so float rounding never picks the next one.
    const frameMs = info.fps > 0 ? 1000 / info.fps : 0;
    const cmd = command(input).inputOptions(['-ss', seconds(Math.max(0, atMs - frameMs / 2))]);
    if (blackout.length > 0) {
      // Drawn at the output size, after framing: the zones sit where the owner drew them on the camera's picture.
      mask = await writeMaskFile(width, height, blackout);
      cmd.input(mask.file);
      cmd.outputOptions(['-filter_complex', `[0:v:0]${filter}[s];[s][1:v]overlay=0:0[v]`, '-map', '[v]']);
    } else {
      cmd.outputOptions(['-map', '0:v:0', '-vf', filter]);
    }
    cmd.outputOptions([
      '-frames:v',
      '1',
      '-an',
      ...(format === 'jpeg'
        ? ['-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p']
        : ['-f', 'rawvideo', '-pix_fmt', 'rgb24']),
    ]);
    const chunks: Buffer[] = [];
    const timeoutMs = options.timeoutMs ?? 30_000;
    const what = `cannot grab a frame at ${where} from ${input}`;
    const run = await runToStdout(cmd, what, input, (chunk) => chunks.push(chunk), timeoutMs);
    if (run.stopRequested)
      throw new VideoError(`cannot grab a frame from ${input}: timed out after ${timeoutMs} ms`);
    const data = Buffer.concat(chunks);
    const expected = width * height * 3;
    if (data.length === 0 || (format === 'rgb' && data.length !== expected)) {
      throw new VideoError(`cannot grab a frame at ${where} from ${input}: no frame there`);
    }
    return { format, width, height, data };
  } finally {
    await mask?.dispose();
  }
}

/** The still's size and the filter that makes it: the camera's framing, a width kept in proportion, or the source. */
function outputPicture(
  options: Pick<GrabFrameCommon, 'picture' | 'width'>,
  info: PictureSize,
): PictureSize & { filter: string } {
  if (options.picture)
    return { ...evenPictureSize(options.picture), filter: cameraFramingFilter(options.picture) };
  const width = options.width ?? info.width;
  const height = options.width
    ? Math.max(2, Math.round((width * info.height) / info.width / 2) * 2)
    : info.height;
  return { width, height, filter: `scale=${width}:${height}` };
}
