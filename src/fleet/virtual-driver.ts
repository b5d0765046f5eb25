import { VirtualClock } from '../clock/virtual-clock.js';

/** A virtual clock that a real-time ticker moves `speed` times faster than the wall clock. */
export class SpeedClock extends VirtualClock {
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly speed: number,
    private readonly tickMs = 20,
  ) {
    super(Date.now());
  }

  run(): void {
    if (this.ticker) return;
    let last = performance.now();
    this.ticker = setInterval(() => {
      const now = performance.now();
      this.advance((now - last) * this.speed);
      last = now;
    }, this.tickMs);
  }

  halt(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
