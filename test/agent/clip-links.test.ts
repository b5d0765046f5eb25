import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleBackend } from '../../src/agent/console-backend.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import {
  ClipEventSchema,
  ClipTopicSchema,
  DingEventSchema,
  MotionEventSchema,
} from '../../src/events/schemas.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { decryptFile } from '../../src/privacy/envelope.js';
import { generateOwnerKeys } from '../../src/privacy/owner-keys.js';
import { type ConsoleServer, startConsoleServer } from '../../src/ui/server.js';
import { type DrivenAgent, startDrivenAgent } from '../helpers/driven-camera.js';
import { type Recorder, subscriber, tempDir } from '../helpers/mqtt.js';
import { presignedWindow, type S3rverHandle, startS3rver } from '../storage/s3rver-harness.js';

const T0 = Date.parse('2026-05-10T18:30:00Z');
const MIN = 60_000;
/** One frame per 100 ms: 1 s of pre- and post-roll is 10 frames. */
const QUICK_CLIPS = {
  button: { debounceMs: 0, chimeWindowMs: 0 },
  recording: { preRollMs: 1000, postRollMs: 1000, maxClipMs: 60_000 },
};

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A device on a folder bucket with its console, on a virtual clock, watched over MQTT. */
async function startLinkedDevice(
  broker: EmbeddedBroker,
  deviceId: string,
  extra: { ownerPublicKey?: string } = {},
) {
  const clock = new VirtualClock(T0);
  const dir = tempDir();
  const watch = await subscriber(broker.url, `doorbell/${deviceId}/#`);
  const camera = await startDrivenAgent({
    deviceId,
    clock,
    dir,
    brokerUrl: broker.url,
    profile: QUICK_CLIPS,
    ...extra,
  });
  const server = await startConsoleServer({ backend: consoleBackend(camera.agent), port: 0 });
  camera.agent.setLinkOrigin(server.url);
  await watch.waitForTopic(`doorbell/${deviceId}/availability`, (t) => t === 'online', 10_000);
  return new LinkedDevice(deviceId, clock, camera, server, watch, dir);
}

class LinkedDevice {
  constructor(
    readonly id: string,
    readonly clock: VirtualClock,
    readonly camera: DrivenAgent,
    readonly server: ConsoleServer,
    readonly watch: Recorder,
    readonly dir: string,
  ) {}

  clips() {
    return this.watch
      .on(`doorbell/${this.id}/events/clip`)
      .map((m) => ClipTopicSchema.parse(JSON.parse(m.text)));
  }

  /** Someone walks up (motion), rings if `ring`, and walks off: resolves with the visit's events and its clip. */
  async visit(ring: boolean) {
    const before = this.watch.messages.length;
    const clipsBefore = this.clips().length;
    this.camera.still(10);
    this.camera.walk(120, 15);
    if (ring) expect(this.camera.agent.press('button').accepted, 'the bell rings').toBe(true);
    this.camera.walk(75, 15);
    // Motion ends, then the post-roll passes: the clip is cut, stored and announced.
    this.camera.still(40);
    await this.watch.waitFor(() => this.clips().length > clipsBefore, 30_000, `a clip event of ${this.id}`);
    const seen = this.watch.messages.slice(before);
    const motionStart = seen
      .filter((m) => m.topic === `doorbell/${this.id}/events/motion`)
      .map((m) => MotionEventSchema.parse(JSON.parse(m.text)))
      .find((m) => m.type === 'start');
    const ding = seen.find((m) => m.topic === `doorbell/${this.id}/events/ding`);
    const clip = this.clips().at(-1)!;
    if ('status' in clip) throw new Error(`the clip was lost: ${clip.reason}`);
    return { clip, motionStart, ding: ding ? DingEventSchema.parse(JSON.parse(ding.text)) : undefined };
  }

  /** The owner's config-set over MQTT; resolves with the response. */
  async configSet(patch: object) {
    const transaction = `cfg-${this.watch.messages.length}`;
    await this.watch.client.publishAsync(
      `doorbell/${this.id}/request/config-set`,
      JSON.stringify({ patch, transaction }),
      { qos: 1 },
    );
    const answer = await this.watch.waitForTopic(`doorbell/${this.id}/response/config-set`, (t) =>
      t.includes(transaction),
    );
    return JSON.parse(answer.text) as { status: string };
  }

