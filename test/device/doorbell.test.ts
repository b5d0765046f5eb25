import { describe, expect, it } from 'vitest';
import { DeviceStateSchema, DingEventSchema, MotionEventSchema } from '../../src/events/schemas.js';
import { makeDoorbell } from '../helpers/doorbell.js';

describe('Doorbell state machine', () => {
  it('boots, then goes idle; presses while booting are refused', () => {
    const { clock, doorbell, dings } = makeDoorbell();
    doorbell.start();
    expect(doorbell.currentStatus).toBe('booting');
    expect(doorbell.press('cli')).toEqual({ accepted: false, reason: 'booting' });
    clock.advance(500);
    expect(doorbell.currentStatus).toBe('idle');
    expect(doorbell.press('cli')).toMatchObject({ accepted: true, seq: 1 });
    expect(dings()).toHaveLength(1);
  });

  it('a bouncing contact makes one ding', () => {
    const { clock, doorbell, dings } = makeDoorbell({ button: { debounceMs: 50, chimeWindowMs: 0 } });
    doorbell.start();
    clock.advance(1000);
    const outcomes = [0, 5, 10, 20, 30, 40].map((dt, i, all) => {
      clock.advance(dt - (all[i - 1] ?? 0));
      return doorbell.press('button');
    });
    expect(outcomes.filter((o) => o.accepted)).toHaveLength(1);
    expect(outcomes.slice(1).every((o) => !o.accepted && o.reason === 'bounce')).toBe(true);
    expect(dings()).toHaveLength(1);
    clock.advance(100);
    expect(doorbell.press('button').accepted).toBe(true);
    expect(dings()).toHaveLength(2);
  });

  it('a held button (repeats under the debounce interval) makes one ding', () => {
    const { clock, doorbell, dings } = makeDoorbell({ button: { debounceMs: 50, chimeWindowMs: 0 } });
    doorbell.start();
    clock.advance(1000);
    for (let i = 0; i < 100; i++) {
      doorbell.press('button');
      clock.advance(20);
    }
    expect(dings()).toHaveLength(1);
  });

  it('presses inside the chime window are suppressed and counted; the next one after it rings', () => {
    const { clock, doorbell, dings } = makeDoorbell({ button: { debounceMs: 50, chimeWindowMs: 3000 } });
    doorbell.start();
    clock.advance(1000);
    expect(doorbell.press('mqtt').accepted).toBe(true);
    expect(doorbell.currentStatus).toBe('ringing');
    clock.advance(1000);
    expect(doorbell.press('mqtt')).toEqual({ accepted: false, reason: 'chime-window' });
    clock.advance(1999);
    expect(doorbell.currentStatus).toBe('ringing');
    clock.advance(1);
    expect(doorbell.currentStatus).toBe('idle');
    expect(doorbell.press('mqtt').accepted).toBe(true);
    expect(dings()).toHaveLength(2);
    expect(doorbell.state().suppressedPresses).toBe(1);
    expect(doorbell.state().dings).toBe(2);
  });

  it('ding payloads follow the schema with the clock time and monotonic seq', () => {
    const { clock, doorbell, dings } = makeDoorbell({ button: { debounceMs: 10, chimeWindowMs: 0 } });
    doorbell.start();
    clock.advance(600);
    doorbell.press('scenario');
    clock.advance(600);
    doorbell.press('ui');
    const [first, second] = dings().map((e) => DingEventSchema.parse(e.payload));
    expect(first).toMatchObject({ v: 1, deviceId: 'front-door', event_type: 'ring', source: 'scenario' });
    expect(first!.at).toBe('2026-01-01T00:00:00.600Z');
    expect(second!.seq).toBeGreaterThan(first!.seq);
    expect(second!.id).not.toBe(first!.id);
  });

  it('drains a battery over simulated days, in order, and refuses presses when empty', () => {
    const { clock, doorbell, events } = makeDoorbell({
      power: { source: 'battery', capacityMah: 100, idleDrawMa: 1, dingCostMah: 0.5 },
      telemetryIntervalMs: 60_000,
    });
    const started = performance.now();
    doorbell.start();
    clock.advance(24 * 3_600_000);
    const afterOneDay = doorbell.state().battery!;
    expect(afterOneDay).toBeCloseTo(76, 0);
    clock.advance(77 * 3_600_000); // 100 mAh at 1 mA lasts 100 h
    expect(doorbell.state().battery).toBe(0);
    expect(doorbell.state().healthy).toBe(false);
    expect(doorbell.press('button')).toEqual({ accepted: false, reason: 'battery-empty' });
    const levels = events
      .filter((e) => e.kind === 'state')
      .map((e) => (e.payload as { battery: number }).battery);
    expect(levels.length).toBeGreaterThan(101 * 60 - 5);
    expect(levels.every((level, i) => i === 0 || level <= levels[i - 1]!)).toBe(true);
    // Four simulated days must not take four days: virtual time is a loop, not a wait.
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('each ding costs charge', () => {
    const { clock, doorbell } = makeDoorbell({
      power: { source: 'battery', capacityMah: 100, idleDrawMa: 0, dingCostMah: 1 },
      button: { debounceMs: 0, chimeWindowMs: 0 },
    });
    doorbell.start();
    clock.advance(1000);
    for (let i = 0; i < 10; i++) {
      doorbell.press('button');
      clock.advance(10);
    }
    expect(doorbell.state().battery).toBe(90);
  });

  it('telemetry wanders RSSI around the profile base, deterministically per device', () => {
    const run = () => {
      const { clock, doorbell } = makeDoorbell({ wifi: { baseRssiDbm: -60, jitterDbm: 4 } });
      doorbell.start();
      const seen: number[] = [];
      for (let i = 0; i < 200; i++) {
        clock.advance(60_000);
        seen.push(doorbell.state().rssi);
      }
      return seen;
    };
    const a = run();
    expect(run()).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(3);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-75);
    expect(Math.max(...a)).toBeLessThanOrEqual(-45);
  });

  it('motion start/update/end become events; ignored while disabled', () => {
    const { clock, doorbell, events } = makeDoorbell();
    doorbell.start();
    clock.advance(1000);
    const box = { x: 0.1, y: 0.2, w: 0.3, h: 0.4 };
    doorbell.motion({ type: 'start', atMs: clock.now(), score: 0.4, box, zones: ['porch'] });
    expect(doorbell.state().motion).toBe(true);
    doorbell.motion({ type: 'update', atMs: clock.now() + 500, score: 0.5, box, zones: ['porch'] });
    doorbell.motion({ type: 'end', atMs: clock.now() + 2000, score: 0.1, box, zones: ['porch'] });
    const motion = events.filter((e) => e.kind === 'motion').map((e) => MotionEventSchema.parse(e.payload));
    expect(motion.map((m) => m.type)).toEqual(['start', 'update', 'end']);
    expect(motion[2]!.endedAt).toBe('2026-01-01T00:00:03.000Z');
    expect(motion[0]!.startedAt).toBe('2026-01-01T00:00:01.000Z');
    doorbell.setMotionEnabled(false);
    doorbell.motion({ type: 'start', atMs: clock.now(), score: 0.4, box, zones: [] });
    expect(events.filter((e) => e.kind === 'motion')).toHaveLength(3);
    expect(doorbell.state().motionEnabled).toBe(false);
  });

  it('reboot goes through rebooting and booting back to idle', () => {
    const { clock, doorbell, events } = makeDoorbell();
    doorbell.start();
    clock.advance(1000);
    doorbell.reboot();
    clock.advance(1000);
    const statuses = events
      .filter((e) => e.kind === 'state')
      .map((e) => DeviceStateSchema.parse(e.payload).status);
    expect(statuses).toEqual(['booting', 'idle', 'rebooting', 'booting', 'idle']);
  });

  it('a listener that throws does not break the doorbell or other listeners', () => {
    const errors: unknown[] = [];
    const { clock, doorbell, bus, dings } = makeDoorbell({}, 500, (e) => errors.push(e));
    bus.subscribe(() => {
      throw new Error('listener failed');
    });
    doorbell.start();
    clock.advance(1000);
    expect(doorbell.press('cli').accepted).toBe(true);
    expect(dings()).toHaveLength(1);
    expect(errors.length).toBeGreaterThan(0);
  });
});
