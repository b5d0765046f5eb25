import type { Clock } from '../clock/clock.js';
import { RealClock } from '../clock/real-clock.js';
import type { DeviceProfile } from '../config/profile.js';
import type { DeviceEvent } from '../events/schemas.js';
import { type Logger, silentLogger } from '../log/logger.js';
import { EmbeddedBroker } from '../mqtt/broker.js';
import { type BrokerConnection, BrokerConnectionSchema } from '../mqtt/connection.js';
import { FleetDevice } from './fleet-device.js';
import { fleetMotionSettings, type MotionTimeline, motionTimeline } from './motion-timeline.js';
import { fleetDeviceId, type Shard, shardIndices } from './shard.js';

export interface FleetOptions {
  count: number;
  shard?: Shard;
  profile: DeviceProfile;
  /** Fixture every device's camera "watches" (shared detection); null = no motion. */
  video: string | null;
  /** An external broker; otherwise an embedded one on `port`. */
  broker?: BrokerConnection;
  host?: string;
  port?: number;
  clock?: Clock;
  /** Mean seconds between one device's rings; 0 = never. Default 10. */
  ringEveryS?: number;
  /** New MQTT connections per second (staggered connects). Default 200. */
  connectRate?: number;
  /** Per-device seq and outbox on disk under this folder (durable devices); default: in memory. */
  dataDir?: string;
  idPrefix?: string;
  logger?: Logger;
}

export interface FleetStats {
  devices: number;
  started: number;
  connected: number;
  eventsSent: number;
  rssMb: number;
  heapMb: number;
}

/**
 * N doorbells in one process: each a Doorbell + DeviceLink + durable outbox with its own MQTT session and client id,
 * all sharing one decode and one motion detection per (fixture, profile). No clips: a clip is an ffmpeg encode per
 * device, which is what a fleet exists to avoid (documented in docs/replay.md).
 */
export class Fleet {
  readonly devices: FleetDevice[] = [];
  private broker: EmbeddedBroker | undefined;
  private eventsSent = 0;
  private started = 0;
  private stopping = false;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private motion: MotionTimeline | undefined;

  constructor(private readonly options: FleetOptions) {
    this.clock = options.clock ?? new RealClock();
    this.logger = options.logger ?? silentLogger();
  }

  get brokerUrl(): string {
    return this.options.broker?.url ?? this.broker?.url ?? '';
  }

  get embeddedBroker(): EmbeddedBroker | undefined {
    return this.broker;
  }

  stats(): FleetStats {
    const memory = process.memoryUsage();
    return {
      devices: this.devices.length,
      started: this.started,
      connected: this.devices.reduce((n, d) => n + (d.connected ? 1 : 0), 0),
      eventsSent: this.eventsSent,
      rssMb: Math.round(memory.rss / 2 ** 20),
      heapMb: Math.round(memory.heapUsed / 2 ** 20),
    };
  }

  /** Detects motion once, starts the broker (if embedded), then connects the devices at `connectRate` per second. */
  async start(): Promise<void> {
    const { options } = this;
    if (options.video)
      this.motion = await motionTimeline(options.video, fleetMotionSettings(options.profile));
    if (!options.broker) {
      const broker = new EmbeddedBroker({
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 0,
        prefix: options.profile.topicPrefix,
        logger: this.logger,
      });
      await broker.start();
      // Only now: brokerUrl must not offer port 0 to anyone polling it before the broker listens.
      this.broker = broker;
    }
    const connection =
      options.broker ??
      BrokerConnectionSchema.parse({ url: this.broker!.url, reconnectPeriodMs: 2000, keepaliveS: 60 });
    for (const index of shardIndices(options.count, options.shard)) {
      this.devices.push(
        new FleetDevice({
          deviceId: fleetDeviceId(index, options.count, options.idPrefix),
          profile: options.profile,
          clock: this.clock,
          connection,
          dataDir: options.dataDir,
          logger: this.logger,
          ...(this.motion ? { motion: this.motion } : {}),
          ringEveryMs: (options.ringEveryS ?? 10) * 1000,
          onEventSent: (event: DeviceEvent) => {
            void event;
            this.eventsSent++;
          },
        }),
      );
    }
    const rate = Math.max(1, options.connectRate ?? 200);
    const batch = Math.max(1, Math.round(rate / 20));
    for (let i = 0; i < this.devices.length && !this.stopping; i += batch) {
      await Promise.all(this.devices.slice(i, i + batch).map((device) => device.start()));
      this.started = Math.min(this.devices.length, i + batch);
      if (i + batch < this.devices.length)
        await new Promise((resolve) => setTimeout(resolve, (batch / rate) * 1000));
    }
  }

  /** Every device stops producing events (connections stay up). */
  quiesce(): void {
    this.stopping = true;
    for (const device of this.devices) device.quiesce();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.devices.map((device) => device.stop()));
    await this.broker?.stop();
  }
}
