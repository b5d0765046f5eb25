/** ffmpeg helpers only the fixture generator, benchmarks and tests use: an encoder for rendered frames, a null decode. */
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { DETERMINISTIC_H264 } from '../../src/video/ffmpeg/args.js';
import { assertReadableVideoFile, VideoError } from '../../src/video/ffmpeg/errors.js';
import { command, FfmpegRun, runToEnd } from '../../src/video/ffmpeg/process.js';

export interface RawVideoEncoderOptions {
  output: string;
  width: number;
  height: number;
  fps: number;
  pixelFormat?: 'rgb24' | 'gray';
  crf?: number;
  preset?: string;
  /** Keyframe interval in frames (fixed, no scene-cut keyframes). */
  gop?: number;
  /** x264 threads; default 2 (DETERMINISTIC_H264), which makes the output the same on every machine. 0 = one per core. */
  threads?: number;
  timeoutMs?: number;
}

export interface RawVideoEncoder {
  /** Queues one frame of width*height*(3|1) bytes; resolves when ffmpeg can take more. */
  write(frame: Uint8Array): Promise<void>;
  /** Ends the input and waits until the MP4 is complete. */
  finish(): Promise<{ bytes: number; frames: number }>;
}

/** Pipes raw frames rendered in TypeScript into an H.264 MP4 (used by the fixture generator and benchmarks). */
export function openRawVideoEncoder(options: RawVideoEncoderOptions): RawVideoEncoder {
  const pixelFormat = options.pixelFormat ?? 'rgb24';
  const frameBytes = options.width * options.height * (pixelFormat === 'rgb24' ? 3 : 1);
  const source = new PassThrough({ highWaterMark: frameBytes * 2 });
  const gop = options.gop ?? Math.round(options.fps * 2);
  const cmd = command(source)
    .inputOptions([
      '-f',
      'rawvideo',
      '-pix_fmt',
      pixelFormat,
      '-s',
      `${options.width}x${options.height}`,
      '-framerate',
      String(options.fps),
    ])
    .outputOptions([
      '-c:v',
      'libx264',
      '-preset',
      options.preset ?? 'medium',
      '-crf',
      String(options.crf ?? 23),
      '-g',
      String(gop),
      '-keyint_min',
      String(gop),
      '-sc_threshold',
      '0',
      '-pix_fmt',
      'yuv420p',
      ...DETERMINISTIC_H264,
      ...(options.threads === undefined ? [] : ['-threads', String(options.threads)]),
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
    ])
    .output(options.output);
  const run = new FfmpegRun(cmd, `cannot encode ${options.output}`, { stdinIsInput: true });
  cmd.run();
  let frames = 0;
  return {
    async write(frame) {
      if (frame.length !== frameBytes) {
        throw new VideoError(`raw frame must be ${frameBytes} bytes, got ${frame.length}`);
      }
      if (run.exited)
        throw run.failure ?? new VideoError(`cannot encode ${options.output}: ffmpeg has exited`);
      frames++;
      // Copy: the caller may reuse its buffer while this one still waits in the pipe.
      if (!source.write(Buffer.from(frame))) {
        await Promise.race([once(source, 'drain'), run.done]);
        if (run.failure) throw run.failure;
      }
    },
    async finish() {
      source.end();
      const timer = setTimeout(() => void run.stop(), options.timeoutMs ?? 300_000);
      await run.done;
      clearTimeout(timer);
      if (run.failure) throw run.failure;
      const { size } = await stat(options.output);
      return { bytes: size, frames };
    },
  };
}

/**
 * The decode-only baseline for benchmarks: the same decode, scale and gray conversion as decodeGrayFrames,
 * into ffmpeg's null sink (no pipe, no Node). Resolves when ffmpeg is done.
 */
export async function decodeToNullSink(file: string, options: { width?: number; timeoutMs?: number } = {}) {
  await assertReadableVideoFile(file, 'decode');
  const width = options.width ?? 320;
  // Spawned as decodeGrayFrames spawns a file it analyses once (not detached), so both sides pay the same spawn.
  const cmd = command(file, { ownProcessGroup: false })
    .outputOptions([
      '-map',
      '0:v:0',
      '-an',
      '-vf',
      `scale=${width}:-2:flags=area,format=gray`,
      '-vsync',
      'passthrough',
      '-f',
      'null',
    ])
    .output('-');
  await runToEnd(cmd, `cannot decode ${file}`, file, options.timeoutMs ?? 600_000);
}
