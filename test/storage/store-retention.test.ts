import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lifecycleRules } from '../../src/retention/enforcement.js';
import { setLegalHold } from '../../src/retention/legal-hold.js';
import { sweepRetention } from '../../src/retention/sweep.js';
import { clipObjectMetadata, normalizeClip } from '../../src/storage/clip-metadata.js';
import { createS3Client, S3Bucket } from '../../src/storage/s3-bucket.js';
import { type AwsLikeEndpoint, type RecordedRequest, startAwsLikeEndpoint } from './aws-like-endpoint.js';
import { makeClipFile } from './helpers.js';
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from './s3rver-harness.js';

const PART = 5 * 1024 * 1024;
const DAY = 'clips/front/2026/05/10';

let s3: S3rverHandle;
let dir: string;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-store-retention-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const clients: S3Client[] = [];
const endpoints: AwsLikeEndpoint[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const endpoint of endpoints.splice(0)) await endpoint.stop();
});

let bucketSeq = 0;
/** A fresh s3rver bucket seen through an endpoint that answers the retention calls like AWS. */
async function awsLikeBucket(
  answers: Omit<Parameters<typeof startAwsLikeEndpoint>[0], 'forwardTo'>,
): Promise<{ bucket: S3Bucket; stub: AwsLikeEndpoint; client: S3Client }> {
  const name = `retention-${++bucketSeq}`;
  await s3.client.send(new CreateBucketCommand({ Bucket: name }));
  const stub = await startAwsLikeEndpoint({ ...answers, forwardTo: s3.endpoint });
  endpoints.push(stub);
  const client = createS3Client({
    endpoint: stub.endpoint,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    maxAttempts: 1,
  });
  clients.push(client);
  return { bucket: new S3Bucket({ bucket: name, client, partSize: PART }), stub, client };
}

function clipMetadata(legalHold = false) {
  const recordedAt = new Date(Date.now() - 60_000).toISOString();
  const clip = normalizeClip({
    deviceId: 'front',
    clipId: 'c1',
    eventId: 'e1',
    trigger: 'ding',
    recordedAt,
    retentionDays: 60,
    legalHold,
  });
  return { clip, metadata: clipObjectMetadata(clip) };
}

const objectWrites = (stub: AwsLikeEndpoint, key: string) =>
  stub.requests.filter((r) => r.path.endsWith(`/${key}`) && (r.method === 'PUT' || r.method === 'POST'));
/** The CopyObject request `change` makes (requests recorded before it are dropped). */
async function copyMadeBy(stub: AwsLikeEndpoint, change: () => Promise<unknown>): Promise<RecordedRequest> {
  stub.requests.length = 0;
  await change();
  return stub.requests.find((r) => r.headers['x-amz-copy-source'] !== undefined)!;
}
const isPlainPut = (r: RecordedRequest) =>
  r.method === 'PUT' && [...r.query.keys()].every((k) => k === 'x-id');
const md5Base64 = (data: Buffer) => createHash('md5').update(data).digest('base64');
const crc32Base64 = (data: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data));
  return out.toString('base64');
};

/** Elements only (attributes dropped); repeated siblings become arrays. Enough for S3's configuration XML. */
function xmlToObject(xml: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const stack: Array<{ name: string; node: Record<string, unknown>; text: string }> = [
    { name: '', node: root, text: '' },
  ];
  for (const match of xml.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([A-Za-z]+)[^>]*?(\/?)>|([^<]+)/g)) {
    const [, closing, name, selfClosing, text] = match;
    const top = stack.at(-1)!;
    if (text !== undefined) top.text += text.trim();
    else if (closing) {
      const done = stack.pop()!;
      const parent = stack.at(-1)!.node;
      const value = Object.keys(done.node).length > 0 ? done.node : done.text;
      const previous = parent[done.name];
      parent[done.name] = previous === undefined ? value : [previous, value].flat();
    } else if (selfClosing) top.node[name!] = '';
    else stack.push({ name: name!, node: {}, text: '' });
  }
  return root;
}