  async stop() {
    await this.watch.client.endAsync();
    await this.server.stop();
    await this.camera.agent.stop();
  }
}

describe('clip events link the visit and the footage: folder bucket, served by the console', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  let device: LinkedDevice;
  let visit: Awaited<ReturnType<LinkedDevice['visit']>>;

  beforeAll(async () => {
    await broker.start();
    device = await startLinkedDevice(broker, 'links-plain');
    visit = await device.visit(true);
  }, 60_000);

  afterAll(async () => {
    await device?.stop();
    await broker.stop();
  }, 60_000);

  it("names the visit's motion start and ding as the clip's triggers, and its thumbnail", () => {
    const { clip, motionStart, ding } = visit;
    expect(motionStart, 'the walker is motion').toBeDefined();
    expect(ding, 'the ring is a ding').toBeDefined();
    expect(clip.trigger).toBe('motion');
    expect(clip.triggerEventIds).toEqual([motionStart!.id, ding!.id]);
    expect(
      [clip.sessionId, clip.thread],
      'the visit of the motion that opened it; a one-message thread',
    ).toEqual([motionStart!.sessionId, 'ended']);
    expect(ding!.sessionId).toBe(motionStart!.sessionId);
    const thumbnail = readFileSync(join(device.dir, 'bucket', clip.thumbnailKey!));
    expect(thumbnail.subarray(0, 2).toString('hex'), 'a JPEG').toBe('ffd8');
  });

  it('carries a console link that fetches exactly the announced bytes, for 15 minutes of device time', async () => {
    const { clip } = visit;
    expect(clip.url).toMatch(new RegExp(`^${new URL(device.server.url).origin}/shared/clips/links-plain/`));
    const announcedAt = Date.parse(clip.at);
    expect(Date.parse(clip.urlExpiresAt!)).toBe(Math.floor(announcedAt / 1000) * 1000 + 15 * MIN);
    const response = await fetch(clip.url!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.byteLength).toBe(clip.bytes);
    expect(sha256(body)).toBe(clip.sha256);
  });

  it('serves the link as a video player asks: HEAD, and byte ranges that add up to the announced bytes', async () => {
    const { clip } = visit;
    const head = await fetch(clip.url!, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length'), head.headers.get('accept-ranges')]).toEqual([
      200,
      String(clip.bytes),
      'bytes',
    ]);
    const middle = Math.floor(clip.bytes / 2);
    const parts = await Promise.all(
      [`bytes=0-${middle - 1}`, `bytes=${middle}-`].map(async (range) => {
        const response = await fetch(clip.url!, { headers: { range } });
        expect(response.status, range).toBe(206);
        return Buffer.from(await response.arrayBuffer());
      }),
    );
    expect(sha256(Buffer.concat(parts))).toBe(clip.sha256);
    expect((await fetch(clip.url!, { headers: { range: `bytes=${clip.bytes}-` } })).status).toBe(416);
  });

  it('refuses a link whose key, signature or expiry was changed (403)', async () => {
    const url = new URL(visit.clip.url!);
    // The thumbnail exists: a 403, not a 404, shows the signature covers the key.
    const otherKey = new URL(url);
    otherKey.pathname = url.pathname.replace(/\.mp4$/, '.jpg');
    const sig = url.searchParams.get('sig')!;
    const otherSig = new URL(url);
    otherSig.searchParams.set('sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`);
    const later = new URL(url);
    later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 86_400));
    for (const tampered of [otherKey, otherSig, later]) {
      const response = await fetch(tampered);
      expect(response.status, tampered.href).toBe(403);
      expect(await response.text()).toContain('this link is not valid');
    }
  });

  it('refuses it once the device clock reaches urlExpiresAt (410), not a second before', async () => {
    const { clip } = visit;
    const expiresAt = Date.parse(clip.urlExpiresAt!);
    device.clock.advanceTo(expiresAt - 1);
    expect((await fetch(clip.url!)).status).toBe(200);
    device.clock.advanceTo(expiresAt);
    const expired = await fetch(clip.url!);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain('this link has expired');
  });

  it("the owner's config-set turns links off: the next clip event carries none", async () => {
    expect(await device.configSet({ privacy: { clipLinks: { enabled: false } } })).toMatchObject({
      status: 'ok',
    });
    const { clip, motionStart } = await device.visit(false);
    expect(clip.triggerEventIds).toEqual([motionStart!.id]);
    expect(clip).not.toHaveProperty('url');
    expect(clip).not.toHaveProperty('urlExpiresAt');
  }, 60_000);
});

