import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type {
  Bucket,
  ObjectHead,
  ObjectMetadata,
  ObjectSummary,
  PutOptions,
  PutResult,
} from '../../src/storage/bucket.js';

/** Wraps a bucket: can be switched "down" (every call fails like a dead endpoint) and counts puts per key. */
export class FlakyBucket implements Bucket {
  down = false;
  readonly puts = new Map<string, number>();

  constructor(readonly inner: Bucket) {}

  describe(): string {
    return this.inner.describe();
  }

  private check(): void {
    if (this.down)
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  }

  async put(key: string, source: string, metadata: ObjectMetadata, options?: PutOptions): Promise<PutResult> {
    this.check();
    this.puts.set(key, (this.puts.get(key) ?? 0) + 1);
    return this.inner.put(key, source, metadata, options);
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    this.check();
    return this.inner.head(key);
  }

  async get(key: string): Promise<Readable> {
    this.check();
    return this.inner.get(key);
  }

  list(prefix: string): AsyncIterable<ObjectSummary> {
    this.check();
    return this.inner.list(prefix);
  }

  async delete(key: string): Promise<void> {
    this.check();
    return this.inner.delete(key);
  }

  async updateMetadata(key: string, patch: ObjectMetadata): Promise<ObjectHead> {
    this.check();
    return this.inner.updateMetadata(key, patch);
  }

  totalPuts(): number {
    let total = 0;
    for (const n of this.puts.values()) total += n;
    return total;
  }
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes a random "clip" file and returns its path, bytes and sha256. */
export async function makeClipFile(dir: string, name: string, bytes: number) {
  const data = randomBytes(bytes);
  const path = join(dir, name);
  await writeFile(path, data);
  return { path, data, sha256: sha256Hex(data) };
}

export async function listKeys(bucket: Bucket, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of bucket.list(prefix)) keys.push(item.key);
  return keys;
}
