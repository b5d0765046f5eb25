import mqtt, { type MqttClient } from 'mqtt';

/** Transactions of the runner's own state requests: a round trip proving the wire was read up to it. */
export const BARRIER_PREFIX = 'replay-barrier-';

/** The barrier transaction a state response answers, if it answers one. */
export function barrierOf(payload: Buffer): string | undefined {
  const text = payload.toString('utf8');
  if (!text.includes(BARRIER_PREFIX)) return undefined;
  try {
    const transaction = (JSON.parse(text) as { transaction?: unknown }).transaction;
    return typeof transaction === 'string' && transaction.startsWith(BARRIER_PREFIX)
      ? transaction
      : undefined;
  } catch {
    return undefined;
  }
}

/** A subscriber on the broker: what the device's messages were delivered as. */
export async function connectWatcher(url: string, filter: string): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    clientId: `replay-tape-${process.pid}`,
    clean: true,
    reconnectPeriod: 100,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return client;
}
