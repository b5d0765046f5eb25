import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client, S3Bucket, type S3BucketOptions } from '../../src/storage/s3-bucket.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3rverHandle {
  endpoint: string;
  port: number;
  client: S3Client;
  /** Creates a fresh bucket and an S3Bucket on it. */
  newBucket(name: string, options?: Partial<S3BucketOptions>): Promise<S3Bucket>;
  stop(): Promise<void>;
}

/** s3rver in-process on an ephemeral 127.0.0.1 port, storing in a temp dir removed on stop(). */
export async function startS3rver(port = 0): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), 'doorbell-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port, silent: true, directory });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = createS3Client({
    endpoint,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    maxAttempts: 1,
  });
  return {
    endpoint,
    port: address.port,
    client,
    async newBucket(name, options = {}) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return new S3Bucket({ bucket: name, client, ...options });
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** What a presigned URL says of itself: signed at X-Amz-Date, valid X-Amz-Expires seconds from then. */
export function presignedWindow(url: URL): { signedAtMs: number; expiresAtMs: number } {
  const date = url.searchParams.get('X-Amz-Date') ?? '';
  const signedAtMs = Date.parse(
    date.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  return { signedAtMs, expiresAtMs: signedAtMs + Number(url.searchParams.get('X-Amz-Expires')) * 1000 };
}
