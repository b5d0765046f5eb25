import { join } from 'node:path';
import type { DeviceProfile } from '../config/profile.js';
import type { Logger } from '../log/logger.js';
import { type BrokerPersistenceKind, EmbeddedBroker, type EmbeddedBrokerOptions } from '../mqtt/broker.js';
import { type BrokerConnection, BrokerConnectionSchema } from '../mqtt/connection.js';
import { deviceClientId } from '../mqtt/topics.js';

export type BrokerChoice =
  | {
      kind: 'embedded';
      host: string;
      port: number;
      security?: Pick<EmbeddedBrokerOptions, 'auth' | 'tls' | 'insecureAnonymous'>;
      /** `disk` (default): sessions, queued QoS 1 messages and retained messages survive restarts. */
      persistence?: BrokerPersistenceKind;
    }
  | { kind: 'external'; connection: BrokerConnection };

export interface DeviceBroker {
  /** The embedded broker, when this device runs one. */
  broker?: EmbeddedBroker;
  connection: BrokerConnection;
  /** With the embedded broker, the outbox waits for it to store what it acknowledged (see DeviceLink). */
  brokerStored?: (topic: string, payload: string) => Promise<void>;
}

/** The broker a device talks to: an external one as given, or its own embedded broker, started here. */
export async function startDeviceBroker(options: {
  choice: BrokerChoice;
  deviceId: string;
  profile: DeviceProfile;
  deviceDir: string;
  discoveryPrefix: string;
  availabilityTopic: string;
  logger: Logger;
}): Promise<DeviceBroker> {
  const { choice, deviceId, logger } = options;
  if (choice.kind === 'external') return { connection: choice.connection };
  const broker = new EmbeddedBroker({
    host: choice.host,
    port: choice.port,
    prefix: options.profile.topicPrefix,
    discoveryPrefix: options.discoveryPrefix,
    logger,
    persistence:
      (choice.persistence ?? 'disk') === 'disk'
        ? { kind: 'disk', dir: join(options.deviceDir, 'broker') }
        : { kind: 'memory' },
    ...choice.security,
  });
  await broker.start();
  // A kill -9 left the last run's retained "online" in the session store: say the truth until this run is ready.
  await broker.publishRetained(options.availabilityTopic, 'offline');
  // With --auth, the device next to the broker logs in with credentials issued for this run.
  const session = broker.auth?.issueSessionCredentials({ role: 'device', deviceId });
  const clientId = deviceClientId(deviceId);
  return {
    broker,
    connection: BrokerConnectionSchema.parse({ url: broker.url, ...session }),
    brokerStored: (topic, payload) => broker.storedFrom(clientId, topic, payload),
  };
}
