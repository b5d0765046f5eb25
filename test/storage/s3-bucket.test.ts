import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Bucket } from '../../src/storage/s3-bucket.js';
import { bucketSuite, readAll, sha256Of } from './bucket-suite.js';
import { presignedWindow, S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from './s3rver-harness.js';

const PART_SIZE = 5 * 1024 * 1024;
let s3: S3rverHandle;
let workDir: string;

beforeAll(async () => {
  s3 = await startS3rver();
  workDir = await mkdtemp(join(tmpdir(), 'doorbell-s3bucket-'));
});
afterAll(async () => {
  await s3?.stop();
  await rm(workDir, { recursive: true, force: true });
});

bucketSuite('s3 (s3rver)', () => s3.newBucket('suite-bucket', { partSize: PART_SIZE }), {
  largeBytes: 2 * PART_SIZE + 123,
  describePattern: /^s3:\/\/suite-bucket$/,
});

describe('S3Bucket verification', () => {
  it('detects an object the server stored corrupted with HTTP 200, and removes it', async () => {
    // A flaky path between us and the server: one byte of every request body flips in transit, and the
    // server (seeing a consistent request) stores it and answers 200.
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body?: unknown };
        if (request.body instanceof Uint8Array && request.body.length > 0) {
          const flipped = Buffer.from(request.body);
          flipped[flipped.length >> 1] = flipped[flipped.length >> 1]! ^ 0xff;
          request.body = flipped;
        }
        return next(args);
      },
      { step: 'build', name: 'flipOneByte' },
    );
    try {
      await s3.newBucket('corrupt-bucket');
      const bucket = new S3Bucket({ bucket: 'corrupt-bucket', client });
      const src = join(workDir, 'corrupt.mp4');
      await writeFile(src, randomBytes(100_000));
      await expect(bucket.put('clips/d/2026/01/01/c.mp4', src, {})).rejects.toThrow(/stored bytes hash to/);
      expect(await bucket.head('clips/d/2026/01/01/c.mp4')).toBeUndefined();
    } finally {
      client.destroy();
    }
  });

  it('verifies by reading back when asked to', async () => {
    const bucket = await s3.newBucket('readback-bucket', { verify: 'readback', partSize: PART_SIZE });
    const data = randomBytes(PART_SIZE + 10);
    const src = join(workDir, 'readback.mp4');
    await writeFile(src, data);
    const result = await bucket.put('clips/d/2026/01/01/r.mp4', src, { trigger: 'ding' });
    expect(result.sha256).toBe(sha256Of(data));
    expect(sha256Of(await readAll(await bucket.get('clips/d/2026/01/01/r.mp4')))).toBe(sha256Of(data));
  });

  it('fails with a connection error, not a hang, when the endpoint is unreachable', async () => {
    const bucket = new S3Bucket({
      bucket: 'nowhere',
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: S3RVER_CREDENTIALS,
      maxAttempts: 1,
    });
    const src = join(workDir, 'nowhere.mp4');
    await writeFile(src, 'x');
    await expect(bucket.put('clips/d/2026/01/01/n.mp4', src, {})).rejects.toThrow(/ECONNREFUSED/);
  });
});

const COUNTER = 'recordCommands';

/** The names of the commands the shared client sends from now on (remove COUNTER when done). */
function recordCommands(): string[] {
  const commands: string[] = [];
  s3.client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: COUNTER },
  );
  return commands;
}

describe("S3Bucket with the producer's digests", () => {
  const md5Of = (data: Buffer) => createHash('md5').update(data).digest('hex');

  it("checks the server's ETag against the producer's MD5: a match is proof, a mismatch means reading back", async () => {
    const commands = recordCommands();
    try {
      const bucket = await s3.newBucket('producer-bucket', { partSize: PART_SIZE });
      const data = randomBytes(300_000);
      const src = join(workDir, 'producer.mp4');
      await writeFile(src, data);
      commands.length = 0;
      const result = await bucket.put(
        'clips/d/2026/01/01/p.mp4',
        src,
        { sha256: sha256Of(data) },
        { immutableSource: true, md5: md5Of(data) },
      );
      expect(result).toEqual({ key: 'clips/d/2026/01/01/p.mp4', bytes: data.length, sha256: sha256Of(data) });
      expect(commands.filter((name) => name === 'GetObjectCommand')).toEqual([]);
      // A producer MD5 the ETag does not match (here: a wrong one) is not trusted: the object is read back.
      await bucket.put(
        'clips/d/2026/01/01/q.mp4',
        src,
        { sha256: sha256Of(data) },
        { immutableSource: true, md5: md5Of(randomBytes(8)) },
      );
      expect(commands.filter((name) => name === 'GetObjectCommand')).toHaveLength(1);
      expect(sha256Of(await readAll(await bucket.get('clips/d/2026/01/01/p.mp4')))).toBe(sha256Of(data));
    } finally {
      s3.client.middlewareStack.remove(COUNTER);
    }
  });

  it('catches a file that changed since its producer hashed it, and removes the object', async () => {
    const bucket = await s3.newBucket('changed-bucket', { partSize: PART_SIZE });
    const produced = randomBytes(200_000);
    const src = join(workDir, 'changed.mp4');
    await writeFile(src, randomBytes(produced.length));
    await expect(
      bucket.put(
        'clips/d/2026/01/01/x.mp4',
        src,
        { sha256: sha256Of(produced) },
        { immutableSource: true, md5: md5Of(produced) },
      ),
    ).rejects.toThrow(/stored bytes hash to [0-9a-f]{64} \(200000 bytes\), sent [0-9a-f]{64}/);
    expect(await bucket.head('clips/d/2026/01/01/x.mp4')).toBeUndefined();
  });
});

