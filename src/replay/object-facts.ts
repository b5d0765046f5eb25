import sharp from 'sharp';
import { decodeRawYuv420, probe } from '../video/ffmpeg.js';
import { lumaFromRgb } from './fidelity.js';
import { areaDownscaler } from './luma-frames.js';

export interface ComparisonSize {
  width: number;
  height: number;
}

/**
 * A stored clip's frames as full-range luma at the comparison size, with its own size. Decoding is bit-exact;
 * what x264 encoded is not (docs/replay.md), so the tape checks these against the source frames.
 */
export async function clipLuma(
  path: string,
  size: ComparisonSize,
): Promise<{ width: number; height: number; frames: Uint8Array[] }> {
  const info = await probe(path);
  const downscale = areaDownscaler(info.width, info.height, size.width, size.height);
  const frames: Uint8Array[] = [];
  await decodeRawYuv420(path, (frame) => frames.push(downscale(frame)));
  return { width: info.width, height: info.height, frames };
}

/** A JPEG's size and its full-range luma at the comparison size. */
export async function jpegLuma(
  data: Buffer,
  size: ComparisonSize,
): Promise<{ width: number; height: number; luma: Uint8Array }> {
  const { data: rgb, info } = await sharp(data)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const luma = lumaFromRgb(rgb, info.width, info.height, info.channels);
  const downscale = areaDownscaler(info.width, info.height, size.width, size.height, 'full');
  return { width: info.width, height: info.height, luma: downscale(luma) };
}
