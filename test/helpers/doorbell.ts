import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { type DeviceProfileInput, DeviceProfileSchema } from '../../src/config/profile.js';
import { Doorbell } from '../../src/device/doorbell.js';
import { EventBus } from '../../src/events/bus.js';
import type { DeviceEvent } from '../../src/events/schemas.js';

export const baseProfile: DeviceProfileInput = {
  model: 'Test Bell',
  manufacturer: 'Tests Inc.',
  firmwareVersion: '1.0.0',
  resolution: { width: 1280, height: 720 },
  fps: 15,
  power: { source: 'wired' },
};

/** A Doorbell on a VirtualClock; by default a listener that throws fails the test (its error is rethrown). */
export function makeDoorbell(
  overrides: Partial<DeviceProfileInput> = {},
  bootMs = 500,
  onListenerError: (error: unknown) => void = (error) => {
    throw error;
  },
) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const events: DeviceEvent[] = [];
  const bus = new EventBus(onListenerError);
  bus.subscribe((event) => events.push(event));
  let seq = 0;
  const profile = DeviceProfileSchema.parse({ ...baseProfile, ...overrides });
  const doorbell = new Doorbell({
    deviceId: 'front-door',
    profile,
    clock,
    bus,
    nextSeq: () => ++seq,
    bootMs,
  });
  /** Rings (the started message of each ring's thread). */
  const dings = () => events.filter((e) => e.kind === 'ding');
  /** Rings' ends: how each was answered or missed. */
  const dingEnds = () => events.filter((e) => e.kind === 'ding-ended');
  return { clock, events, bus, doorbell, profile, dings, dingEnds };
}
