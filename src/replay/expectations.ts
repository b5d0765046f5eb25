import type { ExpectationName, ExpectedCount, Scenario } from './scenario.js';

export interface ExpectationResult {
  name: ExpectationName;
  expected: ExpectedCount;
  actual: number;
  ok: boolean;
  /** "ding = 1", "motion.start ≥ 1". */
  label: string;
}

export function checkExpectations(
  expect: Scenario['expect'],
  counts: Record<string, number>,
): ExpectationResult[] {
  const results: ExpectationResult[] = [];
  for (const [name, expected] of Object.entries(expect) as Array<
    [ExpectationName, ExpectedCount | undefined]
  >) {
    if (expected === undefined) continue;
    const actual = counts[name] ?? 0;
    const ok =
      typeof expected === 'number'
        ? actual === expected
        : (expected.min === undefined || actual >= expected.min) &&
          (expected.max === undefined || actual <= expected.max);
    results.push({ name, expected, actual, ok, label: `${name} ${describeCount(expected)}` });
  }
  return results;
}

export function describeCount(expected: ExpectedCount): string {
  if (typeof expected === 'number') return `= ${expected}`;
  if (expected.min !== undefined && expected.max !== undefined) return `in ${expected.min}..${expected.max}`;
  if (expected.min !== undefined) return `≥ ${expected.min}`;
  return `≤ ${expected.max}`;
}
