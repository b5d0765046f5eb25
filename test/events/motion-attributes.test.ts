import { describe, expect, it } from 'vitest';
import { type DeviceEvent, nextMotionAttributes } from '../../src/events/schemas.js';
import { makeDoorbell } from '../helpers/doorbell.js';

const BOX = { x: 0.1, y: 0.2, w: 0.3, h: 0.4 };

/** A motion and a clip from a real doorbell, as the MQTT side sees them. */
function events() {
  const { clock, doorbell, events } = makeDoorbell();
  doorbell.start();
  clock.advance(1_000);
  doorbell.motion({ type: 'start', atMs: clock.now(), score: 0.5, box: BOX, zones: ['porch'] });
  clock.advance(1_000);
  const clip = {
    clipId: 'front-door-000001',
    trigger: 'motion' as const,
    startedAt: new Date(clock.now() - 6_000).toISOString(),
    endedAt: new Date(clock.now()).toISOString(),
    bytes: 10,
    sha256: 'a'.repeat(64),
    bucket: 'file:///b',
    key: 'clips/front-door/2026/01/01/front-door-000001.mp4',
    retainUntil: new Date(clock.now() + 60 * 86_400_000).toISOString(),
    encrypted: false,
    triggerEventIds: ['front-door-000001'],
  };
  doorbell.clipStored({ ...clip, clipId: 'no-link' });
  doorbell.clipStored({
    ...clip,
    url: 'http://door/shared/x?sig=1',
    urlExpiresAt: '2026-01-01T00:15:02.000Z',
  });
  clock.advance(1_000);
  doorbell.motion({ type: 'end', atMs: clock.now(), score: 0.2, box: BOX, zones: ['porch'] });
  return events.filter((e) => e.kind !== 'state');
}

describe('motion attributes (the retained json_attributes_topic)', () => {
  it("follow each motion message and keep the latest clip's link across them", () => {
    const seen: Array<ReturnType<typeof nextMotionAttributes>['motion']> = [];
    let now = {};
    for (const event of events() as DeviceEvent[]) {
      now = nextMotionAttributes(now, event);
      seen.push((now as ReturnType<typeof nextMotionAttributes>).motion);
    }
    expect(seen.map((a) => [a?.thread, a?.lastClipUrl])).toEqual([
      ['started', undefined],
      ['started', undefined], // a clip without a link changes nothing
      ['started', 'http://door/shared/x?sig=1'],
      ['ended', 'http://door/shared/x?sig=1'],
    ]);
    expect(seen.at(-1)).toMatchObject({ lastClipUrlExpiresAt: '2026-01-01T00:15:02.000Z', score: 0.2 });
  });

  it('remember a link that comes before any motion, and show it with the first one', () => {
    const [start, , linked] = events();
    const before = nextMotionAttributes({}, linked!);
    expect(before.motion).toBeUndefined();
    expect(nextMotionAttributes(before, start!).motion?.lastClipUrl).toBe('http://door/shared/x?sig=1');
  });
});
