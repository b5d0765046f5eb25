import { join } from 'node:path';
import { AuditLog, type AuditTrail, MemoryAuditLog } from '../audit/audit-log.js';
import type { Clock, TimerHandle } from '../clock/clock.js';
import type { IntervalTimer } from '../clock/timer-wheel.js';
import type { DeviceProfile } from '../config/profile.js';
import { DeviceCore } from '../device/device-core.js';
import { ShareDesk, shareDeskSends } from '../device/share-desk.js';
import type { DeviceEvent } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import type { BrokerConnection } from '../mqtt/connection.js';
import { type MotionAttributesMemory, publishDeviceEvent } from '../mqtt/device-events.js';
import { DeviceLink } from '../mqtt/device-link.js';
import { DurableOutbox, MemoryOutbox, type Outbox } from '../mqtt/outbox.js';
import { type DeviceTopics, deviceTopics } from '../mqtt/topics.js';
import { seededRandom, seedFrom } from '../util/random.js';
import type { MotionTimeline } from './motion-timeline.js';

export interface FleetDeviceOptions {
  deviceId: string;
  profile: DeviceProfile;
  clock: Clock;
  connection: BrokerConnection;
  /**
   * Keep the sequence counter, the owner's config changes, the outbox and the audit log on disk under
   * dataDir/<deviceId>, like a real device. Without it they live in memory (see MemoryOutbox, MemoryAuditLog).
   */
  dataDir?: string | undefined;
  logger: Logger;
  /** Shared motion of the fixture this device "watches", replayed with a per-device phase. */
  motion?: MotionTimeline;
  /** Mean time between rings (each gap is drawn from ±20 %); 0 = never rings. */
  ringEveryMs: number;
  bootMs?: number;
  /** Shared timer for the MQTT keepalive (the fleet's wheel). */
  keepaliveTimer?: IntervalTimer | undefined;
  /** Source address of this device's MQTT connection. */
  localAddress?: string | undefined;
  observer?: FleetDeviceObserver;
}

/** What a fleet counts of its devices (its summary and metrics). */
export interface FleetDeviceObserver {
  eventSent(event: DeviceEvent): void;
  eventAcknowledged(latencyMs: number): void;
  /** firstConnectMs: from start() to the first CONNACK; undefined on a reconnect. */
  connected(firstConnectMs: number | undefined): void;
  error(message: string): void;
  outboxDepth(change: number): void;
}

/**
 * One doorbell of a fleet: the same device core as the agent's (Doorbell, command table) and DeviceLink (its own
 * MQTT session, outbox), without a camera pipeline: motion comes from a shared detection result and no clips are
 * recorded, so `snapshot` answers that there is no camera, and footage requests go to the agent's share desk over
 * no bucket: answered exactly as an agent whose bucket holds no clips answers them.
 */
export class FleetDevice {
  readonly topics: DeviceTopics;
  private core: DeviceCore | undefined;
  private link: DeviceLink | undefined;
  private readonly motionAttributes: MotionAttributesMemory = { now: {} };
  private sharing: ShareDesk | undefined;
  private audit: AuditTrail | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly random: () => number;
  private ringTimer: TimerHandle | undefined;
  private motionTimer: TimerHandle | undefined;
  private motionOrigin = 0;
  private motionIndex = 0;
  private motionCycle = 0;
  private started = false;
  private startedAt = 0;
  private everConnected = false;
  private outboxDepth = 0;

  constructor(private readonly options: FleetDeviceOptions) {
    this.topics = deviceTopics(options.profile.topicPrefix, options.deviceId);
    this.random = seededRandom(seedFrom(`fleet:${options.deviceId}`));
  }

  get connected(): boolean {
    return this.link?.connected ?? false;
  }

