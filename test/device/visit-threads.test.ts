import { describe, expect, it } from 'vitest';
import type { Box, DingEvent, MotionEventPayload } from '../../src/events/schemas.js';
import { DingEventSchema, MotionEventSchema } from '../../src/events/schemas.js';
import { makeDoorbell } from '../helpers/doorbell.js';

const BOX: Box = { x: 0.1, y: 0.1, w: 0.2, h: 0.5 };

function started() {
  const made = makeDoorbell({ button: { debounceMs: 0, chimeWindowMs: 3_000, answerWindowMs: 20_000 } });
  made.doorbell.start();
  made.clock.advance(1_000);
  const motion = (type: 'start' | 'update' | 'end', labels?: Array<'person' | 'animal'>) =>
    made.doorbell.motion({ type, atMs: made.clock.now(), score: 0.5, box: BOX, zones: ['porch'], labels });
  const threaded = () =>
    made.events.flatMap((e) =>
      e.kind === 'ding' || e.kind === 'ding-ended' || e.kind === 'motion' ? [e.payload] : [],
    ) as Array<DingEvent | MotionEventPayload>;
  return { ...made, motion, threaded };
}

describe('one visit, one story: sessions and threads', () => {
  it('motion, a ring and its outcome share one session; motion shares one motionId', () => {
    const { clock, doorbell, motion, threaded } = started();
    motion('start');
    clock.advance(500);
    motion('update', ['person']);
    clock.advance(1_500);
    expect(doorbell.press('button').accepted).toBe(true);
    clock.advance(4_000);
    motion('end');
    clock.advance(2_000);
    expect(doorbell.answer()).toMatchObject({ answered: true });
    const all = threaded();
    for (const message of all) {
      if ('motionId' in message) expect(MotionEventSchema.parse(message)).toEqual(message);
      else expect(DingEventSchema.parse(message)).toEqual(message);
    }
    const firstId = all[0]!.id;
    expect(all.map((m) => m.sessionId)).toEqual(all.map(() => firstId));
    const motions = all.filter((m): m is MotionEventPayload => 'motionId' in m);
    expect(motions.map((m) => [m.type, m.thread, m.motionId, m.labels])).toEqual([
      ['start', 'started', firstId, ['motion']],
      ['update', 'updated', firstId, ['person']],
      ['end', 'ended', firstId, ['person']],
    ]);
    const rings = all.filter((m): m is DingEvent => 'dingId' in m);
    expect(rings.map((r) => [r.thread, r.dingId === rings[0]!.id, r.outcome])).toEqual([
      ['started', true, undefined],
      ['ended', true, 'answered'],
    ]);
  });

  it('a ring nobody answers ends as missed when the answer window closes; answer then finds no ring', () => {
    const { clock, doorbell, dingEnds } = started();
    doorbell.press('button');
    clock.advance(19_999);
    expect(dingEnds()).toHaveLength(0);
    clock.advance(1);
    expect(dingEnds().map((d) => [d.payload.outcome, d.payload.at])).toEqual([
      ['missed', new Date(clock.now()).toISOString()],
    ]);
    expect(doorbell.answer()).toEqual({ answered: false, reason: 'no-ring' });
  });

  it('answering ends every ring still waiting; each unanswered one is missed at its own deadline', () => {
    const { clock, doorbell, dings, dingEnds } = started();
    doorbell.press('button');
    clock.advance(5_000);
    doorbell.press('button');
    expect(dingEnds()).toHaveLength(0);
    const [first, second] = dings().map((d) => d.payload.id);
    expect(doorbell.answer()).toEqual({ answered: true, dingIds: [first, second] });
    expect(dingEnds().map((d) => [d.payload.dingId, d.payload.outcome])).toEqual([
      [first, 'answered'],
      [second, 'answered'],
    ]);
    clock.advance(10_000);
    doorbell.press('button');
    clock.advance(5_000);
    doorbell.press('button');
    const [, , third, fourth] = dings().map((d) => d.payload.id);
    clock.advance(15_000);
    expect(
      dingEnds()
        .slice(2)
        .map((d) => [d.payload.dingId, d.payload.outcome]),
    ).toEqual([[third, 'missed']]);
    doorbell.reboot();
    expect(
      dingEnds()
        .slice(2)
        .map((d) => [d.payload.dingId, d.payload.outcome]),
    ).toEqual([
      [third, 'missed'],
      [fourth, 'missed'],
    ]);
    expect(new Set([...dings(), ...dingEnds()].map((d) => d.payload.sessionId)).size).toBe(1);
  });

  it('a device shutting down ends every open thread: waiting rings missed, the motion in progress', () => {
    const { clock, doorbell, motion, dingEnds, threaded } = started();
    motion('start');
    doorbell.press('button');
    clock.advance(2_000);
    doorbell.endThreads();
    expect(dingEnds().map((d) => d.payload.outcome)).toEqual(['missed']);
    expect(threaded().filter((m) => 'motionId' in m && m.thread === 'ended')).toHaveLength(1);
    doorbell.endThreads();
    expect(threaded()).toHaveLength(4);
  });

  it('a new session starts only after more than the gap without motion or an open ring', () => {
    const { clock, doorbell, motion, threaded } = started();
    motion('start');
    clock.advance(90_000); // a long motion keeps its session however long it runs
    motion('end');
    clock.advance(60_000); // exactly the gap: the same visit
    motion('start');
    clock.advance(1_000);
    motion('end');
    clock.advance(60_001); // more than the gap: a new visit
    doorbell.press('button');
    clock.advance(50_000); // the ring is open for 20 s, then the quiet counts from its end
    motion('start');
    const sessions = threaded().map((m) => m.sessionId);
    const first = threaded()[0]!.id;
    const ring = threaded().find((m) => 'dingId' in m)!.id;
    expect(sessions).toEqual([first, first, first, first, ring, ring, ring]);
  });

  it('the gap is the profile setting, changed by the owner at run time', () => {
    const { clock, doorbell, motion, threaded, profile } = started();
    doorbell.reconfigure({ ...profile, sessionGapMs: 5_000 });
    motion('start');
    motion('end');
    clock.advance(5_001);
    motion('start');
    const [a, , b] = threaded();
    expect(b!.sessionId).toBe(b!.id);
    expect(b!.sessionId).not.toBe(a!.sessionId);
  });
});
