/**
 * The agent's `stream` capability: the device's live streams (started after the camera, stopped before it), the
 * RTSP server that serves them, and the URLs the state announces. Nothing encodes until a viewer asks.
 */
import type { DeviceProfile } from '../config/profile.js';
import type { StreamUrls } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import { DeviceLive } from '../stream/device-live.js';
import { streamUrls } from '../stream/device-streams.js';
import { hlsRoutes } from '../stream/hls/routes.js';
import { type StreamHttpRoutes, streamHttpRoutes } from '../stream/http-routes.js';
import type { LiveVideo } from '../stream/live-video.js';
import { type RtspServerOptions, startRtspServer } from '../stream/rtsp/server.js';
import { hostForUrl, reachableHost } from '../ui/access.js';
import { probe } from '../video/ffmpeg/probe.js';
import type { CameraFeed } from './camera-feed.js';

export type RtspCredentials = NonNullable<RtspServerOptions['credentials']>;

export interface RtspSettings {
  /** Loopback by default; anything else needs credentials (checked by the CLI, as the console token is). */
  host: string;
  /** 0 picks a free port. */
  port: number;
  credentials?: RtspCredentials | undefined;
}

/** A running RTSP server as the agent sees it. */
export interface RtspServing {
  host: string;
  port: number;
  stop(): Promise<void>;
}

async function startRtspServing(
  resolve: (path: string) => LiveVideo | undefined,
  settings: RtspSettings,
  logger: Logger,
): Promise<RtspServing> {
  const server = await startRtspServer({
    ...settings,
    resolve,
    logger: logger.child({ capability: 'rtsp' }),
  });
  return { host: settings.host, port: server.port, stop: () => server.stop() };
}

export interface LiveStreamsOptions {
  deviceId: string;
  profile: DeviceProfile;
  source: string;
  feed: CameraFeed;
  rtsp?: RtspSettings | undefined;
  logger: Logger;
}

export class LiveStreams {
  private live: DeviceLive | undefined;
  private rtsp: RtspServing | undefined;

  constructor(private readonly options: LiveStreamsOptions) {}

  static async start(options: LiveStreamsOptions): Promise<LiveStreams> {
    const streams = new LiveStreams(options);
    await streams.start();
    return streams;
  }

  /** The device's streams once started (the console's MJPEG and snapshot routes serve them). */
  get device(): DeviceLive | undefined {
    return this.live;
  }

  async start(): Promise<void> {
    if (this.live) return;
    const { options } = this;
    const { durationMs, width, height } = await probe(options.source);
    const live = new DeviceLive({
      deviceId: options.deviceId,
      profile: options.profile,
      privacyZones: zonesOf(options.profile),
      source: options.source,
      loopDurationMs: durationMs,
      sourceSize: { width, height },
      feedNow: () => options.feed.feedNow(),
      logger: options.logger.child({ capability: 'stream' }),
    });
    this.live = live;
    if (options.rtsp) {
      this.rtsp = await startRtspServing((path) => live.resolveRtsp(path), options.rtsp, options.logger);
    }
  }

  reconfigure(profile: DeviceProfile): void {
    this.live?.setPrivacyZones(zonesOf(profile));
  }

  /** The URLs to announce; `httpOrigin` is the console's (MJPEG and snapshot live there). */
  urls(httpOrigin: string | undefined): StreamUrls | undefined {
    if (!this.live) return undefined;
    const rtsp = this.rtsp
      ? `rtsp://${hostForUrl(reachableHost(this.rtsp.host), this.rtsp.port)}`
      : undefined;
    return streamUrls(this.options.deviceId, { rtsp, http: httpOrigin?.replace(/\/$/, '') });
  }

  async stop(): Promise<void> {
    await this.rtsp?.stop();
    this.rtsp = undefined;
    await this.live?.close();
    this.live = undefined;
  }
}

/** What of an agent the console's stream routes need. */
export interface StreamingAgent {
  readonly doorbell: { readonly deviceId: string };
  readonly liveStreams: LiveStreams | undefined;
  readonly cameraFeed: CameraFeed | undefined;
}

/**
 * MJPEG, snapshots and HLS of the agent's device, for the console's server (which checks host and token first):
 * every HTTP URL the state announces is served by these.
 */
export function agentStreamRoutes(agent: StreamingAgent, logger: Logger): StreamHttpRoutes[] {
  const deviceId = agent.doorbell.deviceId;
  const live = (id: string) => (id === deviceId ? agent.liveStreams?.device : undefined);
  const hls = hlsRoutes({
    sourceFor: (id, stream) => {
      const device = live(id);
      const feed = agent.cameraFeed;
      if (!device) return undefined;
      return {
        video: device.encoders[stream],
        ...(feed ? { deviceMsOf: (feedMs: number) => feed.feedToDevice(feedMs) } : {}),
      };
    },
    logger: logger.child({ capability: 'hls' }),
  });
  return [streamHttpRoutes(live), hls];
}

function zonesOf(profile: DeviceProfile) {
  return profile.privacy.zones.map((zone) => zone.polygon);
}
