import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { RetentionSweeper } from '../../src/retention/sweeper.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';

describe('the retention sweeper keeps its cron schedule on the device clock', () => {
  it('hourly: one sweep per virtual HH:00, none from the wall clock', async () => {
    const clock = new VirtualClock(Date.parse('2026-03-14T18:59:30.000Z'));
    const sweeps: string[] = [];
    const sweeper = new RetentionSweeper({
      bucket: new FsBucket(mkdtempSync(join(tmpdir(), 'sweeper-clock-'))),
      clock,
      cron: '0 * * * *',
      timezone: 'UTC',
      onSweep: (report) => sweeps.push(report.at),
    });
    sweeper.start();
    expect(sweeper.nextRun()?.toISOString()).toBe('2026-03-14T19:00:00.000Z');
    // Real time passes, virtual time does not: a wall-clock HH:00 must not sweep a replay.
    await new Promise((r) => setTimeout(r, 1200));
    expect(sweeps).toEqual([]);
    // A sweep reports when its bucket walk is done: wait for each before the next hour.
    const sweepsDone = (count: number) => expect.poll(() => sweeps.length).toBe(count);
    clock.advance(30_000);
    await sweepsDone(1);
    clock.advance(59 * 60_000);
    expect(clock.nextDue()).toBe(Date.parse('2026-03-14T20:00:00.000Z'));
    expect(sweeps).toEqual(['2026-03-14T19:00:00.000Z']);
    clock.advance(60_000);
    await sweepsDone(2);
    for (const [hour, count] of [
      [21, 3],
      [22, 4],
    ] as const) {
      clock.advance(3_600_000);
      await sweepsDone(count);
      expect(sweeps.at(-1)).toBe(`2026-03-14T${hour}:00:00.000Z`);
    }
    expect(sweeps).toEqual([
      '2026-03-14T19:00:00.000Z',
      '2026-03-14T20:00:00.000Z',
      '2026-03-14T21:00:00.000Z',
      '2026-03-14T22:00:00.000Z',
    ]);
    await sweeper.stop();
    // Nothing left on the clock: no later hour can sweep.
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(3_600_000);
    expect(sweeps).toHaveLength(4);
    expect(sweeper.nextRun()).toBeUndefined();
  });
});
