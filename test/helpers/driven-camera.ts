import { join } from 'node:path';
import { Agent } from '../../src/agent/agent.js';
import type { VirtualClock } from '../../src/clock/virtual-clock.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { type DeviceProfileInput, DeviceProfileSchema } from '../../src/config/profile.js';
import { type Logger, silentLogger } from '../../src/log/logger.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import type { Bucket } from '../../src/storage/bucket.js';
import type { GrayFrame } from '../../src/video/frames.js';
import { REPO_ROOT } from './mqtt.js';

export const FRAME_WIDTH = 320;
export const FRAME_HEIGHT = 180;
export const FRAME_MS = 100;

/** A grey picture with a bright 40-pixel square at (x, y), in pixels. */
export function squareFrame(index: number, square: { x: number; y: number } | undefined): GrayFrame {
  const data = new Uint8Array(FRAME_WIDTH * FRAME_HEIGHT).fill(90);
  if (square) {
    for (let y = square.y; y < square.y + 40; y++)
      data.fill(230, y * FRAME_WIDTH + square.x, y * FRAME_WIDTH + square.x + 40);
  }
  return { index, ptsMs: index * FRAME_MS, width: FRAME_WIDTH, height: FRAME_HEIGHT, data };
}

/**
 * A replay-style agent: a virtual clock, a camera fed frame by frame (what moves is the frames handed to it; clips
 * are cut from the porch fixture at the same feed times), the camera at the footage's own size so clips stay cheap.
 */
export async function startDrivenAgent(options: {
  deviceId: string;
  clock: VirtualClock;
  dir: string;
  /** Broker URL; default: nothing listens (the device runs offline). */
  brokerUrl?: string;
  profile?: Partial<DeviceProfileInput>;
  ownerPublicKey?: string;
  /** Default: a folder bucket under `dir`. */
  bucket?: Bucket;
  /** Default: silent. */
  logger?: Logger;
}): Promise<DrivenAgent> {
  const loaded = await loadProfile('wired-1080p');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const { video: _video, ...base } = loaded.value.profile;
  const profile = DeviceProfileSchema.parse({
    ...base,
    motion: { ...base.motion, analysisWidth: FRAME_WIDTH },
    resolution: { width: 640, height: 360 },
    fps: 15,
    ...options.profile,
  });
  const agent = new Agent({
    deviceId: options.deviceId,
    profile: { ...loaded.value, profile },
    broker: {
      kind: 'external',
      connection: BrokerConnectionSchema.parse({
        url: options.brokerUrl ?? 'mqtt://127.0.0.1:1',
        reconnectPeriodMs: options.brokerUrl ? 200 : 60_000,
      }),
    },
    dataDir: join(options.dir, 'data'),
    bucket: join(options.dir, 'bucket'),
    ...(options.bucket ? { bucketInstance: options.bucket } : {}),
    video: join(REPO_ROOT, 'fixtures/video/person-crossing.mp4'),
    drivenCamera: true,
    clock: options.clock,
    logger: options.logger ?? silentLogger(),
    bootMs: 0,
    ...(options.ownerPublicKey ? { ownerPublicKey: options.ownerPublicKey } : {}),
  });
  await agent.start();
  options.clock.advance(1);
  return new DrivenAgent(agent, options.clock);
}

/** Shows frames to a driven agent's camera, one every FRAME_MS of device time. */
export class DrivenAgent {
  private index = 0;

  constructor(
    readonly agent: Agent,
    private readonly clock: VirtualClock,
  ) {}

  /** A square walking right to left from `fromX`, 3 pixels a frame. */
  walk(fromX: number, count: number, y = 70): void {
    for (let i = 0; i < count; i++) this.show(squareFrame(this.index++, { x: fromX - i * 3, y }));
  }

  still(count: number): void {
    for (let i = 0; i < count; i++) this.show(squareFrame(this.index++, undefined));
  }

  private show(frame: GrayFrame): void {
    this.agent.cameraFeed!.pushFrame(frame);
    this.clock.advance(FRAME_MS);
  }
}
