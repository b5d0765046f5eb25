import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  isExpired,
  planRetention,
  retainUntilIso,
  retentionFacts,
} from '../../src/retention/policy.js';
import type { ObjectHead } from '../../src/storage/bucket.js';

const RECORDED = Date.UTC(2026, 0, 10, 8, 0);

function head(key: string, metadata: Record<string, string>): ObjectHead {
  return { key, bytes: 1, sha256: 'a'.repeat(64), metadata };
}

function clipMeta(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'recorded-at': new Date(RECORDED).toISOString(),
    'retention-days': '60',
    'retain-until': retainUntilIso(new Date(RECORDED).toISOString(), 60),
    'legal-hold': 'false',
    ...extra,
  };
}

describe('retention policy', () => {
  it('expires at recorded-at + retention days', () => {
    expect(retainUntilIso('2026-01-10T08:00:00.000Z', 60)).toBe('2026-03-11T08:00:00.000Z');
    expect(retentionFacts(clipMeta()).expiresAtMs).toBe(RECORDED + 60 * DAY_MS);
  });

  it('keeps a clip at day 59 and deletes it once day 60 is reached', () => {
    const heads = [head('clips/d/2026/01/10/c.mp4', clipMeta())];
    expect(planRetention(heads, RECORDED + 59 * DAY_MS).delete).toEqual([]);
    expect(planRetention(heads, RECORDED + 60 * DAY_MS - 1).delete).toEqual([]);
    expect(planRetention(heads, RECORDED + 60 * DAY_MS).delete).toEqual([
      { key: 'clips/d/2026/01/10/c.mp4', clipId: 'c', expiredAt: '2026-03-11T08:00:00.000Z' },
    ]);
  });

  it('never deletes a clip under legal hold, nor its thumbnail', () => {
    const heads = [
      head('clips/d/2026/01/10/c.mp4', clipMeta({ 'legal-hold': 'true' })),
      head('clips/d/2026/01/10/c.jpg', clipMeta()),
    ];
    const plan = planRetention(heads, RECORDED + 400 * DAY_MS);
    expect(plan.delete).toEqual([]);
    expect(plan.keep.map((k) => [k.key, k.reason])).toEqual([
      ['clips/d/2026/01/10/c.jpg', 'legal-hold'],
      ['clips/d/2026/01/10/c.mp4', 'legal-hold'],
    ]);
  });

  it('deletes the thumbnail with its clip, dated by the clip', () => {
    const heads = [
      head('clips/d/2026/01/10/c.mp4', clipMeta({ 'retention-days': '7', 'retain-until': '' })),
      head('clips/d/2026/01/10/c.jpg', {}),
    ];
    expect(planRetention(heads, RECORDED + 7 * DAY_MS).delete.map((d) => d.key)).toEqual([
      'clips/d/2026/01/10/c.jpg',
      'clips/d/2026/01/10/c.mp4',
    ]);
  });

  it('keeps objects nothing dates', () => {
    const plan = planRetention(
      [head('clips/d/2026/01/10/x.mp4', {}), head('other/file.bin', {})],
      RECORDED + 9999 * DAY_MS,
    );
    expect(plan.delete).toEqual([]);
    expect(plan.keep.every((k) => k.reason === 'undated')).toBe(true);
  });

  it('honours the later of retain-until and recorded-at + days', () => {
    const later = clipMeta({ 'retain-until': new Date(RECORDED + 90 * DAY_MS).toISOString() });
    expect(retentionFacts(later).expiresAtMs).toBe(RECORDED + 90 * DAY_MS);
    const onlyStated = { 'retain-until': new Date(RECORDED + 5 * DAY_MS).toISOString() };
    expect(retentionFacts(onlyStated).expiresAtMs).toBe(RECORDED + 5 * DAY_MS);
  });

  it('isExpired respects holds and undated facts', () => {
    expect(isExpired({ expiresAtMs: 10, legalHold: false }, 10)).toBe(true);
    expect(isExpired({ expiresAtMs: 10, legalHold: true }, 99)).toBe(false);
    expect(isExpired({ expiresAtMs: undefined, legalHold: false }, 99)).toBe(false);
  });
});
