import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { PACKAGE_ROOT } from '../../src/config/paths.js';
import { lifecycleRules } from '../../src/retention/enforcement.js';
import { clipObjectMetadata, normalizeClip } from '../../src/storage/clip-metadata.js';
import { captureIo } from '../helpers/cli.js';
import { tempDir } from '../helpers/mqtt.js';
import { startAwsLikeEndpoint } from '../storage/aws-like-endpoint.js';
import { makeClipFile } from '../storage/helpers.js';
import { startS3rver } from '../storage/s3rver-harness.js';

/** Only ever holds the default folder bucket of `bucket status`. */
const dir = tempDir('doorbell-cli-bucket-');
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('doorbell bucket', () => {
  it('setup --dry-run prints the lifecycle configuration JSON (aws s3api shape) without a bucket', async () => {
    const io = captureIo({ cwd: dir });
    expect(await runCli(['bucket', 'setup', '--retention-days', '60', '--dry-run'], io)).toBe(0);
    const printed = JSON.parse(io.out()) as { Rules: Array<Record<string, unknown>> };
    expect(printed.Rules[0]).toEqual({
      ID: 'doorbell-clips-expire-60d',
      Status: 'Enabled',
      Filter: { And: { Prefix: 'clips/', Tags: [{ Key: 'retention-days', Value: '60' }] } },
      Expiration: { Days: 60 },
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    });
    expect(printed.Rules[1]).toEqual({
      ID: 'doorbell-clips-abort-incomplete-uploads',
      Status: 'Enabled',
      Filter: { Prefix: 'clips/' },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    });
  });

  it('refuses bad days and folder buckets with one clear line', async () => {
    for (const [args, message] of [
      [['bucket', 'setup', '--dry-run'], /missing --retention-days N/],
      [
        ['bucket', 'setup', '--retention-days', '6o', '--dry-run'],
        /--retention-days "6o" must be a whole number/,
      ],
      [['bucket', 'setup', '--retention-days', '0', '--dry-run'], /from 1 to 3650/],
      [['bucket', 'setup', '--retention-days', '60'], /is a folder: it has no lifecycle rules/],
    ] as const) {
      const io = captureIo({ cwd: dir });
      expect(await runCli([...args], io)).not.toBe(0);
      expect(io.err()).toMatch(message);
      expect(io.err()).not.toMatch(/\n\s+at /);
    }
  });

  it('status: a folder bucket is in sweeper mode', async () => {
    const io = captureIo({ cwd: dir });
    expect(await runCli(['bucket', 'status', '--json'], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ mode: 'sweeper' });
  });

  it('status: an endpoint nothing listens on fails (exit 1) naming the network error', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
    const io = captureIo({ cwd: dir });
    const url = `s3://clips?endpoint=http://127.0.0.1:${port}&region=us-east-1`;
    expect(await runCli(['bucket', 'status', '--bucket', url], io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(
      /bucket status failed: GetObjectLockConfiguration: no answer from the bucket: ECONNREFUSED/,
    );
    expect(io.err()).not.toMatch(/\n\s+at /);
    vi.unstubAllEnvs();
  });
});

describe('doorbell hold', () => {
  it('warns when the bucket will not say whether it has Object Lock: the hold is then only metadata', async () => {
    const s3 = await startS3rver();
    const stub = await startAwsLikeEndpoint({
      objectLock: 'denied',
      lifecycle: 'absent',
      forwardTo: s3.endpoint,
    });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
    try {
      const bucket = await s3.newBucket('held');
      const clip = normalizeClip({
        deviceId: 'front',
        clipId: 'c1',
        eventId: 'e1',
        trigger: 'ding',
        recordedAt: new Date(Date.now() - 60_000).toISOString(),
        retentionDays: 60,
        legalHold: false,
      });
      const file = await makeClipFile(dir, 'c1.mp4', 2048);
      await bucket.put('clips/front/2026/05/10/c1.mp4', file.path, clipObjectMetadata(clip));
      const url = `s3://held?endpoint=${stub.endpoint}&region=us-east-1`;
      const io = captureIo({ cwd: dir });
      expect(await runCli(['hold', 'set', 'c1', '--bucket', url], io)).toBe(0);
      expect(io.out()).toMatch(/legal hold set/);
      expect(io.err()).toMatch(
        /^warning: the bucket would not say whether it has Object Lock \(GetObjectLockConfiguration: AccessDenied \(HTTP 403\)\); the hold is set as metadata and tags, not as an S3 legal hold/,
      );
      expect((await bucket.head('clips/front/2026/05/10/c1.mp4'))?.metadata['legal-hold']).toBe('true');

      // A bucket that answers (here: no Object Lock configuration) gets no warning.
      stub.objectLock = 'absent';
      const quiet = captureIo({ cwd: dir });
      expect(await runCli(['hold', 'clear', 'c1', '--bucket', url], quiet)).toBe(0);
      expect(quiet.err()).toBe('');
    } finally {
      vi.unstubAllEnvs();
      await stub.stop();
      await s3.stop();
    }
  });
});

describe('docs/cloud.md', () => {
  const doc = readFileSync(join(PACKAGE_ROOT, 'docs/cloud.md'), 'utf8');
  const jsonBlocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as unknown);

  it('shows the lifecycle configuration bucket setup writes', () => {
    expect(jsonBlocks[0]).toEqual({ Rules: lifecycleRules(60) });
  });

  it('grants no delete right where the store enforces retention', () => {
    type Policy = { Statement: Array<{ Action: string[] }> };
    const actions = (jsonBlocks.slice(1) as Policy[]).map((p) => p.Statement.flatMap((s) => s.Action));
    expect(actions).toHaveLength(3);
    const [objectLock, lifecycle, sweeper] = actions;
    for (const granted of [objectLock!, lifecycle!]) {
      expect(granted.filter((a) => /Delete|Bypass/.test(a))).toEqual([]);
    }
    expect(sweeper).toContain('s3:DeleteObject');
    // A hold replaces the object's tags in every mode.
    for (const granted of actions) expect(granted).toContain('s3:PutObjectTagging');
    expect(objectLock).toEqual(expect.arrayContaining(['s3:PutObjectRetention', 's3:PutObjectLegalHold']));
  });
});
