import { resolve } from 'node:path';
import type { BrokerChoice } from '../agent/agent.js';
import { loadProfile, type NamedProfile } from '../config/load-profile.js';
import { DEFAULT_PROFILE } from '../config/paths.js';
import type { EmbeddedBrokerOptions } from '../mqtt/broker.js';
import { exposureProblem, loadBrokerSecurity } from '../mqtt/broker-security.js';
import { type BrokerConnection, BrokerConnectionSchema } from '../mqtt/connection.js';
import { isValidDeviceId } from '../mqtt/topics.js';
import { type CliIo, UsageError, writeLine } from './io.js';

export const DEFAULT_DEVICE_ID = 'front-door';
export const DEFAULT_PORT = 1883;

/** Options every command that talks to a broker shares. */
export const brokerOptionSpec = {
  broker: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  insecure: { type: 'boolean' },
  'mqtt-version': { type: 'string' },
} as const;

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

export function deviceIdFrom(value: string | undefined, io: CliIo): string {
  const id = value ?? io.env['DOORBELL_ID'] ?? DEFAULT_DEVICE_ID;
  if (!isValidDeviceId(id)) {
    throw new UsageError(
      `--id ${JSON.stringify(id)} is not a valid device id (1-64 characters of a-z, 0-9, _ or -)`,
    );
  }
  return id;
}

export function portFrom(value: string | undefined, io: CliIo, fallback = DEFAULT_PORT): number {
  const raw = value ?? io.env['DOORBELL_PORT'];
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port ${JSON.stringify(raw)} is not a port number (0-65535; 0 picks a free port)`);
  }
  return port;
}

/** Broker connection from flags, then env (DOORBELL_BROKER, DOORBELL_MQTT_USERNAME/PASSWORD). */
export function connectionFrom(flags: BrokerFlags, io: CliIo, fallbackUrl: string): BrokerConnection {
  const version = flags['mqtt-version'] ?? io.env['DOORBELL_MQTT_VERSION'];
  const protocolVersion =
    version === undefined ? 4 : version === '5' ? 5 : version === '3.1.1' || version === '4' ? 4 : NaN;
  if (Number.isNaN(protocolVersion))
    throw new UsageError(`--mqtt-version ${JSON.stringify(version)}: use 3.1.1 or 5`);
  const input = {
    url: flags.broker ?? io.env['DOORBELL_BROKER'] ?? fallbackUrl,
    username: flags.username ?? io.env['DOORBELL_MQTT_USERNAME'],
    password: flags.password ?? io.env['DOORBELL_MQTT_PASSWORD'],
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
    const field = issue.path.join('.') === 'url' ? '--broker' : String(issue.path.join('.'));
    throw new UsageError(`${field} ${JSON.stringify(input.url)}: ${issue.message}`);
  }
  return result.data;
}

export async function brokerChoiceFrom(
  flags: BrokerFlags & { port?: string | undefined; host?: string | undefined } & Parameters<
      typeof brokerSecurityFrom
    >[0],
  io: CliIo,
): Promise<BrokerChoice> {
  const securityFlags = [flags.auth, flags['tls-cert'], flags['tls-key'], flags['tls-ca'], flags['tls-port']];
  if (flags.broker ?? io.env['DOORBELL_BROKER']) {
    if (securityFlags.some((flag) => flag !== undefined)) {
      throw new UsageError(
        '--auth and --tls-* secure the embedded broker; with --broker use --username/--password/--ca/--cert/--key',
      );
    }
    return { kind: 'external', connection: connectionFrom(flags, io, '') };
  }
  const security = await brokerSecurityFrom(flags, io);
  return { kind: 'embedded', host: flags.host ?? '127.0.0.1', port: portFrom(flags.port, io), security };
}

export async function profileFrom(value: string | undefined, io: CliIo): Promise<NamedProfile> {
  const loaded = await loadProfile(value ?? io.env['DOORBELL_PROFILE'] ?? DEFAULT_PROFILE);
  if (loaded.ok) return loaded.value;
  for (const error of loaded.errors) writeLine(io.stderr, error);
  throw new UsageError(`${loaded.errors.length} problem(s) in the profile`, 2);
}

export function dataDirFrom(value: string | undefined, io: CliIo): string {
  return resolve(io.cwd, value ?? io.env['DOORBELL_DATA_DIR'] ?? '.doorbell');
}

/** Flags that secure the embedded broker (`doorbell start` without --broker, `doorbell broker`). */
export const brokerSecurityOptionSpec = {
  auth: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-port': { type: 'string' },
  'tls-identity': { type: 'boolean' },
  'insecure-anonymous': { type: 'boolean' },
} as const;

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
  if (exposure.refuse) throw new UsageError(exposure.message ?? 'refused');
  if (exposure.message) writeLine(io.stderr, exposure.message);
  const security = await loadBrokerSecurity({
    authFile: values.auth,
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
    tlsCa: values['tls-ca'],
    tlsPort: values['tls-port'] === undefined ? undefined : portFrom(values['tls-port'], io),
    certificateIdentity: values['tls-identity'],
  }).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  return { ...security, ...(insecureAnonymous ? { insecureAnonymous } : {}) };
}
