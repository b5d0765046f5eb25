/**
 * Does a stored picture show the camera frames it should? The machine-independent check behind a tape's clip,
 * snapshot and thumbnail lines. Pure.
 *
 * Encoded bytes and decoded pixels of what ffmpeg, x264 and sharp produce differ between CPUs (SIMD paths in
 * swscale, the JPEG encoder, libvips) and builds; the source frames they were made from do not (H.264 decoding of
 * the fixtures is bit-exact). So a tape names the source frames and this module checks the picture against them, at
 * the analysis size, in full-range luma:
 * - **quality**: every frame's PSNR against its source frame is at least MIN_PSNR_DB (privacy-masked pixels and a
 *   margin around them left out), and masked pixels are black;
 * - **identity**: the picture is not clearly closer to another frame of the camera timeline near it than to its
 *   own source frame. "Clearly" is a factor (MISMATCH_RATIO) on the squared error: a correct picture can only be
 *   that much closer to another frame when its own error already dominates, which the PSNR floor rules out, so the
 *   verdict on correct output does not depend on the machine; a picture one or more frames off in moving footage
 *   fails.
 */

/** PSNR floor. Measured (docs/replay.md): clips and snapshots are ≥ 38 dB on every variant of the matrix. */
export const MIN_PSNR_DB = 30;
/** A thumbnail is resized by sharp (Lanczos) while the reference is area-averaged: a lower floor. */
export const MIN_THUMBNAIL_PSNR_DB = 26;
/** Another frame must fit this many times better (squared error) than the source frame to call it a mismatch. */
export const MISMATCH_RATIO = 2;
/** How far from its source frame a picture is compared with the timeline's other frames. */
export const STILL_SEARCH_FRAMES = 5;
/** A clip's frames are compared with the sequence shifted by ±1 frame (cutting bugs are off by one). */
export const CLIP_SEARCH_OFFSETS = 1;
/**
 * A clip is compared on every second pixel: a tape checks hundreds of frames against three alignments each, and
 * half the pixels of a 320×180 frame judge a frame's quality and identity as well.
 */
const CLIP_PIXEL_STEP = 2;
/** Brightest full-range luma a blacked-out (privacy-masked) pixel may have. */
export const MASK_BLACK_MAX = 40;

export interface LumaPicture {
  width: number;
  height: number;
  /** Full-range 8-bit luma, width × height. */
  luma: Uint8Array;
}

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

/** The camera timeline at the comparison size: frame k's luma and its name ("fixture#index"), or undefined past it. */
export interface SourceTimeline {
  frameCount: number;
  luma(k: number): Uint8Array;
  name(k: number): string;
}

/** Source frames [first, end) as "file#a-b" runs joined by "+" (what a tape line shows). */
export function describeFrames(timeline: SourceTimeline, first: number, end: number): string {
  const parts: string[] = [];
  let runStart = first;
  const split = (name: string) => {
    const hash = name.lastIndexOf('#');
    return { file: name.slice(0, hash), index: Number(name.slice(hash + 1)) };
  };
  for (let k = first + 1; k <= end; k++) {
    const prev = split(timeline.name(k - 1));
    const next = k < end ? split(timeline.name(k)) : undefined;
    if (next && next.file === prev.file && next.index === prev.index + 1) continue;
    const head = split(timeline.name(runStart));
    parts.push(
      head.index === prev.index ? `${head.file}#${head.index}` : `${head.file}#${head.index}-${prev.index}`,
    );
    runStart = k;
  }
  return parts.join('+');
}

function blackProblem(picture: Uint8Array, mask: CompareMask | undefined): string | undefined {
  if (!mask) return undefined;
  let bright = 0;
  for (let i = 0; i < picture.length; i++) if (mask.black[i] && picture[i]! > MASK_BLACK_MAX) bright++;
  return bright > 0 ? `${bright} privacy-masked pixel(s) are not black` : undefined;
}

/**
 * A still (snapshot, thumbnail) against timeline frame `k`: "ok", or what is wrong.
 */
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
    return `shows ${timeline.name(best.frame)} rather than ${timeline.name(k)} (squared error ${best.error.toFixed(2)} vs ${own.toFixed(2)})`;
  }
  const quality = psnrDb(own);
  if (quality < minPsnr) {
    return `${quality.toFixed(1)} dB against ${timeline.name(k)} (at least ${minPsnr} dB expected)`;
  }
  return blackProblem(picture, mask) ?? 'ok';
}

/**
 * A clip's frames, in order, against timeline frames [first, first + n): "ok", or the first thing wrong. Identity is
 * judged over the whole sequence: the squared error summed over every frame at the expected alignment, against the
 * alignments shifted by up to CLIP_SEARCH_OFFSETS frames (one frame early or late is the typical cutting bug).
 */
export function clipFidelity(
  frames: readonly Uint8Array[],
  timeline: SourceTimeline,
  first: number,
  expectedCount: number,
  mask?: CompareMask,
): string {
  if (frames.length !== expectedCount) {
    return `${frames.length} frames decoded, ${expectedCount} expected from ${describeFrames(timeline, first, first + expectedCount)}`;
  }
  const shifted = new Map<number, number>();
  let aligned = 0;
  let worst: { frame: number; psnr: number } | undefined;
  let black: string | undefined;
  for (let i = 0; i < frames.length; i++) {
    const k = first + i;
    const own = meanSquaredError(frames[i]!, timeline.luma(k), mask?.compare, CLIP_PIXEL_STEP);
    const quality = psnrDb(own);
    if (quality < MIN_PSNR_DB && !worst) worst = { frame: i, psnr: quality };
    black ??= blackProblem(frames[i]!, mask)?.replace(/^/, `frame ${i}: `);
    // Only frames that every shift can be compared with count toward the alignment sums.
    if (k - CLIP_SEARCH_OFFSETS < 0 || k + CLIP_SEARCH_OFFSETS >= timeline.frameCount) continue;
    aligned += own;
    for (let d = -CLIP_SEARCH_OFFSETS; d <= CLIP_SEARCH_OFFSETS; d++) {
      if (d === 0) continue;
      shifted.set(
        d,
        (shifted.get(d) ?? 0) +
          meanSquaredError(frames[i]!, timeline.luma(k + d), mask?.compare, CLIP_PIXEL_STEP),
      );
    }
  }
  // A shift first: "1 frame late" says more than the low PSNR it also causes.
  const [shift, error] = [...shifted].reduce((a, b) => (b[1] < a[1] ? b : a), [0, Number.POSITIVE_INFINITY]);
  if (error * MISMATCH_RATIO < aligned) {
    return `frames are ${Math.abs(shift)} frame(s) ${shift > 0 ? 'late' : 'early'} against ${describeFrames(timeline, first, first + expectedCount)}`;
  }
  if (worst) {
    return `frame ${worst.frame}: ${worst.psnr.toFixed(1)} dB against ${timeline.name(first + worst.frame)} (at least ${MIN_PSNR_DB} dB expected)`;
  }
  return black ?? 'ok';
}
