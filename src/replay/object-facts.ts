import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { probe, VideoError } from '../video/ffmpeg.js';
import { locateFfmpeg } from '../video/locate.js';

/**
 * What the tape says about a stored clip: frame count, size, and the sha256 of its decoded frames (yuv420p).
 * Measured: the MP4 bytes differ between ffmpeg builds (x264 writes its version into the stream), the decoded
 * frames do not (same x264 decisions, and H.264 decoding is bit-exact).
 */
export async function videoFacts(
  path: string,
): Promise<{ frames: number; width: number; height: number; decodedSha256: string }> {
  const info = await probe(path);
  const hash = createHash('sha256');
  const frameBytes = (info.width * info.height * 3) / 2;
  let bytes = 0;
  const child = spawn(
    locateFfmpeg().ffmpeg,
    [
      '-v',
      'error',
      '-nostdin',
      '-i',
      path,
      '-map',
      '0:v:0',
      '-vsync',
      'passthrough',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'yuv420p',
      'pipe:1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  child.stdout.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new VideoError(`cannot decode ${path}: ${stderr.join('').trim().split('\n').pop()}`);
  return {
    frames: Math.round(bytes / frameBytes),
    width: info.width,
    height: info.height,
    decodedSha256: hash.digest('hex'),
  };
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

export async function fileSha256(path: string): Promise<{ bytes: number; sha256: string }> {
  const data = await readFile(path);
  return { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}
