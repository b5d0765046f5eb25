import { describe, expect, it } from 'vitest';
import { parseDuration, parseTerminationTime } from '../../src/onvif/duration.js';

describe('xs:duration and termination times', () => {
  it.each([
    ['PT1M', 60_000],
    ['PT0.5S', 500],
    ['PT60S', 60_000],
    ['P1DT2H', 26 * 3_600_000],
    ['PT1H1M1S', 3_661_000],
    ['PT0S', 0],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['P', 'PT', 'P1Y', 'P1M', '1M', 'PT-5S', 'soon', ''])('%j is no duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('a termination time is a duration or an absolute time, as ms from now', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseTerminationTime('PT10S', now)).toBe(10_000);
    expect(parseTerminationTime('2026-01-01T00:01:00Z', now)).toBe(60_000);
    expect(parseTerminationTime('tomorrow', now)).toBeUndefined();
  });
});
