import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { clipObjectKey } from '../../src/storage/keys.js';
import { startAgent } from '../helpers/agent.js';
import { type Recorder, subscriber, tempDir } from '../helpers/mqtt.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const ROOT = 'doorbell/porch/requester/city-police';

describe('a legal hold that cannot be set is never answered as recorded', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  const dir = tempDir();
  let agent: Agent;
  let watch: Recorder;

  beforeAll(async () => {
    await broker.start();
    watch = await subscriber(broker.url, [`${ROOT}/response/+`, 'doorbell/porch/owner/notice']);
    agent = await startAgent(broker.url, 'porch', {}, { dataDir: dir });
    const bucket = new FsBucket(join(dir, 'bucket'));
    const file = join(dir, 'clip.mp4');
    writeFileSync(file, 'fake mp4 bytes');
    const recordedAt = new Date(T0 + 60_000).toISOString();
    await bucket.put(clipObjectKey({ deviceId: 'porch', clipId: 'evidence', recordedAt }, 'clip'), file, {
      'device-id': 'porch',
      'clip-id': 'evidence',
      'recorded-at': recordedAt,
      'started-at': recordedAt,
      'ended-at': new Date(T0 + 120_000).toISOString(),
      'retention-days': '60',
      'retain-until': new Date(T0 + 60 * 86_400_000).toISOString(),
      'legal-hold': 'false',
      encrypted: 'false',
    });
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await watch?.client.endAsync();
    await agent?.stop();
    await broker.stop();
  });

  it('answers hold-failed, naming the clip and the cause', async () => {
    vi.spyOn(FsBucket.prototype, 'updateMetadata').mockRejectedValue(
      new Error('EROFS: read-only file system'),
    );
    const demand = {
      requestId: 'court-7',
      demandRef: 'case 2026-114',
      reason: 'burglary',
      window: { from: new Date(T0).toISOString(), to: new Date(T0 + 3_600_000).toISOString() },
    };
    await watch.client.publishAsync(`${ROOT}/request/legal-demand`, JSON.stringify(demand), { qos: 1 });
    const reply = await watch.waitForTopic(`${ROOT}/response/legal-demand`, () => true);
    const body = JSON.parse(reply.text);
    expect(body.status).toBe('error');
    expect(body.error.code).toBe('hold-failed');
    expect(body.error.message).toContain('evidence (EROFS: read-only file system)');
    expect(reply.text).not.toContain('recorded');
    // The owner and the tamper-evident audit log say what happened, not what was meant to.
    const notice = await watch.waitForTopic('doorbell/porch/owner/notice', (t) => t.includes('legal-hold'));
    expect(JSON.parse(notice.text)).toMatchObject({ clipIds: [], failedClipIds: ['evidence'] });
    const audit = readFileSync(join(dir, 'porch', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(audit.find((record) => record.type === 'legal-hold')).toMatchObject({
      clipIds: [],
      failedClipIds: ['evidence'],
    });
  });
});
