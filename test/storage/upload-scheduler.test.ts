import { describe, expect, it } from 'vitest';
import { earliestAttempt, nextDue } from '../../src/storage/upload-scheduler.js';
import type { Tracked } from '../../src/storage/upload-types.js';

const waiting = (seq: number, nextAttemptAt: number) =>
  ({ entry: { seq }, nextAttemptAt }) as unknown as Tracked;

describe('upload scheduling (pure)', () => {
  it('picks the oldest clip whose backoff ran out', () => {
    const clips = [waiting(3, 0), waiting(1, 500), waiting(2, 100)];
    expect(nextDue(clips, 100)?.entry.seq).toBe(2);
    expect(nextDue(clips, 1_000)?.entry.seq).toBe(1);
    expect(nextDue(clips.slice(1), 50)).toBeUndefined();
  });

  it('wakes for the earliest backoff, or not at all when nothing waits', () => {
    expect(earliestAttempt([waiting(1, 500), waiting(2, 100)])).toBe(100);
    expect(earliestAttempt([])).toBeUndefined();
  });
});
