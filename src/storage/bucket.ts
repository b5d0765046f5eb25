import type { Readable } from 'node:stream';
import type { StoreRetentionFacts } from '../retention/enforcement.js';
import type { ObjectLockModeName, RetentionMode } from '../retention/modes.js';
import { UserError } from '../util/user-error.js';

/**
 * User metadata stored with an object: lower-case keys (a-z, 0-9, "-"), printable ASCII values.
 * S3 carries them as x-amz-meta-*; the folder bucket in a <key>.meta.json sidecar.
 */
export type ObjectMetadata = Record<string, string>;

export interface PutResult {
  key: string;
  bytes: number;
  /** Lower-case hex sha256 of the stored bytes, verified before put() resolved. */
  sha256: string;
}

export interface ObjectHead {
  key: string;
  bytes: number;
  /** The sha256 recorded with the object ("" if the object carries none, e.g. written by another tool). */
  sha256: string;
  metadata: ObjectMetadata;
  /**
   * True when the store vouches that sha256 describes the stored bytes (a folder bucket writes its sidecar only
   * after checking them). Absent: sha256 is what a client sent along (S3 metadata), not proof.
   */
  sha256Verified?: boolean;
  /** The server's own MD5 of the stored bytes, when it reports one (a plain, single-part S3 ETag). */
  contentMd5?: string;
}

export interface PutOptions {
  /**
   * The caller promises never to modify the source file in place after put() (deleting it is fine), as
   * with spooled clips. A folder bucket on the same file system may then hard-link instead of copying.
   */
  immutableSource?: boolean;
  /**
   * The producer's MD5 of an immutable source (hex). An S3 bucket then sends the file as it is and checks the
   * server's plain-MD5 ETag against it: the server's own digest of what it stored against the producer's digest of
   * what it made, with nothing hashed during the upload.
   */
  md5?: string;
}

export interface ObjectSummary {
  key: string;
  bytes: number;
}

export interface Bucket {
  /** For logs and events: "file:///abs/dir" or "s3://name". */
  describe(): string;
  /**
   * Streams the file at `sourcePath` to `key` with `metadata` (plus `sha256`, which the bucket sets itself).
   * Resolves only once the stored object is verified (size + sha256). The same key twice leaves one object.
   * If `metadata.sha256` is given, the source must hash to it or the put fails with an IntegrityError.
   */
  put(key: string, sourcePath: string, metadata: ObjectMetadata, options?: PutOptions): Promise<PutResult>;
  head(key: string): Promise<ObjectHead | undefined>;
  /** The object's bytes; rejects with ObjectNotFoundError when absent. */
  get(key: string): Promise<Readable>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectSummary>;
  /** Removes the object and its metadata; absent objects are fine. */
  delete(key: string): Promise<void>;
  /** Merges `patch` into the object's metadata (sha256 cannot be changed); returns the new head. */
  updateMetadata(key: string, patch: ObjectMetadata): Promise<ObjectHead>;
  /**
   * A link that GETs `key` from the store itself, signed as of `signedAtMs` and valid for `expiresInS` seconds
   * (S3: a presigned URL, its expiry enforced by the server). Absent on a store that serves nothing by itself (a
   * folder: the console serves its links).
   */
  presignGet?(key: string, options: PresignOptions): Promise<string>;
  /**
   * Asks the store which retention it enforces by itself and writes (and holds) objects accordingly from then on.
   * Absent: the store enforces none (a folder), the agent's sweeper does.
   */
  engageRetention?(request: RetentionRequest): Promise<RetentionEngagement>;
  /** Sets or clears an object's legal hold the store's way. Absent: the `legal-hold` metadata flag is the hold. */
  setLegalHold?(key: string, held: boolean): Promise<void>;
}

export interface RetentionRequest {
  /** The profile's retention days: lifecycle mode needs a rule that expires objects tagged with them. */
  retentionDays?: number;
  /** The Object Lock mode new objects are written with (default governance). */
  lockMode?: ObjectLockModeName;
}

export interface RetentionEngagement {
  mode: RetentionMode;
  /** One sentence for the log: what enforces retention and, if something is missing, what. */
  reason: string;
  /** What the store answered when asked (absent for a store that has nothing to ask). */
  facts?: StoreRetentionFacts;
  /** Asked again, the store answered inconclusively: the mode is the one of its last answer. */
  kept?: true;
}

/** Which retention is in force for `bucket`, engaging the store's own where it has one. */
export async function engageRetention(
  bucket: Bucket,
  request: RetentionRequest = {},
): Promise<RetentionEngagement> {
  if (bucket.engageRetention) return bucket.engageRetention(request);
  return {
    mode: 'sweeper',
    reason: `the agent's sweeper deletes expired clips: ${bucket.describe()} enforces no retention of its own`,
  };
}

/** Sets or clears one object's legal hold: the store's own where it enforces retention, else the metadata flag. */
export async function setObjectLegalHold(bucket: Bucket, key: string, held: boolean): Promise<void> {
  if (bucket.setLegalHold) await bucket.setLegalHold(key, held);
  else await bucket.updateMetadata(key, { 'legal-hold': String(held) });
}

export interface PresignOptions {
  /** The signing time (the device's clock), whole seconds. */
  signedAtMs: number;
  /** Lifetime from signedAtMs, seconds (S3: at most 7 days). */
  expiresInS: number;
}

export class ObjectNotFoundError extends UserError {
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(`object "${key}" not found in ${bucket}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** What was stored is not what was sent (size or checksum mismatch). The bad object has been removed. */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

export class InvalidMetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidMetadataError';
  }
}

const METADATA_KEY = /^[a-z0-9][a-z0-9-]{0,63}$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;
/** S3 limits user metadata to 2 KB (keys + values). */
export const MAX_METADATA_BYTES = 2048;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Validates metadata for any bucket; returns a copy. */
export function checkMetadata(metadata: ObjectMetadata): ObjectMetadata {
  const out: ObjectMetadata = {};
  let size = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (!METADATA_KEY.test(key)) {
      throw new InvalidMetadataError(`metadata key ${JSON.stringify(key)} is invalid: use a-z, 0-9 and "-"`);
    }
    if (typeof value !== 'string' || !METADATA_VALUE.test(value)) {
      throw new InvalidMetadataError(
        `metadata "${key}" value ${JSON.stringify(value)} must be printable ASCII`,
      );
    }
    size += key.length + value.length;
    out[key] = value;
  }
  if (size > MAX_METADATA_BYTES) {
    throw new InvalidMetadataError(`metadata is ${size} bytes; the limit is ${MAX_METADATA_BYTES}`);
  }
  if (out['sha256'] !== undefined && !SHA256_HEX.test(out['sha256'])) {
    throw new InvalidMetadataError(
      `metadata "sha256" value ${JSON.stringify(out['sha256'])} is not 64 hex digits`,
    );
  }
  return out;
}
