/**
 * `npm run chaos`: the long seeded crash loop against each broker and bucket. Progress goes to stderr; the last line
 * on stdout is one JSON object: the summary of every run and `ok`.
 *   CHAOS_KILLS (default 40 per run), CHAOS_SEED (default 21), CHAOS_VERBOSE=1 (every event and device log line)
 */
import { type ChaosOptions, type ChaosSummary, runChaos } from './lib/chaos.js';

const kills = Number(process.env['CHAOS_KILLS'] ?? 40);
const seed = Number(process.env['CHAOS_SEED'] ?? 21);
const runs: Array<Pick<ChaosOptions, 'broker' | 'bucket'>> = [
  { broker: 'aedes', bucket: 'fs' },
  { broker: 'mosquitto', bucket: 's3' },
  { broker: 'embedded', bucket: 'fs' },
];
const summaries: ChaosSummary[] = [];
for (const [index, run] of runs.entries()) {
  const summary = await runChaos({
    ...run,
    kills,
    seed: seed + index,
    upMs: [500, 6_000],
    pressEveryMs: [200, 1_500],
    log: (line) => process.stderr.write(`[${run.broker}/${run.bucket}] ${line}\n`),
  });
  process.stderr.write(`${JSON.stringify(summary)}\n`);
  summaries.push(summary);
}
const ok = summaries.every((s) => s.ok);
process.stdout.write(`${JSON.stringify({ ok, kills: kills * runs.length, runs: summaries })}\n`);
process.exit(ok ? 0 : 1);
