import { describe, expect, it } from 'vitest';
import { ClipPlanner } from '../../src/recording/clip-planner.js';

const settings = { preRollMs: 5000, postRollMs: 5000, maxClipMs: 60_000 };
let n = 0;
const nextId = () => `c${++n}`;

describe('ClipPlanner', () => {
  it('a ding makes [t − preRoll, t + postRoll], complete once the feed reaches its end', () => {
    const planner = new ClipPlanner(settings);
    planner.trigger('ding', 20_000, 'd1');
    expect(planner.advance(24_999, nextId)).toEqual([]);
    expect(planner.advance(25_000, nextId)).toEqual([
      {
        clipId: 'd1',
        trigger: 'ding',
        triggers: ['ding'],
        triggerEventIds: ['d1'],
        triggerFeedMs: 20_000,
        startFeedMs: 15_000,
        endFeedMs: 25_000,
      },
    ]);
    expect(planner.current).toBeUndefined();
  });

  it('pre-roll never reaches before the feed started', () => {
    const planner = new ClipPlanner(settings);
    expect(planner.trigger('ding', 2_000, 'd1').startFeedMs).toBe(0);
  });

  it('motion extends the clip until it ends, plus post-roll', () => {
    const planner = new ClipPlanner(settings);
    planner.trigger('motion', 10_000, 'm1');
    expect(planner.advance(40_000, nextId)).toEqual([]);
    planner.motionEnded(41_000);
    expect(planner.advance(45_999, nextId)).toEqual([]);
    const [clip] = planner.advance(46_000, nextId);
    expect(clip).toMatchObject({ clipId: 'm1', startFeedMs: 5_000, endFeedMs: 46_000, trigger: 'motion' });
  });

  it('overlapping triggers extend one clip rather than making two', () => {
    const planner = new ClipPlanner(settings);
    planner.trigger('motion', 10_000, 'm1');
    planner.trigger('ding', 12_000, 'd1');
    planner.motionEnded(13_000);
    planner.trigger('ding', 16_000, 'd2');
    const clips = planner.advance(30_000, nextId);
    expect(clips).toHaveLength(1);
    expect(clips[0]).toMatchObject({
      clipId: 'm1',
      triggers: ['motion', 'ding'],
      startFeedMs: 5_000,
      endFeedMs: 21_000,
    });
  });

  it('a trigger after the clip closed starts a new clip', () => {
    const planner = new ClipPlanner(settings);
    planner.trigger('ding', 10_000, 'd1');
    expect(planner.advance(15_000, nextId)).toHaveLength(1);
    planner.trigger('ding', 15_500, 'd2');
    expect(planner.advance(20_500, nextId)[0]).toMatchObject({ clipId: 'd2', startFeedMs: 10_500 });
  });

  it('motion longer than the cap is cut at maxClipMs and continues in a new clip', () => {
    const planner = new ClipPlanner({ preRollMs: 1000, postRollMs: 1000, maxClipMs: 10_000 });
    planner.trigger('motion', 5_000, 'm1');
    expect(planner.advance(13_999, nextId)).toEqual([]);
    const [first] = planner.advance(14_000, nextId);
    expect(first).toMatchObject({ clipId: 'm1', startFeedMs: 4_000, endFeedMs: 14_000 });
    planner.motionEnded(16_000);
    const [second] = planner.advance(17_000, nextId);
    expect(second).toMatchObject({ startFeedMs: 14_000, endFeedMs: 17_000 });
    expect(second!.clipId).not.toBe('m1');
  });

  it('flush cuts an open clip at the current feed time', () => {
    const planner = new ClipPlanner(settings);
    planner.trigger('ding', 10_000, 'd1');
    expect(planner.flush(12_000)).toMatchObject({ startFeedMs: 5_000, endFeedMs: 12_000 });
    expect(planner.flush(13_000)).toBeUndefined();
  });
});

describe('ClipPlanner: the trigger events a clip names (events/clip triggerEventIds)', () => {
  it('a visit: the motion start that opened the clip, then the ding that extended it, in order', () => {
    const planner = new ClipPlanner(settings);
    planner.trigger('motion', 10_000, 'm1');
    planner.trigger('ding', 12_000, 'd1');
    planner.motionEnded(13_000);
    const [clip] = planner.advance(30_000, nextId);
    expect(clip).toMatchObject({ clipId: 'm1', trigger: 'motion', triggerEventIds: ['m1', 'd1'] });
  });

  it('every trigger inside the clip, each once; one after it closed starts its own list', () => {
    const planner = new ClipPlanner(settings);
    planner.trigger('ding', 10_000, 'd1');
    planner.trigger('motion', 11_000, 'm1');
    planner.trigger('ding', 12_000, 'd2');
    planner.trigger('ding', 12_000, 'd2');
    planner.motionEnded(14_000);
    planner.trigger('motion', 15_000, 'm2');
    planner.motionEnded(16_000);
    expect(planner.advance(21_000, nextId).map((clip) => clip.triggerEventIds)).toEqual([
      ['d1', 'm1', 'd2', 'm2'],
    ]);
    planner.trigger('ding', 40_000, 'd3');
    expect(planner.advance(45_000, nextId).map((clip) => clip.triggerEventIds)).toEqual([['d3']]);
  });

  it('a continuation names what keeps it going: the motion in progress, not a ding whose post-roll ended before the cut', () => {
    const planner = new ClipPlanner({ preRollMs: 1000, postRollMs: 1000, maxClipMs: 10_000 });
    planner.trigger('motion', 5_000, 'm1');
    planner.trigger('ding', 6_000, 'd1');
    // Its post-roll (until 14 500) reaches past the cut at 14 000: it is in the continuation too.
    planner.trigger('ding', 13_500, 'd2');
    const [first] = planner.advance(14_000, nextId);
    expect(first!.triggerEventIds).toEqual(['m1', 'd1', 'd2']);
    planner.trigger('ding', 15_000, 'd3');
    planner.motionEnded(16_000);
    const [second] = planner.advance(17_000, nextId);
    expect(second!.clipId).not.toBe('m1');
    expect(second!.triggerEventIds).toEqual(['m1', 'd2', 'd3']);
    // The first clip's list is its own: later triggers do not change what was already handed out.
    expect(first!.triggerEventIds).toEqual(['m1', 'd1', 'd2']);
  });

  it('a continuation after the motion ended lists it only while its post-roll still runs past the cut', () => {
    const planner = new ClipPlanner({ preRollMs: 1000, postRollMs: 5000, maxClipMs: 10_000 });
    planner.trigger('motion', 5_000, 'm1');
    planner.motionEnded(12_000);
    planner.trigger('motion', 13_000, 'm2');
    const [first] = planner.advance(14_000, nextId);
    expect(first!.triggerEventIds).toEqual(['m1', 'm2']);
    // m1 ended at 12 000: its post-roll runs to 17 000, past the cut at 14 000.
    expect(planner.current!.triggerEventIds).toEqual(['m1', 'm2']);
    planner.motionEnded(20_000);
    const [second] = planner.advance(24_000, nextId);
    expect(second!.triggerEventIds).toEqual(['m1', 'm2']);
  });
});
