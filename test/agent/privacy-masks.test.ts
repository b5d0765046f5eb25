import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { DeviceProfileSchema } from '../../src/config/profile.js';
import { silentLogger } from '../../src/log/logger.js';
import type { GrayFrame } from '../../src/video/frames.js';
import { REPO_ROOT, tempDir } from '../helpers/mqtt.js';

/** The right half of the picture is the neighbour's: nothing there may count as motion. */
const PRIVATE_HALF = [
  [0.5, 0],
  [1, 0],
  [1, 1],
  [0.5, 1],
] as [number, number][];
const WIDTH = 320;
const HEIGHT = 180;
const FRAME_MS = 100;

/** A grey picture with a bright square at (x, y), in pixels. */
function frame(index: number, square: { x: number; y: number } | undefined): GrayFrame {
  const data = new Uint8Array(WIDTH * HEIGHT).fill(90);
  if (square) {
    for (let y = square.y; y < square.y + 40; y++)
      data.fill(230, y * WIDTH + square.x, y * WIDTH + square.x + 40);
  }
  return { index, ptsMs: index * FRAME_MS, width: WIDTH, height: HEIGHT, data };
}

describe('privacy zones mask motion, before and after every settings change', () => {
  const clock = new VirtualClock(Date.parse('2026-03-14T18:30:00Z'));
  let agent: Agent;
  let index = 0;
  const motionStarts: string[] = [];

  /** Shows `count` frames: a square walking right to left at `fromX`, one frame per 100 ms of device time. */
  function walk(fromX: number, count: number): void {
    for (let i = 0; i < count; i++) {
      agent.cameraFeed!.pushFrame(frame(index++, { x: fromX - i * 3, y: 70 }));
      clock.advance(FRAME_MS);
    }
  }

  function still(count: number): void {
    for (let i = 0; i < count; i++) {
      agent.cameraFeed!.pushFrame(frame(index++, undefined));
      clock.advance(FRAME_MS);
    }
  }

  beforeAll(async () => {
    const loaded = await loadProfile('wired-1080p');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const { video: _video, ...base } = loaded.value.profile;
    const profile = DeviceProfileSchema.parse({
      ...base,
      motion: { ...base.motion, analysisWidth: WIDTH },
      // The camera at the footage's own size: clips stay cheap (their size is tested in test/recording/).
      resolution: { width: 640, height: 360 },
      fps: 15,
      privacy: { zones: [{ name: 'neighbour', polygon: PRIVATE_HALF }], encryption: { enabled: false } },
    });
    const dir = tempDir();
    agent = new Agent({
      deviceId: 'privacy-masks',
      profile: { ...loaded.value, profile },
      // Nothing listens there: the device runs offline, which is all this test needs.
      broker: { kind: 'external', connection: { url: 'mqtt://127.0.0.1:1', ...CONNECTION } },
      dataDir: join(dir, 'data'),
      bucket: join(dir, 'bucket'),
      video: join(REPO_ROOT, 'fixtures/video/person-crossing.mp4'),
      drivenCamera: true,
      clock,
      logger: silentLogger(),
      bootMs: 0,
    });
    await agent.start();
    clock.advance(1);
    agent.bus.subscribe((event) => {
      if (event.kind === 'motion' && event.payload.type === 'start') motionStarts.push(event.payload.at);
    });
    still(20);
  });

  afterAll(async () => {
    await agent?.stop();
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
    agent.reconfigure({ motion: { sensitivity: 'high' } });
    still(20);
    walk(270, 30);
    still(40);
    agent.reconfigure({ retentionDays: 30 });
    still(20);
    walk(270, 30);
    still(40);
    agent.reconfigure({ motion: { enabled: false } });
    agent.reconfigure({ motion: { enabled: true } });
    still(20);
    walk(270, 30);
    still(40);
    expect(motionStarts).toEqual([]);
    expect(agent.cameraFeed!.currentSettings.masks.map((mask) => mask.polygon)).toContainEqual(PRIVATE_HALF);
  });

  it('a privacy zone the owner adds masks motion from the next frame', () => {
    motionStarts.length = 0;
    const leftHalf = PRIVATE_HALF.map(([x, y]) => [x - 0.5, y]);
    agent.reconfigure({
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

const CONNECTION = {
  rejectUnauthorized: true,
  protocolVersion: 4 as const,
  keepaliveS: 30,
  reconnectPeriodMs: 60_000,
};
