/**
 * Clips, thumbnails and snapshots come out as the profile's camera makes them: its resolution (the 640×360 sample
 * video framed to cover it and centre-cropped), its frame rate, and privacy zones where the owner drew them on that
 * picture. Checked with ffprobe and on decoded pixels.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../../src/config/load-profile.js';
import { type DeviceProfile, DeviceProfileSchema } from '../../src/config/profile.js';
import { silentLogger } from '../../src/log/logger.js';
import { Recorder } from '../../src/recording/recorder.js';
import type { EnqueueRequest, UploadQueue } from '../../src/storage/upload-queue.js';
import { cameraPicture, retimedFrameCount } from '../../src/video/camera-picture.js';
import { probe } from '../../src/video/ffmpeg/probe.js';
import { grabFrame } from '../../src/video/ffmpeg/still.js';
import { locateFfmpeg } from '../../src/video/locate.js';
import { REPO_ROOT } from '../helpers/mqtt.js';

const SOURCE = join(REPO_ROOT, 'fixtures/video/porch-loop.mp4');
/** The privacy profile's zone (top right), given to the 4:3 camera too. */
const ZONE = { x: 0.78, bottom: 0.45 };
const ZONES = [
  {
    name: 'neighbour',
    polygon: [
      [ZONE.x, 0],
      [1, 0],
      [1, ZONE.bottom],
      [ZONE.x, ZONE.bottom],
    ] as [number, number][],
  },
];
/** One second of the source: 15 frames at 15 fps. */
const WINDOW = { startMs: 1000, endMs: 2000, sourceFrames: 15 };

let dir: string;

async function profileNamed(name: string, zones?: typeof ZONES): Promise<DeviceProfile> {
  const loaded = await loadProfile(name);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const { profile } = loaded.value;
  return DeviceProfileSchema.parse({
    ...profile,
    privacy: { ...profile.privacy, zones: zones ?? profile.privacy.zones, encryption: { enabled: false } },
  });
}

interface Recorded {
  clip: string;
  thumbnail: string;
  snapshot: Buffer;
}

/** A Recorder for `profile` cuts one clip of WINDOW; the files are kept as the upload queue received them. */
async function record(name: string, profile: DeviceProfile): Promise<Recorded> {
  const out = join(dir, name);
  let received: EnqueueRequest | undefined;
  const queue = {
    enqueue: async (request: EnqueueRequest) => {
      await copyFile(request.clipFile, `${out}.mp4`);
      await copyFile(request.thumbnailFile!, `${out}.jpg`);
      received = request;
    },
  } as unknown as UploadQueue;
  const recorder = new Recorder({
    deviceId: name,
    source: { kind: 'looped-file', path: SOURCE, loopDurationMs: (await probe(SOURCE)).durationMs },
    picture: cameraPicture(profile),
    workDir: join(dir, `${name}-work`),
    queue,
    retentionDays: profile.retentionDays,
    blackout: profile.privacy.zones.map((zone) => zone.polygon),
    logger: silentLogger(),
  });
  await recorder.record(
    {
      clipId: `${name}-1`,
      trigger: 'ding',
      triggers: ['ding'],
      triggerEventIds: [`${name}-e1`],
      triggerFeedMs: 1500,
      startFeedMs: WINDOW.startMs,
      endFeedMs: WINDOW.endMs,
    },
    { startedAt: '2026-03-14T18:30:01.000Z', endedAt: '2026-03-14T18:30:02.000Z', eventId: `${name}-e1` },
  );
  expect(received, 'the clip reached the upload queue').toBeDefined();
  return { clip: `${out}.mp4`, thumbnail: `${out}.jpg`, snapshot: await recorder.snapshot(1500) };
}

/** What ffprobe (the real one, not our wrapper) says of a clip's video stream, frames counted. */
async function ffprobeStream(file: string) {
  const { stdout } = await promisify(execFile)(locateFfmpeg().ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_frames',
    '-show_entries',
    'stream=codec_name,width,height,r_frame_rate,nb_read_frames',
    '-of',
    'json',
    file,
  ]);
  return JSON.parse(stdout).streams[0] as Record<string, unknown>;
}

/** Full-range luma of a JPEG (or of raw RGB given its size). */
async function lumaOf(input: Buffer, raw?: { width: number; height: number }) {
  const image = raw ? sharp(input, { raw: { ...raw, channels: 3 } }) : sharp(input);
  const { data, info } = await image.greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

type Luma = Awaited<ReturnType<typeof lumaOf>>;

/** The first x on row y where the picture turns black (≤ 24), or -1. */
function blackFromX(picture: Luma, y: number): number {
  for (let x = 0; x < picture.width; x++) if (picture.data[y * picture.width + x]! <= 24) return x;
  return -1;
}

/** The first y down column x where the picture stops being black, or -1. */
function blackUntilY(picture: Luma, x: number): number {
  for (let y = 0; y < picture.height; y++) if (picture.data[y * picture.width + x]! > 24) return y;
  return -1;
}

/** The zone is black exactly where the owner drew it on the output picture (edges within 3 pixels). */
function expectZoneInPlace(picture: Luma) {
  const edgeX = blackFromX(picture, Math.round(picture.height * 0.2));
  expect(Math.abs(edgeX - ZONE.x * picture.width), `zone's left edge at x=${edgeX}`).toBeLessThanOrEqual(3);
  const edgeY = blackUntilY(picture, Math.round(picture.width * 0.9));
  expect(Math.abs(edgeY - ZONE.bottom * picture.height), `zone's bottom at y=${edgeY}`).toBeLessThanOrEqual(
    3,
  );
  let maxInside = 0;
  for (let y = 0; y < ZONE.bottom * picture.height - 4; y++) {
    for (let x = Math.ceil(ZONE.x * picture.width) + 4; x < picture.width; x++) {
      maxInside = Math.max(maxInside, picture.data[y * picture.width + x]!);
    }
  }
  expect(maxInside, 'every pixel inside the zone is black').toBeLessThanOrEqual(24);
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (sum / a.length));
}

