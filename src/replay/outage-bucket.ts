import type { Readable } from 'node:stream';
import type {
  Bucket,
  ObjectHead,
  ObjectMetadata,
  ObjectSummary,
  PutOptions,
  PutResult,
} from '../storage/bucket.js';

/** The error every call fails with while the bucket is down. */
export class BucketOutageError extends Error {
  constructor(readonly bucket: string) {
    super(`${bucket} is unreachable (simulated bucket outage)`);
    this.name = 'BucketOutageError';
  }
}

/**
 * A bucket that can be taken down: while down, every call fails as an unreachable bucket would. `describe()` is a
 * fixed name, so clip events carry the same bucket on every run whatever temp folder holds the objects.
 */
export class OutageBucket implements Bucket {
  private down = false;
  private failures = 0;

  private readonly name = 'replay://bucket';

  constructor(
    private readonly inner: Bucket,
    /** Called after each successful put (the replay starts hashing a stored clip while the run goes on). */
    private readonly onStored?: (key: string) => void,
  ) {}

  /** Calls refused during outages so far. */
  get refusedCalls(): number {
    return this.failures;
  }

  setDown(down: boolean): void {
    this.down = down;
  }

  describe(): string {
    return this.name;
  }

  put(key: string, sourcePath: string, metadata: ObjectMetadata, options?: PutOptions): Promise<PutResult> {
    return this.guard(async () => {
      const result = await this.inner.put(key, sourcePath, metadata, options);
      this.onStored?.(key);
      return result;
    });
  }

  head(key: string): Promise<ObjectHead | undefined> {
    return this.guard(() => this.inner.head(key));
  }

  get(key: string): Promise<Readable> {
    return this.guard(() => this.inner.get(key));
  }

  async *list(prefix: string): AsyncIterable<ObjectSummary> {
    if (this.down) throw this.refuse();
    yield* this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.guard(() => this.inner.delete(key));
  }

  updateMetadata(key: string, patch: ObjectMetadata): Promise<ObjectHead> {
    return this.guard(() => this.inner.updateMetadata(key, patch));
  }

  private guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.down) return Promise.reject(this.refuse());
    return call();
  }

  private refuse(): BucketOutageError {
    this.failures++;
    return new BucketOutageError(this.name);
  }
}
