import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PlannedClip } from '../../src/recording/clip-planner.js';
import {
  IntentJournal,
  type IntentSource,
  intentOf,
  type LostClip,
  recoverIntents,
  removeLeftoverEncodes,
} from '../../src/recording/intents.js';
import { tempDir } from '../helpers/mqtt.js';

const SOURCE: IntentSource = {
  kind: 'looped-file',
  path: '/videos/porch.mp4',
  bytes: 1000,
  loopDurationMs: 10_000,
};
const DEVICE_T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function plan(clipId: string, startFeedMs = 1_000): PlannedClip {
  return {
    clipId,
    trigger: 'ding',
    triggers: ['ding'],
    triggerEventIds: [clipId],
    triggerFeedMs: startFeedMs + 1_000,
    startFeedMs,
    endFeedMs: startFeedMs + 3_000,
  };
}
const feedToDevice = (feedMs: number) => DEVICE_T0 + feedMs;

async function recover(
  journal: IntentJournal,
  source: IntentSource,
  kept: string[] = [],
  failing: string[] = [],
  lastPublishedSeq?: number,
) {
  const recorded: Array<{ plan: PlannedClip; startedAt: string; endedAt: string; eventId: string }> = [];
  const lost: LostClip[] = [];
  const report = await recoverIntents({
    journal,
    source,
    maxClipMs: 60_000,
    now: () => new Date(DEVICE_T0).toISOString(),
    alreadyKept: async (intent) => kept.includes(intent.clipId),
    record: async (p, times) => {
      if (failing.includes(p.clipId)) throw new Error('ffmpeg exited with code 1');
      recorded.push({ plan: p, ...times });
    },
    onLost: (clip) => lost.push(clip),
    ...(lastPublishedSeq === undefined ? {} : { lastPublishedSeq }),
  });
  await Promise.all(report.recut);
  return { report, recorded, lost };
}

