/**
 * Does a stored picture show the camera frames it should? The machine-independent check behind a tape's clip,
 * snapshot and thumbnail lines. Pure.
 *
 * Encoded bytes and decoded pixels of what ffmpeg, x264 and sharp produce differ between CPUs (SIMD paths in
 * swscale, the JPEG encoder, x264, libvips) and builds; the source frames they were made from do not (H.264
 * decoding of the fixtures is bit-exact). So a tape names the source frames and this module checks the picture
 * against them, in full-range luma at a fixed comparison width:
 * - **quality**: every frame's PSNR against its source frame is at least a floor (privacy-masked pixels and a margin
 *   around them left out), and masked pixels are black;
 * - **identity**: the picture does not fit another frame of the camera timeline near it clearly better than its own
 *   source frame ("clearly": a factor on the squared error).
 * A verdict is a threshold on numbers that differ slightly between machines, so it is machine-independent by margin:
 * correct output sits far from every threshold (measured on every variant of the determinism matrix, docs/replay.md),
 * while a picture one frame off in moving footage, a dropped or repeated frame, or an unmasked zone crosses one.
 */

import { retimedFrameCount, retimedSourceFrame } from '../video/camera-picture.js';

/** Pictures are compared at this width (or the source's, if narrower), whatever the device's analysis width. */
export const COMPARISON_WIDTH = 320;
/** PSNR floor. Measured (docs/replay.md): clips and snapshots are ≥ 42 dB on every variant of the matrix. */
export const MIN_PSNR_DB = 30;
/** A thumbnail is resized by sharp (Lanczos) while the reference is area-averaged: a lower floor. */
export const MIN_THUMBNAIL_PSNR_DB = 26;
/** Another frame must fit this many times better (squared error) than the source frame to call it a mismatch. */
export const MISMATCH_RATIO = 2;
/** How far from its source frame a picture is compared with the timeline's other frames. */
export const STILL_SEARCH_FRAMES = 5;
/**
 * A single clip frame must not fit its neighbour this many times better than its own source frame. Stricter than
 * MISMATCH_RATIO: an encoder that keeps a tiny change out of a frame makes it fit the previous source frame a little
 * better, and that must not count; a repeated or skipped frame in moving footage fits its neighbour many times better.
 */
export const FRAME_MISMATCH_RATIO = 4;
/**
 * A clip is compared on every second pixel: a tape checks hundreds of frames against three alignments each, and
 * half the pixels of a 320×180 frame judge a frame's quality and identity as well.
 */
const CLIP_PIXEL_STEP = 2;
/** Brightest full-range luma a blacked-out (privacy-masked) pixel may have. */
export const MASK_BLACK_MAX = 40;

/** Which pixels count: 1 = compare, 0 = leave out; and which must be black. */
export interface CompareMask {
  compare: Uint8Array;
  black: Uint8Array;
}

/** Full-range luma (BT.601) from packed RGB, as JPEG (JFIF) defines it. */
export function lumaFromRgb(rgb: Uint8Array, width: number, height: number, channels = 3): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < out.length; i++, p += channels) {
    out[i] = Math.round(0.299 * rgb[p]! + 0.587 * rgb[p + 1]! + 0.114 * rgb[p + 2]!);
  }
  return out;
}

/**
 * Compare/black masks from a privacy-zone raster (1 = inside a zone): pixels within `margin` of a zone's edge are
 * neither compared nor required to be black (the edge is antialiased differently by each renderer).
 */
export function compareMask(zones: Uint8Array, width: number, height: number, margin = 2): CompareMask {
  const compare = new Uint8Array(width * height).fill(1);
  const black = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let inside = 0;
      let outside = 0;
      for (let dy = -margin; dy <= margin; dy++) {
        for (let dx = -margin; dx <= margin; dx++) {
          const yy = Math.min(height - 1, Math.max(0, y + dy));
          const xx = Math.min(width - 1, Math.max(0, x + dx));
          if (zones[yy * width + xx]) inside++;
          else outside++;
        }
      }
      const i = y * width + x;
      if (inside > 0) compare[i] = 0;
      if (outside === 0) black[i] = 1;
    }
  }
  return { compare, black };
}

/** Mean squared difference over the compared pixels (every `step`-th pixel). */
export function meanSquaredError(a: Uint8Array, b: Uint8Array, compare?: Uint8Array, step = 1): number {
  const n = a.length;
  if (!compare) {
    // The common case (no privacy zones), kept branch-free: it runs for every frame of every clip in a tape.
    let sum = 0;
    for (let i = 0; i < n; i += step) {
      const d = (a[i] as number) - (b[i] as number);
      sum += d * d;
    }
    return n === 0 ? 0 : sum / Math.ceil(n / step);
  }
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i += step) {
    if (compare[i] === 0) continue;
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
    count++;
  }
  return count === 0 ? 0 : sum / count;
}

