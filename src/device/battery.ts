import type { DeviceProfile } from '../config/profile.js';

const MS_PER_HOUR = 3_600_000;

/** Charge bookkeeping for a battery doorbell; pure, driven by the times it is told. */
export class Battery {
  private usedMah = 0;
  private lastIdleAt: number;

  constructor(
    private readonly power: Extract<DeviceProfile['power'], { source: 'battery' }>,
    startMs: number,
  ) {
    this.usedMah = power.capacityMah * (1 - power.initialPercent / 100);
    this.lastIdleAt = startMs;
  }

  /** Accounts idle draw up to `nowMs`. */
  settle(nowMs: number): void {
    if (nowMs <= this.lastIdleAt) return;
    this.usedMah += (this.power.idleDrawMa * (nowMs - this.lastIdleAt)) / MS_PER_HOUR;
    this.lastIdleAt = nowMs;
  }

  chargeDing(): void {
    this.usedMah += this.power.dingCostMah;
  }

  chargeRecording(seconds: number): void {
    this.usedMah += this.power.recordingCostMahPerS * Math.max(0, seconds);
  }

  percent(nowMs: number): number {
    this.settle(nowMs);
    const left = Math.max(0, this.power.capacityMah - this.usedMah);
    return Math.round((1000 * left) / this.power.capacityMah) / 10;
  }

  isEmpty(nowMs: number): boolean {
    return this.percent(nowMs) <= 0;
  }
}
