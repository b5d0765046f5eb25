import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { DeviceProfileSchema } from '../../src/config/profile.js';
import {
  ClipEventSchema,
  type DeviceState,
  MotionEventSchema,
  ResponseSchema,
} from '../../src/events/schemas.js';
import { silentLogger } from '../../src/log/logger.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import { decryptFile } from '../../src/privacy/envelope.js';
import { generateOwnerKeys } from '../../src/privacy/owner-keys.js';
import { probe } from '../../src/video/ffmpeg/probe.js';
import { grabFrame } from '../../src/video/ffmpeg/still.js';
import { REPO_ROOT, type Recorder, subscriber, tempDir } from '../helpers/mqtt.js';

const FIXTURE = join(REPO_ROOT, 'fixtures/video/person-crossing.mp4');
const truth = JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures/video/person-crossing.json'), 'utf8'));
const FRAME_MS = 1000 / truth.fps;
/** Left third of the picture is private. */
const PRIVATE = [
  [0, 0],
  [0.33, 0],
  [0.33, 1],
  [0, 1],
] as [number, number][];

async function startRecordingAgent(url: string, dir: string, encrypt: { publicKeyPath: string } | undefined) {
  const loaded = await loadProfile('wired-1080p');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const profile = DeviceProfileSchema.parse({
    ...loaded.value.profile,
    button: { debounceMs: 0, chimeWindowMs: 0 },
    recording: { preRollMs: 1000, postRollMs: 1000, maxClipMs: 60_000 },
    // The camera at the footage's own size: clips stay cheap (their size is tested in test/recording/).
    resolution: { width: 640, height: 360 },
    fps: 15,
    privacy: {
      zones: [{ name: 'neighbour', polygon: PRIVATE }],
      // Encryption off in the profile: the owner's key alone (`--owner-key`) must turn it on.
      encryption: { enabled: false },
    },
  });
  const agent = new Agent({
    deviceId: encrypt ? 'rec-enc' : 'rec-plain',
    profile: { ...loaded.value, profile },
    broker: { kind: 'external', connection: BrokerConnectionSchema.parse({ url, reconnectPeriodMs: 200 }) },
    dataDir: join(dir, 'data'),
    bucket: join(dir, 'bucket'),
    video: FIXTURE,
    logger: silentLogger(),
    bootMs: 0,
    ...(encrypt ? { ownerPublicKey: encrypt.publicKeyPath } : {}),
  });
  await agent.start();
  return agent;
}

