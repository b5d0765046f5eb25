/** Everything that reads time takes a Clock, so replay can run on virtual time. */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle | undefined): void;
}

export function isoAt(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
