import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { DeviceStateSchema, DingEventSchema, ResponseSchema } from '../../src/events/schemas.js';
import { startAgent } from '../helpers/agent.js';
import { type Recorder, spawnCli, subscriber, tempDir } from '../helpers/mqtt.js';

export interface BrokerUnderTest {
  url: string;
  stop(): Promise<void>;
}

/** The same contract checks against every broker the agent may meet (embedded aedes, mosquitto). */
export function agentBrokerSuite(name: string, startBroker: () => Promise<BrokerUnderTest>): void {
  describe(`agent on ${name}`, () => {
    let broker: BrokerUnderTest;
    let agent: Agent;
    let watcher: Recorder;
    const id = `suite-${name.replace(/[^a-z0-9]/g, '')}`;

    beforeAll(async () => {
      broker = await startBroker();
      agent = await startAgent(broker.url, id, { button: { debounceMs: 0, chimeWindowMs: 0 } });
      watcher = await subscriber(broker.url, `doorbell/${id}/#`);
      await watcher.waitForTopic(`doorbell/${id}/state`, (t) => JSON.parse(t).status === 'idle');
    });

    afterAll(async () => {
      await watcher?.client.endAsync();
      await agent?.stop();
      await broker?.stop();
    });

    async function request(command: string, body: string | Buffer, transaction?: string) {
      watcher.clear();
      await watcher.client.publishAsync(`doorbell/${id}/request/${command}`, body, { qos: 1 });
      const reply = await watcher.waitForTopic(
        `doorbell/${id}/response/${command}`,
        (text) => transaction === undefined || text.includes(transaction),
      );
      return ResponseSchema.parse(JSON.parse(reply.text));
    }

    it('a late subscriber sees availability online and the state, both retained', async () => {
      const late = await subscriber(broker.url, [`doorbell/${id}/availability`, `doorbell/${id}/state`]);
      const online = await late.waitForTopic(`doorbell/${id}/availability`);
      const state = await late.waitForTopic(`doorbell/${id}/state`);
      await late.client.endAsync();
      expect(online).toMatchObject({ text: 'online', retain: true });
      expect(state.retain).toBe(true);
      expect(DeviceStateSchema.parse(JSON.parse(state.text))).toMatchObject({
        deviceId: id,
        model: 'VDB-200 Wired Pro',
      });
    });

    it('press request → ding event at QoS 1 and a response echoing the transaction', async () => {
      const response = await request('press', JSON.stringify({ transaction: 'tx-42' }), 'tx-42');
      expect(response).toMatchObject({ status: 'ok', transaction: 'tx-42', data: { rang: true } });
      const ding = await watcher.waitForTopic(`doorbell/${id}/events/ding`);
      expect(ding.qos).toBe(1);
      expect(ding.retain).toBe(false);
      const event = DingEventSchema.parse(JSON.parse(ding.text));
      expect(event).toMatchObject({ deviceId: id, event_type: 'ring', source: 'mqtt' });
      expect(event.seq).toBe((response.data as { seq: number }).seq);
    });

    it('online means ready: a press sent the moment availability says online rings', async () => {
      const freshId = `${id}-fresh`;
      const integrator = await subscriber(broker.url, [
        `doorbell/${freshId}/availability`,
        `doorbell/${freshId}/response/press`,
      ]);
      integrator.client.on('message', (topic, payload) => {
        if (topic.endsWith('/availability') && payload.toString() === 'online')
          integrator.client.publish(`doorbell/${freshId}/request/press`, '{"transaction":"first"}', {
            qos: 1,
          });
      });
      const fresh = await startAgent(broker.url, freshId, {}, { bootMs: 500, waitForBoot: false });
      try {
        const reply = await integrator.waitForTopic(`doorbell/${freshId}/response/press`);
        expect(ResponseSchema.parse(JSON.parse(reply.text))).toMatchObject({
          status: 'ok',
          data: { rang: true },
          transaction: 'first',
        });
      } finally {
        await integrator.client.endAsync();
        await fresh.stop();
      }
    });

    it('state request answers with the current state', async () => {
      const response = await request('state', JSON.stringify({ transaction: 7 }));
      expect(response.transaction).toBe(7);
      expect(DeviceStateSchema.parse(response.data).deviceId).toBe(id);
    });

    it('bad requests get error responses and the agent keeps answering', async () => {
      const malformed = await request('press', '{"transaction": "tx-bad", oops');
      expect(malformed).toMatchObject({ status: 'error', error: { code: 'malformed-json' } });
      const unknown = await request('explode', JSON.stringify({ transaction: 'tx-u' }), 'tx-u');
      expect(unknown).toMatchObject({
        status: 'error',
        error: { code: 'unknown-command' },
        transaction: 'tx-u',
      });
      const capital = await request('Press', JSON.stringify({ transaction: 'tx-P' }), 'tx-P');
      expect(capital).toMatchObject({ status: 'error', error: { code: 'unknown-command' } });
      expect(capital.error!.message).toContain('lower-case');
      const huge = await request('press', Buffer.alloc(70 * 1024, 0x20));
      expect(huge).toMatchObject({ status: 'error', error: { code: 'payload-too-large' } });
      const badArgs = await request(
        'press',
        JSON.stringify({ transaction: 'tx-a', source: 'hacker' }),
        'tx-a',
      );
      expect(badArgs.status).toBe('error');
      expect(badArgs.error!.message).toContain('source');
      const notObject = await request('state', '[1,2,3]');
      expect(notObject).toMatchObject({ status: 'error', error: { code: 'invalid-request' } });
      const after = await request('state', JSON.stringify({ transaction: 'tx-after' }), 'tx-after');
      expect(after.status).toBe('ok');
    });

    it('kill -9 of the agent process → the broker publishes the offline will; SIGTERM → offline, exit 0', async () => {
      const childId = `${id}-child`;
      const dataDir = tempDir();
      const watch = await subscriber(broker.url, `doorbell/${childId}/availability`);
      const run = () =>
        spawnCli([
          'start',
          '--id',
          childId,
          '--broker',
          broker.url,
          '--data-dir',
          dataDir,
          '--video',
          'none',
          '--bucket',
          `${dataDir}/bucket`,
        ]);
      const first = run();
      await watch.waitForTopic(`doorbell/${childId}/availability`, (t) => t === 'online', 15_000);
      watch.clear();
      first.child.kill('SIGKILL');
      await watch.waitForTopic(`doorbell/${childId}/availability`, (t) => t === 'offline', 10_000);

      const second = run();
      await watch.waitForTopic(`doorbell/${childId}/availability`, (t) => t === 'online', 15_000);
      watch.clear();
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      await watch.waitForTopic(`doorbell/${childId}/availability`, (t) => t === 'offline', 5_000);
      await watch.client.endAsync();
    });
  });
}
