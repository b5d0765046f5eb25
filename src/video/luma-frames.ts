/**
 * Analysis frames of a fixture that are the same on every ffmpeg build.
 *
 * Measured (docs/replay.md): H.264 decoding is bit-exact across ffmpeg builds (the bundled 2018 build and Debian's
 * 5.1 give identical yuv420p frames), but swscale's gray conversion and area scaling are not a promise across
 * versions. So ffmpeg only decodes here (raw yuv420p at the source size, no scaling), and the luma plane is turned
 * into analysis frames in TypeScript: limited → full range like swscale's yuv420p→gray (round((Y−16)·255/219),
 * clamped), then an area (box) downscale to the analysis width.
 */
import { VideoError } from './ffmpeg/errors.js';
import { probe } from './ffmpeg/probe.js';
import { decodeRawYuv420 } from './ffmpeg/raw-decode.js';

export interface LumaFixture {
  path: string;
  /** Analysis size. */
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  fps: number;
  frameMs: number;
  /** One 8-bit frame per coded frame, in presentation order. Shared: never write to them. */
  frames: readonly Uint8Array[];
  durationMs: number;
}

const LIMITED_TO_FULL = (() => {
  const lut = new Uint8Array(256);
  for (let y = 0; y < 256; y++) lut[y] = Math.min(255, Math.max(0, Math.round(((y - 16) * 255) / 219)));
  return lut;
})();

const IDENTITY_LUT = Uint8Array.from({ length: 256 }, (_, i) => i);

const cache = new Map<string, Promise<LumaFixture>>();

/** Decodes a fixture once per process and analysis width (replays and fleets share it). */
export function lumaFixture(path: string, analysisWidth: number): Promise<LumaFixture> {
  const key = `${path}\0${analysisWidth}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = decodeLuma(path, analysisWidth);
    hit.catch(() => cache.delete(key));
    cache.set(key, hit);
  }
  return hit;
}

export function analysisHeight(sourceWidth: number, sourceHeight: number, width: number): number {
  return Math.max(2, Math.round((sourceHeight * width) / sourceWidth / 2) * 2);
}

async function decodeLuma(path: string, analysisWidth: number): Promise<LumaFixture> {
  const info = await probe(path);
  if (!(info.fps > 0)) throw new VideoError(`cannot replay ${path}: no frame rate`);
  const width = Math.min(analysisWidth, info.width);
  const height = analysisHeight(info.width, info.height, width);
  const downscale = areaDownscaler(info.width, info.height, width, height);
  const frames: Uint8Array[] = [];
  await decodeRawYuv420(path, (frame) => frames.push(downscale(frame)));
  const frameMs = 1000 / info.fps;
  return {
    path,
    width,
    height,
    sourceWidth: info.width,
    sourceHeight: info.height,
    fps: info.fps,
    frameMs,
    frames,
    durationMs: frames.length * frameMs,
  };
}

/**
 * Luma plane (first w×h bytes of a yuv420p frame) → full-range analysis frame of dw×dh, by area averaging.
 * `range`: the input's luma range; 'full' for luma computed from a JPEG's RGB.
 */
export function areaDownscaler(
  w: number,
  h: number,
  dw: number,
  dh: number,
  range: 'limited' | 'full' = 'limited',
): (yuv: Uint8Array) => Uint8Array {
  const lut = range === 'limited' ? LIMITED_TO_FULL : IDENTITY_LUT;
  if (dw === w && dh === h) {
    return (yuv) => {
      const out = new Uint8Array(w * h);
      for (let i = 0; i < out.length; i++) out[i] = lut[yuv[i]!]!;
      return out;
    };
  }
  if (dw * 2 === w && dh * 2 === h) {
    return (yuv) => {
      const out = new Uint8Array(dw * dh);
      for (let y = 0; y < dh; y++) {
        const r0 = 2 * y * w;
        const r1 = r0 + w;
        for (let x = 0; x < dw; x++) {
          const c = 2 * x;
          const sum =
            lut[yuv[r0 + c]!]! + lut[yuv[r0 + c + 1]!]! + lut[yuv[r1 + c]!]! + lut[yuv[r1 + c + 1]!]!;
          out[y * dw + x] = (sum + 2) >> 2;
        }
      }
      return out;
    };
  }
  const xs = spans(w, dw);
  const ys = spans(h, dh);
  return (yuv) => {
    const rows = new Float64Array(dw * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < dw; x++) {
        let acc = 0;
        for (const [i, weight] of xs[x]!) acc += lut[yuv[y * w + i]!]! * weight;
        rows[y * dw + x] = acc;
      }
    }
    const out = new Uint8Array(dw * dh);
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) {
        let acc = 0;
        for (const [j, weight] of ys[y]!) acc += rows[j * dw + x]! * weight;
        out[y * dw + x] = Math.min(255, Math.round(acc));
      }
    }
    return out;
  };
}

/** For each output cell, the source cells it covers and their weights (summing to 1). */
function spans(from: number, to: number): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  for (let o = 0; o < to; o++) {
    const start = (o * from) / to;
    const end = ((o + 1) * from) / to;
    const cells: Array<[number, number]> = [];
    for (let i = Math.floor(start); i < Math.min(from, Math.ceil(end)); i++) {
      const overlap = Math.min(end, i + 1) - Math.max(start, i);
      if (overlap > 0) cells.push([i, overlap / (end - start)]);
    }
    out.push(cells);
  }
  return out;
}