describe('an end-to-end encrypted clip is linked only if the owner lets its envelope go', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  const keys = generateOwnerKeys();
  let device: LinkedDevice;

  beforeAll(async () => {
    await broker.start();
    const keyDir = tempDir();
    writeFileSync(join(keyDir, 'owner.pub.pem'), keys.publicKeyPem);
    device = await startLinkedDevice(broker, 'links-sealed', {
      ownerPublicKey: join(keyDir, 'owner.pub.pem'),
    });
  }, 60_000);

  afterAll(async () => {
    await device?.stop();
    await broker.stop();
  }, 60_000);

  it('by default it gets no link, though the console could serve one', async () => {
    const { clip } = await device.visit(false);
    expect(clip.encrypted).toBe(true);
    expect(clip).not.toHaveProperty('url');
    expect(clip).not.toHaveProperty('urlExpiresAt');
  }, 60_000);

  it('with privacy.clipLinks.ciphertext its link fetches the envelope: the announced bytes, only the owner opens', async () => {
    expect(await device.configSet({ privacy: { clipLinks: { ciphertext: true } } })).toMatchObject({
      status: 'ok',
    });
    const { clip } = await device.visit(true);
    expect(clip.encrypted).toBe(true);
    const response = await fetch(clip.url!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const envelope = Buffer.from(await response.arrayBuffer());
    expect(sha256(envelope)).toBe(clip.sha256);
    expect(envelope.includes(Buffer.from('ftypisom')), 'no MP4 in the clear').toBe(false);
    const dir = tempDir();
    writeFileSync(join(dir, 'clip.mp4.enc'), envelope);
    await decryptFile(join(dir, 'clip.mp4.enc'), join(dir, 'clip.mp4'), keys.privateKeyPem);
    expect(readFileSync(join(dir, 'clip.mp4')).subarray(4, 8).toString('latin1')).toBe('ftyp');
  }, 60_000);
});

describe('on an S3 bucket the link is presigned: no console needed', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  let s3: S3rverHandle;
  let camera: DrivenAgent;
  let watch: Recorder;

  beforeAll(async () => {
    await broker.start();
    s3 = await startS3rver();
    watch = await subscriber(broker.url, 'doorbell/links-s3/#');
    camera = await startDrivenAgent({
      deviceId: 'links-s3',
      // S3 judges expiry by its own (wall) clock: the device clock starts at the real time here.
      clock: new VirtualClock(Math.floor(Date.now() / 1000) * 1000),
      dir: tempDir(),
      brokerUrl: broker.url,
      profile: QUICK_CLIPS,
      bucket: await s3.newBucket('doorbell-clips'),
    });
    await watch.waitForTopic('doorbell/links-s3/availability', (t) => t === 'online', 10_000);
  }, 60_000);

  afterAll(async () => {
    await watch?.client.endAsync();
    await camera?.agent.stop();
    await s3?.stop();
    await broker.stop();
  }, 60_000);

  it('fetches from S3 exactly the bytes the event announces, until the expiry it states', async () => {
    camera.still(10);
    camera.walk(120, 30);
    camera.still(40);
    const message = await watch.waitForTopic('doorbell/links-s3/events/clip', () => true, 30_000);
    const clip = ClipEventSchema.parse(JSON.parse(message.text));
    expect(clip.bucket).toBe('s3://doorbell-clips');
    const url = new URL(clip.url!);
    expect(url.pathname).toBe(`/doorbell-clips/${clip.key}`);
    const { expiresAtMs: expiresAt } = presignedWindow(url);
    expect(clip.urlExpiresAt).toBe(new Date(expiresAt).toISOString());
    expect(expiresAt).toBe(Math.floor(Date.parse(clip.at) / 1000) * 1000 + 15 * MIN);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.byteLength).toBe(clip.bytes);
    expect(sha256(body)).toBe(clip.sha256);
  }, 60_000);
});
