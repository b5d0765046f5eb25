import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type PutObjectCommandInput,
  PutObjectLegalHoldCommand,
  PutObjectTaggingCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  chooseRetentionMode,
  keepModeWhenInconclusive,
  type LifecycleConfigurationShape,
  retentionTagSet,
} from '../retention/enforcement.js';
import { OBJECT_LOCK_MODES, type RetentionMode, type S3ObjectLockMode } from '../retention/modes.js';
import {
  type Bucket,
  checkMetadata,
  IntegrityError,
  InvalidMetadataError,
  type ObjectHead,
  type ObjectMetadata,
  ObjectNotFoundError,
  type ObjectSummary,
  type PresignOptions,
  type PutOptions,
  type PutResult,
  type RetentionEngagement,
  type RetentionRequest,
} from './bucket.js';
import { hashFile } from './hashing.js';
import { assertSafeKey, assertSafePrefix } from './keys.js';
import { probeS3Retention, writeLifecycleRules } from './s3-retention.js';
import { type EtagStyle, UploadTap } from './upload-tap.js';

/** Clips up to this size go up in one PutObject (one plain MD5 ETag); larger ones in parts of this size. */
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

export type S3Verification = 'etag' | 'readback';

export interface S3BucketOptions {
  bucket: string;
  /** Any S3-compatible endpoint, e.g. http://127.0.0.1:4568. Omit for AWS. */
  endpoint?: string;
  /** Default: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
  region?: string;
  /** Path-style addressing (http://host/bucket/key). Default: true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Default: the usual AWS chain (env, shared profile, SSO, instance role…). */
  credentials?: S3ClientConfig['credentials'];
  /** SDK-level attempts per request (default 3); the upload queue retries on top with its own backoff. */
  maxAttempts?: number;
  /** Socket connect timeout, ms (default 5000). */
  connectionTimeoutMs?: number;
  /** A preconfigured client (tests, custom middleware); the options above are then ignored. */
  client?: S3Client;
  partSize?: number;
  /** Parts in flight per upload (default 2); memory use is about partSize × queueSize. */
  queueSize?: number;
  /**
   * How put() proves the stored bytes: 'etag' (default) compares the ETag with MD5s computed while
   * streaming and falls back to reading the object back when the ETag is not one of those (e.g. SSE-KMS);
   * 'readback' always downloads and hashes.
   */
  verify?: S3Verification;
}

/** An S3 client configured for S3-compatible servers as measured on s3rver (see DEVELOPERS notes). */
export function createS3Client(options: Omit<S3BucketOptions, 'bucket' | 'client'>): S3Client {
  // The product targets Node 20 on purpose; the SDK's multi-line notice about a future Node 22 floor is noise in
  // every CLI run and log.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const region =
    options.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1';
  return new S3Client({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    // Default (WHEN_SUPPORTED) sends aws-chunked bodies with trailing checksums, which some S3-compatible
    // servers (s3rver) store verbatim, corrupting the object while answering 200.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A stalled connection must fail (and be retried by the queue), never hang an upload forever.
    requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 5_000, requestTimeout: 60_000 },
  });
}

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.jpg': 'image/jpeg',
  '.json': 'application/json',
};

function contentTypeOf(key: string): string {
  const dot = key.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[key.slice(dot)]) || 'application/octet-stream';
}

/** An object's tag set as the x-amz-tagging header wants it (URL query encoding). */
function taggingHeader(tags: Array<{ Key: string; Value: string }>): string {
  return new URLSearchParams(tags.map((tag): [string, string] => [tag.Key, tag.Value])).toString();
}

/** The parameters by which the store enforces retention on an object written (or rewritten) with `metadata`. */
type RetentionParams = Pick<
  PutObjectCommandInput,
  'Tagging' | 'ObjectLockMode' | 'ObjectLockRetainUntilDate' | 'ObjectLockLegalHoldStatus'
