import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { LiveEncoder, type LiveEncoderOptions } from '../../src/stream/encoder.js';
import { liveSourceGraph, loopPosition, maskSize } from '../../src/stream/live-source.js';
import type { AccessUnit, Subscription } from '../../src/stream/live-video.js';
import { probe } from '../../src/video/ffmpeg/probe.js';
import { locateFfmpeg } from '../../src/video/locate.js';
import { REPO_ROOT, tempDir } from '../helpers/mqtt.js';

const SOURCE = join(REPO_ROOT, 'fixtures/video/porch-loop.mp4');
const run = promisify(execFile);
const encoders: LiveEncoder[] = [];

afterEach(async () => {
  await Promise.all(encoders.splice(0).map((encoder) => encoder.close()));
});

async function encoder(overrides: Partial<LiveEncoderOptions> = {}): Promise<LiveEncoder> {
  const { durationMs } = await probe(SOURCE);
  const live = new LiveEncoder({
    name: 'main',
    size: { width: 320, height: 180 },
    fps: 15,
    source: SOURCE,
    loopDurationMs: durationMs,
    feedNow: () => 61_000,
    privacyZones: () => [],
    logger: silentLogger(),
    lingerMs: 200,
    ...overrides,
  });
  encoders.push(live);
  return live;
}

/** Annex B bytes of the units, for ffprobe and ffmpeg. */
function annexB(units: readonly AccessUnit[]): Buffer {
  const startCode = Buffer.from([0, 0, 0, 1]);
  return Buffer.concat(units.flatMap((unit) => unit.nals.flatMap((nal) => [startCode, nal])));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the live picture (pure parts)', () => {
  it('starts where the looped feed is, and blends the mask at no more than the source size', () => {
    expect(loopPosition(61_000, 30_000)).toBe(1_000);
    expect(loopPosition(-1_000, 30_000)).toBe(29_000);
    expect(loopPosition(5_000, 0)).toBe(0);
    const source = { width: 640, height: 360 };
    expect(maskSize({ width: 1920, height: 1080 }, source)).toEqual(source);
    expect(maskSize({ width: 1440, height: 1080 }, source)).toEqual({ width: 640, height: 480 });
    expect(maskSize({ width: 320, height: 180 }, source)).toEqual({ width: 320, height: 180 });
    const graph = liveSourceGraph({
      size: { width: 1920, height: 1080 },
      fps: 30,
      maskSize: source,
      realTime: true,
    });
    expect(graph).toMatch(/crop=640:360.*overlay=0:0.*scale=1920:1080.*fps=30.*realtime\[v\]$/);
    expect(liveSourceGraph({ size: source, fps: 15, maskSize: undefined, realTime: false })).not.toMatch(
      /overlay|realtime/,
    );
  });
});

