import {
  GetBucketLifecycleConfigurationCommand,
  GetObjectLockConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  type LifecycleConfigurationShape,
  type LifecycleRuleShape,
  mergeLifecycleRules,
  type StoreRetentionFacts,
} from '../retention/enforcement.js';

interface S3ErrorLike {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

type Answer = 'absent' | 'unsupported' | 'unknown';

/** How an S3-compatible server declined: absent (404 of the named kind), unsupported (501), or unknown. */
function classify(error: unknown, absentName: string): { answer: Answer; note?: string } {
  const e = error as S3ErrorLike;
  const name = e?.name ?? e?.Code ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  if (name === 'NoSuchBucket') throw error;
  if (name === absentName) return { answer: 'absent' };
  if (name === 'NotImplemented' || status === 501) return { answer: 'unsupported', note: 'NotImplemented' };
  return { answer: 'unknown', note: `${name}${status ? ` (HTTP ${status})` : ''}` };
}

/**
 * Asks the bucket which retention it enforces itself: GetObjectLockConfiguration (Object Lock enabled?) and
 * GetBucketLifecycleConfiguration (its rules). Servers that do not implement either (s3rver: NotImplemented) and
 * answers we may not read (AccessDenied) are facts too, with a note saying which.
 */
export async function probeS3Retention(client: S3Client, bucket: string): Promise<StoreRetentionFacts> {
  const facts: StoreRetentionFacts = { objectLock: 'disabled', lifecycle: 'none', rules: [], notes: [] };
  try {
    const out = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    facts.objectLock = out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled' ? 'enabled' : 'disabled';
  } catch (error) {
    const { answer, note } = classify(error, 'ObjectLockConfigurationNotFoundError');
    facts.objectLock = answer === 'absent' ? 'disabled' : answer;
    if (note) facts.notes.push(`GetObjectLockConfiguration: ${note}`);
  }
  try {
    facts.rules = (await readLifecycleRules(client, bucket)) ?? [];
    facts.lifecycle = facts.rules.length > 0 ? 'configured' : 'none';
  } catch (error) {
    const { answer, note } = classify(error, 'NoSuchLifecycleConfiguration');
    facts.lifecycle = answer === 'absent' ? 'none' : answer;
    if (note) facts.notes.push(`GetBucketLifecycleConfiguration: ${note}`);
  }
  return facts;
}

async function readLifecycleRules(
  client: S3Client,
  bucket: string,
): Promise<LifecycleRuleShape[] | undefined> {
  const out = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
  return out.Rules as LifecycleRuleShape[] | undefined;
}

/**
 * Writes the doorbell's lifecycle rules for `retentionDays` into the bucket's configuration, keeping its other rules;
 * returns the configuration written.
 */
export async function writeLifecycleRules(
  client: S3Client,
  bucket: string,
  retentionDays: number,
): Promise<LifecycleConfigurationShape> {
  let existing: LifecycleRuleShape[] = [];
  try {
    existing = (await readLifecycleRules(client, bucket)) ?? [];
  } catch (error) {
    if (classify(error, 'NoSuchLifecycleConfiguration').answer !== 'absent') throw error;
  }
  const configuration = mergeLifecycleRules(existing, retentionDays);
  await client.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: configuration as NonNullable<
        ConstructorParameters<typeof PutBucketLifecycleConfigurationCommand>[0]['LifecycleConfiguration']
      >,
    }),
  );
  return configuration;
}