>;

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** Objects in an S3 (or S3-compatible) bucket; metadata as x-amz-meta-*. Multipart through lib-storage. */
export class S3Bucket implements Bucket {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly verify: S3Verification;
  private multipartEtagStyle: EtagStyle | undefined;
  /** Until engageRetention() has asked the store: nothing of the store's own, the sweeper's job. */
  private retention: { mode: RetentionMode; lockMode: S3ObjectLockMode } = {
    mode: 'sweeper',
    lockMode: OBJECT_LOCK_MODES.governance,
  };
  private engaged = false;

  constructor(options: S3BucketOptions) {
    this.bucket = options.bucket;
    this.client = options.client ?? createS3Client(options);
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = options.queueSize ?? 2;
    this.verify = options.verify ?? 'etag';
  }

  describe(): string {
    return `s3://${this.bucket}`;
  }

  async put(
    key: string,
    sourcePath: string,
    metadata: ObjectMetadata,
    options: PutOptions = {},
  ): Promise<PutResult> {
    assertSafeKey(key);
    const checked = checkMetadata(metadata);
    const size = (await stat(sourcePath)).size;
    // The sha256 travels as metadata, which S3 takes before the body: know it first.
    const expected = checked['sha256'];
    const multipart = size > this.partSize;
    const locked = this.retention.mode === 'object-lock';
    // S3 refuses an Object Lock write without Content-MD5 or a checksum: one PUT carries the producer's MD5 (or one
    // computed here with the sha256), the parts of a multipart upload a CRC32 the SDK computes for each part.
    let lockMd5 = locked && !multipart && options.immutableSource ? options.md5 : undefined;
    const needMd5 = locked && !multipart && lockMd5 === undefined;
    let sha256 = expected;
    if (sha256 === undefined || needMd5) {
      const md5 = createHash('md5');
      const digest = await hashFile(sourcePath, needMd5 ? [md5] : []);
      sha256 ??= digest.sha256;
      if (needMd5) lockMd5 = md5.digest('hex');
    }
    const integrity: Pick<PutObjectCommandInput, 'ContentMD5' | 'ChecksumAlgorithm'> = !locked
      ? {}
      : multipart
        ? { ChecksumAlgorithm: 'CRC32' }
        : { ContentMD5: Buffer.from(lockMd5!, 'hex').toString('base64') };
    // The producer's digests of an immutable file: the server's plain-MD5 ETag (single part anywhere; multipart on
    // servers seen to answer that way) is then checked against the producer's MD5, and nothing is hashed here.
    const producerMd5 =
      options.immutableSource &&
      expected !== undefined &&
      options.md5 !== undefined &&
      (!multipart || this.multipartEtagStyle === 'whole')
        ? options.md5
        : undefined;
    // Otherwise the sent bytes are hashed on the way (a mutable source may change after the hash above).
    // Multipart ETags differ by server (AWS: MD5 of part MD5s; s3rver: MD5 of the whole). Until one upload
    // has shown which, compute both; then only the one this server uses (MD5 is the costly part).
    const tap = producerMd5
      ? undefined
      : new UploadTap(this.partSize, {
          whole: !multipart || this.multipartEtagStyle !== 'parts',
          parts: multipart && this.multipartEtagStyle !== 'whole',
          sha256: !options.immutableSource || expected !== undefined,
        });
    const source = createReadStream(sourcePath, { highWaterMark: 1 << 20 });
    const body = tap ? pipeline(source, tap, () => undefined) : source;
    let result: Awaited<ReturnType<Upload['done']>>;
    try {
      result = await new Upload({
        client: this.client,
        partSize: this.partSize,
        queueSize: this.queueSize,
        leavePartsOnError: false,
        params: {
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: size,
          ContentType: contentTypeOf(key),
          Metadata: { ...checked, sha256 },
          ...this.retentionParams(checked),
          ...integrity,
        },
      }).done();
    } catch (error) {
      tap?.abandon();
      throw error;
    } finally {
      body.destroy();
    }
    const { expectedEtags, sha256: sentSha256 } = tap
      ? await tap.digests()
      : { expectedEtags: new Map<string, EtagStyle>([[producerMd5!, 'whole']]), sha256: undefined };
    try {
      if (tap && tap.bytes !== size) {
        throw new IntegrityError(
          `put ${key}: sent ${tap.bytes} bytes but the source has ${size} (changed while uploading?)`,
        );
      }
      if (sentSha256 !== undefined && sentSha256 !== sha256) {
        throw new IntegrityError(`put ${key}: source sha256 ${sentSha256} differs from expected ${sha256}`);
      }
      const style = await this.verifyStored(key, size, sha256, result.ETag, expectedEtags);
      // Only an upload that hashed what it sent learns (or re-learns) which ETag style this server uses.
      if (multipart && tap) this.multipartEtagStyle = style;
    } catch (error) {
      if (error instanceof IntegrityError) await this.delete(key).catch(() => undefined);
      throw error;
    }
    return { key, bytes: size, sha256 };
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    assertSafeKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const metadata = lowerKeys(out.Metadata ?? {});
      // Under Object Lock the hold is the store's, not the metadata flag written with the object.
      if (out.ObjectLockLegalHoldStatus)
        metadata['legal-hold'] = String(out.ObjectLockLegalHoldStatus === 'ON');
      const etag = (out.ETag ?? '').replaceAll('"', '');
      return {
        key,
        bytes: out.ContentLength ?? 0,
        sha256: metadata['sha256'] ?? '',
        metadata,
        ...(/^[0-9a-f]{32}$/.test(etag) ? { contentMd5: etag } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async get(key: string): Promise<Readable> {
    assertSafeKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = out.Body;
      if (body instanceof Readable) return body;
      throw new Error(`get ${key}: the S3 client returned a non-stream body`);
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(this.describe(), key);
      throw error;
    }
  }

  /**
   * A presigned GET (SigV4 query string): whoever holds it may fetch the object until signedAt + expiresIn, by the
   * server's clock. Signed locally with the client's credentials (no request); temporary credentials (a role, SSO)
   * end the link when they expire, whatever expiresIn says.
   */
  async presignGet(key: string, { signedAtMs, expiresInS }: PresignOptions): Promise<string> {
    assertSafeKey(key);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInS,
      signingDate: new Date(signedAtMs),
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectSummary> {
    assertSafePrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key !== undefined) yield { key: item.Key, bytes: item.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async updateMetadata(key: string, patch: ObjectMetadata): Promise<ObjectHead> {
    const checkedPatch = checkMetadata(patch);
    const current = await this.head(key);
    if (!current) throw new ObjectNotFoundError(this.describe(), key);
    if (checkedPatch['sha256'] !== undefined && checkedPatch['sha256'] !== current.sha256) {
      throw new InvalidMetadataError(
        `updateMetadata ${key}: sha256 describes the bytes and cannot be changed`,
      );
    }
    const metadata = checkMetadata({ ...current.metadata, ...checkedPatch });
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: key,
        CopySource: `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
        MetadataDirective: 'REPLACE',
        ContentType: contentTypeOf(key),
        Metadata: metadata,
        // The copy is the object from now on (a new version under Object Lock): it keeps the lock, and its tags follow
        // the metadata in every mode. A writer in sweeper mode may not know of a lifecycle rule (the probe was denied,
        // or no rule covers its days) that still matches the object's old tags: a hold must take it out of the rule.
        TaggingDirective: 'REPLACE',
        ...this.retentionParams(metadata),
        ...this.tagging(metadata),
      }),
    );
    return { ...current, metadata };
  }

  /**
   * Asks the bucket (GetObjectLockConfiguration, GetBucketLifecycleConfiguration) which retention it enforces; from
   * then on objects are written with the Object Lock retention and/or the tag its lifecycle rule matches.
   */
  async engageRetention(request: RetentionRequest = {}): Promise<RetentionEngagement> {
    const facts = await probeS3Retention(this.client, this.bucket);
    const choice = keepModeWhenInconclusive(
      chooseRetentionMode(facts, request.retentionDays),
      facts,
      this.engaged ? this.retention.mode : undefined,
    );
    this.retention = { mode: choice.mode, lockMode: OBJECT_LOCK_MODES[request.lockMode ?? 'governance'] };
    this.engaged = true;
    return { mode: choice.mode, reason: choice.reason, facts, ...(choice.kept ? { kept: choice.kept } : {}) };
  }

  /** Writes the lifecycle rules that expire clips tagged retention-days=N, keeping the bucket's other rules. */
  writeLifecycleRules(retentionDays: number): Promise<LifecycleConfigurationShape> {
    return writeLifecycleRules(this.client, this.bucket, retentionDays);
  }

  /** The retention mode in force for writes and holds (sweeper until engageRetention()). */
  get retentionMode(): RetentionMode {
    return this.retention.mode;
  }

  /**
   * Object Lock: PutObjectLegalHold ON/OFF, which no delete gets past, and the tags (a held object leaves the
   * lifecycle rule's filter). Lifecycle: the metadata flag and the tags in one copy. Sweeper: the metadata flag.
   */
  async setLegalHold(key: string, held: boolean): Promise<void> {
    assertSafeKey(key);
    if (this.retention.mode !== 'object-lock') {
      await this.updateMetadata(key, { 'legal-hold': String(held) });
      return;
    }
    await this.client.send(
      new PutObjectLegalHoldCommand({
        Bucket: this.bucket,
        Key: key,
        LegalHold: { Status: held ? 'ON' : 'OFF' },
      }),
    );
    const head = await this.head(key);
    if (!head) throw new ObjectNotFoundError(this.describe(), key);
    await this.client.send(
      new PutObjectTaggingCommand({
        Bucket: this.bucket,
        Key: key,
        Tagging: { TagSet: retentionTagSet({ ...head.metadata, 'legal-hold': String(held) }) },
      }),
    );
  }

  private tagging(metadata: ObjectMetadata): Pick<PutObjectCommandInput, 'Tagging'> {
    const tags = retentionTagSet(metadata);
    return tags.length > 0 ? { Tagging: taggingHeader(tags) } : {};
  }

  private retentionParams(metadata: ObjectMetadata): RetentionParams {
    const { mode, lockMode } = this.retention;
    if (mode === 'sweeper') return {};
    const params: RetentionParams = this.tagging(metadata);
    if (mode !== 'object-lock') return params;
    const retainUntil = Date.parse(metadata['retain-until'] ?? '');
    if (Number.isFinite(retainUntil)) {
      params.ObjectLockMode = lockMode;
      params.ObjectLockRetainUntilDate = new Date(retainUntil);
    }
    if (metadata['legal-hold'] === 'true') params.ObjectLockLegalHoldStatus = 'ON';
    return params;
  }

  private async verifyStored(
    key: string,
    size: number,
    sha256: string,
    etag: string | undefined,
    expectedEtags: Map<string, EtagStyle>,
  ): Promise<EtagStyle | undefined> {
    const head = await this.head(key);
    if (!head) throw new IntegrityError(`put ${key}: the object is missing right after upload`);
    if (head.bytes !== size) throw new IntegrityError(`put ${key}: stored ${head.bytes} bytes, sent ${size}`);
    if (head.sha256 !== sha256) {
      throw new IntegrityError(
        `put ${key}: stored sha256 metadata ${JSON.stringify(head.sha256)}, sent ${sha256}`,
      );
    }
    const storedEtag = (etag ?? '').replaceAll('"', '');
    const style = expectedEtags.get(storedEtag);
    if (this.verify === 'etag' && style) return style;
    // Not an MD5 ETag we can predict (or read-back requested): download and hash what is stored.
    const stored = await this.hashStored(key);
    if (stored.bytes !== size || stored.sha256 !== sha256) {
      throw new IntegrityError(
        `put ${key}: stored bytes hash to ${stored.sha256} (${stored.bytes} bytes), sent ${sha256} (${size} bytes)`,
      );
    }
    return undefined;
  }

  private async hashStored(key: string): Promise<{ bytes: number; sha256: string }> {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of await this.get(key)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    return { bytes, sha256: hash.digest('hex') };
  }
}

function lowerKeys(metadata: Record<string, string>): ObjectMetadata {
  const out: ObjectMetadata = {};
  for (const [key, value] of Object.entries(metadata)) out[key.toLowerCase()] = value;
  return out;
}
