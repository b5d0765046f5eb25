import { describe, expect, it } from 'vitest';
import {
  chooseRetentionMode,
  type LifecycleRuleShape,
  lifecycleExpiryDays,
  lifecycleRules,
  mergeLifecycleRules,
  retentionTagSet,
  type StoreRetentionFacts,
} from '../../src/retention/enforcement.js';

const facts = (over: Partial<StoreRetentionFacts> = {}): StoreRetentionFacts => ({
  objectLock: 'disabled',
  lifecycle: 'none',
  rules: [],
  notes: [],
  ...over,
});
const tagRule = (days: number, over: Partial<LifecycleRuleShape> = {}): LifecycleRuleShape => ({
  ID: `r${days}`,
  Status: 'Enabled',
  Filter: { Tag: { Key: 'retention-days', Value: String(days) } },
  Expiration: { Days: days },
  ...over,
});

describe('which lifecycle rules enforce retention-days=N', () => {
  it('on an Object Lock bucket (always versioned) counts a rule only if it expires noncurrent versions too', () => {
    const markerOnly = tagRule(60);
    const withNoncurrent = tagRule(30, { NoncurrentVersionExpiration: { NoncurrentDays: 1 } });
    expect(lifecycleExpiryDays([markerOnly, withNoncurrent], { versioned: true })).toEqual([30]);
    const locked = chooseRetentionMode(facts({ objectLock: 'enabled', rules: [markerOnly] }), 60);
    expect(locked.mode).toBe('object-lock');
    expect(locked.lifecycleDays).toEqual([]);
    expect(locked.reason).toMatch(/no lifecycle rule expires them \(and their noncurrent versions\)/);
    expect(locked.reason).not.toMatch(/a lifecycle rule expires them after 60 days/);
    const setUp = chooseRetentionMode(facts({ objectLock: 'enabled', rules: lifecycleRules(60) }), 60);
    expect(setUp.reason).toMatch(/a lifecycle rule expires them after 60 days/);
    // Without Object Lock the delete marker is the end of the object (unversioned bucket): the rule counts.
    expect(chooseRetentionMode(facts({ rules: [markerOnly] }), 60).mode).toBe('lifecycle');
  });

  it('counts enabled rules on the tag (alone, or with a prefix covering clips/) expiring after exactly N days', () => {
    expect(lifecycleExpiryDays([tagRule(60), tagRule(30), ...lifecycleRules(90)])).toEqual([30, 60, 90]);
  });

  it('ignores rules that would not expire every tagged clip after N days', () => {
    const rules: LifecycleRuleShape[] = [
      tagRule(60, { Status: 'Disabled' }),
      tagRule(60, { Expiration: { Days: 61 } }),
      tagRule(60, { Filter: { And: { Prefix: 'other/', Tags: [{ Key: 'retention-days', Value: '60' }] } } }),
      tagRule(60, {
        Filter: {
          And: {
            Tags: [
              { Key: 'retention-days', Value: '60' },
              { Key: 'x', Value: 'y' },
            ],
          },
        },
      }),
      tagRule(60, { Filter: { Tag: { Key: 'retention-days', Value: '60' }, ObjectSizeGreaterThan: 10 } }),
      tagRule(60, { Prefix: 'logs/' }),
      { ID: 'no-filter', Status: 'Enabled', Filter: { Prefix: 'clips/' }, Expiration: { Days: 60 } },
    ];
    expect(lifecycleExpiryDays(rules)).toEqual([]);
  });
});

describe('chooseRetentionMode', () => {
  it('Object Lock wins; without a lifecycle rule it says expiry needs bucket setup', () => {
    const lockOnly = chooseRetentionMode(facts({ objectLock: 'enabled' }), 60);
    expect(lockOnly.mode).toBe('object-lock');
    expect(lockOnly.reason).toContain('doorbell bucket setup --retention-days 60');
    const rule = tagRule(60, { NoncurrentVersionExpiration: { NoncurrentDays: 1 } });
    const both = chooseRetentionMode(facts({ objectLock: 'enabled', rules: [rule] }), 60);
    expect(both).toMatchObject({ mode: 'object-lock', lifecycleDays: [60] });
    expect(both.reason).toContain('a lifecycle rule expires them after 60 days');
  });

  it('lifecycle only for the profile days a rule covers; any rule when the days are unknown (CLI)', () => {
    const bucket = facts({ lifecycle: 'configured', rules: [tagRule(60)] });
    expect(chooseRetentionMode(bucket, 60).mode).toBe('lifecycle');
    expect(chooseRetentionMode(bucket, 30).mode).toBe('sweeper');
    expect(chooseRetentionMode(bucket).mode).toBe('lifecycle');
  });

  it('falls back to the sweeper, saying why', () => {
    expect(chooseRetentionMode(facts(), 60).reason).toContain('no Object Lock and no lifecycle rule');
    const s3rver = facts({
      objectLock: 'unsupported',
      lifecycle: 'unsupported',
      notes: ['GetObjectLockConfiguration: NotImplemented'],
    });
    expect(chooseRetentionMode(s3rver, 60)).toMatchObject({ mode: 'sweeper' });
    expect(chooseRetentionMode(s3rver, 60).reason).toContain('NotImplemented');
  });
});

describe('tags and the rules bucket setup writes', () => {
  it('tags an object retention-days=N, or legal-hold=true instead while held', () => {
    expect(retentionTagSet({ 'retention-days': '60', 'legal-hold': 'false' })).toEqual([
      { Key: 'retention-days', Value: '60' },
    ]);
    expect(retentionTagSet({ 'retention-days': '60', 'legal-hold': 'true' })).toEqual([
      { Key: 'legal-hold', Value: 'true' },
    ]);
  });

  it('keeps tag filters apart from AbortIncompleteMultipartUpload and ExpiredObjectDeleteMarker (S3 refuses both)', () => {
    for (const rule of lifecycleRules(60)) {
      const tagged = rule.Filter?.Tag !== undefined || (rule.Filter?.And?.Tags?.length ?? 0) > 0;
      if (tagged) {
        expect(rule.AbortIncompleteMultipartUpload).toBeUndefined();
        expect(rule.Expiration?.ExpiredObjectDeleteMarker).toBeUndefined();
      }
      expect(rule.Status).toBe('Enabled');
      expect(rule.Expiration?.Days !== undefined && rule.Expiration.ExpiredObjectDeleteMarker).toBeFalsy();
    }
    expect(() => lifecycleRules(0)).toThrow(/retention days 0 must be an integer from 1 to 3650/);
  });

  it("merging replaces our rules (same IDs) and keeps everyone else's", () => {
    const theirs: LifecycleRuleShape = { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' } };
    const once = mergeLifecycleRules([theirs], 60);
    const twice = mergeLifecycleRules(once.Rules, 60);
    expect(twice).toEqual(once);
    expect(once.Rules[0]).toBe(theirs);
    const other = mergeLifecycleRules(once.Rules, 30);
    expect(lifecycleExpiryDays(other.Rules)).toEqual([30, 60]);
    expect(other.Rules.filter((r) => r.ID === 'doorbell-clips-abort-incomplete-uploads')).toHaveLength(1);
  });
});