describe('agent recording: motion → clip in the bucket → events/clip', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  const dir = tempDir();
  const keys = generateOwnerKeys();
  let plain: Agent;
  let encrypted: Agent;
  let watch: Recorder;
  /** What the console sees: every state on the device's bus. */
  const busStates: DeviceState[] = [];

  beforeAll(async () => {
    await broker.start();
    writeFileSync(join(dir, 'owner.pub.pem'), keys.publicKeyPem);
    watch = await subscriber(broker.url, ['doorbell/rec-plain/#', 'doorbell/rec-enc/#']);
    plain = await startRecordingAgent(broker.url, join(dir, 'plain'), undefined);
    plain.bus.subscribe((event) => {
      if (event.kind === 'state') busStates.push(event.payload);
    });
    encrypted = await startRecordingAgent(broker.url, join(dir, 'enc'), {
      publicKeyPath: join(dir, 'owner.pub.pem'),
    });
    // Ring during the motion: it must join the motion's clip, not make a second one.
    await watch.waitForTopic(
      'doorbell/rec-plain/events/motion',
      (t) => JSON.parse(t).type === 'start',
      15_000,
    );
    plain.press('button');
    await watch.waitFor(
      (ms) =>
        ['rec-plain', 'rec-enc'].every((id) => ms.some((m) => m.topic === `doorbell/${id}/events/clip`)),
      40_000,
      'both clip events',
    );
  }, 60_000);

  // stop() lets the clip being encoded finish: that takes a while on a busy 2-core machine.
  afterAll(async () => {
    await watch?.client.endAsync();
    await plain?.stop();
    await encrypted?.stop();
    await broker.stop();
  }, 120_000);

  const clipOf = (id: string) =>
    ClipEventSchema.parse(JSON.parse(watch.on(`doorbell/${id}/events/clip`)[0]!.text));
  const bucketFile = (id: string) =>
    join(dir, id === 'rec-plain' ? 'plain' : 'enc', 'bucket', clipOf(id).key);

  it('announces the clip only once the bucket holds it, with matching size and sha256', () => {
    const clip = clipOf('rec-plain');
    const bytes = readFileSync(bucketFile('rec-plain'));
    expect(bytes.byteLength).toBe(clip.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(clip.sha256);
    expect(clip.key).toMatch(/^clips\/rec-plain\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.mp4$/);
    const meta = JSON.parse(readFileSync(`${bucketFile('rec-plain')}.meta.json`, 'utf8')).metadata;
    expect(meta['retention-days']).toBe('60');
    expect(Date.parse(meta['retain-until']) - Date.parse(meta['recorded-at'])).toBe(60 * 86_400_000);
    expect(clip.retainUntil).toBe(meta['retain-until']);
    // A folder bucket's links are served by the console, and none runs here: no link rather than a dead one.
    expect(clip).not.toHaveProperty('url');
  });

  it('one clip for the motion and the ring inside it, covering [start − preRoll, end + postRoll]', async () => {
    expect(watch.on('doorbell/rec-plain/events/clip')).toHaveLength(1);
    const clip = clipOf('rec-plain');
    expect(clip.trigger).toBe('motion');
    const motion = watch
      .on('doorbell/rec-plain/events/motion')
      .map((m) => MotionEventSchema.parse(JSON.parse(m.text)));
    const start = motion.find((m) => m.type === 'start')!;
    const end = motion.find((m) => m.type === 'end')!;
    expect(Date.parse(clip.startedAt)).toBeCloseTo(Date.parse(start.at) - 1000, -2);
    expect(Date.parse(clip.endedAt)).toBeCloseTo(Date.parse(end.endedAt!) + 1000, -2);
    const info = await probe(bucketFile('rec-plain'));
    const expectedMs = Date.parse(clip.endedAt) - Date.parse(clip.startedAt);
    expect(Math.abs(info.durationMs - expectedMs)).toBeLessThanOrEqual(FRAME_MS * 1.5);
    // The clip names the events of the visit that made it: the motion start that opened it, the ding inside it.
    const ding = JSON.parse(watch.on('doorbell/rec-plain/events/ding')[0]!.text);
    expect(clip.triggerEventIds).toEqual([start.id, ding.id]);
    // The ding came after the motion event was seen, so the clip event follows the ding.
    const order = watch.messages.map((m) => m.topic);
    expect(order.indexOf('doorbell/rec-plain/events/clip')).toBeGreaterThan(
      order.indexOf('doorbell/rec-plain/events/ding'),
    );
  });

  it("names the clip's thumbnail: a JPEG beside the clip in the bucket", () => {
    const clip = clipOf('rec-plain');
    expect(clip.thumbnailKey).toBe(clip.key.replace(/\.mp4$/, '.jpg'));
    const jpeg = readFileSync(join(dir, 'plain', 'bucket', clip.thumbnailKey!));
    expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
  });

  it('queue depths agree everywhere: the bus (console), request/state and the retained state', async () => {
    const ringing = busStates.find((state) => state.status === 'ringing');
    expect(ringing?.queues.outbox, 'the ding waits in the outbox when the ringing state goes out').toBe(1);
    expect(Math.max(...busStates.map((state) => state.queues.uploads))).toBe(1);
    await watch.waitFor(() => plain.state().queues.uploads === 0, 5000, 'the upload queue to drain');
    expect(busStates.at(-1)!.queues.uploads, 'the console is told the clip left the queue').toBe(0);
    const late = await subscriber(broker.url, [
      'doorbell/rec-plain/state',
      'doorbell/rec-plain/response/state',
    ]);
    const retained = await late.waitForTopic('doorbell/rec-plain/state');
    await late.client.publishAsync('doorbell/rec-plain/request/state', '', { qos: 1 });
    const answer = await late.waitForTopic('doorbell/rec-plain/response/state');
    await late.client.endAsync();
    const requested = ResponseSchema.parse(JSON.parse(answer.text)).data as DeviceState;
    // The outbox depth is sampled when a state goes out (the clip event may still be in flight then).
    expect(JSON.parse(retained.text).queues.uploads).toBe(0);
    expect(requested.queues).toEqual({ outbox: 0, uploads: 0 });
  });

  it('motion start matches the fixture ground truth within 2 frames', () => {
    const start = watch
      .on('doorbell/rec-plain/events/motion')
      .map((m) => MotionEventSchema.parse(JSON.parse(m.text)))
      .find((m) => m.type === 'start')!;
    const clip = clipOf('rec-plain');
    const feedStartMs = Date.parse(clip.startedAt) + 1000 - truth.motion[0].startMs;
    expect(Math.abs(Date.parse(start.at) - (feedStartMs + truth.motion[0].startMs))).toBeLessThanOrEqual(
      2 * FRAME_MS,
    );
  });

  it('labels its motion from the ground truth beside the video (person-crossing.json): a person', () => {
    const motion = watch
      .on('doorbell/rec-plain/events/motion')
      .map((m) => MotionEventSchema.parse(JSON.parse(m.text)));
    expect(motion.length).toBeGreaterThanOrEqual(2);
    expect(motion.map((m) => [m.type, m.labels])).toEqual(motion.map((m) => [m.type, ['person']]));
  });

  it('privacy zone pixels are black in the recorded clip and in the snapshot', async () => {
    const frame = await grabFrame({ input: bucketFile('rec-plain'), atMs: 3000, format: 'rgb' });
    expect(brightness(frame.data, frame.width, frame.height, 0, 0.3).max).toBeLessThanOrEqual(24);
    expect(brightness(frame.data, frame.width, frame.height, 0.4, 1).mean).toBeGreaterThan(40);
    const snapshot = watch.on('doorbell/rec-plain/snapshot').at(-1);
    expect(snapshot, 'a snapshot is published on a ding').toBeDefined();
    const late = await subscriber(broker.url, 'doorbell/rec-plain/snapshot');
    const retained = await late.waitForTopic('doorbell/rec-plain/snapshot');
    await late.client.endAsync();
    expect(retained.retain).toBe(true);
    expect(retained.payload.subarray(0, 2).toString('hex')).toBe('ffd8');
    const sharp = (await import('sharp')).default;
    const { data, info } = await sharp(snapshot!.payload)
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(brightness(data, info.width, info.height, 0, 0.3).max).toBeLessThanOrEqual(24);
    expect(brightness(data, info.width, info.height, 0.4, 1).mean).toBeGreaterThan(40);
  });

  it('an encrypted clip has no MP4 signature in the bucket and round-trips with the owner key', async () => {
    const clip = clipOf('rec-enc');
    expect(clip.encrypted).toBe(true);
    const stored = readFileSync(bucketFile('rec-enc'));
    expect(stored.subarray(4, 8).toString('latin1')).not.toBe('ftyp');
    expect(stored.includes(Buffer.from('ftypisom'))).toBe(false);
    const out = join(dir, 'decrypted.mp4');
    await decryptFile(bucketFile('rec-enc'), out, keys.privateKeyPem);
    expect(readFileSync(out).subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect((await probe(out)).durationMs).toBeGreaterThan(3000);
  });
});

/** Max and mean of the first channel of an RGB image between two normalized x positions. */
function brightness(rgb: Uint8Array, width: number, height: number, fromX: number, toX: number) {
  let max = 0;
  let sum = 0;
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = Math.ceil(fromX * width); x < Math.floor(toX * width); x++) {
      const v = rgb[(y * width + x) * 3]!;
      max = Math.max(max, v);
      sum += v;
      count++;
    }
  }
  return { max, mean: sum / count };
}