describe('LiveEncoder (real ffmpeg)', () => {
  it('shares one encoder between viewers, starts each on a keyframe, paces at the fps, stops after the last', async () => {
    const live = await encoder();
    const first: AccessUnit[] = [];
    const second: AccessUnit[] = [];
    const arrivals: number[] = [];
    const [a, b] = await Promise.all([
      live.subscribe((unit) => {
        first.push(unit);
        arrivals.push(performance.now());
      }),
      live.subscribe((unit) => second.push(unit)),
    ]);
    await expect.poll(() => first.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(31);
    const third: AccessUnit[] = [];
    const c = await live.subscribe((unit) => third.push(unit));
    await expect.poll(() => third.length, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(live.starts).toBe(1);
    for (const units of [first, second, third]) {
      expect(units[0]!.keyframe).toBe(true);
      for (let i = 1; i < units.length; i++) {
        expect(units[i]!.ptsMs).toBeCloseTo(units[i - 1]!.ptsMs + 1000 / 15, 6);
        expect(units[i]!.feedMs - units[i]!.ptsMs).toBe(units[0]!.feedMs - units[0]!.ptsMs);
      }
    }
    // The stream starts where the feed is, and a keyframe comes every second.
    expect(first[0]!.feedMs).toBe(61_000);
    expect(
      first
        .filter((unit) => unit.keyframe)
        .map((unit) => unit.ptsMs)
        .slice(0, 3),
    ).toEqual([0, 1000, 2000]);
    // Real time: 30 pictures after the first take about two seconds (the first ones may come in a burst).
    const elapsed = arrivals[30]! - arrivals[0]!;
    expect(elapsed).toBeGreaterThan(1_400);
    expect(elapsed).toBeLessThan(3_000);
    expect(a.info).toMatchObject({ name: 'main', width: 320, height: 180, fps: 15 });

    const pid = live.pid!;
    expect(isAlive(pid)).toBe(true);
    for (const subscription of [a, b, c] as Subscription[]) subscription.unsubscribe();
    expect(live.running).toBe(true);
    await expect.poll(() => live.running, { timeout: 5_000 }).toBe(false);
    await expect.poll(() => isAlive(pid), { timeout: 5_000 }).toBe(false);

    // The next viewer starts a new encoder.
    const d = await live.subscribe(() => {});
    expect(live.starts).toBe(2);
    d.unsubscribe();
  });

  it('encodes the requested size (SPS, read by ffprobe) with the privacy zone black', async () => {
    const topLeftQuarter = [
      [0, 0],
      [0.5, 0],
      [0.5, 0.5],
      [0, 0.5],
    ] as const;
    const live = await encoder({
      name: 'sub',
      // Larger than the source: the mask is blended at the source's width, then scaled up with the picture.
      size: { width: 1280, height: 720 },
      sourceSize: { width: 640, height: 360 },
      privacyZones: () => [topLeftQuarter],
    });
    const units: AccessUnit[] = [];
    const subscription = await live.subscribe((unit) => units.push(unit));
    await expect.poll(() => units.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    subscription.unsubscribe();
    const file = join(tempDir(), 'stream.h264');
    writeFileSync(file, annexB(units.slice(0, 3)));
    const { ffmpeg, ffprobe } = locateFfmpeg();
    const probed = await run(ffprobe, [
      '-v',
      'error',
      '-show_entries',
      'stream=width,height,codec_name',
      '-of',
      'json',
      file,
    ]);
    expect(JSON.parse(probed.stdout).streams[0]).toEqual({ codec_name: 'h264', width: 1280, height: 720 });
    const decoded = await run(
      ffmpeg,
      ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 1 << 24 },
    );
    const luma = decoded.stdout as Buffer;
    expect(luma.length).toBe(1280 * 720);
    const at = (x: number, y: number) => luma[Math.floor(y * 720) * 1280 + Math.floor(x * 1280)]!;
    const inside = [0.01, 0.25, 0.49].flatMap((x) => [0.01, 0.25, 0.49].map((y) => at(x, y)));
    const outside = [0.6, 0.75, 0.9].flatMap((x) => [0.6, 0.75, 0.9].map((y) => at(x, y)));
    for (const value of inside) expect(value).toBeLessThan(24);
    expect(Math.max(...outside)).toBeGreaterThan(40);
  });

  it('restarts with the new privacy zones when the owner changes them; viewers stay, the clock runs on', async () => {
    let zones: Array<ReadonlyArray<readonly [number, number]>> = [];
    const live = await encoder({ privacyZones: () => zones });
    const units: AccessUnit[] = [];
    const ended: Array<Error | undefined> = [];
    await live.subscribe(
      (unit) => units.push(unit),
      (error) => ended.push(error),
    );
    await expect.poll(() => units.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    zones = [
      [
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 1],
      ],
    ];
    await live.restart();
    const restartAt = units.length;
    await expect.poll(() => units.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(restartAt + 3);
    expect(live.starts).toBe(2);
    expect(ended).toEqual([]);
    for (let i = 1; i < units.length; i++) expect(units[i]!.ptsMs).toBeGreaterThan(units[i - 1]!.ptsMs);
    const afterRestart = units.slice(restartAt);
    expect(afterRestart[0]!.keyframe).toBe(true);
    const file = join(tempDir(), 'masked.h264');
    writeFileSync(file, annexB(afterRestart.slice(0, 3)));
    const decoded = await run(
      locateFfmpeg().ffmpeg,
      ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 1 << 24 },
    );
    expect(Math.max(...(decoded.stdout as Buffer))).toBeLessThan(24);
  });

  it('tells its viewers when the encoder fails, and starts afresh on the next subscribe', async () => {
    const live = await encoder({ source: join(REPO_ROOT, 'package.json'), startTimeoutMs: 10_000 });
    await expect(live.subscribe(() => {})).rejects.toThrow(/cannot encode the main live stream/);
    expect(live.running).toBe(false);
    await expect(live.subscribe(() => {})).rejects.toThrow(/cannot encode/);
    expect(live.starts).toBe(2);

    // An encoder that dies mid-stream: its viewers hear it.
    const healthy = await encoder();
    const ended: Array<Error | undefined> = [];
    await healthy.subscribe(
      () => {},
      (error) => ended.push(error),
    );
    process.kill(healthy.pid!, 'SIGKILL');
    await expect.poll(() => ended.length, { timeout: 5_000 }).toBe(1);
    expect(ended[0]).toBeInstanceOf(Error);
    expect(healthy.running).toBe(false);
  });
});