describe('the capability probe answers three ways (a stub answering like AWS, the real SDK client)', () => {
  it('Object Lock enabled: object-lock mode', async () => {
    const { bucket, stub } = await awsLikeBucket({ objectLock: 'enabled', lifecycle: 'absent' });
    const engaged = await bucket.engageRetention({ retentionDays: 60 });
    expect(engaged.mode).toBe('object-lock');
    expect(engaged.reason).toMatch(
      /no lifecycle rule expires them .*doorbell bucket setup --retention-days 60/,
    );
    expect(engaged.facts).toMatchObject({ objectLock: 'enabled', lifecycle: 'none', notes: [] });
    const asked = stub.requests.map((r) => `${r.method} ${[...r.query.keys()].join('&')}`);
    expect(asked).toEqual(['GET object-lock', 'GET lifecycle']);
  });

  it('no Object Lock, a lifecycle rule for the tagged clips: lifecycle mode, only for the days it covers', async () => {
    const rules = lifecycleXml(60);
    const { bucket } = await awsLikeBucket({ objectLock: 'absent', lifecycle: { xml: rules } });
    const engaged = await bucket.engageRetention({ retentionDays: 60 });
    expect(engaged.mode).toBe('lifecycle');
    expect(engaged.reason).toContain('retention-days=60 after 60 days');
    const other = await bucket.engageRetention({ retentionDays: 30 });
    expect(other.mode).toBe('sweeper');
    expect(other.reason).toMatch(/expire retention-days=60 only .*--retention-days 30/);
  });

  it('neither implemented (as s3rver answers) or not readable: sweeper mode, saying why', async () => {
    const { bucket } = await awsLikeBucket({ objectLock: 'not-implemented', lifecycle: 'not-implemented' });
    const engaged = await bucket.engageRetention({ retentionDays: 60 });
    expect(engaged.mode).toBe('sweeper');
    expect(engaged.facts?.notes).toEqual([
      'GetObjectLockConfiguration: NotImplemented',
      'GetBucketLifecycleConfiguration: NotImplemented',
    ]);
    const denied = await awsLikeBucket({ objectLock: 'denied', lifecycle: 'absent' });
    const engagedDenied = await denied.bucket.engageRetention({ retentionDays: 60 });
    expect(engagedDenied.mode).toBe('sweeper');
    expect(engagedDenied.reason).toContain('GetObjectLockConfiguration: AccessDenied (HTTP 403)');
  });

  it('asked again, an inconclusive answer keeps the mode of the last answer instead of dropping to the sweeper', async () => {
    const { bucket, stub } = await awsLikeBucket({
      objectLock: 'enabled',
      lifecycle: { xml: lifecycleXml(60) },
    });
    expect((await bucket.engageRetention({ retentionDays: 60 })).mode).toBe('object-lock');
    stub.objectLock = 'denied';
    const again = await bucket.engageRetention({ retentionDays: 30 });
    expect(again).toMatchObject({ mode: 'object-lock', kept: true });
    expect(again.reason).toMatch(
      /kept from the bucket's last answer: .*GetObjectLockConfiguration: AccessDenied/,
    );
    expect(bucket.retentionMode).toBe('object-lock');
    // The first answer of a writer has nothing to keep: the sweeper, as before.
    const fresh = new S3Bucket({ bucket: bucket.bucket, client: (await awsLikeBucket(stubAnswers)).client });
    expect((await fresh.engageRetention({ retentionDays: 60 })).mode).toBe('sweeper');
  });

  it('no answer at all (nothing listening) is an error naming the network error, not a fact', async () => {
    const { bucket, stub } = await awsLikeBucket({ objectLock: 'enabled', lifecycle: 'absent' });
    expect((await bucket.engageRetention({ retentionDays: 60 })).mode).toBe('object-lock');
    await stub.stop();
    endpoints.splice(endpoints.indexOf(stub), 1);
    await expect(bucket.engageRetention({ retentionDays: 30 })).rejects.toThrow(
      /GetObjectLockConfiguration: no answer from the bucket: E[A-Z]+ /,
    );
    expect(bucket.retentionMode).toBe('object-lock');
  });
});

