import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import { DeviceLink, type DeviceLinkOptions } from '../../src/mqtt/device-link.js';
import { MemoryOutbox } from '../../src/mqtt/outbox.js';
import { deviceTopics } from '../../src/mqtt/topics.js';
import { subscriber } from '../helpers/mqtt.js';

describe('DeviceLink', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  beforeAll(() => broker.start());
  afterAll(() => broker.stop());

  let n = 0;
  /** A link for a fresh device id on the test broker. */
  function link(overrides: Partial<DeviceLinkOptions> = {}) {
    const deviceId = `link-${++n}`;
    const topics = deviceTopics('doorbell', deviceId);
    const outbox = new MemoryOutbox();
    const depths: number[] = [];
    const device = new DeviceLink({
      connection: BrokerConnectionSchema.parse({ url: broker.url, reconnectPeriodMs: 100 }),
      prefix: 'doorbell',
      deviceId,
      topics,
      outbox,
      commands: { echo: (args) => ({ echoed: args['text'] }) },
      logger: silentLogger(),
      onConnected: () => device.republishRetained(),
      onOutboxDepth: (depth) => depths.push(depth),
      ...overrides,
    });
    return { device, topics, outbox, depths, root: `doorbell/${deviceId}` };
  }

  it('says online only once the device is ready, and offline when stopped', async () => {
    const { device, topics, root } = link();
    const watch = await subscriber(broker.url, topics.availability);
    await device.start();
    await expect.poll(() => device.acceptingCommands).toBe(true);
    expect(watch.on(topics.availability).map((m) => m.text)).not.toContain('online');
    device.setOnline(true);
    await watch.waitFor((ms) => ms.at(-1)?.text === 'online', 5000, `${root} online`);
    await device.stop();
    await watch.waitFor((ms) => ms.at(-1)?.text === 'offline', 5000, `${root} offline`);
    await watch.client.endAsync();
  });

  it('publishes events through the outbox, in order, and forgets them once acknowledged', async () => {
    const { device, root, outbox, depths } = link();
    const watch = await subscriber(broker.url, `${root}/events/#`);
    await device.start();
    for (let i = 1; i <= 3; i++) {
      device.publishEvent({ topic: `${root}/events/ding`, payload: `{"seq":${i}}`, qos: 1, retain: false });
    }
    await watch.waitFor((ms) => ms.length === 3, 5000, 'three dings');
    expect(watch.messages.map((m) => m.text)).toEqual(['{"seq":1}', '{"seq":2}', '{"seq":3}']);
    expect(watch.messages.every((m) => m.qos === 1)).toBe(true);
    await expect.poll(() => outbox.depth).toBe(0);
    expect(depths.at(-1)).toBe(0);
    expect(Math.max(...depths)).toBeGreaterThan(0);
    await device.stop();
    await watch.client.endAsync();
  });

  it('events published before the broker is reached wait in the outbox and go out on connect', async () => {
    const { device, root, outbox } = link();
    device.publishEvent({ topic: `${root}/events/ding`, payload: '{"seq":1}', qos: 1, retain: false });
    expect(outbox.depth).toBe(1);
    const watch = await subscriber(broker.url, `${root}/events/#`);
    await device.start();
    await watch.waitFor((ms) => ms.length === 1, 5000, 'the queued ding');
    await expect.poll(() => outbox.depth).toBe(0);
    await device.stop();
    await watch.client.endAsync();
  });

  it('answers a request on the response topic, with the transaction echoed', async () => {
    const { device, topics } = link();
    const watch = await subscriber(broker.url, topics.response('echo'));
    await device.start();
    await expect.poll(() => device.acceptingCommands).toBe(true);
    await watch.client.publishAsync(
      topics.request('echo'),
      JSON.stringify({ text: 'hi', transaction: 't-1' }),
    );
    await watch.waitFor((ms) => ms.length === 1, 5000, 'the echo response');
    expect(JSON.parse(watch.messages[0]!.text)).toMatchObject({
      status: 'ok',
      data: { echoed: 'hi' },
      transaction: 't-1',
    });
    await device.stop();
    await watch.client.endAsync();
  });

  it('a retained value set before connecting is published once connected, and kept by the broker', async () => {
    const { device, topics } = link();
    const live = await subscriber(broker.url, topics.state);
    device.publishRetained(topics.state, '{"battery":80}');
    await device.start();
    await live.waitFor((ms) => ms.length === 1, 5000, 'the state');
    // A subscriber arriving later still gets it: the broker kept it.
    const late = await subscriber(broker.url, topics.state);
    await late.waitFor((ms) => ms.length === 1, 5000, 'the retained state');
    expect(late.messages[0]).toMatchObject({ text: '{"battery":80}', retain: true });
    await device.stop();
    await live.client.endAsync();
    await late.client.endAsync();
  });
});
