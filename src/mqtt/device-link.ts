import type { IClientPublishOptions, MqttClient } from 'mqtt';
import type { IntervalTimer } from '../clock/timer-wheel.js';
import type { CommandResponse } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import { type BrokerConnection, clientOptions, connectClient, disableNagle } from './connection.js';
import type { Outbox, OutboxEntry, OutboxMessage } from './outbox.js';
import { type CommandTable, dispatchRequest } from './requests.js';
import { type DeviceTopics, deviceClientId, parseTopic } from './topics.js';

export interface DeviceLinkOptions {
  connection: BrokerConnection;
  prefix: string;
  deviceId: string;
  topics: DeviceTopics;
  outbox: Outbox;
  commands: CommandTable;
  logger: Logger;
  /** Retained messages to (re)publish on every connect, e.g. the current state. */
  onConnected: () => void;
  onConnectionChange?: (connected: boolean) => void;
  /** The outbox's depth after every append and acknowledgement (the device's state reports it). */
  onOutboxDepth?: (depth: number) => void;
  /**
   * With the embedded broker in this process: resolves once the broker has stored what it acknowledged (it sends a
   * QoS 1 PUBACK first), so an entry leaves the outbox only when a kill -9 can no longer lose it.
   */
  brokerStored?: (topic: string, payload: string) => Promise<void>;
  /** Extra topics the device listens to (e.g. Home Assistant's birth message). Retained copies are ignored. */
  listeners?: Array<{ topic: string; onMessage: (payload: Buffer) => void }>;
  /** Runs the client's keepalive on a shared timer (a fleet's wheel) instead of a node interval per session. */
  keepaliveTimer?: IntervalTimer;
  /** The source address of the connection (a fleet spreads its sessions over several). */
  localAddress?: string;
  /** An event left the outbox: the broker acknowledged it this long after it was handed to the client. */
  onEventAcknowledged?: (latencyMs: number) => void;
  /** The client reported an error (refused connection, protocol error…). */
  onError?: (message: string) => void;
}

/** A session the broker ends this soon after it began, with no error of ours, counts as taken over. */
const TAKEOVER_WINDOW_MS = 10_000;
/** Two in a row: one can be a network blip; the broker ending every session is another client with our id. */
const TAKEOVERS_BEFORE_BACKOFF = 2;
const MAX_BACKOFF_MS = 60_000;
/** MQTT 5 DISCONNECT reason code: another client connected with this client id. */
const SESSION_TAKEN_OVER = 0x8e;

/**
 * The device's MQTT session: availability with an `offline` will, retained state, events from the
 * durable outbox (QoS 1, in order), and request/response commands. Availability says `online` only when the
 * device is ready (setOnline) and the broker has acknowledged the command subscription.
 */
export class DeviceLink {
  private client: MqttClient | undefined;
  private readonly retained = new Map<string, string | Buffer>();
  private stopping = false;
  private commandsSubscribed = false;
  private deviceOnline = false;
  /** What this session last said on the availability topic (the will or a clean stop left `offline`). */
  private availability: 'online' | 'offline' = 'offline';
  private sessionStartedAt = 0;
  private sessionError = false;
  private takeovers = 0;
  private takeoverReported = false;
  /** Response topics with a request being answered, and the events (later answers) held until that answer is out. */
  private readonly answering = new Map<string, { requests: number; held: OutboxMessage[] }>();

  constructor(private readonly options: DeviceLinkOptions) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Connected, and the broker has acknowledged the command subscription: a request sent now is answered. */
  get acceptingCommands(): boolean {
    return this.connected && this.commandsSubscribed;
  }

