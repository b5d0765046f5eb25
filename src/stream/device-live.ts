/**
 * A device's live streams as one capability: the H.264 encoder and the MJPEG encoder of each stream (main, sub), the
 * snapshot, and the privacy zones they burn in. Nothing runs until a viewer asks.
 */
import type { DeviceProfile } from '../config/profile.js';
import type { NormalizedPolygon } from '../geometry/polygon.js';
import type { Logger } from '../log/logger.js';
import { deviceStreamSpecs, parseRtspPath } from './device-streams.js';
import { LiveEncoder } from './encoder.js';
import { liveStillJpeg } from './live-source.js';
import { type LiveVideo, STREAM_NAMES, type StreamName } from './live-video.js';
import { MjpegStream } from './mjpeg-stream.js';

export interface DeviceLiveOptions {
  deviceId: string;
  profile: Pick<DeviceProfile, 'resolution' | 'fps'>;
  privacyZones: readonly NormalizedPolygon[];
  /** The sample video the camera feed loops, and its duration. */
  source: string;
  loopDurationMs: number;
  /** The camera feed's time now: streams start where the feed is. */
  feedNow(): number;
  logger: Logger;
  /** How long encoders run on after their last viewer (default 5 s). */
  lingerMs?: number;
}

export class DeviceLive {
  readonly encoders: Record<StreamName, LiveEncoder>;
  readonly mjpeg: Record<StreamName, MjpegStream>;
  private zones: readonly NormalizedPolygon[];

  constructor(private readonly options: DeviceLiveOptions) {
    this.zones = options.privacyZones;
    const specs = deviceStreamSpecs(options.profile);
    const encoder = (name: StreamName) =>
      new LiveEncoder({
        ...specs[name],
        source: options.source,
        loopDurationMs: options.loopDurationMs,
        feedNow: options.feedNow,
        privacyZones: () => this.zones,
        logger: options.logger,
        ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }),
      });
    this.encoders = { main: encoder('main'), sub: encoder('sub') };
    const mjpeg = (name: StreamName) =>
      new MjpegStream({
        video: this.encoders[name],
        logger: options.logger,
        ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }),
      });
    this.mjpeg = { main: mjpeg('main'), sub: mjpeg('sub') };
  }

  get deviceId(): string {
    return this.options.deviceId;
  }

  /** The stream an RTSP path names (`/<id>`, `/<id>/sub`), for the RTSP server. */
  resolveRtsp(path: string): LiveVideo | undefined {
    const name = parseRtspPath(this.options.deviceId, path);
    return name ? this.encoders[name] : undefined;
  }

  /** The owner changed the privacy zones: running encoders restart with the new mask. */
  setPrivacyZones(zones: readonly NormalizedPolygon[]): void {
    if (JSON.stringify(zones) === JSON.stringify(this.zones)) return;
    this.zones = zones;
    for (const name of STREAM_NAMES) {
      this.encoders[name].restart().catch((error: Error) => {
        this.options.logger.error({ err: error.message, stream: name }, 'live stream restart failed');
      });
    }
  }

  /** The latest main-stream JPEG while MJPEG runs, else a still of the feed now at the profile's resolution. */
  async snapshot(): Promise<Buffer> {
    const latest = this.mjpeg.main.latest;
    if (latest) return latest;
    const { main } = deviceStreamSpecs(this.options.profile);
    return liveStillJpeg({
      source: this.options.source,
      loopDurationMs: this.options.loopDurationMs,
      feedMs: this.options.feedNow(),
      size: main.size,
      fps: main.fps,
      privacyZones: this.zones,
    });
  }

  async close(): Promise<void> {
    await Promise.all(STREAM_NAMES.map((name) => this.mjpeg[name].close()));
    await Promise.all(STREAM_NAMES.map((name) => this.encoders[name].close()));
  }
}
