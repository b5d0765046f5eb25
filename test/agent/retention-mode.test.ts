import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { createS3Client, S3Bucket } from '../../src/storage/s3-bucket.js';
import { startDrivenAgent } from '../helpers/driven-camera.js';
import { tempDir } from '../helpers/mqtt.js';
import { type AwsLikeEndpoint, startAwsLikeEndpoint } from '../storage/aws-like-endpoint.js';
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../storage/s3rver-harness.js';

const T0 = Date.parse('2026-05-10T18:30:00Z');

/** A pino logger whose lines land in `lines` (parsed). */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A fresh s3rver bucket behind an endpoint answering like AWS with Object Lock enabled. */
async function objectLockBucket(name: string) {
  await s3.client.send(new CreateBucketCommand({ Bucket: name }));
  const stub: AwsLikeEndpoint = await startAwsLikeEndpoint({
    objectLock: 'enabled',
    lifecycle: 'absent',
    forwardTo: s3.endpoint,
  });
  const client = createS3Client({ endpoint: stub.endpoint, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 });
  return {
    stub,
    bucket: new S3Bucket({ bucket: name, client }),
    close: async () => {
      client.destroy();
      await stub.stop();
    },
  };
}

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.stop();
});

describe('the agent asks its bucket at start which retention is in force', () => {
  it('on s3rver (NotImplemented): logs and reports sweeper mode', async () => {
    const { logger, lines } = capturingLogger();
    const camera = await startDrivenAgent({
      deviceId: 'porch',
      clock: new VirtualClock(T0),
      dir: tempDir(),
      bucket: await s3.newBucket('agent-sweeper'),
      logger,
    });
    try {
      expect(camera.agent.state().retention).toBe('sweeper');
      const line = lines.find((l) => String(l['msg']).startsWith('retention mode'));
      expect(line).toMatchObject({ retention: 'sweeper', bucket: 's3://agent-sweeper' });
      expect(String(line?.['msg'])).toMatch(
        /retention mode sweeper: .*GetObjectLockConfiguration: NotImplemented/,
      );
    } finally {
      await camera.agent.stop();
    }
  });

  it('on a bucket answering like AWS with Object Lock: object-lock mode in the state', async () => {
    const locked = await objectLockBucket('agent-locked');
    const camera = await startDrivenAgent({
      deviceId: 'porch',
      clock: new VirtualClock(T0),
      dir: tempDir(),
      bucket: locked.bucket,
      profile: { retentionLockMode: 'compliance' },
    });
    try {
      expect(camera.agent.state().retention).toBe('object-lock');
    } finally {
      await camera.agent.stop();
      await locked.close();
    }
  });

  it('asked again after config-set, a denied or unreachable bucket keeps the mode in force, with a warning', async () => {
    const { stub, bucket, close } = await objectLockBucket('agent-kept');
    const { logger, lines } = capturingLogger();
    const camera = await startDrivenAgent({
      deviceId: 'porch',
      clock: new VirtualClock(T0),
      dir: tempDir(),
      bucket,
      logger,
    });
    const warnings = () => lines.filter((l) => l['level'] === 40).map((l) => String(l['msg']));
    try {
      expect(camera.agent.state().retention).toBe('object-lock');
      stub.objectLock = 'denied';
      camera.agent.reconfigure({ retentionDays: 30 });
      await vi.waitFor(() =>
        expect(warnings()).toContainEqual(
          expect.stringMatching(
            /^retention mode object-lock: kept from the bucket's last answer: .*AccessDenied/,
          ),
        ),
      );
      expect(camera.agent.state().retention).toBe('object-lock');
      await stub.stop();
      camera.agent.reconfigure({ retentionDays: 45 });
      await vi.waitFor(() =>
        expect(warnings()).toContainEqual(
          'retention mode object-lock: the bucket could not be asked which retention it enforces',
        ),
      );
      expect(camera.agent.state().retention).toBe('object-lock');
    } finally {
      await camera.agent.stop();
      await close();
    }
  });
});
