/**
 * Replays a 60 s scenario (a porch minute: an empty porch, a visitor who rings and leaves, a package courier, the
 * porch light) on the virtual clock and compares the wall time with the simulated time. Ends with one JSON line.
 * BENCH_REPLAY_SCENARIO=NAME|FILE replays another scenario; BENCH_REPLAY_RUNS=N takes the best of N runs (in one
 * process, as `doorbell replay a.json b.json …` runs them) and reports the first, cold run as well.
 */
import { resolve } from 'node:path';
import { runScenario } from '../src/replay/runner.js';
import { loadScenario } from '../src/replay/scenario.js';
import { printResult, round } from './lib/stats.js';

const target =
  process.env['BENCH_REPLAY_SCENARIO'] ??
  resolve(import.meta.dirname, '..', 'fixtures/scenarios/bench/porch-minute.json');
const runs = Number(process.env['BENCH_REPLAY_RUNS'] ?? 3);
const loaded = await loadScenario(target);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));

let best: Awaited<ReturnType<typeof runScenario>> | undefined;
let firstWallMs = 0;
for (let i = 0; i < runs; i++) {
  const result = await runScenario(loaded.value);
  process.stderr.write(
    `bench-replay: run ${i + 1}: ${(result.simMs / 1000).toFixed(0)} s simulated in ${(result.wallMs / 1000).toFixed(2)} s ` +
      `(${JSON.stringify(Object.fromEntries(Object.entries(result.timings).map(([k, v]) => [k, Math.round(v)])))}); ` +
      `${result.counts['ding']} ding, ${result.counts['motion.start']} motion, ${result.counts['clip']} clip\n`,
  );
  if (result.problems.length > 0) throw new Error(result.problems.join('\n'));
  if (i === 0) firstWallMs = result.wallMs;
  if (!best || result.wallMs < best.wallMs) best = result;
}
const wallS = best!.wallMs / 1000;
const simS = best!.simMs / 1000;
// The first run of a process also decodes the scenario's fixtures (later replays in the process share them).
printResult({
  bench: 'replay',
  sim_s: simS,
  wall_s: round(wallS, 3),
  speedup: round(simS / wallS, 1),
  runs,
  first_run_wall_s: round(firstWallMs / 1000, 3),
  first_run_speedup: round(simS / (firstWallMs / 1000), 1),
});
