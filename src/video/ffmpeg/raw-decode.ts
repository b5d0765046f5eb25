/** Whole-file decodes to raw bytes off ffmpeg's stdout, for callers that need every frame of a file in memory. */
import { FrameAssembler } from '../frames.js';
import { VideoError } from './errors.js';
import { probe, type VideoInfo } from './probe.js';
import { command, runToStdout } from './process.js';

/**
 * Every coded frame of `file` as raw yuv420p at the source size, in presentation order. No scaling happens in
 * ffmpeg, so the bytes are the same on every ffmpeg build (H.264 decoding is bit-exact). yuv420p, not just the
 * luma plane: ffmpeg converts other sources (10-bit, full range) to it, where a plane copy would pass them through.
 */
export async function decodeRawYuv420(
  file: string,
  onFrame: (frame: Uint8Array) => void,
): Promise<VideoInfo & { frames: number }> {
  const info = await probe(file);
  const frameBytes = rawYuv420FrameBytes(file, info);
  const assembler = new FrameAssembler();
  assembler.setFrameSize(frameBytes);
  const { frames } = await streamRawYuv420(file, info, (chunk) => {
    assembler.write(chunk);
    for (let frame = assembler.take(); frame; frame = assembler.take()) onFrame(frame);
  });
  return { ...info, frames };
}

/**
 * A video's frames as 8-bit full-range gray at width × height, scaled and converted by ffmpeg (area scaling, swscale's
 * range expansion). Cheap for the caller, but swscale has CPU-specific paths, so values may differ by a step between
 * machines: for comparisons with a tolerance (a replay's picture checks), never for analysis frames that must be
 * exact (decodeRawYuv420).
 */
export async function decodeScaledGray(
  file: string,
  size: { width: number; height: number },
  onFrame: (frame: Uint8Array) => void,
): Promise<{ frames: number }> {
  const assembler = new FrameAssembler();
  assembler.setFrameSize(size.width * size.height);
  let frames = 0;
  const scale = `scale=${size.width}:${size.height}:flags=area,format=gray`;
  await streamRawVideo(file, 'gray', scale, (chunk) => {
    assembler.write(chunk);
    for (let frame = assembler.take(); frame; frame = assembler.take()) {
      frames++;
      onFrame(frame);
    }
  });
  return { frames };
}

/** Every frame of the file's first video stream, as raw `pixelFormat` bytes off ffmpeg's stdout. */
async function streamRawVideo(
  file: string,
  pixelFormat: 'yuv420p' | 'gray',
  filter: string | undefined,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  const cmd = command(file).outputOptions([
    '-map',
    '0:v:0',
    '-vsync',
    'passthrough',
    ...(filter ? ['-vf', filter] : []),
    '-f',
    'rawvideo',
    '-pix_fmt',
    pixelFormat,
  ]);
  const timeoutMs = 600_000;
  const run = await runToStdout(cmd, `cannot decode ${file}`, file, onChunk, timeoutMs);
  if (run.stopRequested)
    throw new VideoError(`cannot decode ${file}: ffmpeg did not finish within ${timeoutMs} ms`);
}

function rawYuv420FrameBytes(file: string, info: VideoInfo): number {
  const frameBytes = (info.width * info.height * 3) / 2;
  if (!Number.isInteger(frameBytes)) throw new VideoError(`cannot decode ${file}: odd picture size`);
  return frameBytes;
}

async function streamRawYuv420(
  file: string,
  info: VideoInfo | Promise<VideoInfo>,
  onChunk: (chunk: Buffer) => void,
): Promise<{ frames: number }> {
  let bytes = 0;
  await streamRawVideo(file, 'yuv420p', undefined, (chunk) => {
    bytes += chunk.length;
    onChunk(chunk);
  });
  const frameBytes = rawYuv420FrameBytes(file, await info);
  if (bytes === 0 || bytes % frameBytes !== 0) throw new VideoError(`cannot decode ${file}: no whole frames`);
  return { frames: bytes / frameBytes };
}
