import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';

describe('VirtualClock', () => {
  it('fires timers in due order, same-instant timers in scheduling order', () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('c@20'), 20);
    clock.advance(15);
    expect(fired).toEqual(['a@10']);
    expect(clock.now()).toBe(15);
    clock.advance(5);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
  });

  it('runNext jumps straight to the next timer', () => {
    const clock = new VirtualClock(1000);
    let at = 0;
    clock.setTimeout(() => {
      at = clock.now();
    }, 86_400_000);
    expect(clock.nextDue()).toBe(1000 + 86_400_000);
    expect(clock.runNext()).toBe(true);
    expect(at).toBe(1000 + 86_400_000);
    expect(clock.runNext()).toBe(false);
  });

  it('intervals repeat until cleared; timers scheduled inside callbacks fire in the same advance', () => {
    const clock = new VirtualClock(0);
    const ticks: number[] = [];
    const handle = clock.setInterval(() => {
      ticks.push(clock.now());
      if (ticks.length === 2) clock.setTimeout(() => ticks.push(-clock.now()), 5);
    }, 10);
    clock.advance(35);
    expect(ticks).toEqual([10, 20, -25, 30]);
    clock.clearTimer(handle);
    clock.advance(100);
    expect(ticks).toHaveLength(4);
    expect(clock.pendingTimers()).toBe(0);
  });
});
