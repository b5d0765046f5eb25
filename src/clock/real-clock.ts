import type { Clock, TimerHandle } from './clock.js';

interface RealHandle extends TimerHandle {
  readonly native: NodeJS.Timeout;
}

export class RealClock implements Clock {
  private nextId = 1;

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const native = setTimeout(fn, ms);
    native.unref?.();
    return { id: this.nextId++, native } as RealHandle;
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const native = setInterval(fn, ms);
    native.unref?.();
    return { id: this.nextId++, native } as RealHandle;
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return;
    clearTimeout((handle as RealHandle).native);
  }
}
