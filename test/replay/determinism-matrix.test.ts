/**
 * The cheap part of the determinism matrix (the whole matrix: `npm run test:determinism`, run by CI): golden tapes
 * must hold with libav*'s SIMD off and in another time zone and locale, as they would on another machine.
 */
import { describe, expect, it } from 'vitest';
import { formatCell, prepareVariants, replayUnder } from '../../scripts/lib/determinism.js';

const SCENARIOS = ['visitor-rings', 'owner-settings'];

describe('golden tapes on another machine (cheap variants)', () => {
  for (const variant of prepareVariants().filter((v) => v.cheap && !v.unavailable)) {
    for (const scenario of SCENARIOS) {
      it(`${scenario} under ${variant.name}: ${variant.why}`, { timeout: 300_000 }, async () => {
        const cell = await replayUnder(variant, scenario);
        expect(cell.ok, formatCell(cell)).toBe(true);
      });
    }
  }
});
