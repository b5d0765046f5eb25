import type { FrameAnalysis, LumaFrame } from './detector.js';

export interface RgbImage {
  width: number;
  height: number;
  /** rgb24, row-major. */
  data: Uint8Array;
}

/** Luma change (in 2×2-sum units) that paints full heat. */
const FULL_HEAT = 160;

/**
 * A debug picture of one analysed frame: the frame in gray, heat (yellow → red) where it changed, solid red
 * where a cell counted as motion, blue-dimmed where nothing is analysed (masks, outside zones), and a red
 * border when the frame is a motion frame (amber for weak motion, cyan for a lightswitch).
 */
export function renderHeatmap(frame: LumaFrame, analysis: Readonly<FrameAnalysis>): RgbImage {
  const { width, height } = frame;
  const { gridWidth: gw, gridHeight: gh, change, changed, active } = analysis;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const cy = Math.min(gh - 1, y >> 1);
    for (let x = 0; x < width; x++) {
      const cell = cy * gw + Math.min(gw - 1, x >> 1);
      const luma = frame.data[y * width + x]!;
      const p = (y * width + x) * 3;
      if (!active[cell]) {
        data[p] = luma >> 1;
        data[p + 1] = luma >> 1;
        data[p + 2] = (luma >> 1) + 60;
      } else if (changed[cell]) {
        data[p] = 255;
        data[p + 1] = luma >> 3;
        data[p + 2] = luma >> 3;
      } else {
        const heat = Math.min(1, change[cell]! / FULL_HEAT);
        data[p] = Math.round(luma + (255 - luma) * heat);
        data[p + 1] = Math.round(luma + (200 - luma) * heat * 0.8);
        data[p + 2] = Math.round(luma * (1 - heat));
      }
    }
  }
  const border: readonly [number, number, number] | undefined = analysis.lightswitch
    ? [0, 220, 255]
    : analysis.motion
      ? [255, 0, 0]
      : analysis.weakMotion
        ? [255, 170, 0]
        : undefined;
  if (border) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (x > 2 && x < width - 3 && y > 2 && y < height - 3) continue;
        const p = (y * width + x) * 3;
        data[p] = border[0];
        data[p + 1] = border[1];
        data[p + 2] = border[2];
      }
    }
  }
  return { width, height, data };
}