export function psnrDb(mse: number): number {
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

/** The camera timeline at the comparison size: frame k's luma and which fixture frame it is (k < frameCount). */
export interface SourceTimeline {
  frameCount: number;
  luma(k: number): Uint8Array;
  frame(k: number): { file: string; index: number };
}

export function frameName(timeline: SourceTimeline, k: number): string {
  const { file, index } = timeline.frame(k);
  return `${file}#${index}`;
}

/** Source frames [first, end) as "file#a-b" runs joined by "+" (what a tape line shows). */
export function describeFrames(timeline: SourceTimeline, first: number, end: number): string {
  const parts: string[] = [];
  let runStart = first;
  for (let k = first + 1; k <= end; k++) {
    const prev = timeline.frame(k - 1);
    const next = k < end ? timeline.frame(k) : undefined;
    if (next && next.file === prev.file && next.index === prev.index + 1) continue;
    const head = timeline.frame(runStart);
    parts.push(
      head.index === prev.index ? `${head.file}#${head.index}` : `${head.file}#${head.index}-${prev.index}`,
    );
    runStart = k;
  }
  return parts.join('+');
}

function blackProblem(picture: Uint8Array, mask: CompareMask | undefined): string | undefined {
  if (!mask) return undefined;
  for (let i = 0; i < picture.length; i++) {
    if (mask.black[i] && picture[i]! > MASK_BLACK_MAX) return 'privacy-masked pixels are not black';
  }
  return undefined;
}

/*
 * Verdicts are written into tapes, so they name frames and thresholds only, never a measured number: a failing
 * verdict recorded on one machine must read the same on another.
 */

/** A still (snapshot, thumbnail) against timeline frame `k`: "ok", or what is wrong. */
export function stillFidelity(
  picture: Uint8Array,
  timeline: SourceTimeline,
  k: number,
  options: { minPsnrDb?: number; mask?: CompareMask } = {},
): string {
  const { mask } = options;
  const minPsnr = options.minPsnrDb ?? MIN_PSNR_DB;
  const own = meanSquaredError(picture, timeline.luma(k), mask?.compare);
  // Another frame first: "shows frame 46 rather than 45" says more than a low PSNR.
  let best: { frame: number; error: number } | undefined;
  for (let d = -STILL_SEARCH_FRAMES; d <= STILL_SEARCH_FRAMES; d++) {
    const j = k + d;
    if (d === 0 || j < 0 || j >= timeline.frameCount) continue;
    const error = meanSquaredError(picture, timeline.luma(j), mask?.compare);
    if (!best || error < best.error) best = { frame: j, error };
  }
  if (best && best.error * MISMATCH_RATIO < own) {
    return `shows ${frameName(timeline, best.frame)} rather than ${frameName(timeline, k)}`;
  }
  if (psnrDb(own) < minPsnr) return `below ${minPsnr} dB against ${frameName(timeline, k)}`;
  return blackProblem(picture, mask) ?? 'ok';
}

/**
 * A clip's frames, in order, against timeline frames [first, first + sourceCount): "ok", or the first thing wrong.
 * A clip at another frame rate than the source (`rates`: the camera's encoder re-times it, camera-picture.ts) holds
 * frame first + retimedSourceFrame(i) as its frame i.
 * Identity is judged twice: over the whole sequence (the squared error summed over every frame at the expected
 * alignment, against the sequence shifted by a frame either way: a window cut one frame early or late), and frame by
 * frame with a stricter ratio (a frame repeated or skipped inside the clip).
 */
export function clipFidelity(
  frames: readonly Uint8Array[],
  timeline: SourceTimeline,
  first: number,
  sourceCount: number,
  mask?: CompareMask,
  rates?: { source: number; clip: number },
): string {
  const expected = () => describeFrames(timeline, first, first + sourceCount);
  const expectedCount = rates ? retimedFrameCount(sourceCount, rates.source, rates.clip) : sourceCount;
  const sourceOf = (i: number) => first + (rates ? retimedSourceFrame(i, rates.source, rates.clip) : i);
  if (frames.length !== expectedCount) {
    return `${frames.length} frames decoded, ${expectedCount} expected from ${expected()}`;
  }
  const errorAt = (i: number, k: number) =>
    meanSquaredError(frames[i]!, timeline.luma(k), mask?.compare, CLIP_PIXEL_STEP);
  let aligned = 0;
  let early = 0;
  let late = 0;
  let wrongFrame: string | undefined;
  let lowQuality: string | undefined;
  let black: string | undefined;
  for (let i = 0; i < frames.length; i++) {
    const k = sourceOf(i);
    const own = errorAt(i, k);
    const before = k > 0 ? errorAt(i, k - 1) : Number.POSITIVE_INFINITY;
    const after = k + 1 < timeline.frameCount ? errorAt(i, k + 1) : Number.POSITIVE_INFINITY;
    if (!wrongFrame && Math.min(before, after) * FRAME_MISMATCH_RATIO < own) {
      const shown = before < after ? k - 1 : k + 1;
      wrongFrame = `frame ${i} shows ${frameName(timeline, shown)} rather than ${frameName(timeline, k)}`;
    }
    if (!lowQuality && psnrDb(own) < MIN_PSNR_DB) {
      lowQuality = `frame ${i}: below ${MIN_PSNR_DB} dB against ${frameName(timeline, k)}`;
    }
    black ??= blackProblem(frames[i]!, mask)?.replace(/^/, `frame ${i}: `);
    // Only frames that both shifts can be compared with count toward the alignment sums.
    if (Number.isFinite(before) && Number.isFinite(after)) {
      aligned += own;
      early += before;
      late += after;
    }
  }
  // A shift first: "1 frame late" says more than the wrong frames and low PSNR it also causes.
  if (Math.min(early, late) * MISMATCH_RATIO < aligned) {
    return `frames are 1 frame ${late < early ? 'late' : 'early'} against ${expected()}`;
  }
  return wrongFrame ?? lowQuality ?? black ?? 'ok';
}
