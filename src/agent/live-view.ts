import sharp from 'sharp';
import type { Box } from '../events/schemas.js';
import type { NormalizedPolygon } from '../video/ffmpeg.js';
import type { GrayFrame } from '../video/frames.js';

export interface LiveViewOptions {
  /** At most this many JPEGs a second (default 8). */
  fps?: number;
  privacyZones: readonly NormalizedPolygon[];
  onJpeg: (jpeg: Buffer, ptsMs: number) => void;
}

/**
 * Turns analysis frames into annotated JPEGs for the console: privacy zones filled black (they never leave the
 * device), the current motion box outlined. Rate-limited; a frame that arrives while one is encoding is skipped.
 */
export class LiveView {
  private lastPts = Number.NEGATIVE_INFINITY;
  private busy = false;
  private box: Box | undefined;

  constructor(private readonly options: LiveViewOptions) {}

  /** The motion box to draw, or undefined when nothing moves. */
  setMotionBox(box: Box | undefined): void {
    this.box = box;
  }

  push(frame: GrayFrame): void {
    const interval = 1000 / (this.options.fps ?? 8);
    if (this.busy || frame.ptsMs - this.lastPts < interval) return;
    this.busy = true;
    this.lastPts = frame.ptsMs;
    const { width, height } = frame;
    // The decoder recycles frame buffers: copy before going async.
    const pixels = Buffer.from(frame.data.subarray(0, width * height));
    sharp(pixels, { raw: { width, height, channels: 1 } })
      .composite([{ input: Buffer.from(this.overlay(width, height)), top: 0, left: 0 }])
      .jpeg({ quality: 70 })
      .toBuffer()
      .then((jpeg) => this.options.onJpeg(jpeg, frame.ptsMs))
      .catch(() => undefined)
      .finally(() => {
        this.busy = false;
      });
  }

  private overlay(width: number, height: number): string {
    const points = (polygon: NormalizedPolygon) =>
      polygon.map(([x, y]) => `${x * width},${y * height}`).join(' ');
    const zones = this.options.privacyZones
      .map((p) => `<polygon points="${points(p)}" fill="black"/>`)
      .join('');
    const box = this.box
      ? `<rect x="${this.box.x * width}" y="${this.box.y * height}" width="${this.box.w * width}" height="${this.box.h * height}" fill="none" stroke="red" stroke-width="2"/>`
      : '';
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${zones}${box}</svg>`;
  }
}
