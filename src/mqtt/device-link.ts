import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { CommandResponse } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import { type BrokerConnection, clientOptions, disableNagle } from './connection.js';
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
  /** Extra topics the device listens to (e.g. Home Assistant's birth message). Retained copies are ignored. */
  listeners?: Array<{ topic: string; onMessage: (payload: Buffer) => void }>;
}

/**
 * The device's MQTT session: availability with an `offline` will, retained state, events from the
 * durable outbox (QoS 1, in order), and request/response commands.
 */
export class DeviceLink {
  private client: MqttClient | undefined;
  private readonly retained = new Map<string, string | Buffer>();
  private stopping = false;
  private commandsSubscribed = false;

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
    const client = mqtt.connect(connection.url, opts);
    this.client = client;
    client.on('connect', () => {
      disableNagle(client);
      logger.info({ broker: connection.url }, 'connected to broker');
      if (!this.retained.has(topics.availability)) this.retained.set(topics.availability, 'online');
      this.commandsSubscribed = false;
      client.subscribe(
        [topics.requestWildcard, topics.requesterRequestWildcard],
        { qos: 1 },
        (error, granted) => {
          // QoS 128 in a SUBACK is the broker refusing the subscription.
          if (!error && granted?.every((grant) => grant.qos < 128)) this.commandsSubscribed = true;
        },
      );
      for (const listener of this.options.listeners ?? []) client.subscribe(listener.topic, { qos: 1 });
      this.options.onConnected();
      this.options.onConnectionChange?.(true);
    });
    client.on('close', () => {
      if (!this.stopping) this.options.onConnectionChange?.(false);
    });
    client.on('error', (error) => logger.warn({ err: error.message }, 'mqtt error'));
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

  /** Appends an event to the durable outbox, then hands it to the client. */
  publishEvent(message: OutboxMessage): void {
    this.sendEntry(this.options.outbox.append(message));
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
    client.publish(entry.topic, entry.payload, opts, (error) => {
      if (!error) this.options.outbox.acknowledge(entry.n);
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
    const response = await dispatchRequest(this.options.commands, parsed.command, payload, requester);
    if (!response) {
      this.options.logger.warn({ topic }, 'ignored request with a malformed command name');
      return;
    }
    this.respond(parsed.command, response, requester, properties);
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
    command: string,
    response: CommandResponse,
    requester: string | undefined,
    properties: { responseTopic?: string; correlationData?: Buffer } | undefined,
  ): void {
    const client = this.client;
    if (!client) return;
    const { topics, logger } = this.options;
    const body = JSON.stringify(response);
    const answerTopic =
      requester === undefined ? topics.response(command) : topics.requesterResponse(requester, command);
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
