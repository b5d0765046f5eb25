import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/user-error.js';
import type { Bucket } from './bucket.js';
import { DEFAULT_FS_BUCKET_ROOT, FsBucket } from './fs-bucket.js';
import { S3Bucket, type S3BucketOptions, type S3Verification } from './s3-bucket.js';

export type BucketSpec =
  | { kind: 'fs'; root: string }
  | {
      kind: 's3';
      bucket: string;
      endpoint?: string;
      region?: string;
      forcePathStyle?: boolean;
      verify?: S3Verification;
    };

/** A --bucket value that cannot be used; the message names the bad part. */
export class BucketUrlError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'BucketUrlError';
  }
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9-]{1,32}$/;
const S3_PARAMS = ['endpoint', 'region', 'path-style', 'verify'];

/**
 * `DIR` (relative to cwd) | `file:///abs/dir` | `s3://NAME?endpoint=URL&region=R&path-style=true|false&verify=etag|readback`.
 */
export function parseBucketUrl(value: string, cwd: string): BucketSpec {
  const text = value.trim();
  if (text === '') throw new BucketUrlError('bucket is empty: give a directory, file://DIR or s3://NAME');
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'fs', root: resolve(cwd, text) };
  if (scheme === 'file') return { kind: 'fs', root: parseFileUrl(text) };
  if (scheme === 's3') return parseS3Url(text);
  throw new BucketUrlError(
    `bucket scheme "${scheme}://" is not supported: use a directory, file://DIR or s3://NAME`,
  );
}

function parseFileUrl(text: string): string {
  if (!text.startsWith('file:///')) {
    throw new BucketUrlError(
      `bucket "${text}": file:// needs an absolute path (file:///abs/dir); use a plain DIR for relative paths`,
    );
  }
  try {
    return fileURLToPath(text);
  } catch (error) {
    throw new BucketUrlError(`bucket "${text}": ${(error as Error).message}`);
  }
}

function parseS3Url(text: string): BucketSpec {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BucketUrlError(`bucket "${text}" is not a valid URL`);
  }
  const name = url.hostname;
  if (!S3_BUCKET_NAME.test(name) || name.includes('..')) {
    throw new BucketUrlError(
      `S3 bucket name "${name}" is invalid: 3-63 characters of a-z, 0-9, "." and "-", starting and ending with a letter or digit`,
    );
  }
  if (url.pathname !== '' && url.pathname !== '/') {
    throw new BucketUrlError(
      `bucket "${text}": key prefixes ("${url.pathname}") are not supported, use s3://NAME`,
    );
  }
  if (url.username || url.password || url.port) {
    throw new BucketUrlError(
      `bucket "${text}": put credentials in the AWS environment/profile and the port in ?endpoint=`,
    );
  }
  for (const param of url.searchParams.keys()) {
    if (!S3_PARAMS.includes(param)) {
      throw new BucketUrlError(
        `bucket "${text}": unknown parameter "${param}" (known: ${S3_PARAMS.join(', ')})`,
      );
    }
  }
  const spec: BucketSpec = { kind: 's3', bucket: name };
  const endpoint = url.searchParams.get('endpoint');
  if (endpoint !== null) {
    let parsed: URL;
    try {
      parsed = new URL(endpoint);
    } catch {
      throw new BucketUrlError(`bucket "${text}": endpoint "${endpoint}" is not a URL like http://host:port`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new BucketUrlError(`bucket "${text}": endpoint "${endpoint}" must be http:// or https://`);
    }
    spec.endpoint = endpoint;
  }
  const region = url.searchParams.get('region');
  if (region !== null) {
    if (!REGION.test(region))
      throw new BucketUrlError(`bucket "${text}": region "${region}" is invalid (e.g. us-east-1)`);
    spec.region = region;
  }
  const pathStyle = url.searchParams.get('path-style');
  if (pathStyle !== null) {
    if (pathStyle !== 'true' && pathStyle !== 'false') {
      throw new BucketUrlError(`bucket "${text}": path-style "${pathStyle}" must be true or false`);
    }
    spec.forcePathStyle = pathStyle === 'true';
  }
  const verify = url.searchParams.get('verify');
  if (verify !== null) {
    if (verify !== 'etag' && verify !== 'readback') {
      throw new BucketUrlError(`bucket "${text}": verify "${verify}" must be etag or readback`);
    }
    spec.verify = verify;
  }
  return spec;
}

/** A Bucket for a spec. `s3` adds client options (credentials, attempts…) for S3 buckets. */
export function createBucket(spec: BucketSpec, s3: Partial<S3BucketOptions> = {}): Bucket {
  if (spec.kind === 'fs') return new FsBucket(spec.root);
  return new S3Bucket({ ...s3, ...spec });
}

/** Parses a --bucket value (default ./.doorbell/bucket, relative to cwd) into a Bucket. */
export function openBucket(
  value: string | undefined,
  cwd: string,
  s3: Partial<S3BucketOptions> = {},
): Bucket {
  return createBucket(parseBucketUrl(value ?? DEFAULT_FS_BUCKET_ROOT, cwd), s3);
}
