// Types for motion-overlay.js, so the unit tests (TypeScript) can drive the box lookup.
export interface OverlayBox {
  x: number;
  y: number;
  w: number;
  h: number;
}
export class MotionTrack {
  add(payload: { at: string; type: 'start' | 'update' | 'end'; box: OverlayBox }): void;
  boxAt(deviceMs: number | undefined): OverlayBox | undefined;
}
export function drawMotionBox(canvas: unknown, box: OverlayBox | undefined): void;
