import sharp from 'sharp';
import type { Box } from '../events/schemas.js';
import type { NormalizedPolygon } from '../geometry/polygon.js';
import type { GrayFrame } from '../video/frames.js';
import { polygonsSvg } from '../video/polygon-svg.js';

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
  /** The overlay rasterized once per frame size and motion box, not once per JPEG. */
  private overlay: { key: string; rgba: Promise<Buffer> } | undefined;

  constructor(private options: LiveViewOptions) {}

  /** The owner changed the privacy zones: the next frames black out these. */
  setPrivacyZones(privacyZones: readonly NormalizedPolygon[]): void {
    this.options = { ...this.options, privacyZones };
  }

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
    this.overlayFor(width, height)
      .then((overlay) =>
        sharp(pixels, { raw: { width, height, channels: 1 } })
          .composite([{ input: overlay, raw: { width, height, channels: 4 }, top: 0, left: 0 }])
          .jpeg({ quality: 70 })
          .toBuffer(),
      )
      .then((jpeg) => this.options.onJpeg(jpeg, frame.ptsMs))
      .catch(() => undefined)
      .finally(() => {
        this.busy = false;
      });
  }

  private overlayFor(width: number, height: number): Promise<Buffer> {
    const { box } = this;
    const key = `${width}x${height} ${box ? `${box.x},${box.y},${box.w},${box.h}` : '-'}`;
    if (this.overlay?.key !== key) {
      const outline = box
        ? `<rect x="${box.x * width}" y="${box.y * height}" width="${box.w * width}" height="${box.h * height}" fill="none" stroke="red" stroke-width="2"/>`
        : '';
      const svg = polygonsSvg(width, height, this.options.privacyZones, outline);
      this.overlay = { key, rgba: sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer() };
    }
    return this.overlay.rgba;
  }
}
