import type { Clock } from '../clock/clock.js';
import { TimerWheel } from '../clock/timer-wheel.js';
import type { DeviceProfile } from '../config/profile.js';
import type { DeviceEvent } from '../events/schemas.js';
import { type Logger, silentLogger } from '../log/logger.js';
import { EmbeddedBroker } from '../mqtt/broker.js';
import { type BrokerConnection, BrokerConnectionSchema } from '../mqtt/connection.js';
import { FleetDevice, type FleetDeviceObserver } from './fleet-device.js';
import { LatencyHistogram } from './latency.js';
import { fleetMotionSettings, type MotionTimeline, motionTimeline } from './motion-timeline.js';
import { fleetDeviceId, type Shard, shardIndices } from './shard.js';
import type { FleetSummary } from './summary.js';

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
  /** Wall-clock time (ms since the epoch) the ramp begins, so the shards of one run ramp together. */
  startAt?: number;
  /**
   * Connects begun but not yet acknowledged (CONNACK) that the ramp allows at once (default 500): a broker or event
   * loop that falls behind slows the ramp down instead of timing connects out and retrying them all.
   */
  maxPendingConnects?: number;
  /** Source addresses for the MQTT connections, used round-robin by device number. */
  localAddresses?: readonly string[];
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
  eventsAcknowledged: number;
  /** Events waiting in the devices' outboxes for the broker's acknowledgement. */
  outboxDepth: number;
  reconnects: number;
  rssMb: number;
  heapMb: number;
}

/** Running totals of a fleet, kept by the fleet's observer of its devices. */
class FleetCounters implements FleetDeviceObserver {
  eventsSent = 0;
  eventsAcknowledged = 0;
  reconnects = 0;
  outboxDepthTotal = 0;
  readonly connectMs = new LatencyHistogram();
  readonly publishMs = new LatencyHistogram();
  readonly errors = new Map<string, number>();

  constructor(private readonly listener: Partial<FleetDeviceObserver> = {}) {}

  eventSent(event: DeviceEvent): void {
    this.eventsSent++;
    this.listener.eventSent?.(event);
  }

  eventAcknowledged(latencyMs: number): void {
    this.eventsAcknowledged++;
    this.publishMs.record(latencyMs);
    this.listener.eventAcknowledged?.(latencyMs);
  }

  connected(firstConnectMs: number | undefined): void {
    if (firstConnectMs === undefined) this.reconnects++;
    else this.connectMs.record(firstConnectMs);
    this.listener.connected?.(firstConnectMs);
  }

  error(message: string): void {
    this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
    this.listener.error?.(message);
  }

  outboxDepth(change: number): void {
    this.outboxDepthTotal += change;
    this.listener.outboxDepth?.(change);
  }
}

/**
 * N doorbells in one process: each a Doorbell + DeviceLink + durable outbox with its own MQTT session and client id,
 * all sharing one decode and one motion detection per (fixture, profile). No clips: a clip is an ffmpeg encode per
 * device, which is what a fleet exists to avoid (documented in docs/replay.md).
 */
export class Fleet {
  readonly devices: FleetDevice[] = [];
  private broker: EmbeddedBroker | undefined;
  private readonly counters: FleetCounters;
  private started = 0;
  private startedAt: number | undefined;
  private stopping = false;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private motion: MotionTimeline | undefined;

  /** One wheel for every device's timers and MQTT keepalive, instead of tens of thousands of node timers. */
  private readonly wheel = new TimerWheel();

  constructor(
    private readonly options: FleetOptions,
    /** Hears every device's events, acknowledgements, connects and errors (metrics). */
    listener?: Partial<FleetDeviceObserver>,
  ) {
    this.clock = options.clock ?? this.wheel;
    this.logger = options.logger ?? silentLogger();
    this.counters = new FleetCounters(listener);
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
      eventsSent: this.counters.eventsSent,
      eventsAcknowledged: this.counters.eventsAcknowledged,
      outboxDepth: this.counters.outboxDepthTotal,
      reconnects: this.counters.reconnects,
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
    const addresses = options.localAddresses ?? [];
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
          keepaliveTimer: this.wheel.intervalTimer,
          localAddress: addresses.length > 0 ? addresses[index % addresses.length] : undefined,
          observer: this.counters,
        }),
      );
    }
    if (options.startAt !== undefined) {
      const wait = options.startAt - Date.now();
      if (wait > 0) await this.sleep(wait);
    }
    await this.ramp(Math.max(1, options.connectRate ?? 200));
  }

  /**
   * Device k starts k / rate seconds after the ramp began, on the wall clock (a slow moment does not push every later
   * device back, so the shards of a run stay in step), unless maxPendingConnects devices still wait for their
   * CONNACK: then the ramp waits for the broker.
   */
  private async ramp(rate: number): Promise<void> {
    const began = performance.now();
    this.startedAt = Date.now();
    const maxPending = Math.max(1, this.options.maxPendingConnects ?? 500);
    let next = 0;
    while (next < this.devices.length && !this.stopping) {
      const room = maxPending - (next - this.counters.connectMs.count);
      const due = Math.min(
        this.devices.length,
        Math.floor(((performance.now() - began) / 1000) * rate) + 1,
        next + Math.max(0, room),
      );
      const batch = this.devices.slice(next, due);
      next = Math.max(next, due);
      await Promise.all(batch.map((device) => device.start()));
      this.started = next;
      if (next < this.devices.length) await this.sleep(Math.max(1, Math.min(50, 1000 / rate)));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /**
   * Waits until the broker has acknowledged every event sent, or `idleMs` pass without one more acknowledgement
   * (the broker is gone: those events stay unacknowledged, and the summary says so).
   */
  async drain(idleMs = 2000): Promise<void> {
    let last = -1;
    let quietSince = performance.now();
    while (this.counters.eventsAcknowledged < this.counters.eventsSent) {
      if (this.counters.eventsAcknowledged !== last) {
        last = this.counters.eventsAcknowledged;
        quietSince = performance.now();
      } else if (performance.now() - quietSince >= idleMs) return;
      await this.sleep(50);
    }
  }

  /** This process's share of a run, for `fleet merge`. */
  summary(): FleetSummary {
    const shard = this.options.shard ?? { index: 0, total: 1 };
    const errors: Record<string, number> = {};
    for (const [message, n] of this.counters.errors) errors[message] = n;
    const now = new Date().toISOString();
    return {
      kind: 'doorbell-fleet-summary',
      v: 1,
      fleetCount: this.options.count,
      shard: { index: shard.index, total: shard.total },
      startedAt: this.startedAt === undefined ? now : new Date(this.startedAt).toISOString(),
      endedAt: now,
      devices: this.devices.length,
      connected: this.devices.reduce((n, d) => n + (d.connected ? 1 : 0), 0),
      everConnected: this.devices.reduce((n, d) => n + (d.hasConnected ? 1 : 0), 0),
      reconnects: this.counters.reconnects,
      events: { sent: this.counters.eventsSent, acknowledged: this.counters.eventsAcknowledged },
      connectMs: this.counters.connectMs.summary(),
      publishMs: this.counters.publishMs.summary(),
      errors,
    };
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
