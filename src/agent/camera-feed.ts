import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { MotionDetector, type MotionEvent } from '../motion/detector.js';
import type { MotionSettings } from '../motion/settings.js';
import type { FrameSource } from '../video/frame-source.js';
import type { GrayFrame } from '../video/frames.js';

export interface CameraFeedOptions {
  /** The camera's frames, paced to the clock at `speed` (video/frame-source.ts cameraSource); unread when driven. */
  source: FrameSource;
  settings: MotionSettings;
  clock: Clock;
  logger: Logger;
  /** 1 = real time. */
  speed?: number;
  onMotion: (event: MotionEvent, deviceMs: number) => void;
  /** Every analysed frame, with the feed time it shows (ms since the feed started). */
  onFrame?: (frame: GrayFrame, feedMs: number, detector: MotionDetector | undefined) => void;
  onError?: (error: Error) => void;
  /**
   * Driven mode (replay): start() decodes nothing and no timer paces anything; the owner hands over each frame with
   * pushFrame() at the moment the clock shows its time.
   */
  driven?: boolean;
}

/**
 * The doorbell's camera: frames from its source (the sample video decoded in a loop, paced to the clock) through the
 * motion detector.
 * Feed time is the video's own presentation time (monotonic across loops); device time = feed start + feed time.
 */
export class CameraFeed {
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private startDeviceMs = Number.NaN;
  private settings: MotionSettings;
  private detector: MotionDetector | undefined;
  private detectorStale = true;
  private lastPtsMs = 0;

  constructor(private readonly options: CameraFeedOptions) {
    this.settings = options.settings;
  }

  /** True once the first frame arrived. */
  get live(): boolean {
    return !Number.isNaN(this.startDeviceMs);
  }

  /** Feed time now, by the clock (between frames too). */
  feedNow(): number {
    if (!this.live) return 0;
    return Math.max(0, (this.options.clock.now() - this.startDeviceMs) * this.speed);
  }

  /** Presentation time of the last frame shown. */
  get lastFrameMs(): number {
    return this.lastPtsMs;
  }

  feedToDevice(feedMs: number): number {
    return (this.live ? this.startDeviceMs : this.options.clock.now()) + feedMs / this.speed;
  }

  deviceToFeed(deviceMs: number): number {
    return this.live ? Math.max(0, (deviceMs - this.startDeviceMs) * this.speed) : 0;
  }

  /** Feed time runs this many times faster than device time (tests and demos; 1 on a real device). */
  private get speed(): number {
    return this.options.speed ?? 1;
  }

  /** New motion settings (sensitivity, enabled) take effect on the next frame, with a fresh background. */
  updateSettings(settings: MotionSettings): void {
    this.settings = settings;
    this.detectorStale = true;
  }

  start(): void {
    if (this.running || this.options.driven) return;
    this.abort = new AbortController();
    this.running = this.run(this.abort.signal).catch((error: Error) => {
      this.options.logger.error({ err: error.message }, 'camera feed stopped');
      this.options.onError?.(error);
    });
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    this.running = undefined;
  }

  /** Motion settings now in force (a driven feed's frames must have their analysis width). */
  get currentSettings(): MotionSettings {
    return this.settings;
  }

  /**
   * Driven mode: shows one frame now, synchronously (detector, motion callbacks, onFrame). Frames come in
   * presentation order at the analysis width of currentSettings; the first one fixes where feed time 0 is.
   */
  pushFrame(frame: GrayFrame): void {
    if (!this.options.driven) throw new Error('pushFrame() is for a driven camera feed');
    this.show(frame);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const frames = this.options.source.frames({ width: this.settings.analysisWidth, signal });
    for await (const frame of frames) this.show(frame);
  }

  private show(frame: GrayFrame): void {
    const { options } = this;
    if (Number.isNaN(this.startDeviceMs)) this.startDeviceMs = options.clock.now() - frame.ptsMs / this.speed;
    this.lastPtsMs = frame.ptsMs;
    const detector = this.currentDetector(frame);
    if (detector) {
      for (const event of detector.push(frame)) options.onMotion(event, this.feedToDevice(event.ptsMs));
    }
    options.onFrame?.(frame, frame.ptsMs, detector);
  }

  private currentDetector(frame: GrayFrame): MotionDetector | undefined {
    if (!this.settings.enabled) {
      this.detector = undefined;
      return undefined;
    }
    if (this.detectorStale || !this.detector) {
      this.detector = new MotionDetector(this.settings, { width: frame.width, height: frame.height });
      this.detectorStale = false;
    }
    return this.detector;
  }
}