describe('recording intents', () => {
  it('drops a plan whose trigger never reached the outbox (a kill -9 between journal and outbox)', async () => {
    const journal = new IntentJournal(tempDir());
    journal.save(intentOf(plan('front-000007'), SOURCE, feedToDevice, 7));
    journal.save(intentOf(plan('front-000008'), SOURCE, feedToDevice, 8));
    journal.save(intentOf(plan('front-000008-part1'), SOURCE, feedToDevice));
    const { recorded, lost, report } = await recover(journal, SOURCE, [], [], 7);
    expect(report.unpublished).toBe(1);
    expect(recorded.map((r) => r.eventId)).toEqual(['front-000007', 'front-000008-part1']);
    expect(lost).toEqual([]);
    expect(journal.leftovers().intents).toEqual([]);
  });

  it('a plan whose outcome was already announced (a crash before it was forgotten) gets no second outcome', async () => {
    const journal = new IntentJournal(tempDir());
    journal.save(
      intentOf(plan('front-000009'), { kind: 'unrecoverable', why: 'no picture yet' }, feedToDevice, 9),
    );
    const lost: LostClip[] = [];
    const report = await recoverIntents({
      journal,
      source: SOURCE,
      maxClipMs: 60_000,
      now: () => new Date(DEVICE_T0).toISOString(),
      alreadyKept: async () => false,
      record: async () => undefined,
      onLost: (clip) => lost.push(clip),
      lastPublishedSeq: 9,
      announced: (clipId) => clipId === 'front-000009',
    });
    expect(lost).toEqual([]);
    expect(report.alreadyKept).toBe(1);
    expect(journal.leftovers().intents).toEqual([]);
  });

  it('with no event ever in the outbox, every plan that names its trigger seq was unseen', async () => {
    const journal = new IntentJournal(tempDir());
    journal.save(intentOf(plan('front-000001'), SOURCE, feedToDevice, 1));
    const { recorded, report } = await recover(journal, SOURCE);
    expect(report.unpublished).toBe(1);
    expect(recorded).toEqual([]);
  });

  it('cuts a crash-interrupted clip again with its journaled window and device times, then forgets it', async () => {
    const journal = new IntentJournal(tempDir());
    journal.save(intentOf(plan('front-000007'), SOURCE, feedToDevice));
    const { recorded, lost, report } = await recover(journal, SOURCE);
    expect(lost).toEqual([]);
    expect(report.recut).toHaveLength(1);
    expect(recorded).toEqual([
      {
        plan: { ...plan('front-000007'), triggers: ['ding'] },
        startedAt: '2026-01-01T12:00:01.000Z',
        endedAt: '2026-01-01T12:00:04.000Z',
        eventId: 'front-000007',
      },
    ]);
    expect(journal.leftovers().intents).toEqual([]);
  });

  it('announces as lost, with a reason, what cannot be cut again; skips what was already kept', async () => {
    const journal = new IntentJournal(tempDir());
    journal.save(intentOf(plan('gone-source'), SOURCE, feedToDevice));
    journal.save(intentOf(plan('encode-fails'), SOURCE, feedToDevice));
    journal.save(intentOf(plan('in-spool'), SOURCE, feedToDevice));
    journal.save(intentOf(plan('replay'), { kind: 'unrecoverable', why: 'a replay camera' }, feedToDevice));
    const other: IntentSource = { ...SOURCE, bytes: 999 };
    const first = await recover(journal, other, ['in-spool']);
    expect(first.report.alreadyKept).toBe(1);
    expect(first.lost.map((l) => [l.clipId, l.reason])).toEqual([
      [
        'encode-fails',
        "the recording was interrupted (crash) and its source /videos/porch.mp4 is no longer the camera's source",
      ],
      [
        'gone-source',
        "the recording was interrupted (crash) and its source /videos/porch.mp4 is no longer the camera's source",
      ],
      ['replay', 'the recording was interrupted (crash) and a replay camera'],
    ]);
    expect(first.lost[0]).toMatchObject({ trigger: 'ding', startedAt: '2026-01-01T12:00:01.000Z' });
    expect(journal.leftovers()).toEqual({ intents: [], unreadable: [] });

    journal.save(intentOf(plan('encode-fails'), SOURCE, feedToDevice));
    const second = await recover(journal, SOURCE, [], ['encode-fails']);
    expect(second.lost.map((l) => l.reason)).toEqual([
      'the recording was interrupted (crash) and cutting it again failed: ffmpeg exited with code 1',
    ]);
  });

  it('a clip cut again or lost after a crash keeps the trigger events it named, minus any the outbox never got', async () => {
    const journal = new IntentJournal(tempDir());
    const visit = {
      ...plan('front-000007'),
      triggerEventIds: ['front-000007', 'front-000009', 'front-00000b'],
    };
    const seqs: Record<string, number> = { 'front-000007': 7, 'front-000009': 9, 'front-00000b': 11 };
    journal.save(intentOf(visit, SOURCE, feedToDevice, 7, (id) => seqs[id]));
    const gone = { ...plan('front-000005'), triggerEventIds: ['front-000005', 'front-000006'] };
    journal.save(intentOf(gone, { kind: 'unrecoverable', why: 'a replay camera' }, feedToDevice, 5));
    // The ding with seq 11 was journaled, then a kill -9 kept it from the outbox: nobody saw it, its id is reused.
    const { recorded, lost } = await recover(journal, SOURCE, [], [], 10);
    expect(recorded.map((r) => r.plan.triggerEventIds)).toEqual([['front-000007', 'front-000009']]);
    expect(lost.map((l) => [l.clipId, l.triggerEventIds])).toEqual([
      ['front-000005', ['front-000005', 'front-000006']],
    ]);
  });

  it('keeps a first plan killed between write and rename; a torn one becomes a lost clip', async () => {
    const dir = tempDir();
    const journal = new IntentJournal(dir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.intent.json.tmp'), JSON.stringify(intentOf(plan('a'), SOURCE, feedToDevice)));
    writeFileSync(join(dir, 'b.intent.json.tmp'), '');
    const { recorded, lost } = await recover(journal, SOURCE);
    expect(recorded.map((r) => r.plan.clipId)).toEqual(['a']);
    expect(lost.map((l) => [l.clipId, l.triggerEventIds])).toEqual([['b', []]]);
    expect(lost[0]!.reason).toContain('b.intent.json unreadable');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removes encodes a kill -9 left behind', () => {
    const work = tempDir();
    mkdirSync(join(work, 'front-000003'));
    writeFileSync(join(work, 'front-000003', 'front-000003.mp4.partial-4242'), 'half a clip');
    expect(removeLeftoverEncodes(work)).toBe(1);
    expect(existsSync(join(work, 'front-000003'))).toBe(false);
    expect(removeLeftoverEncodes(join(work, 'absent'))).toBe(0);
  });
});
