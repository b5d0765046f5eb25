import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { startAgent } from '../helpers/agent.js';
import { mosquittoPath, type RunningMosquitto, startMosquitto, subscriber } from '../helpers/mqtt.js';

describe.skipIf(!mosquittoPath())(
  'MQTT 5 request/response on mosquitto (skipped: mosquitto binary not installed)',
  () => {
    let broker: RunningMosquitto;
    let agent: Agent;
    beforeAll(async () => {
      broker = await startMosquitto();
      agent = await startAgent(broker.url, 'v5-door', {}, { protocolVersion: 5 });
    });
    afterAll(async () => {
      await agent?.stop();
      await broker?.stop();
    });

    it("honours the response topic and correlation data of an MQTT 5 request inside the asker's namespace", async () => {
      const mine = 'doorbell/v5-door/requester/me/replies/1';
      const requester = await subscriber(broker.url, [mine, 'replies/me'], { protocolVersion: 5 });
      // Outside the asker's namespace (or with no namespace at all), the response topic is not honoured.
      await requester.client.publishAsync('doorbell/v5-door/request/state', '{}', {
        qos: 1,
        properties: { responseTopic: 'replies/me', correlationData: Buffer.from('corr-0') },
      });
      await requester.client.publishAsync('doorbell/v5-door/requester/me/request/state', '{}', {
        qos: 1,
        properties: { responseTopic: mine, correlationData: Buffer.from('corr-123') },
      });
      const reply = await requester.waitForTopic(mine);
      expect(requester.on('replies/me')).toEqual([]);
      expect(JSON.parse(reply.text)).toMatchObject({ status: 'ok', data: { deviceId: 'v5-door' } });
      expect(Buffer.from(reply.properties?.['correlationData'] as Buffer).toString()).toBe('corr-123');
      await requester.client.endAsync();
    });

    it("never answers onto the device's own topics, whatever response topic a request names", async () => {
      const watch = await subscriber(
        broker.url,
        ['doorbell/v5-door/owner/+', 'doorbell/v5-door/response/state'],
        {
          protocolVersion: 5,
        },
      );
      await watch.client.publishAsync('doorbell/v5-door/request/state', '{"transaction":"aimed"}', {
        qos: 1,
        properties: { responseTopic: 'doorbell/v5-door/owner/consent' },
      });
      // The device answers once; had it used the aimed response topic, that message would be the answer.
      await watch.waitForTopic('doorbell/v5-door/response/state', (t) => t.includes('aimed'));
      expect(watch.on('doorbell/v5-door/owner/consent')).toEqual([]);
      await watch.client.endAsync();
    });
  },
);
