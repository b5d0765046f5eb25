import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/lib/chaos.js';

// The short seeded crash loop (`npm run chaos` is the long one, against three broker and bucket pairs): the device's
// own embedded broker is killed with it, so what a persistent watcher sees depends on the broker's sessions on disk.
describe('seeded crash loop (short)', () => {
  it('20 kill -9s amid presses and recordings, embedded broker and S3: one outcome per trigger, nothing lost', async () => {
    const summary = await runChaos({
      broker: 'embedded',
      bucket: 's3',
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
    expect(summary.conflictingIds).toEqual([]);
    expect(summary.badClips).toEqual([]);
    expect(summary.partialFiles).toEqual([]);
    expect(summary.openIntents).toEqual([]);
    // Crashes did interrupt recordings, and restarts cut them again from the source.
    expect(summary.recut).toBeGreaterThan(0);
    expect(summary.clipsStored).toBeGreaterThan(0);
    expect(summary.ok).toBe(true);
  }, 300_000);
});
