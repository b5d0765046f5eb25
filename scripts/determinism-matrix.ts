/**
 * `npm run test:determinism`: every committed scenario against its golden tape under every variant of the
 * determinism matrix (scripts/lib/determinism.ts). One line per (variant, scenario), then a summary; exit 1 when
 * any tape differs. `DETERMINISM_VARIANTS=a,b` runs only those variants; `DETERMINISM_REQUIRE_ALL=1` (CI) counts a
 * variant that cannot run here as failed instead of skipping it.
 */
import { committedScenarios, formatCell, prepareVariants, replayUnder } from './lib/determinism.js';

const all = prepareVariants();
const only = process.env['DETERMINISM_VARIANTS']?.split(',').filter(Boolean);
const unknown = only?.filter((name) => !all.some((variant) => variant.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(
    `DETERMINISM_VARIANTS: no variant ${unknown.map((name) => `"${name}"`).join(', ')}; the variants are ${all.map((v) => v.name).join(', ')}`,
  );
  process.exit(2);
}
const requireAll = process.env['DETERMINISM_REQUIRE_ALL'] === '1';
const scenarios = committedScenarios();
let passed = 0;
let failed = 0;
const skipped: string[] = [];
for (const variant of all) {
  if (only && !only.includes(variant.name)) continue;
  if (variant.unavailable) {
    console.log(`${requireAll ? 'FAIL' : 'skip'} ${variant.name.padEnd(16)} ${variant.unavailable}`);
    if (requireAll) failed++;
    else skipped.push(variant.name);
    continue;
  }
  console.log(`# ${variant.name}: ${variant.why}`);
  for (const scenario of scenarios) {
    if (variant.scenarios && !variant.scenarios.includes(scenario)) continue;
    const cell = await replayUnder(variant, scenario);
    console.log(formatCell(cell));
    if (cell.ok) passed++;
    else failed++;
  }
}
if (skipped.length > 0) console.log(`variants not available here: ${skipped.join(', ')}`);
console.log(`determinism: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
