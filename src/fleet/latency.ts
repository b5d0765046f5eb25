import { z } from 'zod';

/**
 * Bucket upper bounds in ms: 2^(k/4) from 0.25 ms to ~9 minutes, so a bucket is ≤ 19 % wide. Fixed and shared by
 * every shard: histograms add up exactly across shards, where percentiles of percentiles would not.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Array.from(
  { length: 85 },
  (_, k) => Math.round(2 ** (k / 4 - 2) * 1000) / 1000,
);

export const LatencySummarySchema = z
  .object({
    count: z.number().int().min(0),
    /** Percentiles are bucket upper bounds (never below the true value); max is exact. */
    p50: z.number().min(0).nullable(),
    p90: z.number().min(0).nullable(),
    p99: z.number().min(0).nullable(),
    max: z.number().min(0).nullable(),
    /** [upper bound ms, count] of every non-empty bucket; bounds are LATENCY_BOUNDS_MS (Infinity: `null`). */
    buckets: z.array(z.tuple([z.number().positive().nullable(), z.number().int().positive()])),
  })
  .strict();

export type LatencySummary = z.output<typeof LatencySummarySchema>;

/** Latencies counted into fixed buckets: constant memory however many samples. */
export class LatencyHistogram {
  private readonly counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  private total = 0;
  private maxMs: number | null = null;

  record(ms: number): void {
    const value = Math.max(0, ms);
    this.counts[bucketOf(value)]! += 1;
    this.total += 1;
    if (this.maxMs === null || value > this.maxMs) this.maxMs = value;
  }

  get count(): number {
    return this.total;
  }

  /** Adds a summary's buckets (another shard's); a bound that is not one of ours is refused. */
  add(summary: LatencySummary): void {
    for (const [bound, count] of summary.buckets) {
      const index = bound === null ? LATENCY_BOUNDS_MS.length : LATENCY_BOUNDS_MS.indexOf(bound);
      if (index < 0) throw new Error(`bucket bound ${bound} ms is not one of the fleet's latency buckets`);
      this.counts[index]! += count;
      this.total += count;
    }
    if (summary.max !== null && (this.maxMs === null || summary.max > this.maxMs)) this.maxMs = summary.max;
  }

  /** Nearest-rank percentile, as the upper bound of its bucket (capped at the exact max); null without samples. */
  percentile(p: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const bound = LATENCY_BOUNDS_MS[i];
        return bound === undefined ? this.maxMs : Math.min(bound, this.maxMs ?? bound);
      }
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    const buckets: Array<[number | null, number]> = [];
    this.counts.forEach((count, i) => {
      if (count > 0) buckets.push([LATENCY_BOUNDS_MS[i] ?? null, count]);
    });
    return {
      count: this.total,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.maxMs,
      buckets,
    };
  }
}

function bucketOf(ms: number): number {
  // Binary search: the first bound ≥ ms.
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (LATENCY_BOUNDS_MS[mid]! >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
