import { describe, expect, it } from 'vitest';
import { LatencyHistogram, LatencySummarySchema } from '../../src/fleet/latency.js';
import { seededRandom } from '../../src/util/random.js';

function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('LatencyHistogram', () => {
  it('reports percentiles no lower than the exact ones and at most one bucket (19 %) above', () => {
    const random = seededRandom(7);
    const values = Array.from({ length: 5000 }, () => 0.5 + random() ** 3 * 2000);
    const histogram = new LatencyHistogram();
    for (const v of values) histogram.record(v);
    for (const p of [50, 90, 99]) {
      const exact = nearestRank(values, p);
      const reported = histogram.percentile(p)!;
      expect(reported).toBeGreaterThanOrEqual(exact);
      expect(reported).toBeLessThanOrEqual(exact * 1.19 + 0.001);
    }
    expect(histogram.summary().max).toBe(Math.max(...values));
  });

  it('merges shards exactly: two halves add up to the histogram of the whole', () => {
    const random = seededRandom(3);
    const values = Array.from({ length: 2000 }, () => random() * 500);
    const whole = new LatencyHistogram();
    const halves = [new LatencyHistogram(), new LatencyHistogram()];
    values.forEach((v, i) => {
      whole.record(v);
      halves[i % 2]!.record(v);
    });
    const merged = new LatencyHistogram();
    for (const half of halves)
      merged.add(LatencySummarySchema.parse(JSON.parse(JSON.stringify(half.summary()))));
    expect(merged.summary()).toEqual(whole.summary());
  });

  it('refuses a bucket bound that is not one of its own', () => {
    const histogram = new LatencyHistogram();
    expect(() => histogram.add({ count: 1, p50: 3, p90: 3, p99: 3, max: 3, buckets: [[3, 1]] })).toThrow(
      /bucket bound 3 ms/,
    );
  });
});
