import { resolve } from 'node:path';
import type { BrokerChoice } from '../agent/device-broker.js';
import { loadProfile, type NamedProfile } from '../config/load-profile.js';
import { DEFAULT_PROFILE } from '../config/paths.js';
import {
  BROKER_PERSISTENCE_KINDS,
  type BrokerPersistenceKind,
  type EmbeddedBrokerOptions,
} from '../mqtt/broker.js';
import { exposureProblem, loadBrokerSecurity } from '../mqtt/broker-security.js';
import { type BrokerConnection, BrokerConnectionSchema } from '../mqtt/connection.js';
import { isValidDeviceId } from '../mqtt/topics.js';
import { issuePath } from '../util/zod-errors.js';
import { type CliIo, UserError, writeLine } from './io.js';
import type { OptionSpec, OptionSpecs } from './spec.js';

export const DEFAULT_DEVICE_ID = 'front-door';
export const DEFAULT_PORT = 1883;

/** Options every command that talks to a broker shares. */
export const brokerOptionSpec = {
  broker: {
    type: 'string',
    value: 'URL',
    help: 'the MQTT broker (mqtt://, mqtts://, ws://, wss://)',
    env: 'DOORBELL_BROKER',
  },
  username: { type: 'string', value: 'U', help: 'broker login', env: 'DOORBELL_MQTT_USERNAME' },
  password: { type: 'string', value: 'P', help: 'broker password', env: 'DOORBELL_MQTT_PASSWORD' },
  ca: { type: 'string', value: 'FILE', help: 'CA certificate (PEM) the broker is checked against' },
  cert: { type: 'string', value: 'FILE', help: 'client certificate (PEM), with --key' },
  key: { type: 'string', value: 'FILE', help: 'client private key (PEM), with --cert' },
  insecure: { type: 'boolean', help: "do not check the broker's TLS certificate" },
  'mqtt-version': {
    type: 'string',
    value: '3.1.1|5',
    help: 'MQTT protocol version (default 3.1.1)',
    env: 'DOORBELL_MQTT_VERSION',
  },
} satisfies OptionSpecs;

export const deviceIdOption = {
  id: {
    type: 'string',
    value: 'ID',
    help: `device id, 1-64 of a-z 0-9 _ - (default ${DEFAULT_DEVICE_ID})`,
    env: 'DOORBELL_ID',
  },
} satisfies OptionSpecs;

export const profileOption = {
  profile: {
    type: 'string',
    value: 'NAME|PATH',
    help: `device profile: a name in device-profiles/ or a JSON file (default ${DEFAULT_PROFILE})`,
    env: 'DOORBELL_PROFILE',
  },
} satisfies OptionSpecs;

export const dataDirOption = {
  'data-dir': {
    type: 'string',
    value: 'DIR',
    help: 'per-device state (seq, outbox, spool, config) and the default bucket (default .doorbell)',
    env: 'DOORBELL_DATA_DIR',
  },
} satisfies OptionSpecs;

/** A bucket a command reads or changes. */
export const bucketOption = {
  type: 'string',
  value: 'URL',
  help: 'DIR | file:///DIR | s3://NAME?endpoint=URL&region=R (default ./.doorbell/bucket)',
} satisfies OptionSpec;

/** Where an embedded broker listens. */
export const listenOptionSpec = {
  port: {
    type: 'string',
    value: 'N',
    help: `port of the embedded broker (default ${DEFAULT_PORT}; 0 picks a free port)`,
    env: 'DOORBELL_PORT',
  },
  host: { type: 'string', value: 'ADDR', help: 'address of the embedded broker (default 127.0.0.1)' },
} satisfies OptionSpecs;

export interface BrokerFlags {
  broker?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  insecure?: boolean | undefined;
  'mqtt-version'?: string | undefined;
}

export function deviceIdFrom(value: string | undefined): string {
  const id = value ?? DEFAULT_DEVICE_ID;
  if (!isValidDeviceId(id)) {
    throw new UserError(
      `--id ${JSON.stringify(id)} is not a valid device id (1-64 characters of a-z, 0-9, _ or -)`,
    );
  }
  return id;
}

export function portFrom(raw: string | undefined, fallback = DEFAULT_PORT, flag = '--port'): number {
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UserError(`${flag} ${JSON.stringify(raw)} is not a port number (0-65535; 0 picks a free port)`);
  }
  return port;
}

/** MQTT's protocol level for --mqtt-version: 4 is 3.1.1 (the default), 5 is MQTT 5. */
function mqttProtocolVersion(version: string | undefined): 4 | 5 {
  if (version === undefined || version === '3.1.1' || version === '4') return 4;
  if (version === '5') return 5;
  throw new UserError(`--mqtt-version ${JSON.stringify(version)}: use 3.1.1 or 5`);
}

/** Broker connection from the broker options (their env vars already applied by the spec). */
export function connectionFrom(flags: BrokerFlags, fallbackUrl: string): BrokerConnection {
  const protocolVersion = mqttProtocolVersion(flags['mqtt-version']);
  const input = {
    url: flags.broker ?? fallbackUrl,
    username: flags.username,
    password: flags.password,
    caFile: flags.ca,
    certFile: flags.cert,
    keyFile: flags.key,
    rejectUnauthorized: !flags.insecure,
    protocolVersion,
  };
  const result = BrokerConnectionSchema.safeParse(
    Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
  );
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issuePath(issue, '');
    const field = path === 'url' ? '--broker' : path;
    throw new UserError(`${field} ${JSON.stringify(input.url)}: ${issue.message}`);
  }
  return result.data;
}

