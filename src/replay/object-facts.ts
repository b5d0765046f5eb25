import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { decodeRawYuv420Chunks } from '../video/ffmpeg.js';

/**
 * What the tape says about a stored clip: frame count, size, and the sha256 of its decoded frames (yuv420p).
 * Measured: the MP4 bytes differ between ffmpeg builds (x264 writes its version into the stream), the decoded
 * frames do not (same x264 decisions, and H.264 decoding is bit-exact).
 */
export async function videoFacts(
  path: string,
): Promise<{ frames: number; width: number; height: number; decodedSha256: string }> {
  const hash = createHash('sha256');
  const info = await decodeRawYuv420Chunks(path, (chunk) => hash.update(chunk));
  return { frames: info.frames, width: info.width, height: info.height, decodedSha256: hash.digest('hex') };
}

/** Size and the sha256 of the decoded pixels of a JPEG (ffmpeg builds write different headers, same pixels). */
export async function jpegFacts(
  data: Buffer,
): Promise<{ width: number; height: number; pixelsSha256: string }> {
  const { data: pixels, info } = await sharp(data).raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    pixelsSha256: createHash('sha256').update(pixels).digest('hex'),
  };
}