  async start(): Promise<void> {
    if (this.client) return;
    const { connection, topics, deviceId, logger } = this.options;
    const opts = await clientOptions(connection, deviceClientId(deviceId), {
      topic: topics.availability,
      payload: 'offline',
      retain: true,
      qos: 1,
    });
    const { keepaliveTimer, localAddress } = this.options;
    const client = connectClient(
      connection.url,
      keepaliveTimer ? { ...opts, timerVariant: keepaliveTimer } : opts,
      localAddress,
    );
    this.client = client;
    client.on('connect', () => {
      disableNagle(client);
      if (!this.takeoverReported) logger.info({ broker: connection.url }, 'connected to broker');
      this.sessionStartedAt = performance.now();
      this.sessionError = false;
      this.commandsSubscribed = false;
      this.availability = 'offline';
      const commandTopics = [topics.requestWildcard, topics.requesterRequestWildcard];
      client.subscribe(commandTopics, { qos: 1 }, (error, granted) => {
        // QoS 128 in a SUBACK is the broker refusing the subscription.
        if (error || !granted?.every((grant) => grant.qos < 128)) {
          logger.error({ topics: commandTopics }, 'the broker refused the command subscription');
          this.options.onError?.('the broker refused the command subscription');
          return;
        }
        this.commandsSubscribed = true;
        this.publishAvailability();
      });
      for (const listener of this.options.listeners ?? []) client.subscribe(listener.topic, { qos: 1 });
      this.options.onConnected();
      this.options.onConnectionChange?.(true);
    });
    client.on('disconnect', (packet) => {
      if (packet.reasonCode !== SESSION_TAKEN_OVER) return;
      this.sessionStartedAt = 0;
      this.sessionTakenOver(client);
    });
    client.on('close', () => {
      if (this.stopping) return;
      this.options.onConnectionChange?.(false);
      const lasted = performance.now() - this.sessionStartedAt;
      if (this.sessionStartedAt > 0 && !this.sessionError && lasted < TAKEOVER_WINDOW_MS) {
        this.sessionTakenOver(client);
      } else if (this.sessionStartedAt > 0) {
        this.sessionSurvived(client);
      }
      this.sessionStartedAt = 0;
    });
    client.on('error', (error) => {
      this.sessionError = true;
      logger.warn({ err: error.message }, 'mqtt error');
      this.options.onError?.(error.message);
    });
    client.on('message', (topic, payload, packet) => {
      const listener = this.options.listeners?.find((l) => l.topic === topic);
      if (listener) {
        if (!packet.retain) listener.onMessage(payload);
        return;
      }
      // A retained request is a stale one replayed by the broker, not someone asking now.
      if (packet.retain) {
        logger.warn({ topic }, 'ignored a retained request');
        return;
      }
      void this.handleMessage(topic, payload, packet.properties);
    });
    // Whatever a previous run left unacknowledged goes first, in order.
    for (const entry of this.options.outbox.unacknowledged()) this.sendEntry(entry);
  }

  /**
   * Appends an event to the durable outbox, then hands it to the client. A later answer on a response topic whose
   * request is still being answered (a share released at once) waits until that first answer is out.
   */
  publishEvent(message: OutboxMessage): void {
    const answering = this.answering.get(message.topic);
    if (answering) {
      answering.held.push(message);
      return;
    }
    const entry = this.options.outbox.append(message);
    this.options.onOutboxDepth?.(this.options.outbox.depth);
    this.sendEntry(entry);
  }

  /** The device is ready (booted) or not (booting, rebooting); availability follows once subscribed. */
  setOnline(online: boolean): void {
    this.deviceOnline = online;
    this.publishAvailability();
  }

  private publishAvailability(): void {
    const client = this.client;
    if (!client?.connected) return;
    const next = this.deviceOnline && this.commandsSubscribed ? 'online' : 'offline';
    if (next === this.availability) return;
    this.availability = next;
    client.publish(this.options.topics.availability, next, { qos: 1, retain: true });
  }

  /**
   * The broker ended a session it had just accepted: another client uses this device's id (brokers keep one session
   * per client id and drop the older one). Said once, then reconnects slow down so the two stop knocking each
   * other off every few seconds.
   */
  private sessionTakenOver(client: MqttClient): void {
    const { connection, deviceId, logger } = this.options;
    this.takeovers += 1;
    if (this.takeovers < TAKEOVERS_BEFORE_BACKOFF) return;
    const backoffMs = Math.min(
      MAX_BACKOFF_MS,
      connection.reconnectPeriodMs * 2 ** (this.takeovers - TAKEOVERS_BEFORE_BACKOFF + 1),
    );
    client.options.reconnectPeriod = backoffMs;
    if (this.takeoverReported) return;
    this.takeoverReported = true;
    logger.warn(
      { broker: connection.url, clientId: client.options.clientId, backoffMs },
      `another client is connected as device "${deviceId}": the broker keeps ending this session ` +
        `(two doorbells with the id "${deviceId}"?); reconnecting less often, up to every ${MAX_BACKOFF_MS / 1000} s`,
    );
  }

  private sessionSurvived(client: MqttClient): void {
    if (this.takeoverReported)
      this.options.logger.info(
        { deviceId: this.options.deviceId },
        'session held: no other client took it over',
      );
    this.takeovers = 0;
    this.takeoverReported = false;
    client.options.reconnectPeriod = this.options.connection.reconnectPeriodMs;
  }

