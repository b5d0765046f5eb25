import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { type DrivenAgent, startDrivenAgent } from '../helpers/driven-camera.js';
import { tempDir } from '../helpers/mqtt.js';

/** The right half of the picture is the neighbour's: nothing there may count as motion. */
const PRIVATE_HALF = [
  [0.5, 0],
  [1, 0],
  [1, 1],
  [0.5, 1],
] as [number, number][];

describe('privacy zones mask motion, before and after every settings change', () => {
  const clock = new VirtualClock(Date.parse('2026-03-14T18:30:00Z'));
  let camera: DrivenAgent;
  const motionStarts: string[] = [];

  /** Shows `count` frames: a square walking right to left at `fromX`, one frame per 100 ms of device time. */
  const walk = (fromX: number, count: number) => camera.walk(fromX, count);
  const still = (count: number) => camera.still(count);

  beforeAll(async () => {
    camera = await startDrivenAgent({
      deviceId: 'privacy-masks',
      clock,
      dir: tempDir(),
      profile: {
        privacy: { zones: [{ name: 'neighbour', polygon: PRIVATE_HALF }], encryption: { enabled: false } },
      },
    });
    camera.agent.bus.subscribe((event) => {
      if (event.kind === 'motion' && event.payload.type === 'start') motionStarts.push(event.payload.at);
    });
    still(20);
  });

  afterAll(async () => {
    await camera?.agent.stop();
  });

  it('outside the zone a walker is motion (the detector sees these frames at all)', () => {
    walk(120, 30);
    still(40);
    expect(motionStarts).toHaveLength(1);
  });

  it('inside the zone a walker is not motion at start-up', () => {
    motionStarts.length = 0;
    walk(270, 30);
    still(40);
    expect(motionStarts).toEqual([]);
  });

  it('nor after a sensitivity change, a config-set or motion off and on again', () => {
    motionStarts.length = 0;
    camera.agent.reconfigure({ motion: { sensitivity: 'high' } });
    still(20);
    walk(270, 30);
    still(40);
    camera.agent.reconfigure({ retentionDays: 30 });
    still(20);
    walk(270, 30);
    still(40);
    camera.agent.reconfigure({ motion: { enabled: false } });
    camera.agent.reconfigure({ motion: { enabled: true } });
    still(20);
    walk(270, 30);
    still(40);
    expect(motionStarts).toEqual([]);
    expect(camera.agent.cameraFeed!.currentSettings.masks.map((mask) => mask.polygon)).toContainEqual(
      PRIVATE_HALF,
    );
  });

  it('a privacy zone the owner adds masks motion from the next frame', () => {
    motionStarts.length = 0;
    const leftHalf = PRIVATE_HALF.map(([x, y]) => [x - 0.5, y]);
    camera.agent.reconfigure({
      privacy: {
        zones: [
          { name: 'neighbour', polygon: PRIVATE_HALF },
          { name: 'street', polygon: leftHalf },
        ],
      },
    });
    still(20);
    walk(120, 30);
    still(40);
    expect(motionStarts).toEqual([]);
  });
});
