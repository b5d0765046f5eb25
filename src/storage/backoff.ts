export interface BackoffPolicy {
  /** Delay after the first failure, ms. */
  initialDelayMs: number;
  /** Cap, ms. */
  maxDelayMs: number;
  /** Growth per further failure. */
  factor: number;
  /** 0..1: the delay is drawn from [(1 - jitter) × d, d], so retries of many devices spread out. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  factor: 2,
  jitter: 0.5,
};

/** The wait before retry number `failures` (1 = after the first failure). `random` returns [0, 1). */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number): number {
  const exponent = Math.max(0, failures - 1);
  const capped = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** exponent);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(capped * (1 - jitter * random()));
}