  /** Latest-value topics (state, motion, snapshot): not queued durably, republished on connect. */
  publishRetained(topic: string, payload: string | Buffer, options: { force?: boolean } = {}): void {
    const previous = this.retained.get(topic);
    if (!options.force && previous !== undefined && samePayload(previous, payload)) return;
    this.retained.set(topic, payload);
    if (this.client?.connected) this.client.publish(topic, payload, { qos: 1, retain: true });
  }

  republishRetained(): void {
    if (!this.client?.connected) return;
    for (const [topic, payload] of this.retained)
      this.client.publish(topic, payload, { qos: 1, retain: true });
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (!client || this.stopping) return;
    this.stopping = true;
    if (client.connected) {
      await new Promise<void>((resolve) =>
        client.publish(this.options.topics.availability, 'offline', { qos: 1, retain: true }, () =>
          resolve(),
        ),
      );
    }
    await client.endAsync(!client.connected).catch(() => undefined);
    this.client = undefined;
  }

  private sendEntry(entry: OutboxEntry): void {
    const client = this.client;
    if (!client) return;
    const opts: IClientPublishOptions = { qos: entry.qos, retain: entry.retain };
    // Asked before publishing, so the broker cannot store it before anyone waits.
    const stored = this.options.brokerStored?.(entry.topic, entry.payload);
    const handedAt = performance.now();
    client.publish(entry.topic, entry.payload, opts, (error) => {
      if (error) return;
      const delivered = () => {
        this.options.outbox.acknowledge(entry.n);
        this.options.onOutboxDepth?.(this.options.outbox.depth);
        this.options.onEventAcknowledged?.(performance.now() - handedAt);
      };
      if (stored) void stored.then(delivered);
      else delivered();
    });
  }

  private async handleMessage(
    topic: string,
    payload: Buffer,
    properties: { responseTopic?: string; correlationData?: Buffer } | undefined,
  ): Promise<void> {
    const parsed = parseTopic(this.options.prefix, topic);
    if (parsed.kind !== 'request' && parsed.kind !== 'requester-request') return;
    if (parsed.deviceId !== this.options.deviceId) return;
    const requester = parsed.kind === 'requester-request' ? parsed.user : undefined;
    const { topics } = this.options;
    const answerTopic =
      requester === undefined
        ? topics.response(parsed.command)
        : topics.requesterResponse(requester, parsed.command);
    const answering = this.answering.get(answerTopic) ?? { requests: 0, held: [] };
    answering.requests += 1;
    this.answering.set(answerTopic, answering);
    try {
      const response = await dispatchRequest(this.options.commands, parsed.command, payload, requester);
      if (!response) {
        this.options.logger.warn({ topic }, 'ignored a request with a command name too long to answer on');
        return;
      }
      this.respond(answerTopic, parsed.command, response, requester, properties);
    } finally {
      answering.requests -= 1;
      if (answering.requests === 0) {
        this.answering.delete(answerTopic);
        for (const message of answering.held) this.publishEvent(message);
      }
    }
  }

  /**
   * An MQTT 5 requester names where the answer goes, but only inside its own namespace (the broker vouches for
   * the namespace of the request): anywhere else, the device's credentials would lend the answer their weight.
   */
  private isAcceptableResponseTopic(topic: string, requester: string | undefined): boolean {
    if (requester === undefined) return false;
    if (topic.includes('#') || topic.includes('+')) return false;
    return topic.startsWith(`${this.options.topics.requesterRoot(requester)}/`);
  }

  private respond(
    answerTopic: string,
    command: string,
    response: CommandResponse,
    requester: string | undefined,
    properties: { responseTopic?: string; correlationData?: Buffer } | undefined,
  ): void {
    const client = this.client;
    if (!client) return;
    const { logger } = this.options;
    const body = JSON.stringify(response);
    client.publish(answerTopic, body, { qos: 1 });
    const responseTopic = properties?.responseTopic;
    if (!responseTopic) return;
    if (!this.isAcceptableResponseTopic(responseTopic, requester)) {
      logger.warn({ responseTopic, command }, 'ignored an MQTT 5 response topic outside the asker namespace');
      return;
    }
    client.publish(responseTopic, body, {
      qos: 1,
      ...(properties.correlationData ? { properties: { correlationData: properties.correlationData } } : {}),
    });
  }
}

function samePayload(a: string | Buffer, b: string | Buffer): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}
