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
 *
 * Pending timers sit in a binary min-heap on (due, seq), so a fleet with thousands of timers pays O(log n) per
 * timer rather than a scan. Cleared timers are dropped lazily when they reach the top.
 */
export class VirtualClock implements Clock {
  private current: number;
  private nextId = 1;
  private nextSeq = 0;
  private readonly timers = new Map<number, VirtualTimer>();
  private readonly heap: VirtualTimer[] = [];

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
    if (!handle || !this.timers.delete(handle.id)) return;
    // Cleared timers far in the future would otherwise pile up in the heap: rebuild it when mostly stale.
    if (this.heap.length > 64 && this.heap.length > 2 * this.timers.size) this.rebuild();
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
    const timer: VirtualTimer = { id, due: this.current + delay, seq: this.nextSeq++, periodMs, fn };
    this.timers.set(id, timer);
    this.push(timer);
    return { id };
  }

  /** The live timer with the smallest (due, seq); stale heap entries (cleared timers) are discarded on the way. */
  private earliest(): VirtualTimer | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top) return undefined;
      if (this.timers.get(top.id) === top) return top;
      this.pop();
    }
  }

  private fire(timer: VirtualTimer): void {
    this.current = Math.max(this.current, timer.due);
    this.pop();
    if (timer.periodMs === undefined) {
      this.timers.delete(timer.id);
    } else {
      // A fresh entry, so the popped one can never be mistaken for it.
      const next: VirtualTimer = { ...timer, due: timer.due + timer.periodMs, seq: this.nextSeq++ };
      this.timers.set(timer.id, next);
      this.push(next);
    }
    timer.fn();
  }

  private rebuild(): void {
    this.heap.length = 0;
    const live = [...this.timers.values()].sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    // A sorted array is a valid min-heap.
    this.heap.push(...live);
  }

  private push(timer: VirtualTimer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