const stubAnswers = { objectLock: 'denied', lifecycle: 'absent' } as const;

/** What PutBucketLifecycleConfiguration sends for `days` (through the SDK), read back as AWS serves it. */
function lifecycleXml(days: number): string {
  const rule = lifecycleRules(days)[0]!;
  return (
    `<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Rule><ID>${rule.ID}</ID><Filter><And><Prefix>clips/</Prefix><Tag><Key>retention-days</Key><Value>${days}</Value></Tag></And></Filter>` +
    `<Status>Enabled</Status><Expiration><Days>${days}</Days></Expiration></Rule></LifecycleConfiguration>`
  );
}

describe('Object Lock mode: what goes on the wire', () => {
  it('a one-part PUT (thumbnail) carries the lock mode, retain-until, the tag and a Content-MD5', async () => {
    const { bucket, stub } = await awsLikeBucket({ objectLock: 'enabled', lifecycle: 'absent' });
    await bucket.engageRetention({ retentionDays: 60 });
    const { clip, metadata } = clipMetadata();
    const file = await makeClipFile(dir, 'thumb.jpg', 20_000);
    await bucket.put(`${DAY}/c1.jpg`, file.path, metadata);
    const [put, ...others] = objectWrites(stub, `${DAY}/c1.jpg`);
    expect(others).toEqual([]);
    expect(isPlainPut(put!)).toBe(true);
    expect(put!.headers['x-amz-object-lock-mode']).toBe('GOVERNANCE');
    expect(Date.parse(String(put!.headers['x-amz-object-lock-retain-until-date']))).toBe(
      Date.parse(clip.retainUntil),
    );
    expect(put!.headers['x-amz-object-lock-legal-hold']).toBeUndefined();
    expect(put!.headers['x-amz-tagging']).toBe('retention-days=60');
    expect(put!.headers['content-md5']).toBe(md5Base64(file.data));
  });

  it('a multipart upload (clip): CreateMultipartUpload has the lock and tag, each part its CRC32', async () => {
    const { bucket, stub } = await awsLikeBucket({ objectLock: 'enabled', lifecycle: 'absent' });
    await bucket.engageRetention({ retentionDays: 60, lockMode: 'compliance' });
    const { clip, metadata } = clipMetadata();
    const file = await makeClipFile(dir, 'clip.mp4', PART + 4096);
    const result = await bucket.put(`${DAY}/c1.mp4`, file.path, metadata, { immutableSource: true });
    expect(result.sha256).toBe(file.sha256);
    const writes = objectWrites(stub, `${DAY}/c1.mp4`);
    const create = writes.find((r) => r.method === 'POST' && r.query.has('uploads'))!;
    expect(create.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
    expect(Date.parse(String(create.headers['x-amz-object-lock-retain-until-date']))).toBe(
      Date.parse(clip.retainUntil),
    );
    expect(create.headers['x-amz-tagging']).toBe('retention-days=60');
    expect(create.headers['x-amz-checksum-algorithm']).toBe('CRC32');
    const parts = writes.filter((r) => r.method === 'PUT' && r.query.has('partNumber'));
    expect(parts.map((p) => p.query.get('partNumber')).sort()).toEqual(['1', '2']);
    for (const part of parts) {
      const n = Number(part.query.get('partNumber'));
      const bytes = file.data.subarray((n - 1) * PART, n * PART);
      expect(part.headers['x-amz-checksum-crc32']).toBe(crc32Base64(bytes));
    }
    expect(writes.some(isPlainPut)).toBe(false);
  });

  it('a clip held before upload is written under legal hold and tagged out of the lifecycle rule', async () => {
    const { bucket, stub } = await awsLikeBucket({ objectLock: 'enabled', lifecycle: 'absent' });
    await bucket.engageRetention({ retentionDays: 60 });
    const file = await makeClipFile(dir, 'thumb.jpg', 1000);
    await bucket.put(`${DAY}/c1.jpg`, file.path, clipMetadata(true).metadata);
    const [put] = objectWrites(stub, `${DAY}/c1.jpg`);
    expect(put!.headers['x-amz-object-lock-legal-hold']).toBe('ON');
    expect(put!.headers['x-amz-tagging']).toBe('legal-hold=true');
  });

  it('hold set / release issue PutObjectLegalHold ON / OFF and re-tag; the sweep deletes nothing', async () => {
    const { bucket, stub } = await awsLikeBucket({ objectLock: 'enabled', lifecycle: 'absent' });
    await bucket.engageRetention({ retentionDays: 60 });
    const { metadata } = clipMetadata();
    for (const ext of ['mp4', 'jpg']) {
      const file = await makeClipFile(dir, `c1.${ext}`, 1000);
      await bucket.put(`${DAY}/c1.${ext}`, file.path, metadata);
    }
    stub.requests.length = 0;
    const held = await setLegalHold(bucket, 'c1', true);
    expect(held.changes.map((c) => [c.key, c.before, c.after])).toEqual([
      [`${DAY}/c1.jpg`, false, true],
      [`${DAY}/c1.mp4`, false, true],
    ]);
    const holds = stub.requests.filter((r) => r.query.has('legal-hold'));
    expect(holds.map((r) => [r.method, r.path.split('/').pop(), r.body.toString()])).toEqual([
      ['PUT', 'c1.jpg', expect.stringMatching(/<LegalHold xmlns="[^"]+"><Status>ON<\/Status><\/LegalHold>/)],
      ['PUT', 'c1.mp4', expect.stringMatching(/<Status>ON<\/Status>/)],
    ]);
    // S3 refuses PutObjectLegalHold without an integrity header; the SDK must have sent one.
    for (const r of holds)
      expect(Object.keys(r.headers).some((h) => /^(content-md5|x-amz-checksum-)/.test(h))).toBe(true);
    const tagging = stub.requests.filter((r) => r.query.has('tagging') && r.method === 'PUT');
    expect(tagging.map((r) => xmlToObject(r.body.toString()))).toEqual([
      { Tagging: { TagSet: { Tag: { Key: 'legal-hold', Value: 'true' } } } },
      { Tagging: { TagSet: { Tag: { Key: 'legal-hold', Value: 'true' } } } },
    ]);
    // No metadata rewrite: under Object Lock a copy would be a new, unlocked version.
    expect(stub.requests.some((r) => r.headers['x-amz-copy-source'] !== undefined)).toBe(false);
    expect((await bucket.head(`${DAY}/c1.mp4`))?.metadata['legal-hold']).toBe('true');

    const sweepLongAfter = () =>
      sweepRetention({ bucket, nowMs: Date.now() + 400 * 86_400_000, mode: 'object-lock' });
    const report = await sweepLongAfter();
    expect(report.deleted).toEqual([]);
    expect(report.held.map((h) => h.key)).toEqual([`${DAY}/c1.jpg`, `${DAY}/c1.mp4`]);
    stub.requests.length = 0;
    await setLegalHold(bucket, 'c1', false);
    expect(
      stub.requests
        .filter((r) => r.query.has('legal-hold'))
        .map((r) => /<Status>(\w+)</.exec(r.body.toString())?.[1]),
    ).toEqual(['OFF', 'OFF']);
    const retagged = stub.requests.filter((r) => r.query.has('tagging') && r.method === 'PUT');
    expect(retagged.map((r) => xmlToObject(r.body.toString()))).toContainEqual({
      Tagging: { TagSet: { Tag: { Key: 'retention-days', Value: '60' } } },
    });
    const expired = await sweepLongAfter();
    expect(expired.deleted).toEqual([]);
    expect(expired.due.map((d) => d.key)).toEqual([`${DAY}/c1.jpg`, `${DAY}/c1.mp4`]);
    expect(stub.requests.some((r) => r.method === 'DELETE')).toBe(false);
  });
});

describe('lifecycle mode: tags, and a hold that takes the object out of the rule', () => {
  it('writes carry retention-days=60 and no lock; a hold swaps the tag for legal-hold=true in the same copy', async () => {
    const { bucket, stub } = await awsLikeBucket({
      objectLock: 'absent',
      lifecycle: { xml: lifecycleXml(60) },
    });
    expect((await bucket.engageRetention({ retentionDays: 60 })).mode).toBe('lifecycle');
    const file = await makeClipFile(dir, 'c1.mp4', 3000);
    await bucket.put(`${DAY}/c1.mp4`, file.path, clipMetadata().metadata);
    const [put] = objectWrites(stub, `${DAY}/c1.mp4`);
    expect(put!.headers['x-amz-tagging']).toBe('retention-days=60');
    expect(put!.headers['x-amz-object-lock-mode']).toBeUndefined();
    const copy = await copyMadeBy(stub, () => setLegalHold(bucket, 'c1', true));
    expect(copy.headers['x-amz-tagging-directive']).toBe('REPLACE');
    expect(copy.headers['x-amz-tagging']).toBe('legal-hold=true');
    expect(copy.headers['x-amz-meta-legal-hold']).toBe('true');
    expect(stub.requests.some((r) => r.query.has('legal-hold'))).toBe(false);
    const release = await copyMadeBy(stub, () => setLegalHold(bucket, 'c1', false));
    expect(release.headers['x-amz-tagging']).toBe('retention-days=60');
    expect(release.headers['x-amz-meta-legal-hold']).toBe('false');
  });

  it('a writer in sweeper mode (no rule for its days) still swaps the tag: the hold leaves the rule, a release rejoins', async () => {
    const {
      bucket: lifecycleWriter,
      stub,
      client,
    } = await awsLikeBucket({
      objectLock: 'absent',
      lifecycle: { xml: lifecycleXml(60) },
    });
    expect((await lifecycleWriter.engageRetention({ retentionDays: 60 })).mode).toBe('lifecycle');
    const file = await makeClipFile(dir, 'c1.mp4', 3000);
    await lifecycleWriter.put(`${DAY}/c1.mp4`, file.path, clipMetadata().metadata);
    expect(objectWrites(stub, `${DAY}/c1.mp4`)[0]!.headers['x-amz-tagging']).toBe('retention-days=60');
    const sweeperWriter = new S3Bucket({ bucket: lifecycleWriter.bucket, client });
    expect((await sweeperWriter.engageRetention({ retentionDays: 30 })).mode).toBe('sweeper');
    const copy = await copyMadeBy(stub, () => setLegalHold(sweeperWriter, 'c1', true));
    expect(copy.headers['x-amz-tagging-directive']).toBe('REPLACE');
    expect(copy.headers['x-amz-tagging']).toBe('legal-hold=true');
    const release = await copyMadeBy(stub, () => setLegalHold(sweeperWriter, 'c1', false));
    expect(release.headers['x-amz-tagging-directive']).toBe('REPLACE');
    expect(release.headers['x-amz-tagging']).toBe('retention-days=60');
  });

  it("bucket setup keeps the bucket's TransitionDefaultMinimumObjectSize", async () => {
    const { bucket, stub } = await awsLikeBucket({
      objectLock: 'absent',
      lifecycle: {
        xml: lifecycleXml(30),
        headers: { 'x-amz-transition-default-minimum-object-size': 'varies_by_storage_class' },
      },
    });
    const written = await bucket.writeLifecycleRules(60);
    expect(written.TransitionDefaultMinimumObjectSize).toBe('varies_by_storage_class');
    const put = stub.requests.find((r) => r.method === 'PUT' && r.query.has('lifecycle'))!;
    expect(put.headers['x-amz-transition-default-minimum-object-size']).toBe('varies_by_storage_class');
  });

  it("bucket setup writes the rules in the shape AWS documents and keeps the bucket's other rules", async () => {
    const theirs =
      '<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      '<Rule><ID>logs-30d</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>' +
      '</LifecycleConfiguration>';
    const { bucket, stub } = await awsLikeBucket({ objectLock: 'absent', lifecycle: { xml: theirs } });
    await bucket.writeLifecycleRules(60);
    const put = stub.requests.find((r) => r.method === 'PUT' && r.query.has('lifecycle'))!;
    expect(Object.keys(put.headers).some((h) => /^(content-md5|x-amz-checksum-)/.test(h))).toBe(true);
    // The AWS documented shape (PutBucketLifecycleConfiguration request body), element by element.
    expect(xmlToObject(put.body.toString())).toEqual({
      LifecycleConfiguration: {
        Rule: [
          {
            ID: 'logs-30d',
            Filter: { Prefix: 'logs/' },
            Status: 'Enabled',
            Expiration: { Days: '30' },
          },
          {
            ID: 'doorbell-clips-expire-60d',
            Filter: { And: { Prefix: 'clips/', Tag: { Key: 'retention-days', Value: '60' } } },
            Status: 'Enabled',
            Expiration: { Days: '60' },
            NoncurrentVersionExpiration: { NoncurrentDays: '1' },
          },
          {
            ID: 'doorbell-clips-abort-incomplete-uploads',
            Filter: { Prefix: 'clips/' },
            Status: 'Enabled',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: '1' },
          },
          {
            ID: 'doorbell-clips-expired-delete-markers',
            Filter: { Prefix: 'clips/' },
            Status: 'Enabled',
            Expiration: { ExpiredObjectDeleteMarker: 'true' },
          },
        ],
      },
    });
    // What was written is what the probe reads back: the bucket is now in lifecycle mode for 60 days.
    expect((await bucket.engageRetention({ retentionDays: 60 })).mode).toBe('lifecycle');
  });
});

describe('on s3rver (no Object Lock, no lifecycle): sweeper mode, as before', () => {
  it('engages the sweeper, writes no lock or tag headers, and the sweep deletes expired clips', async () => {
    const bucket = await s3.newBucket(`plain-${++bucketSeq}`);
    const engaged = await bucket.engageRetention({ retentionDays: 60 });
    expect(engaged.mode).toBe('sweeper');
    expect(engaged.facts?.notes).toEqual([
      'GetObjectLockConfiguration: NotImplemented',
      'GetBucketLifecycleConfiguration: NotImplemented',
    ]);
    const headers: Array<Record<string, string>> = [];
    s3.client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) headers.push({ ...request.headers });
        return next(args);
      },
      { step: 'finalizeRequest', name: `captureHeaders${bucketSeq}` },
    );
    try {
      const file = await makeClipFile(dir, 'c1.mp4', 2000);
      await bucket.put(`${DAY}/c1.mp4`, file.path, clipMetadata().metadata);
      await bucket.updateMetadata(`${DAY}/c1.mp4`, { 'legal-hold': 'false' });
    } finally {
      s3.client.middlewareStack.remove(`captureHeaders${bucketSeq}`);
    }
    expect(headers.length).toBeGreaterThan(0);
    // The PUT carries neither; the metadata copy replaces the tags to match the hold state (s3rver accepts that).
    const copy = headers.find((h) => h['x-amz-copy-source'] !== undefined);
    for (const h of headers.filter((h) => h !== copy))
      expect(Object.keys(h).filter((k) => /object-lock|tagging/.test(k))).toEqual([]);
    expect(copy!['x-amz-tagging-directive']).toBe('REPLACE');
    expect(copy!['x-amz-tagging']).toBe('retention-days=60');
    for (const h of headers) expect(Object.keys(h).filter((k) => /object-lock/.test(k))).toEqual([]);
    const report = await sweepRetention({ bucket, nowMs: Date.now() + 61 * 86_400_000, mode: engaged.mode });
    expect(report.deleted.map((d) => d.key)).toEqual([`${DAY}/c1.mp4`]);
    expect(await bucket.head(`${DAY}/c1.mp4`)).toBeUndefined();
  });
});
