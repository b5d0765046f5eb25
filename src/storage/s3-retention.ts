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
  /** Node's system error code (ECONNREFUSED, ENOTFOUND…) when no HTTP answer came. */
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

type Answer = 'absent' | 'unsupported' | 'unknown';

/** The request got no HTTP answer at all (refused, unresolvable, timed out) or was never sent (no credentials). */
export class BucketUnreachableError extends Error {
  override readonly name = 'BucketUnreachableError';
}

/**
 * How an S3-compatible server declined: absent (404 of the named kind), unsupported (501), or unknown (another HTTP
 * answer, e.g. AccessDenied). No HTTP answer is not a fact about the bucket: it throws, naming the network error.
 */
function classify(error: unknown, operation: string, absentName: string): { answer: Answer; note?: string } {
  const e = error as S3ErrorLike;
  const name = e?.name ?? e?.Code ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  if (name === 'NoSuchBucket') throw error;
  if (status === undefined) {
    const why =
      name === 'CredentialsProviderError' ? 'not sent, no credentials' : 'no answer from the bucket';
    throw new BucketUnreachableError(`${operation}: ${why}: ${e?.code ?? name} (${e?.message ?? error})`, {
      cause: error,
    });
  }
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
  const notes: string[] = [];
  const lock = await ask('GetObjectLockConfiguration', 'ObjectLockConfigurationNotFoundError', notes, () =>
    client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket })),
  );
  const lifecycle = await ask('GetBucketLifecycleConfiguration', 'NoSuchLifecycleConfiguration', notes, () =>
    readLifecycleConfiguration(client, bucket),
  );
  const rules = 'value' in lifecycle ? lifecycle.value.Rules : [];
  return {
    objectLock:
      'value' in lock
        ? lock.value.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled'
          ? 'enabled'
          : 'disabled'
        : lock.declined === 'absent'
          ? 'disabled'
          : lock.declined,
    lifecycle:
      'value' in lifecycle
        ? rules.length > 0
          ? 'configured'
          : 'none'
        : lifecycle.declined === 'absent'
          ? 'none'
          : lifecycle.declined,
    rules,
    notes,
  };
}

/** One question to the bucket: its answer, or how it declined, with a note in `notes` saying why. */
async function ask<T>(
  operation: string,
  absentName: string,
  notes: string[],
  question: () => Promise<T>,
): Promise<{ value: T } | { declined: Answer }> {
  try {
    return { value: await question() };
  } catch (error) {
    const { answer, note } = classify(error, operation, absentName);
    if (note) notes.push(`${operation}: ${note}`);
    return { declined: answer };
  }
}

async function readLifecycleConfiguration(
  client: S3Client,
  bucket: string,
): Promise<LifecycleConfigurationShape> {
  const out = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
  return {
    Rules: (out.Rules ?? []) as LifecycleRuleShape[],
    ...(out.TransitionDefaultMinimumObjectSize === undefined
      ? {}
      : { TransitionDefaultMinimumObjectSize: out.TransitionDefaultMinimumObjectSize }),
  };
}

/**
 * Writes the doorbell's lifecycle rules for `retentionDays` into the bucket's configuration, keeping its other rules
 * and its TransitionDefaultMinimumObjectSize (a put without it resets the bucket to the default); returns the
 * configuration written.
 */
export async function writeLifecycleRules(
  client: S3Client,
  bucket: string,
  retentionDays: number,
): Promise<LifecycleConfigurationShape> {
  let existing: LifecycleConfigurationShape = { Rules: [] };
  try {
    existing = await readLifecycleConfiguration(client, bucket);
  } catch (error) {
    const { answer } = classify(error, 'GetBucketLifecycleConfiguration', 'NoSuchLifecycleConfiguration');
    if (answer !== 'absent') throw error;
  }
  const configuration: LifecycleConfigurationShape = {
    ...mergeLifecycleRules(existing.Rules, retentionDays),
    ...(existing.TransitionDefaultMinimumObjectSize === undefined
      ? {}
      : { TransitionDefaultMinimumObjectSize: existing.TransitionDefaultMinimumObjectSize }),
  };
  type PutInput = ConstructorParameters<typeof PutBucketLifecycleConfigurationCommand>[0];
  await client.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: { Rules: configuration.Rules } as NonNullable<
        PutInput['LifecycleConfiguration']
      >,
      ...(configuration.TransitionDefaultMinimumObjectSize === undefined
        ? {}
        : {
            TransitionDefaultMinimumObjectSize:
              configuration.TransitionDefaultMinimumObjectSize as PutInput['TransitionDefaultMinimumObjectSize'],
          }),
    }),
  );
  return configuration;
}
