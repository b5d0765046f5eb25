import mqtt from 'mqtt';
import { type BrokerConnection, clientOptions, disableNagle } from './connection.js';

export type RequestReply =
  | { kind: 'response'; response: unknown }
  | { kind: 'timeout' }
  | { kind: 'connect-error'; message: string };

export interface RequestOnceOptions {
  connection: BrokerConnection;
  requestTopic: string;
  responseTopic: string;
  body: Record<string, unknown>;
  transaction: string;
  timeoutMs: number;
}

/** One request/response round trip as a short-lived client (what `doorbell press` does). */
export async function requestOnce(options: RequestOnceOptions): Promise<RequestReply> {
  const opts = await clientOptions(
    { ...options.connection, reconnectPeriodMs: options.connection.reconnectPeriodMs },
    `doorbell-cli-${options.transaction.slice(0, 8)}`,
  );
  const client = mqtt.connect(options.connection.url, {
    ...opts,
    reconnectPeriod: 0,
    connectTimeout: options.timeoutMs,
  });
  try {
    return await new Promise<RequestReply>((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'timeout' }), options.timeoutMs);
      const finish = (reply: RequestReply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      client.on('error', (error) => finish({ kind: 'connect-error', message: error.message }));
      client.on('close', () => {
        if (!client.connected) finish({ kind: 'connect-error', message: 'connection closed' });
      });
      client.on('message', (topic, payload) => {
        if (topic !== options.responseTopic) return;
        try {
          const response = JSON.parse(payload.toString('utf8')) as { transaction?: unknown };
          if (response.transaction === options.transaction) finish({ kind: 'response', response });
        } catch {
          // someone else's malformed message on the response topic; keep waiting for ours
        }
      });
      client.on('connect', () => {
        disableNagle(client);
        client.subscribe(options.responseTopic, { qos: 1 }, (error) => {
          if (error) return finish({ kind: 'connect-error', message: error.message });
          client.publish(options.requestTopic, JSON.stringify(options.body), { qos: 1 });
        });
      });
    });
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

/** The retained message on `topic`, or undefined if the broker holds none (or refuses the read) within timeoutMs. */
export async function readRetained(
  connection: BrokerConnection,
  topic: string,
  timeoutMs: number,
): Promise<
  { kind: 'message'; payload: Buffer } | { kind: 'none' } | { kind: 'connect-error'; message: string }
> {
  const opts = await clientOptions(connection, `doorbell-cli-${Math.random().toString(16).slice(2, 10)}`);
  const client = mqtt.connect(connection.url, { ...opts, reconnectPeriod: 0, connectTimeout: timeoutMs });
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'none' }), timeoutMs);
      const finish = (result: Awaited<ReturnType<typeof readRetained>>) => {
        clearTimeout(timer);
        resolve(result);
      };
      client.on('error', (error) => finish({ kind: 'connect-error', message: error.message }));
      client.on('message', (received, payload, packet) => {
        if (received === topic && packet.retain) finish({ kind: 'message', payload });
      });
      client.on('connect', () => {
        client.subscribe(topic, { qos: 1 }, (error) => {
          if (error) finish({ kind: 'none' });
        });
      });
    });
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}
