import type { Clock, TimerHandle } from './clock.js';

interface VirtualTimer {
  id: number;
  due: number;
  seq: number;
  periodMs: number | undefined;
  fn: () => void;
}

/**
 * Deterministic clock: time only moves when asked. Timers due at the same instant fire
 * in the order they were scheduled.
 */
export class VirtualClock implements Clock {
  private current: number;
  private nextId = 1;
  private nextSeq = 0;
  private readonly timers = new Map<number, VirtualTimer>();

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (handle) this.timers.delete(handle.id);
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  /** Time of the next timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    return this.earliest()?.due;
  }

  /** Fires the next timer (moving time to it). Returns false when nothing is pending. */
  runNext(): boolean {
    const timer = this.earliest();
    if (!timer) return false;
    this.fire(timer);
    return true;
  }

  /** Advances time by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  advanceTo(targetMs: number): void {
    for (;;) {
      const timer = this.earliest();
      if (!timer || timer.due > targetMs) break;
      this.fire(timer);
    }
    this.current = Math.max(this.current, targetMs);
  }

  private add(fn: () => void, ms: number, periodMs: number | undefined): TimerHandle {
    const id = this.nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.timers.set(id, { id, due: this.current + delay, seq: this.nextSeq++, periodMs, fn });
    return { id };
  }

  private earliest(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const timer of this.timers.values()) {
      if (!best || timer.due < best.due || (timer.due === best.due && timer.seq < best.seq)) best = timer;
    }
    return best;
  }

  private fire(timer: VirtualTimer): void {
    this.current = Math.max(this.current, timer.due);
    if (timer.periodMs === undefined) {
      this.timers.delete(timer.id);
    } else {
      timer.due += timer.periodMs;
      timer.seq = this.nextSeq++;
    }
    timer.fn();
  }
}
