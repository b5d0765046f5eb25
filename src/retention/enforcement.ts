import { CLIPS_PREFIX } from '../storage/keys.js';
import type { RetentionMode } from './modes.js';

/**
 * Pure rules for retention the store enforces: which mode a bucket's answers put us in, the tags that bind an object
 * to the lifecycle rule, and the lifecycle configuration `doorbell bucket setup` writes. No I/O.
 */

/** The tag a lifecycle rule matches: `retention-days=<days>` (the profile's days, as on the object's metadata). */
export const RETENTION_TAG = 'retention-days';
/**
 * A held object carries this tag instead of RETENTION_TAG. Lifecycle rules cannot exclude anything, so a hold takes
 * the object out of the rule's tag filter; releasing it puts the retention tag back.
 */
export const HOLD_TAG = 'legal-hold';

export interface TagShape {
  Key?: string | undefined;
  Value?: string | undefined;
}

/** A lifecycle rule in the shape S3 documents (PutBucketLifecycleConfiguration / LifecycleRule), as the SDK gives it. */
export interface LifecycleRuleShape {
  ID?: string | undefined;
  Status?: string | undefined;
  /** Deprecated top-level prefix (rules written before Filter existed). */
  Prefix?: string | undefined;
  Filter?:
    | {
        Prefix?: string | undefined;
        Tag?: TagShape | undefined;
        ObjectSizeGreaterThan?: number | undefined;
        ObjectSizeLessThan?: number | undefined;
        And?:
          | {
              Prefix?: string | undefined;
              Tags?: TagShape[] | undefined;
              ObjectSizeGreaterThan?: number | undefined;
              ObjectSizeLessThan?: number | undefined;
            }
          | undefined;
      }
    | undefined;
  Expiration?: { Days?: number | undefined; ExpiredObjectDeleteMarker?: boolean | undefined } | undefined;
  NoncurrentVersionExpiration?: { NoncurrentDays?: number | undefined } | undefined;
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation?: number | undefined } | undefined;
}

export interface LifecycleConfigurationShape {
  Rules: LifecycleRuleShape[];
  /** A bucket-level setting PutBucketLifecycleConfiguration resets unless it is sent again. */
  TransitionDefaultMinimumObjectSize?: string | undefined;
}

/** What a bucket said when asked (GetObjectLockConfiguration, GetBucketLifecycleConfiguration). */
export interface StoreRetentionFacts {
  /** enabled / disabled (no configuration) / unsupported (NotImplemented) / unknown (denied, or another error). */
  objectLock: 'enabled' | 'disabled' | 'unsupported' | 'unknown';
  lifecycle: 'configured' | 'none' | 'unsupported' | 'unknown';
  /** The bucket's lifecycle rules (empty unless configured). */
  rules: LifecycleRuleShape[];
  /** Why an answer was unsupported or unknown, e.g. "GetObjectLockConfiguration: AccessDenied". */
  notes: string[];
}

export interface RetentionChoice {
  mode: RetentionMode;
  /** Days for which an enabled rule of the bucket expires objects tagged retention-days=<days>. */
  lifecycleDays: number[];
  /** One sentence for the log: what enforces retention, and what is missing if anything. */
  reason: string;
  /** The bucket's answer was inconclusive, so the mode it last answered was kept. */
  kept?: true;
}

const tagMatches = (tag: TagShape | undefined) =>
  tag?.Key === RETENTION_TAG && /^[1-9]\d{0,3}$/.test(tag.Value ?? '') ? Number(tag.Value) : undefined;

/** A rule prefix covers our clips when every clip key starts with it. */
const coversClips = (prefix: string | undefined) => prefix === undefined || CLIPS_PREFIX.startsWith(prefix);

/**
 * The days N for which `rule` expires every clip object tagged retention-days=N: enabled, filtered on that one tag
 * (alone or with a prefix covering clips/, no size limits), expiring after exactly N days. On a versioned bucket
 * (Object Lock buckets always are) Expiration only adds a delete marker: the rule must expire noncurrent versions too.
 */
export function ruleExpiryDays(
  rule: LifecycleRuleShape,
  { versioned = false }: { versioned?: boolean } = {},
): number | undefined {
  if (versioned && rule.NoncurrentVersionExpiration?.NoncurrentDays === undefined) return undefined;
  if (rule.Status !== 'Enabled' || !coversClips(rule.Prefix)) return undefined;
  const filter = rule.Filter;
  if (filter?.ObjectSizeGreaterThan !== undefined || filter?.ObjectSizeLessThan !== undefined)
    return undefined;
  let days: number | undefined;
  if (filter?.Tag) days = tagMatches(filter.Tag);
  else if (filter?.And) {
    const and = filter.And;
    const tags = and.Tags ?? [];
    const bounded = and.ObjectSizeGreaterThan !== undefined || and.ObjectSizeLessThan !== undefined;
    if (tags.length === 1 && !bounded && coversClips(and.Prefix)) days = tagMatches(tags[0]);
  }
  return days !== undefined && rule.Expiration?.Days === days ? days : undefined;
}

/** Every N for which some rule expires clip objects tagged retention-days=N, ascending. */
export function lifecycleExpiryDays(
  rules: readonly LifecycleRuleShape[],
  options: { versioned?: boolean } = {},
): number[] {
  const days = new Set<number>();
  for (const rule of rules) {
    const n = ruleExpiryDays(rule, options);
    if (n !== undefined) days.add(n);
  }
  return [...days].sort((a, b) => a - b);
}

