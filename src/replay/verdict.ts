import { compareTapes } from './compare.js';
import type { JunitCase, JunitSuite } from './junit.js';
import type { ReplayResult } from './runner.js';

/** What a replay is checked against besides its expectations: a golden tape, or the one just written. */
export type GoldenCheck = { path: string; text: string } | { path: string; updated: true };

export interface ReplayVerdict {
  /** What to print, one line each: the run, every expectation, every problem, the golden comparison. */
  lines: string[];
  suite: JunitSuite;
  failed: boolean;
}

/** Judges a finished replay: its expectations, its problems and (optionally) its tape against a golden. Pure. */
export function replayVerdict(result: ReplayResult, golden?: GoldenCheck): ReplayVerdict {
  const lines: string[] = [];
  const cases: JunitCase[] = [];
  let failed = false;
  const speedup = result.simMs / Math.max(1, result.wallMs);
  lines.push(
    `replayed ${result.scenario}: ${(result.simMs / 1000).toFixed(1)} s simulated in ${(result.wallMs / 1000).toFixed(2)} s (${speedup.toFixed(1)}x); ` +
      `${result.tape.length} tape lines; ${summarizeCounts(result.counts)}`,
  );
  for (const check of result.expectations) {
    lines.push(`  ${check.ok ? 'ok  ' : 'FAIL'} expect ${check.label} (got ${check.actual})`);
    cases.push({
      name: `expect ${check.label}`,
      ...(check.ok ? {} : { failure: `expected ${check.label}, got ${check.actual}` }),
    });
    failed ||= !check.ok;
  }
  for (const problem of result.problems) lines.push(`  FAIL ${problem}`);
  cases.push({
    name: 'replay ran cleanly',
    ...(result.problems.length > 0 ? { failure: result.problems.join('\n') } : {}),
  });
  failed ||= result.problems.length > 0;

  if (golden && 'updated' in golden) {
    lines.push(`  golden tape written: ${golden.path}`);
  } else if (golden) {
    const diff = compareTapes(golden.text, result.text);
    if (diff.equal) lines.push(`  ok   tape matches ${golden.path}`);
    else {
      lines.push(`  FAIL tape differs from ${golden.path}`, diff.report);
      failed = true;
    }
    cases.push({ name: 'tape matches the golden', ...(diff.equal ? {} : { failure: diff.report }) });
  }
  if (result.workDir) lines.push(`  kept: ${result.workDir}`);
  return { lines, suite: { name: result.scenario, time: result.wallMs / 1000, cases }, failed };
}

function summarizeCounts(counts: Record<string, number>): string {
  return ['ding', 'motion.start', 'motion.end', 'clip', 'snapshot', 'objects']
    .map((name) => `${name} ${counts[name] ?? 0}`)
    .join(', ');
}
