import sharp from 'sharp';
import { probe } from '../video/ffmpeg/probe.js';
import { decodeScaledGray } from '../video/ffmpeg/raw-decode.js';
import { areaDownscaler } from '../video/luma-frames.js';
import { lumaFromRgb } from './fidelity.js';

export interface ComparisonSize {
  width: number;
  height: number;
}

/**
 * A stored clip's frames as full-range luma at the comparison size, with its own size and frame rate. ffmpeg scales them (a step of
 * difference between machines is far inside the fidelity thresholds), which keeps a replay's main thread free.
 */
export async function clipLuma(
  path: string,
  size: ComparisonSize,
): Promise<{ width: number; height: number; fps: number; frames: Uint8Array[] }> {
  const frames: Uint8Array[] = [];
  const [info] = await Promise.all([
    probe(path),
    decodeScaledGray(path, size, (frame) => frames.push(frame)),
  ]);
  return { width: info.width, height: info.height, fps: info.fps, frames };
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
