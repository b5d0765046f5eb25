import { describe, expect, it } from 'vitest';
import { BucketUrlError, createBucket, openBucket, parseBucketUrl } from '../../src/storage/bucket-url.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { S3Bucket } from '../../src/storage/s3-bucket.js';

const CWD = '/home/door';

describe('parseBucketUrl', () => {
  it('reads a plain directory relative to cwd, and file:// URLs', () => {
    expect(parseBucketUrl('clips-dir', CWD)).toEqual({ kind: 'fs', root: '/home/door/clips-dir' });
    expect(parseBucketUrl('./.doorbell/bucket', CWD)).toEqual({
      kind: 'fs',
      root: '/home/door/.doorbell/bucket',
    });
    expect(parseBucketUrl('/var/clips', CWD)).toEqual({ kind: 'fs', root: '/var/clips' });
    expect(parseBucketUrl('file:///var/my%20clips', CWD)).toEqual({ kind: 'fs', root: '/var/my clips' });
  });

  it('reads s3://NAME with endpoint, region, path-style and verify', () => {
    expect(parseBucketUrl('s3://doorbell-clips', CWD)).toEqual({ kind: 's3', bucket: 'doorbell-clips' });
    expect(
      parseBucketUrl(
        's3://clips?endpoint=http://127.0.0.1:4568&region=eu-west-1&path-style=false&verify=readback',
        CWD,
      ),
    ).toEqual({
      kind: 's3',
      bucket: 'clips',
      endpoint: 'http://127.0.0.1:4568',
      region: 'eu-west-1',
      forcePathStyle: false,
      verify: 'readback',
    });
  });

  it.each([
    ['', /bucket is empty/],
    ['gs://clips', /scheme "gs:\/\/" is not supported/],
    ['file://relative/dir', /file:\/\/ needs an absolute path/],
    ['s3://UPPER', /S3 bucket name "UPPER" is invalid/],
    ['s3://a', /S3 bucket name "a" is invalid/],
    ['s3://clips/prefix', /key prefixes \("\/prefix"\) are not supported/],
    ['s3://clips?endpoint=ftp://x', /endpoint "ftp:\/\/x" must be http:\/\/ or https:\/\//],
    ['s3://clips?endpoint=not a url', /endpoint "not a url" is not a URL/],
    ['s3://clips?region=EU%20WEST', /region "EU WEST" is invalid/],
    ['s3://clips?path-style=yes', /path-style "yes" must be true or false/],
    ['s3://clips?verify=maybe', /verify "maybe" must be etag or readback/],
    ['s3://clips?bogus=1', /unknown parameter "bogus" \(known: endpoint, region, path-style, verify\)/],
    ['s3://user:pw@clips', /credentials in the AWS environment/],
  ])('refuses %j naming the bad part', (value, message) => {
    expect(() => parseBucketUrl(value, CWD)).toThrow(BucketUrlError);
    expect(() => parseBucketUrl(value, CWD)).toThrow(message);
  });
});

describe('createBucket / openBucket', () => {
  it('builds the matching implementation; the default is ./.doorbell/bucket', () => {
    const local = openBucket(undefined, CWD);
    expect(local).toBeInstanceOf(FsBucket);
    expect(local.describe()).toBe('file:///home/door/.doorbell/bucket');
    const s3 = createBucket({
      kind: 's3',
      bucket: 'clips',
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
    });
    expect(s3).toBeInstanceOf(S3Bucket);
    expect(s3.describe()).toBe('s3://clips');
  });
});