export async function brokerChoiceFrom(
  flags: BrokerFlags & {
    port?: string | undefined;
    host?: string | undefined;
    'broker-persistence'?: string | undefined;
  } & Parameters<typeof brokerSecurityFrom>[0],
  io: CliIo,
): Promise<BrokerChoice> {
  const securityFlags = [flags.auth, flags['tls-cert'], flags['tls-key'], flags['tls-ca'], flags['tls-port']];
  if (flags.broker) {
    if (securityFlags.some((flag) => flag !== undefined)) {
      throw new UserError(
        '--auth and --tls-* secure the embedded broker; with --broker use --username/--password/--ca/--cert/--key',
      );
    }
    return { kind: 'external', connection: connectionFrom(flags, '') };
  }
  if (mqttProtocolVersion(flags['mqtt-version']) === 5) {
    throw new UserError(
      '--mqtt-version 5 needs --broker: the embedded broker (aedes) speaks MQTT 3.1.1 only; run an MQTT 5 broker ' +
        '(e.g. mosquitto) and pass --broker mqtt://HOST:1883, or leave --mqtt-version out',
    );
  }
  const security = await brokerSecurityFrom(flags, io);
  return {
    kind: 'embedded',
    host: flags.host ?? '127.0.0.1',
    port: portFrom(flags.port),
    security,
    persistence: brokerPersistenceFrom(flags['broker-persistence']),
  };
}

function brokerPersistenceFrom(value: string | undefined): BrokerPersistenceKind {
  if (value === undefined) return 'disk';
  const kind = BROKER_PERSISTENCE_KINDS.find((known) => known === value);
  if (!kind) {
    throw new UserError(
      `--broker-persistence ${JSON.stringify(value)}: use ${BROKER_PERSISTENCE_KINDS.join(' or ')}`,
    );
  }
  return kind;
}

export async function profileFrom(value: string | undefined, io: CliIo): Promise<NamedProfile> {
  const loaded = await loadProfile(value ?? DEFAULT_PROFILE);
  if (loaded.ok) return loaded.value;
  for (const error of loaded.errors) writeLine(io.stderr, error);
  throw new UserError(`${loaded.errors.length} problem(s) in the profile`, 2);
}

export function dataDirFrom(value: string | undefined, io: CliIo): string {
  return resolve(io.cwd, value ?? '.doorbell');
}

/** Flags that secure the embedded broker (`doorbell start` without --broker, `doorbell broker`). */
export const brokerSecurityOptionSpec = {
  auth: {
    type: 'string',
    value: 'USERS.json',
    help: 'require logins on the embedded broker (users and per-device ACL, see doorbell auth)',
  },
  'tls-cert': {
    type: 'string',
    value: 'FILE',
    help: 'PEM server certificate: adds an mqtts:// listener to the embedded broker',
  },
  'tls-key': { type: 'string', value: 'FILE', help: 'the PEM private key of --tls-cert' },
  'tls-ca': {
    type: 'string',
    value: 'FILE',
    help: 'require client certificates signed by this CA (mutual TLS)',
  },
  'tls-port': {
    type: 'string',
    value: 'N',
    help: 'port of the mqtts listener (default 8883; 0 picks a free port)',
  },
  'tls-identity': {
    type: 'boolean',
    help: "a verified client certificate's CN is the username (no password needed)",
  },
  'insecure-anonymous': {
    type: 'boolean',
    help: 'let an embedded broker off loopback run without --auth (with a warning)',
  },
} satisfies OptionSpecs;

export async function brokerSecurityFrom(
  values: {
    auth?: string | undefined;
    'tls-cert'?: string | undefined;
    'tls-key'?: string | undefined;
    'tls-ca'?: string | undefined;
    'tls-port'?: string | undefined;
    'tls-identity'?: boolean | undefined;
    'insecure-anonymous'?: boolean | undefined;
    host?: string | undefined;
  },
  io: CliIo,
): Promise<Pick<EmbeddedBrokerOptions, 'auth' | 'tls' | 'insecureAnonymous'>> {
  const insecureAnonymous = values['insecure-anonymous'] ?? false;
  const exposure = exposureProblem(values.host ?? '127.0.0.1', values.auth !== undefined, insecureAnonymous);
  if (exposure.refuse) throw new UserError(exposure.message ?? 'refused');
  if (exposure.message) writeLine(io.stderr, exposure.message);
  const security = await loadBrokerSecurity({
    authFile: values.auth,
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
    tlsCa: values['tls-ca'],
    tlsPort: values['tls-port'] === undefined ? undefined : portFrom(values['tls-port'], 0, '--tls-port'),
    certificateIdentity: values['tls-identity'],
  }).catch((error: Error) => {
    throw new UserError(error.message);
  });
  return { ...security, ...(insecureAnonymous ? { insecureAnonymous } : {}) };
}
