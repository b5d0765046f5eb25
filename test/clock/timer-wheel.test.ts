import { describe, expect, it } from 'vitest';
import { TimerWheel } from '../../src/clock/timer-wheel.js';

function manualWheel(slots = 16) {
  let now = 1_000_000;
  const wheel = new TimerWheel({ now: () => now, tickMs: 10, slots, drive: null });
  return {
    wheel,
    /** Moves time forward in 1 ms steps, ticking after each as the native driver would (roughly). */
    advance(ms: number, step = 10) {
      for (let left = ms; left > 0; left -= step) {
        now += Math.min(step, left);
        wheel.tick();
      }
    },
    get now() {
      return now;
    },
  };
}

describe('TimerWheel', () => {
  it('fires a timeout within one tick after it is due, never before', () => {
    const w = manualWheel();
    const fired: number[] = [];
    const start = w.now;
    w.wheel.setTimeout(() => fired.push(w.now - start), 95);
    w.advance(90);
    expect(fired).toEqual([]);
    w.advance(20);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(95);
    expect(fired[0]).toBeLessThanOrEqual(105);
    expect(w.wheel.pending).toBe(0);
  });

  it('keeps timers due beyond one revolution in their slot until their round comes', () => {
    const w = manualWheel(8); // one revolution: 80 ms
    const fired: string[] = [];
    w.wheel.setTimeout(() => fired.push('late'), 1000);
    w.wheel.setTimeout(() => fired.push('early'), 30);
    w.advance(500);
    expect(fired).toEqual(['early']);
    w.advance(510);
    expect(fired).toEqual(['early', 'late']);
  });

  it('repeats intervals and stops them when cleared, also through the mqtt.js timer shape', () => {
    const w = manualWheel();
    let a = 0;
    let b = 0;
    const handle = w.wheel.setInterval(() => a++, 50);
    const id = w.wheel.intervalTimer.set(() => b++, 100);
    w.advance(1000);
    expect(a).toBeGreaterThanOrEqual(19);
    expect(a).toBeLessThanOrEqual(20);
    expect(b).toBeGreaterThanOrEqual(9);
    w.wheel.clearTimer(handle);
    w.wheel.intervalTimer.clear(id);
    const [a0, b0] = [a, b];
    w.advance(1000);
    expect([a, b]).toEqual([a0, b0]);
    expect(w.wheel.pending).toBe(0);
  });

  it('does not fire a timer cleared by another that fired before it in the same tick', () => {
    const w = manualWheel();
    const fired: string[] = [];
    let second: ReturnType<TimerWheel['setTimeout']> | undefined;
    w.wheel.setTimeout(() => {
      fired.push('first');
      w.wheel.clearTimer(second);
    }, 20);
    second = w.wheel.setTimeout(() => fired.push('second'), 20);
    w.advance(100);
    expect(fired).toEqual(['first']);
  });

  it('catches up after a blocked event loop: every overdue timer fires once, in one tick', () => {
    const w = manualWheel(8);
    let fired = 0;
    for (let i = 0; i < 10_000; i++) w.wheel.setTimeout(() => fired++, i % 700);
    w.advance(5000, 5000);
    expect(fired).toBe(10_000);
    expect(w.wheel.pending).toBe(0);
  });

  it('runs on the real event loop with its own driver, and parks it when idle', async () => {
    const wheel = new TimerWheel({ tickMs: 5 });
    const started = Date.now();
    const elapsed = await new Promise<number>((done) =>
      wheel.setTimeout(() => done(Date.now() - started), 30),
    );
    expect(elapsed).toBeGreaterThanOrEqual(29);
    expect(wheel.pending).toBe(0);
  });
});
