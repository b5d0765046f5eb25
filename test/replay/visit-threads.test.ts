import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ClipEventPayload,
  ClipEventSchema,
  type DingEvent,
  DingEventSchema,
  type MotionEventPayload,
  MotionEventSchema,
} from '../../src/events/schemas.js';
import { isMessage, parseTape } from '../../src/replay/tape.js';
import { REPO_ROOT } from '../helpers/mqtt.js';

/**
 * What the visit-threads golden tape (which scenarios.test.ts proves the replay reproduces byte for byte) tells an
 * integrator: two visits, each one story.
 */
describe('the visit-threads golden: one visit, one story', () => {
  const messages = parseTape(
    readFileSync(join(REPO_ROOT, 'fixtures/scenarios/visit-threads.tape.jsonl'), 'utf8'),
  ).filter(isMessage);
  const on = (topic: string) => messages.filter((m) => m.mqtt === `doorbell/front-door/events/${topic}`);
  // Stored bytes and digests are masked in tapes ("*"); everything else is the device's own payload.
  const unmasked = (p: unknown) => ({ ...(p as object), bytes: 1, sha256: 'a'.repeat(64) });
  const motions: MotionEventPayload[] = on('motion').map((l) => MotionEventSchema.parse(l.payload));
  const rings: DingEvent[] = on('ding').map((l) => DingEventSchema.parse(l.payload));
  const clips: ClipEventPayload[] = on('clip').map((l) => ClipEventSchema.parse(unmasked(l.payload)));

  it('has two visits, and every event of a visit carries its sessionId', () => {
    const sessions = [...new Set([...motions, ...rings, ...clips].map((e) => e.sessionId))];
    expect(sessions).toHaveLength(2);
    const [first, second] = sessions;
    for (const [visit, sessionId] of [
      ['first', first],
      ['second', second],
    ] as const) {
      const of = <E extends { sessionId: string }>(events: E[]) =>
        events.filter((e) => e.sessionId === sessionId);
      expect(of(motions).filter((m) => m.type === 'start').length, visit).toBeGreaterThan(0);
      expect(
        of(rings).map((r) => r.thread),
        visit,
      ).toEqual(['started', 'ended']);
      expect(of(clips), visit).toHaveLength(1);
      // The session is named by its first event.
      const firstEvent = [...of(motions), ...of(rings)].sort((a, b) => a.seq - b.seq)[0]!;
      expect(sessionId).toBe(firstEvent.id);
    }
    expect(rings.filter((r) => r.thread === 'ended').map((r) => r.outcome)).toEqual(['answered', 'missed']);
  });

  it("shares one motionId per motion, and each visit's clip names its motion start and its ding", () => {
    for (const start of motions.filter((m) => m.type === 'start')) {
      const thread = motions.filter((m) => m.motionId === start.id);
      expect(thread.map((m) => m.thread)).toEqual([
        'started',
        ...thread.slice(1, -1).map(() => 'updated'),
        'ended',
      ]);
      expect(new Set(thread.map((m) => m.startedAt)).size).toBe(1);
    }
    for (const clip of clips) {
      const start = motions.find((m) => m.sessionId === clip.sessionId && m.type === 'start')!;
      const ring = rings.find((r) => r.sessionId === clip.sessionId && r.thread === 'started')!;
      expect(clip.triggerEventIds).toEqual(expect.arrayContaining([start.id, ring.id]));
      expect(clip.triggerEventIds[0]).toBe(start.id);
    }
  });
});
