import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock/clock.js';
import { RealClock } from '../clock/real-clock.js';
import type { NamedProfile } from '../config/load-profile.js';
import { Doorbell } from '../device/doorbell.js';
import { EventBus } from '../events/bus.js';
import type { DeviceEvent, PressSource } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import { EmbeddedBroker } from '../mqtt/broker.js';
import { type BrokerConnection, BrokerConnectionSchema } from '../mqtt/connection.js';
import { DeviceLink } from '../mqtt/device-link.js';
import { DurableOutbox } from '../mqtt/outbox.js';
import { type DeviceTopics, deviceTopics } from '../mqtt/topics.js';
import { PersistentCounter } from '../persist/counter.js';
import { deviceCommands } from './commands.js';

export type BrokerChoice =
  | { kind: 'embedded'; host: string; port: number }
  | { kind: 'external'; connection: BrokerConnection };

export interface AgentOptions {
  deviceId: string;
  profile: NamedProfile;
  broker: BrokerChoice;
  /** Per-device state (sequence counter, outbox) lives under dataDir/<deviceId>. */
  dataDir: string;
  logger: Logger;
  clock?: Clock;
  bootMs?: number;
}

/** Wires one doorbell to its broker and owns start/stop order. Constructors do no I/O. */
export class Agent {
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly topics: DeviceTopics;
  private broker: EmbeddedBroker | undefined;
  private link: DeviceLink | undefined;
  private doorbellInstance: Doorbell | undefined;
  private outbox: DurableOutbox | undefined;
  private unsubscribe: (() => void) | undefined;
  private started = false;

  constructor(private readonly options: AgentOptions) {
    this.clock = options.clock ?? new RealClock();
    this.bus = new EventBus((error, event) =>
      options.logger.error({ err: (error as Error).message, kind: event.kind }, 'event listener failed'),
    );
    this.topics = deviceTopics(options.profile.profile.topicPrefix, options.deviceId);
  }

  get doorbell(): Doorbell {
    if (!this.doorbellInstance) throw new Error('agent not started');
    return this.doorbellInstance;
  }

  /** The URL clients use to reach this device's broker. */
  get brokerUrl(): string {
    const { broker } = this.options;
    if (broker.kind === 'external') return broker.connection.url;
    return this.broker?.url ?? `mqtt://${broker.host}:${broker.port}`;
  }

  get embeddedBroker(): EmbeddedBroker | undefined {
    return this.broker;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { options } = this;
    const { profile } = options.profile;
    const deviceDir = join(options.dataDir, options.deviceId);
    mkdirSync(deviceDir, { recursive: true });
    const seq = new PersistentCounter(join(deviceDir, 'seq'));
    this.outbox = new DurableOutbox(join(deviceDir, 'outbox'));

    let connection: BrokerConnection;
    if (options.broker.kind === 'embedded') {
      this.broker = new EmbeddedBroker({
        host: options.broker.host,
        port: options.broker.port,
        prefix: profile.topicPrefix,
        logger: options.logger,
      });
      await this.broker.start();
      connection = BrokerConnectionSchema.parse({ url: this.broker.url });
    } else {
      connection = options.broker.connection;
    }

    const doorbell = new Doorbell({
      deviceId: options.deviceId,
      profile,
      clock: this.clock,
      bus: this.bus,
      nextSeq: () => seq.next(),
      ...(options.bootMs === undefined ? {} : { bootMs: options.bootMs }),
    });
    this.doorbellInstance = doorbell;
    const link = new DeviceLink({
      connection,
      prefix: profile.topicPrefix,
      deviceId: options.deviceId,
      topics: this.topics,
      outbox: this.outbox,
      commands: deviceCommands(doorbell),
      logger: options.logger,
      onConnected: () => link.republishRetained(),
    });
    this.link = link;
    this.unsubscribe = this.bus.subscribe((event) => this.publish(event));
    doorbell.start();
    await link.start();
  }

  press(source: PressSource) {
    return this.doorbell.press(source);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.doorbellInstance?.stop();
    this.unsubscribe?.();
    await this.link?.stop();
    await this.broker?.stop();
  }

  private publish(event: DeviceEvent): void {
    const link = this.link;
    if (!link) return;
    const { topics } = this;
    switch (event.kind) {
      case 'ding':
        link.publishEvent({
          topic: topics.dingEvents,
          payload: JSON.stringify(event.payload),
          qos: 1,
          retain: false,
        });
        break;
      case 'motion':
        link.publishEvent({
          topic: topics.motionEvents,
          payload: JSON.stringify(event.payload),
          qos: 1,
          retain: false,
        });
        if (event.payload.type !== 'update')
          link.publishRetained(topics.motion, event.payload.type === 'start' ? 'ON' : 'OFF');
        break;
      case 'clip':
        link.publishEvent({
          topic: topics.clipEvents,
          payload: JSON.stringify(event.payload),
          qos: 1,
          retain: false,
        });
        break;
      case 'state':
        link.publishRetained(
          topics.state,
          JSON.stringify({ ...event.payload, queues: this.queueDepths(event) }),
        );
        if (!this.motionPublished) {
          this.motionPublished = true;
          link.publishRetained(topics.motion, event.payload.motion ? 'ON' : 'OFF');
        }
        break;
    }
  }

  private motionPublished = false;

  private queueDepths(event: Extract<DeviceEvent, { kind: 'state' }>) {
    return { ...event.payload.queues, outbox: this.outbox?.depth ?? 0 };
  }
}