describe('S3Bucket verification cost', () => {
  it('proves a multipart upload by its ETag, without downloading it again', async () => {
    const commands = recordCommands();
    try {
      const bucket = await s3.newBucket('etag-bucket', { partSize: PART_SIZE });
      commands.length = 0;
      const data = randomBytes(PART_SIZE * 2 + 1);
      const src = join(workDir, 'etag.mp4');
      await writeFile(src, data);
      await bucket.put('clips/d/2026/01/01/e1.mp4', src, {}, { immutableSource: true });
      await bucket.put('clips/d/2026/01/01/e2.mp4', src, {}, { immutableSource: true });
      expect(commands.filter((name) => name === 'GetObjectCommand')).toEqual([]);
      expect(commands.filter((name) => name === 'UploadPartCommand')).toHaveLength(6);
      expect(commands.filter((name) => name === 'HeadObjectCommand')).toHaveLength(2);
    } finally {
      s3.client.middlewareStack.remove(COUNTER);
    }
  });
});

describe('S3Bucket presigned GET (the link in a clip event)', () => {
  const KEY = 'clips/d/2026/01/01/linked.mp4';
  const OTHER = 'clips/d/2026/01/01/other.mp4';
  let bucket: S3Bucket;
  let data: Buffer;
  /** Signing time: whole seconds, as the clip-link policy hands it over. */
  const signedAt = () => Math.floor(Date.now() / 1000) * 1000;

  beforeAll(async () => {
    bucket = await s3.newBucket('presign-bucket');
    data = randomBytes(50_000);
    await writeFile(join(workDir, 'linked.mp4'), data);
    await writeFile(join(workDir, 'other.mp4'), 'another clip');
    await bucket.put(KEY, join(workDir, 'linked.mp4'), {});
    await bucket.put(OTHER, join(workDir, 'other.mp4'), {});
  });

  it('fetches the object, and says the expiry it was asked for (X-Amz-Date + X-Amz-Expires)', async () => {
    const at = signedAt();
    const url = new URL(await bucket.presignGet(KEY, { signedAtMs: at, expiresInS: 900 }));
    expect(url.pathname).toBe(`/presign-bucket/${KEY}`);
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^S3RVER\//);
    expect(presignedWindow(url)).toEqual({ signedAtMs: at, expiresAtMs: at + 900_000 });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(sha256Of(Buffer.from(await response.arrayBuffer()))).toBe(sha256Of(data));
  });

  it('is refused once expired: s3rver enforces X-Amz-Date + X-Amz-Expires by its own clock', async () => {
    const url = await bucket.presignGet(KEY, { signedAtMs: signedAt() - 120_000, expiresInS: 60 });
    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Request has expired');
  });

  it('s3rver 3.7.1 checks nothing else but the access key id: a tamper test against it would prove nothing', async () => {
    // Findings behind the report of issue 18 (s3rver's V4 check is "unimplemented"): AWS S3 refuses each of these
    // with SignatureDoesNotMatch, s3rver serves them. Should s3rver start verifying, turn this into a tamper test.
    const url = new URL(await bucket.presignGet(KEY, { signedAtMs: signedAt(), expiresInS: 60 }));
    const signature = url.searchParams.get('X-Amz-Signature')!;
    const otherSignature = new URL(url);
    otherSignature.searchParams.set(
      'X-Amz-Signature',
      signature.replace(/^./, signature[0] === 'a' ? 'b' : 'a'),
    );
    const otherKey = new URL(url);
    otherKey.pathname = `/presign-bucket/${OTHER}`;
    const expired = new URL(
      await bucket.presignGet(KEY, { signedAtMs: signedAt() - 120_000, expiresInS: 60 }),
    );
    expired.searchParams.set('X-Amz-Expires', '600');
    const unsigned = `${url.origin}${url.pathname}`;
    for (const served of [otherSignature, otherKey, expired, unsigned])
      expect((await fetch(served)).status, String(served)).toBe(200);
    const stranger = new URL(url);
    stranger.searchParams.set(
      'X-Amz-Credential',
      url.searchParams.get('X-Amz-Credential')!.replace('S3RVER', 'NOBODY'),
    );
    const refused = await fetch(stranger);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('InvalidAccessKeyId');
  });
});