let wired: Recorded;
let peephole: Recorded;
let privacy: Recorded;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-picture-'));
  [wired, peephole, privacy] = await Promise.all([
    profileNamed('wired-1080p').then((profile) => record('wired', profile)),
    profileNamed('peephole-4x3', ZONES).then((profile) => record('peephole', profile)),
    profileNamed('privacy').then((profile) => record('privacy', profile)),
  ]);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a wired-1080p camera (1920×1080, 30 fps) from the 640×360, 15 fps sample video', () => {
  it('records clips ffprobe reads as H.264 1920×1080 at 30 fps, each source frame shown twice', async () => {
    expect(await ffprobeStream(wired.clip)).toEqual({
      codec_name: 'h264',
      width: 1920,
      height: 1080,
      r_frame_rate: '30/1',
      nb_read_frames: String(retimedFrameCount(WINDOW.sourceFrames, 15, 30)),
    });
    expect(retimedFrameCount(WINDOW.sourceFrames, 15, 30)).toBe(30);
  });

  it('takes snapshots at 1920×1080 and thumbnails at 320 wide in the same proportion', async () => {
    expect(await sharp(wired.snapshot).metadata()).toMatchObject({
      format: 'jpeg',
      width: 1920,
      height: 1080,
    });
    expect(await sharp(wired.thumbnail).metadata()).toMatchObject({ width: 320, height: 180 });
  });
});

describe('privacy zones at the camera resolution', () => {
  it('are black exactly where drawn in the 1080p snapshot', async () => {
    const snapshot = await lumaOf(privacy.snapshot);
    expect([snapshot.width, snapshot.height]).toEqual([1920, 1080]);
    expectZoneInPlace(snapshot);
  });

  it('are black exactly where drawn in every part of the 1080p clip', async () => {
    for (const atMs of [0, 500, 966]) {
      const frame = await grabFrame({ input: privacy.clip, atMs, format: 'rgb' });
      expect([frame.width, frame.height]).toEqual([1920, 1080]);
      expectZoneInPlace(await lumaOf(frame.data, frame));
    }
  });

  it("stay on the 4:3 camera's picture where drawn on it, not where they fall on the wider source", async () => {
    expectZoneInPlace(await lumaOf(peephole.snapshot));
    const frame = await grabFrame({ input: peephole.clip, atMs: 500, format: 'rgb' });
    expectZoneInPlace(await lumaOf(frame.data, frame));
  });
});

describe('a 4:3 camera (peephole-4x3: 1440×1080, 20 fps)', () => {
  it('records clips at 1440×1080 and 20 fps', async () => {
    expect(await ffprobeStream(peephole.clip)).toMatchObject({
      width: 1440,
      height: 1080,
      r_frame_rate: '20/1',
      nb_read_frames: String(retimedFrameCount(WINDOW.sourceFrames, 15, 20)),
    });
  });

  it('shows the centre of the 16:9 source cropped, not the whole of it squeezed', async () => {
    // The snapshot at 1500 ms back at the source's scale (×1/3) should be the source's central 480×360; compared
    // below the privacy zone (rows 180-359 of 360).
    const snapshot = await sharp(peephole.snapshot).metadata();
    expect([snapshot.width, snapshot.height]).toEqual([1440, 1080]);
    const rgb480 = { raw: { width: 480, height: 360, channels: 3 as const } };
    const lowerHalf = (rgb: Buffer) =>
      sharp(rgb, rgb480).extract({ left: 0, top: 180, width: 480, height: 180 }).greyscale().raw().toBuffer();
    const shown = await lowerHalf(
      await sharp(peephole.snapshot).resize(480, 360).removeAlpha().raw().toBuffer(),
    );
    const source = await grabFrame({ input: SOURCE, atMs: 1500, format: 'rgb' });
    const sourceRgb = sharp(source.data, { raw: { width: 640, height: 360, channels: 3 } });
    const centre = await lowerHalf(
      await sourceRgb.clone().extract({ left: 80, top: 0, width: 480, height: 360 }).raw().toBuffer(),
    );
    const squeezed = await lowerHalf(
      await sourceRgb.clone().resize(480, 360, { fit: 'fill' }).raw().toBuffer(),
    );
    const cropped = psnr(shown, centre);
    expect(cropped).toBeGreaterThan(30);
    expect(cropped - psnr(shown, squeezed)).toBeGreaterThan(8);
  });
});
