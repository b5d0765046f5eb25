import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bucket,
  IntegrityError,
  InvalidMetadataError,
  ObjectNotFoundError,
} from '../../src/storage/bucket.js';
import { InvalidKeyError } from '../../src/storage/keys.js';

export interface BucketSuiteOptions {
  /** Bytes for the "large" object; choose it above the bucket's multipart threshold where there is one. */
  largeBytes: number;
  describePattern: RegExp;
}

export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keysOf(bucket: Bucket, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of bucket.list(prefix)) keys.push(item.key);
  return keys;
}

const TRAVERSAL_KEYS = [
  '../escape.mp4',
  'clips/../../escape.mp4',
  'clips/dev/../../../escape.mp4',
  '/etc/escape.mp4',
  'clips/dev\\..\\..\\escape.mp4',
  'clips/a\0b.mp4',
  'clips//double.mp4',
  '.hidden',
  '',
];

/** One behaviour contract, run against every Bucket implementation. */
export function bucketSuite(
  name: string,
  createBucket: () => Promise<Bucket>,
  options: BucketSuiteOptions,
): void {
  describe(`Bucket contract: ${name}`, () => {
    let bucket: Bucket;
    let sourceDir: string;

    beforeAll(async () => {
      bucket = await createBucket();
      sourceDir = await mkdtemp(join(tmpdir(), 'doorbell-bucket-src-'));
    });
    afterAll(async () => {
      await rm(sourceDir, { recursive: true, force: true });
    });

    async function source(name: string, data: Buffer): Promise<string> {
      const path = join(sourceDir, name);
      await writeFile(path, data);
      return path;
    }

    it('describes itself for logs', () => {
      expect(bucket.describe()).toMatch(options.describePattern);
    });

    it('stores an object with its metadata and sha256, and reads it back', async () => {
      const data = randomBytes(70_000);
      const result = await bucket.put('clips/dev1/2026/01/01/c1.mp4', await source('c1.mp4', data), {
        'device-id': 'dev1',
        trigger: 'ding',
      });
      expect(result).toEqual({
        key: 'clips/dev1/2026/01/01/c1.mp4',
        bytes: data.length,
        sha256: sha256Of(data),
      });
      const { sha256Verified, contentMd5, ...head } = (await bucket.head('clips/dev1/2026/01/01/c1.mp4'))!;
      expect(head).toEqual({
        key: 'clips/dev1/2026/01/01/c1.mp4',
        bytes: data.length,
        sha256: sha256Of(data),
        metadata: { 'device-id': 'dev1', trigger: 'ding', sha256: sha256Of(data) },
      });
      // Each store gives evidence that the sha256 describes the bytes: its own word, or the server's MD5 of them.
      expect(sha256Verified === true || contentMd5 === createHash('md5').update(data).digest('hex')).toBe(
        true,
      );
      expect(await readAll(await bucket.get('clips/dev1/2026/01/01/c1.mp4'))).toEqual(data);
    });

    it('keeps one object when the same key is put twice (idempotent retries)', async () => {
      const first = randomBytes(1000);
      const second = randomBytes(1200);
      await bucket.put('clips/dev1/2026/01/02/twice.mp4', await source('t1', first), { n: '1' });
      await bucket.put('clips/dev1/2026/01/02/twice.mp4', await source('t2', second), { n: '2' });
      expect(await keysOf(bucket, 'clips/dev1/2026/01/02/')).toEqual(['clips/dev1/2026/01/02/twice.mp4']);
      const head = await bucket.head('clips/dev1/2026/01/02/twice.mp4');
      expect(head?.bytes).toBe(1200);
      expect(head?.metadata['n']).toBe('2');
      expect(head?.sha256).toBe(sha256Of(second));
    });

    it(`verifies a large object (${options.largeBytes} bytes)`, async () => {
      const data = randomBytes(options.largeBytes);
      const path = await source('large.mp4', data);
      const result = await bucket.put('clips/dev2/2026/02/03/large.mp4', path, {}, { immutableSource: true });
      expect(result.sha256).toBe(sha256Of(data));
      expect(result.bytes).toBe(data.length);
      const back = await readAll(await bucket.get('clips/dev2/2026/02/03/large.mp4'));
      expect(sha256Of(back)).toBe(sha256Of(data));
    });

    it('stores an empty object', async () => {
      const result = await bucket.put(
        'clips/dev2/2026/02/03/empty.jpg',
        await source('empty', Buffer.alloc(0)),
        {},
      );
      expect(result.bytes).toBe(0);
      expect((await bucket.head('clips/dev2/2026/02/03/empty.jpg'))?.bytes).toBe(0);
    });

    it('accepts a matching expected sha256 and refuses a wrong one, leaving no object', async () => {
      const data = randomBytes(5000);
      const path = await source('expected', data);
      await expect(
        bucket.put('clips/dev3/2026/01/01/ok.mp4', path, { sha256: sha256Of(data) }),
      ).resolves.toMatchObject({
        sha256: sha256Of(data),
      });
      await expect(
        bucket.put('clips/dev3/2026/01/01/bad.mp4', path, { sha256: 'f'.repeat(64) }),
      ).rejects.toBeInstanceOf(IntegrityError);
      expect(await bucket.head('clips/dev3/2026/01/01/bad.mp4')).toBeUndefined();
    });

    it('answers undefined / ObjectNotFoundError for absent objects', async () => {
      expect(await bucket.head('clips/nobody/2026/01/01/none.mp4')).toBeUndefined();
      await expect(bucket.get('clips/nobody/2026/01/01/none.mp4')).rejects.toBeInstanceOf(
        ObjectNotFoundError,
      );
      await expect(
        bucket.updateMetadata('clips/nobody/2026/01/01/none.mp4', { a: 'b' }),
      ).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('lists by prefix in key order, objects only', async () => {
      for (const key of [
        'clips/lst/2026/01/02/b.mp4',
        'clips/lst/2026/01/01/a.mp4',
        'clips/lst/2026/01/01/a.jpg',
      ]) {
        await bucket.put(key, await source('l', Buffer.from(key)), { 'legal-hold': 'false' });
      }
      await bucket.put('clips/lst-other/2026/01/01/x.mp4', await source('l', Buffer.from('x')), {});
      expect(await keysOf(bucket, 'clips/lst/')).toEqual([
        'clips/lst/2026/01/01/a.jpg',
        'clips/lst/2026/01/01/a.mp4',
        'clips/lst/2026/01/02/b.mp4',
      ]);
      expect(await keysOf(bucket, 'clips/lst/2026/01/01/a.m')).toEqual(['clips/lst/2026/01/01/a.mp4']);
      expect(await keysOf(bucket, 'clips/lst')).toHaveLength(4);
      const summaries = [];
      for await (const item of bucket.list('clips/lst/2026/01/02/')) summaries.push(item);
      expect(summaries).toEqual([
        { key: 'clips/lst/2026/01/02/b.mp4', bytes: 'clips/lst/2026/01/02/b.mp4'.length },
      ]);
      expect(await keysOf(bucket, 'clips/absent/')).toEqual([]);
    });

    it('deletes objects with their metadata; deleting an absent object is fine', async () => {
      await bucket.put('clips/del/2026/01/01/d.mp4', await source('d', Buffer.from('bye')), {
        trigger: 'motion',
      });
      await bucket.delete('clips/del/2026/01/01/d.mp4');
      expect(await bucket.head('clips/del/2026/01/01/d.mp4')).toBeUndefined();
      expect(await keysOf(bucket, 'clips/del/')).toEqual([]);
      await expect(bucket.delete('clips/del/2026/01/01/d.mp4')).resolves.toBeUndefined();
    });

    it('updates metadata in place (legal hold), keeping bytes and sha256', async () => {
      const data = Buffer.from('hold me');
      await bucket.put('clips/hold/2026/01/01/h.mp4', await source('h', data), {
        'legal-hold': 'false',
        trigger: 'ding',
      });
      const updated = await bucket.updateMetadata('clips/hold/2026/01/01/h.mp4', { 'legal-hold': 'true' });
      expect(updated.metadata).toEqual({ 'legal-hold': 'true', trigger: 'ding', sha256: sha256Of(data) });
      const head = await bucket.head('clips/hold/2026/01/01/h.mp4');
      expect(head?.metadata['legal-hold']).toBe('true');
      expect(head?.sha256).toBe(sha256Of(data));
      expect(await readAll(await bucket.get('clips/hold/2026/01/01/h.mp4'))).toEqual(data);
      await expect(
        bucket.updateMetadata('clips/hold/2026/01/01/h.mp4', { sha256: '0'.repeat(64) }),
      ).rejects.toBeInstanceOf(InvalidMetadataError);
    });

    it('refuses invalid metadata', async () => {
      const path = await source('m', Buffer.from('m'));
      await expect(bucket.put('clips/m/2026/01/01/m.mp4', path, { 'Bad Key': 'x' })).rejects.toThrow(
        /metadata key/,
      );
      await expect(bucket.put('clips/m/2026/01/01/m.mp4', path, { note: 'caf\u00e9' })).rejects.toThrow(
        /printable ASCII/,
      );
      expect(await bucket.head('clips/m/2026/01/01/m.mp4')).toBeUndefined();
    });

    it('refuses keys that could escape the bucket root, before touching anything', async () => {
      const path = await source('evil', Buffer.from('evil'));
      for (const key of TRAVERSAL_KEYS) {
        await expect(bucket.put(key, path, {}), key).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(bucket.head(key), key).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(bucket.delete(key), key).rejects.toBeInstanceOf(InvalidKeyError);
      }
      await expect(keysOf(bucket, '../')).rejects.toBeInstanceOf(InvalidKeyError);
      expect((await keysOf(bucket, '')).some((key) => key.includes('escape'))).toBe(false);
    });
  });
}
