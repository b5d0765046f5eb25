import type { Clock, TimerHandle } from './clock.js';

interface WheelTimer {
  readonly id: number;
  due: number;
  readonly periodMs: number | undefined;
  readonly fn: () => void;
  slot: number;
}

/** What mqtt.js takes as `timerVariant` for its keepalive: interval semantics, numeric ids. */
export interface IntervalTimer {
  set: (fn: () => void, ms: number) => number;
  clear: (id: number) => void;
}

export interface TimerWheelOptions {
  /** Where time comes from (default: the wall clock). */
  now?: () => number;
  /** Resolution: a timer fires within one tick after it is due (default 10 ms). */
  tickMs?: number;
  /** Slots of the wheel; one revolution is slots × tickMs, later timers wait a round in their slot (default 2048). */
  slots?: number;
  /**
   * What calls tick(): by default one unref'd native interval, armed only while a timer is pending. Tests pass
   * `null` and call tick() themselves.
   */
  drive?: ((tick: () => void, everyMs: number) => () => void) | null;
}

/**
 * A Clock for thousands of timers on real time: one native interval turns a hashed wheel of slots, so setting and
 * clearing a timer is a Map insert and delete, not a node timer (each of which is a priority-queue entry in libuv
 * and a reschedule on every MQTT packet for keepalives). Timers fire within one tick after they are due.
 */
export class TimerWheel implements Clock {
  private readonly slots: Array<Map<number, WheelTimer>>;
  private readonly byId = new Map<number, WheelTimer>();
  private readonly tickMs: number;
  private readonly nowFn: () => number;
  private readonly drive: ((tick: () => void, everyMs: number) => () => void) | null;
  private stopDriver: (() => void) | undefined;
  private nextId = 1;
  /** The last tick whose slot was processed. */
  private lastTick: number;

  constructor(options: TimerWheelOptions = {}) {
    this.tickMs = Math.max(1, options.tickMs ?? 10);
    this.nowFn = options.now ?? Date.now;
    this.drive = options.drive === undefined ? nativeDriver : options.drive;
    this.slots = Array.from({ length: Math.max(1, options.slots ?? 2048) }, () => new Map());
    this.lastTick = Math.floor(this.nowFn() / this.tickMs);
  }

  now(): number {
    return this.nowFn();
  }

  get pending(): number {
    return this.byId.size;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return { id: this.add(fn, ms, undefined) };
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return { id: this.add(fn, ms, Math.max(this.tickMs, ms)) };
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (handle) this.cancel(handle.id);
  }

  /** The same wheel as mqtt.js's keepalive timer. */
  readonly intervalTimer: IntervalTimer = {
    set: (fn, ms) => this.add(fn, ms, Math.max(this.tickMs, ms)),
    clear: (id) => this.cancel(id),
  };

  /** Fires every timer due by now, in due-slot order. */
  tick(): void {
    const now = this.nowFn();
    const target = Math.floor(now / this.tickMs);
    // Behind by more than a revolution (a blocked event loop): each slot once covers them all.
    const from = Math.max(this.lastTick + 1, target - this.slots.length + 1);
    this.lastTick = target;
    for (let t = from; t <= target; t++) {
      const slot = this.slots[t % this.slots.length]!;
      for (const timer of [...slot.values()]) {
        // Cleared (or moved) by a timer that fired before it in this slot.
        if (timer.due > now || slot.get(timer.id) !== timer) continue;
        slot.delete(timer.id);
        if (timer.periodMs === undefined) this.byId.delete(timer.id);
        else {
          timer.due = Math.max(timer.due + timer.periodMs, now + 1);
          this.place(timer);
        }
        try {
          timer.fn();
        } catch (error) {
          // As a node timer would: the error is uncaught, but the other due timers still fire.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
    if (this.byId.size === 0) this.park();
  }

  private add(fn: () => void, ms: number, periodMs: number | undefined): number {
    const delay = Number.isFinite(ms) ? Math.max(0, ms) : 0;
    const timer: WheelTimer = { id: this.nextId++, due: this.nowFn() + delay, periodMs, fn, slot: 0 };
    this.byId.set(timer.id, timer);
    this.place(timer);
    if (!this.stopDriver && this.drive) {
      // Ticks missed while parked are not owed to anyone: start counting from now.
      this.lastTick = Math.floor(this.nowFn() / this.tickMs);
      this.stopDriver = this.drive(() => this.tick(), this.tickMs);
    }
    return timer.id;
  }

  private place(timer: WheelTimer): void {
    // A timer due at or before the current tick goes in the next slot: the current one has been processed.
    const tick = Math.max(Math.ceil(timer.due / this.tickMs), this.lastTick + 1);
    timer.slot = tick % this.slots.length;
    this.slots[timer.slot]!.set(timer.id, timer);
  }

  private cancel(id: number): void {
    const timer = this.byId.get(id);
    if (!timer) return;
    this.byId.delete(id);
    this.slots[timer.slot]!.delete(id);
    if (this.byId.size === 0) this.park();
  }

  private park(): void {
    this.stopDriver?.();
    this.stopDriver = undefined;
  }
}

function nativeDriver(tick: () => void, everyMs: number): () => void {
  const native = setInterval(tick, everyMs);
  native.unref();
  return () => clearInterval(native);
}
