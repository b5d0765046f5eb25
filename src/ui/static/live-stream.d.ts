// Types for live-stream.js, so the unit tests (TypeScript) can drive the parser and meter.
export class MultipartJpegParser {
  constructor(onFrame: (jpeg: Uint8Array) => void);
  push(chunk: Uint8Array): void;
}
export class FrameRateMeter {
  constructor(windowMs?: number);
  tick(nowMs: number): void;
  rate(nowMs: number): number;
}
export interface LiveStatus {
  connected: boolean;
  fps: number;
  frames: number;
  message?: string;
}
export function startLiveView(
  canvas: unknown,
  onStatus: (status: LiveStatus) => void,
  url?: string,
  onPaint?: (frames: number) => void,
): () => void;
