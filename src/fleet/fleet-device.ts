import { join } from 'node:path';
import type { Clock, TimerHandle } from '../clock/clock.js';
import type { DeviceProfile } from '../config/profile.js';
import { Doorbell } from '../device/doorbell.js';
import { EventBus } from '../events/bus.js';
import type { DeviceEvent } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import type { BrokerConnection } from '../mqtt/connection.js';
import { publishDeviceEvent } from '../mqtt/device-events.js';
import { DeviceLink } from '../mqtt/device-link.js';
import { DurableOutbox, MemoryOutbox, type Outbox } from '../mqtt/outbox.js';
import { type DeviceTopics, deviceTopics } from '../mqtt/topics.js';
import { PersistentCounter } from '../persist/counter.js';
import { seededRandom, seedFrom } from '../util/random.js';
import type { MotionTimeline } from './motion-timeline.js';

export interface FleetDeviceOptions {
  deviceId: string;
  profile: DeviceProfile;
  clock: Clock;
  connection: BrokerConnection;
  /**
   * Keep the sequence counter and outbox on disk under dataDir/<deviceId>, like a real device. Without it they live
   * in memory (see MemoryOutbox).
   */
  dataDir?: string | undefined;
  logger: Logger;
  /** Shared motion of the fixture this device "watches", replayed with a per-device phase. */
  motion?: MotionTimeline;
  /** Mean time between rings (each gap is drawn from ±20 %); 0 = never rings. */
  ringEveryMs: number;
  bootMs?: number;
  onEventSent?: (event: DeviceEvent) => void;
}

/**
 * One doorbell of a fleet: the real Doorbell state machine and DeviceLink (its own MQTT session, durable outbox),
 * without a camera pipeline: motion comes from a shared detection result, and no clips are recorded.
 */
export class FleetDevice {
  readonly topics: DeviceTopics;
  private readonly bus: EventBus;
  private doorbell: Doorbell | undefined;
  private link: DeviceLink | undefined;
  private readonly random: () => number;
  private ringTimer: TimerHandle | undefined;
  private motionTimer: TimerHandle | undefined;
  private motionOrigin = 0;
  private motionIndex = 0;
  private motionCycle = 0;
  private started = false;

  constructor(private readonly options: FleetDeviceOptions) {
    this.topics = deviceTopics(options.profile.topicPrefix, options.deviceId);
    this.bus = new EventBus((error) =>
      options.logger.error({ err: (error as Error).message }, 'fleet listener failed'),
    );
    this.random = seededRandom(seedFrom(`fleet:${options.deviceId}`));
  }

  get connected(): boolean {
    return this.link?.connected ?? false;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { options } = this;
    let nextSeq: () => number;
    let outbox: Outbox;
    if (options.dataDir !== undefined) {
      const dir = join(options.dataDir, options.deviceId);
      const seq = new PersistentCounter(join(dir, 'seq'));
      nextSeq = () => seq.next();
      outbox = new DurableOutbox(join(dir, 'outbox'));
    } else {
      let seq = 0;
      nextSeq = () => ++seq;
      outbox = new MemoryOutbox();
    }
    const doorbell = new Doorbell({
      deviceId: options.deviceId,
      profile: options.profile,
      clock: options.clock,
      bus: this.bus,
      nextSeq,
      ...(options.bootMs === undefined ? {} : { bootMs: options.bootMs }),
    });
    this.doorbell = doorbell;
    const link = new DeviceLink({
      connection: options.connection,
      prefix: options.profile.topicPrefix,
      deviceId: options.deviceId,
      topics: this.topics,
      outbox,
      commands: {
        press: () => doorbell.press('mqtt'),
        state: () => doorbell.state(),
      },
      logger: options.logger,
      onConnected: () => link.republishRetained(),
    });
    this.link = link;
    this.bus.subscribe((event) => this.onEvent(event));
    doorbell.start();
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
    this.doorbell?.stop();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.quiesce();
    this.started = false;
    await this.link?.stop();
  }

  private scheduleRing(): void {
    const { ringEveryMs, clock } = this.options;
    if (!(ringEveryMs > 0) || !this.started) return;
    this.ringTimer = clock.setTimeout(
      () => {
        this.doorbell?.press('fleet');
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
        this.doorbell?.motion({
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
    publishDeviceEvent(this.link, this.topics, event);
    if (event.kind !== 'state') this.options.onEventSent?.(event);
  }
}