/**
 * Object Lock wins when enabled (the store refuses early deletes); else lifecycle when a rule expires objects tagged
 * with `retentionDays` (any such rule when no days are given, as for a CLI that has no profile); else the sweeper.
 */
export function chooseRetentionMode(facts: StoreRetentionFacts, retentionDays?: number): RetentionChoice {
  const lifecycleDays = lifecycleExpiryDays(facts.rules, { versioned: facts.objectLock === 'enabled' });
  const covered =
    retentionDays === undefined ? lifecycleDays.length > 0 : lifecycleDays.includes(retentionDays);
  const days = retentionDays ?? lifecycleDays[0];
  const setup = `doorbell bucket setup --retention-days ${retentionDays ?? 60}`;
  if (facts.objectLock === 'enabled') {
    const expiry = covered
      ? `a lifecycle rule expires them after ${days} days`
      : `no lifecycle rule expires them (and their noncurrent versions) after that (run \`${setup}\`); ` +
        'the sweeper only reports';
    return {
      mode: 'object-lock',
      lifecycleDays,
      reason: `the bucket has Object Lock: clips are locked until retain-until; ${expiry}`,
    };
  }
  if (covered) {
    return {
      mode: 'lifecycle',
      lifecycleDays,
      reason: `a lifecycle rule of the bucket expires clips tagged ${RETENTION_TAG}=${days} after ${days} days`,
    };
  }
  const why =
    facts.notes.length > 0
      ? facts.notes.join('; ')
      : lifecycleDays.length > 0
        ? `its lifecycle rules expire ${RETENTION_TAG}=${lifecycleDays.join('/')} only (run \`${setup}\`)`
        : 'no Object Lock and no lifecycle rule for tagged clips';
  return { mode: 'sweeper', lifecycleDays, reason: `the agent's sweeper deletes expired clips: ${why}` };
}

/** Some question got neither a yes nor a no (denied, or an answer we cannot read). */
export const isInconclusive = (facts: StoreRetentionFacts): boolean =>
  facts.objectLock === 'unknown' || facts.lifecycle === 'unknown';

/**
 * When the bucket is asked again (the profile's retention changed) and answers inconclusively, the mode of its last
 * answer stands: one denied or failed probe must not hand an Object Lock or lifecycle bucket to the sweeper.
 */
export function keepModeWhenInconclusive(
  choice: RetentionChoice,
  facts: StoreRetentionFacts,
  previous: RetentionMode | undefined,
): RetentionChoice {
  if (previous === undefined || previous === choice.mode || !isInconclusive(facts)) return choice;
  return {
    mode: previous,
    lifecycleDays: choice.lifecycleDays,
    reason: `kept from the bucket's last answer: asked again, it answered inconclusively (${facts.notes.join('; ')})`,
    kept: true,
  };
}

/** The tag set an object carries where the store enforces retention: held objects leave the rule's filter. */
export function retentionTagSet(metadata: Record<string, string>): Array<{ Key: string; Value: string }> {
  if (metadata['legal-hold'] === 'true') return [{ Key: HOLD_TAG, Value: 'true' }];
  const days = metadata['retention-days'];
  return days === undefined ? [] : [{ Key: RETENTION_TAG, Value: days }];
}

export const LIFECYCLE_RULE_IDS = {
  expire: (days: number) => `doorbell-clips-expire-${days}d`,
  abortUploads: 'doorbell-clips-abort-incomplete-uploads',
  deleteMarkers: 'doorbell-clips-expired-delete-markers',
} as const;

/**
 * The rules `doorbell bucket setup` writes, one action each because S3 refuses AbortIncompleteMultipartUpload and
 * ExpiredObjectDeleteMarker in a rule filtered by tag:
 * - expire clip objects tagged retention-days=N after N days (on a versioned bucket, as Object Lock needs: the
 *   replaced version goes a day later, once its lock has passed);
 * - abort multipart uploads of clips left incomplete for a day;
 * - remove delete markers left without versions (versioned buckets).
 */
export function lifecycleRules(retentionDays: number): LifecycleRuleShape[] {
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 3650) {
    throw new RangeError(`retention days ${JSON.stringify(retentionDays)} must be an integer from 1 to 3650`);
  }
  return [
    {
      ID: LIFECYCLE_RULE_IDS.expire(retentionDays),
      Status: 'Enabled',
      Filter: { And: { Prefix: CLIPS_PREFIX, Tags: [{ Key: RETENTION_TAG, Value: String(retentionDays) }] } },
      Expiration: { Days: retentionDays },
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    },
    {
      ID: LIFECYCLE_RULE_IDS.abortUploads,
      Status: 'Enabled',
      Filter: { Prefix: CLIPS_PREFIX },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    },
    {
      ID: LIFECYCLE_RULE_IDS.deleteMarkers,
      Status: 'Enabled',
      Filter: { Prefix: CLIPS_PREFIX },
      Expiration: { ExpiredObjectDeleteMarker: true },
    },
  ];
}

/**
 * The bucket's configuration with our rules for `retentionDays` in place: PutBucketLifecycleConfiguration replaces
 * the whole configuration, so the bucket's other rules are kept, and ours (same IDs) replaced rather than doubled.
 */
export function mergeLifecycleRules(
  existing: readonly LifecycleRuleShape[],
  retentionDays: number,
): LifecycleConfigurationShape {
  const ours = lifecycleRules(retentionDays);
  const ids = new Set(ours.map((rule) => rule.ID));
  return { Rules: [...existing.filter((rule) => !ids.has(rule.ID)), ...ours] };
}
