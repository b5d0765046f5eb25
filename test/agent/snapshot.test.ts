import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { startAgent } from '../helpers/agent.js';
import { REPO_ROOT, type Recorder, subscriber } from '../helpers/mqtt.js';

describe('snapshots as docs/mqtt.md promises', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  let agent: Agent;
  let watch: Recorder;

  beforeAll(async () => {
    await broker.start();
    watch = await subscriber(broker.url, ['doorbell/snap/events/motion', 'doorbell/snap/snapshot']);
    agent = await startAgent(
      broker.url,
      'snap',
      // The camera at the footage's own size: clips stay cheap (their size is tested in test/recording/).
      { resolution: { width: 640, height: 360 }, fps: 15 },
      { video: join(REPO_ROOT, 'fixtures/video/person-crossing.mp4') },
    );
  });

  afterAll(async () => {
    await watch?.client.endAsync();
    await agent?.stop();
    await broker.stop();
  });

  it('a motion start publishes a snapshot, no ring needed', async () => {
    await watch.waitForTopic('doorbell/snap/events/motion', (t) => JSON.parse(t).type === 'start', 15_000);
    const snapshot = await watch.waitForTopic('doorbell/snap/snapshot', () => true, 5_000);
    expect(snapshot.payload.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(agent.state().dings).toBe(0);
  }, 30_000);
});