  get hasConnected(): boolean {
    return this.everConnected;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.startedAt = performance.now();
    const { options } = this;
    const observer = options.observer;
    const dir = options.dataDir === undefined ? undefined : join(options.dataDir, options.deviceId);
    const core = new DeviceCore({
      deviceId: options.deviceId,
      profile: options.profile,
      clock: options.clock,
      logger: options.logger,
      stateDir: dir,
      bootMs: options.bootMs,
    });
    this.core = core;
    const outbox: Outbox = dir === undefined ? new MemoryOutbox() : new DurableOutbox(join(dir, 'outbox'));
    const audit =
      dir === undefined
        ? new MemoryAuditLog(options.clock)
        : new AuditLog({ path: join(dir, 'audit.jsonl'), clock: options.clock });
    this.audit = audit;
    const sharing = new ShareDesk({
      deviceId: options.deviceId,
      clock: options.clock,
      audit,
      config: core.profile.privacy.sharing,
      send: shareDeskSends(() => this.link, this.topics),
      logger: options.logger,
    });
    this.sharing = sharing;
    this.unsubscribe = core.onProfile((next) => {
      sharing
        .configure(next.privacy.sharing)
        .catch((error: Error) =>
          options.logger.error({ err: error.message }, 'the sharing policy change failed'),
        );
    });
    const link = new DeviceLink({
      connection: options.connection,
      prefix: options.profile.topicPrefix,
      deviceId: options.deviceId,
      topics: this.topics,
      outbox,
      commands: core.commands({ sharing }),
      logger: options.logger,
      onConnected: () => link.republishRetained(),
      onConnectionChange: (connected) => {
        if (!connected) return;
        observer?.connected(this.everConnected ? undefined : performance.now() - this.startedAt);
        this.everConnected = true;
      },
      onOutboxDepth: (depth) => {
        observer?.outboxDepth(depth - this.outboxDepth);
        this.outboxDepth = depth;
        core.doorbell.setOutboxDepth(depth);
      },
      ...(observer
        ? {
            onEventAcknowledged: (ms: number) => observer.eventAcknowledged(ms),
            onError: (message: string) => observer.error(message),
          }
        : {}),
      ...(options.keepaliveTimer ? { keepaliveTimer: options.keepaliveTimer } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    this.link = link;
    core.doorbell.setOutboxDepth(outbox.depth);
    await sharing.publishAuditHead();
    core.bus.subscribe((event) => this.onEvent(event));
    core.doorbell.start();
    await link.start();
    this.scheduleRing();
    this.startMotion();
  }

  /** Stops ringing, motion and telemetry; the MQTT session stays up so queued events still go out. */
  quiesce(): void {
    this.options.clock.clearTimer(this.ringTimer);
    this.options.clock.clearTimer(this.motionTimer);
    this.ringTimer = undefined;
    this.motionTimer = undefined;
    this.core?.doorbell.stop();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.quiesce();
    this.started = false;
    this.unsubscribe?.();
    this.sharing?.stop();
    await this.audit?.stop();
    await this.link?.stop();
    this.core?.close();
  }

  private scheduleRing(): void {
    const { ringEveryMs, clock } = this.options;
    if (!(ringEveryMs > 0) || !this.started) return;
    this.ringTimer = clock.setTimeout(
      () => {
        this.core?.doorbell.press('fleet');
        this.scheduleRing();
      },
      ringEveryMs * (0.8 + 0.4 * this.random()),
    );
  }

  /** Replays the shared motion timeline from a per-device phase, so a thousand devices do not move in lockstep. */
  private startMotion(): void {
    const motion = this.options.motion;
    if (!motion || motion.events.length === 0) return;
    const phase = this.random() * motion.loopMs;
    this.motionOrigin = this.options.clock.now() - phase;
    this.motionCycle = 0;
    this.motionIndex = 0;
    while (this.motionAt() < this.options.clock.now()) this.advanceMotion();
    this.scheduleMotion();
  }

  private motionAt(): number {
    const motion = this.options.motion!;
    return this.motionOrigin + this.motionCycle * motion.loopMs + motion.events[this.motionIndex]!.offsetMs;
  }

  private advanceMotion(): void {
    this.motionIndex++;
    if (this.motionIndex >= this.options.motion!.events.length) {
      this.motionIndex = 0;
      this.motionCycle++;
    }
  }

  private scheduleMotion(): void {
    if (!this.started) return;
    const { clock } = this.options;
    this.motionTimer = clock.setTimeout(
      () => {
        const { event } = this.options.motion!.events[this.motionIndex]!;
        this.core?.doorbell.motion({
          type: event.type,
          atMs: clock.now(),
          score: event.score,
          box: event.box,
          zones: event.zones,
        });
        this.advanceMotion();
        this.scheduleMotion();
      },
      Math.max(0, this.motionAt() - clock.now()),
    );
  }

  private onEvent(event: DeviceEvent): void {
    if (!this.link) return;
    publishDeviceEvent(this.link, this.topics, event, this.motionAttributes);
    if (event.kind !== 'state') this.options.observer?.eventSent(event);
  }
}
