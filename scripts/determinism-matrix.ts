/**
 * `npm run test:determinism`: every committed scenario against its golden tape under every variant of the
 * determinism matrix (scripts/lib/determinism.ts). One line per (variant, scenario), then a summary; exit 1 when
 * any tape differs. `DETERMINISM_VARIANTS=a,b` runs only those variants.
 */
import { committedScenarios, formatCell, replayUnder, variants } from './lib/determinism.js';

const only = process.env['DETERMINISM_VARIANTS']?.split(',').filter(Boolean);
const scenarios = committedScenarios();
let passed = 0;
let failed = 0;
const skipped: string[] = [];
for (const variant of variants()) {
  if (only && !only.includes(variant.name)) continue;
  if (variant.unavailable) {
    skipped.push(variant.name);
    console.log(`skip ${variant.name.padEnd(16)} ${variant.unavailable}`);
    continue;
  }
  console.log(`# ${variant.name}: ${variant.why}`);
  for (const scenario of scenarios) {
    const cell = await replayUnder(variant, scenario);
    console.log(formatCell(cell));
    if (cell.ok) passed++;
    else failed++;
  }
}
if (skipped.length > 0) console.log(`variants not available here: ${skipped.join(', ')}`);
console.log(`determinism: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
