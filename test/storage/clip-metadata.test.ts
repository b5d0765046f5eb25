import { describe, expect, it } from 'vitest';
import { clipObjectMetadata, normalizeClip } from '../../src/storage/clip-metadata.js';

const base = {
  deviceId: 'front',
  clipId: 'c1',
  eventId: 'evt-1',
  trigger: 'ding',
  recordedAt: '2026-01-01T01:00:00+01:00',
};

describe('clip metadata', () => {
  it('normalises times, applies 60-day retention and writes every DESIGN field', () => {
    const clip = normalizeClip({
      ...base,
      endedAt: '2026-01-01T00:00:20Z',
      extraMetadata: { encryption: 'v1' },
    });
    expect(clip.recordedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(clip.retainUntil).toBe('2026-03-02T00:00:00.000Z');
    expect(clipObjectMetadata(clip)).toEqual({
      encryption: 'v1',
      'device-id': 'front',
      'clip-id': 'c1',
      'event-id': 'evt-1',
      trigger: 'ding',
      'recorded-at': '2026-01-01T00:00:00.000Z',
      'ended-at': '2026-01-01T00:00:20.000Z',
      'retention-days': '60',
      'retain-until': '2026-03-02T00:00:00.000Z',
      encrypted: 'false',
      'legal-hold': 'false',
    });
  });

  it.each([
    [{ trigger: 'Ding!' }, /trigger "Ding!" must match/],
    [{ eventId: 'has space' }, /eventId "has space"/],
    [{ retentionDays: 0 }, /retentionDays 0 must be an integer from 1 to 3650/],
    [{ retentionDays: 1.5 }, /retentionDays 1.5/],
    [{ recordedAt: 'soon' }, /recordedAt "soon" is not an ISO-8601 time/],
    [{ extraMetadata: { 'legal-hold': 'true' } }, /extraMetadata "legal-hold" is reserved/],
    [{ extraMetadata: { Bad: 'x' } }, /metadata key "Bad" is invalid/],
  ])('refuses %j with a message naming the field', (override, message) => {
    expect(() => normalizeClip({ ...base, ...override })).toThrow(message);
  });
});
