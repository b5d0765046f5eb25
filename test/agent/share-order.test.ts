import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { clipObjectKey } from '../../src/storage/keys.js';
import { startAgent } from '../helpers/agent.js';
import { type Recorder, subscriber, tempDir } from '../helpers/mqtt.js';

const RECORDED_AT = '2026-03-01T10:10:00.000Z';

/** One stored clip inside the requested window. */
async function seedClip(bucketDir: string): Promise<void> {
  const file = join(tempDir(), 'porch.mp4');
  writeFileSync(file, 'fake mp4 bytes');
  const key = clipObjectKey({ deviceId: 'allowing', clipId: 'porch', recordedAt: RECORDED_AT }, 'clip');
  await new FsBucket(bucketDir).put(key, file, {
    'device-id': 'allowing',
    'clip-id': 'porch',
    'recorded-at': RECORDED_AT,
    'started-at': RECORDED_AT,
    'ended-at': '2026-03-01T10:12:00.000Z',
    'retention-days': '60',
    'retain-until': '2026-04-30T10:10:00.000Z',
    'legal-hold': 'false',
    encrypted: 'false',
  });
}

describe('share under policy allow', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  let agent: Agent;
  let watch: Recorder;

  beforeAll(async () => {
    await broker.start();
    watch = await subscriber(broker.url, 'doorbell/allowing/requester/neighbour-12/response/share');
    const dataDir = tempDir();
    agent = await startAgent(broker.url, 'allowing', { privacy: { sharing: { policy: 'allow' } } } as never, {
      dataDir,
    });
    await seedClip(join(dataDir, 'bucket'));
  });

  afterAll(async () => {
    await watch?.client.endAsync();
    await agent?.stop();
    await broker.stop();
  });

  it('acknowledges the request first, then answers with the release, on the same transaction', async () => {
    const window = { from: '2026-03-01T10:00:00Z', to: '2026-03-01T11:00:00Z' };
    const request = { requestId: 'r-allow' };
    await watch.client.publishAsync(
      'doorbell/allowing/requester/neighbour-12/request/share',
      JSON.stringify({ ...request, reason: 'bike', window, transaction: 'ta' }),
      { qos: 1 },
    );
    await watch.waitFor((ms) => ms.length >= 2, 5000, 'two answers');
    const [first, second] = watch.messages.map((m) => JSON.parse(m.text));
    expect(first).toMatchObject({
      status: 'ok',
      transaction: 'ta',
      data: { requestId: 'r-allow', received: true },
    });
    expect(second).toMatchObject({
      status: 'ok',
      transaction: 'ta',
      data: { requestId: 'r-allow', clips: [{ clipId: 'porch' }] },
    });
  });
});
