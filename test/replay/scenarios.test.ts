import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareTapes } from '../../src/replay/compare.js';
import { goldenPathFor } from '../../src/replay/golden.js';
import { runScenario } from '../../src/replay/runner.js';
import { listScenarioNames, loadScenario } from '../../src/replay/scenario.js';
import { isMessage, type TapeMessage } from '../../src/replay/tape.js';

const SCENARIOS = listScenarioNames();

/**
 * What every motion message of a scenario is labelled (simulated smart detection): from the ground truth of the
 * fixture on screen, or from the play's declared labels (package-delivery).
 */
const MOTION_LABELS: Record<string, string> = {
  'visitor-rings': 'person',
  'owner-settings': 'animal',
  'package-delivery': 'person+package',
  'porch-light-at-night': '',
};

async function replay(name: string) {
  const loaded = await loadScenario(name);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const result = await runScenario(loaded.value);
  return { result, golden: readFileSync(goldenPathFor(loaded.value.source), 'utf8') };
}

describe('committed scenarios replay to their golden tapes', () => {
  it('has the five scenarios the project promises', () => {
    expect(SCENARIOS).toEqual(
      expect.arrayContaining([
        'visitor-rings',
        'package-delivery',
        'porch-light-at-night',
        'broker-outage',
        'bucket-outage',
      ]),
    );
  });

  for (const name of SCENARIOS) {
    // Each replay encodes its clips at the profile's 1080p30 and decodes them for the tape: ≈15 s of CPU.
    it(`${name}: matches its golden tape and meets its expectations`, { timeout: 180_000 }, async () => {
      const { result, golden } = await replay(name);
      const diff = compareTapes(golden, result.text);
      expect(diff.report).toBe('');
      expect(result.problems).toEqual([]);
      for (const check of result.expectations) expect(check, check.label).toMatchObject({ ok: true });
      expect(result.expectations.length).toBeGreaterThan(0);

      if (name in MOTION_LABELS) {
        const labels = result.tape.flatMap((line) =>
          isMessage(line) && line.mqtt.endsWith('/events/motion')
            ? [(line.payload as { labels: string[] }).labels.join('+')]
            : [],
        );
        expect([...new Set(labels)].join(' ')).toBe(MOTION_LABELS[name]);
      }
      if (name === 'broker-outage') {
        const events = result.tape.filter(
          (line): line is TapeMessage => isMessage(line) && line.mqtt.includes('/events/'),
        );
        const seqs = events.map((e) => (e.payload as { seq: number }).seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        // The ding happened during the outage (7 s) and reached the broker only after it ended (16 s).
        const ding = events.find((e) => e.mqtt.endsWith('/events/ding'))!;
        expect((ding.payload as { at: string }).at).toBe('2026-03-16T08:15:07.000Z');
        expect(ding.t).toBe(16_000);
        expect(result.tape.some((l) => isMessage(l) && l.via === 'will')).toBe(true);
      }
      if (name === 'bucket-outage') {
        const clip = result.tape.find(
          (l): l is TapeMessage => isMessage(l) && l.mqtt.endsWith('/events/clip'),
        )!;
        // Recorded at 8 s (ding at 3 s + 5 s post-roll); announced only once the bucket is back (20 s).
        expect(clip.t).toBeGreaterThanOrEqual(20_000);
      }
    });
  }
});
