import { readFile } from 'node:fs/promises';
import { createConnection, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqtt, { type IClientOptions, MqttClient } from 'mqtt';
import { z } from 'zod';

export const BrokerConnectionSchema = z
  .object({
    url: z
      .string()
      .regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'a broker URL like mqtt://host:1883 or mqtts://host:8883'),
    username: z.string().optional(),
    password: z.string().optional(),
    /** PEM files for TLS: the CA that signed the broker, and a client certificate + key for mutual TLS. */
    caFile: z.string().optional(),
    certFile: z.string().optional(),
    keyFile: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
    keepaliveS: z.number().int().min(5).max(3600).default(30),
    reconnectPeriodMs: z.number().int().min(100).max(60_000).default(1000),
  })
  .strict();

export type BrokerConnection = z.output<typeof BrokerConnectionSchema>;

export interface Will {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
}

/** mqtt.js options for a broker connection; reads TLS files (the only I/O here). */
export async function clientOptions(
  connection: BrokerConnection,
  clientId: string,
  will?: Will,
): Promise<IClientOptions> {
  const [ca, cert, key] = await Promise.all(
    [connection.caFile, connection.certFile, connection.keyFile].map((file) =>
      file
        ? readFile(file).catch((error: NodeJS.ErrnoException) => {
            throw new Error(`cannot read TLS file ${file}: ${error.code ?? error.message}`);
          })
        : Promise.resolve(undefined),
    ),
  );
  return {
    clientId,
    clean: true,
    protocolVersion: connection.protocolVersion,
    keepalive: connection.keepaliveS,
    reconnectPeriod: connection.reconnectPeriodMs,
    connectTimeout: 10_000,
    ...(connection.username !== undefined ? { username: connection.username } : {}),
    ...(connection.password !== undefined ? { password: connection.password } : {}),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: connection.rejectUnauthorized,
    ...(will ? { will: { ...will, payload: Buffer.from(will.payload) } } : {}),
  };
}

/** Masks the password in a broker URL for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}

/** Small MQTT packets wait for Nagle's algorithm on TCP; events should not. */
export function disableNagle(client: MqttClient): void {
  (client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined)?.setNoDelay?.(true);
}

/**
 * mqtt.connect, or — with a source address — a client on a socket bound to it (mqtt.js does not pass
 * localAddress to its TCP streams): one IP address has ≈60k source ports per broker address, a fleet may need more.
 */
export function connectClient(url: string, options: IClientOptions, localAddress?: string): MqttClient {
  if (localAddress === undefined) return mqtt.connect(url, options);
  const parsed = new URL(url);
  const secure = parsed.protocol === 'mqtts:';
  if (!secure && parsed.protocol !== 'mqtt:')
    throw new Error(`a source address needs an mqtt:// or mqtts:// broker, not ${parsed.protocol}//`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port ? Number(parsed.port) : secure ? 8883 : 1883;
  const credentials = {
    ...(parsed.username && options.username === undefined
      ? { username: decodeURIComponent(parsed.username) }
      : {}),
    ...(parsed.password && options.password === undefined
      ? { password: decodeURIComponent(parsed.password) }
      : {}),
  };
  const stream = () =>
    secure
      ? tlsConnect({
          socket: createConnection({ host, port, localAddress }),
          ...(isIP(host) ? {} : { servername: host }),
          ...(options.ca ? { ca: options.ca as Buffer } : {}),
          ...(options.cert ? { cert: options.cert as Buffer } : {}),
          ...(options.key ? { key: options.key as Buffer } : {}),
          rejectUnauthorized: options.rejectUnauthorized !== false,
        })
      : createConnection({ host, port, localAddress });
  return new MqttClient(stream, {
    ...options,
    ...credentials,
    protocol: secure ? 'mqtts' : 'mqtt',
    host,
    port,
  });
}
