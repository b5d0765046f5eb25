import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { connect, subscriber } from '../helpers/mqtt.js';

describe('embedded broker door checks', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  beforeAll(() => broker.start());
  afterAll(() => broker.stop());

  it('binds to loopback on an ephemeral port, and a second start is a no-op', async () => {
    expect(broker.port).toBeGreaterThan(0);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    await broker.start();
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
  });

  it('refuses a publish under an invalid device id and does not deliver it', async () => {
    const watch = await subscriber(broker.url, 'doorbell/#');
    const rogue = await connect(broker.url, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => rogue.once('close', () => resolve()));
    rogue.publish('doorbell/BAD ID!/request/press', '{}', { qos: 1 });
    await closed;
    await watch.client.publishAsync('doorbell/good-id/request/state', '{}', { qos: 1 });
    await watch.waitForTopic('doorbell/good-id/request/state');
    expect(watch.messages.map((m) => m.topic)).not.toContain('doorbell/BAD ID!/request/press');
    await watch.client.endAsync();
    await rogue.endAsync(true);
  });

  it('a port in use gives a clear error', async () => {
    const clash = new EmbeddedBroker({ port: broker.port });
    await expect(clash.start()).rejects.toThrow(/in use/);
  });
});
