import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { LiveEncoder, type LiveEncoderOptions } from '../../src/stream/encoder.js';
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
      size: { width: 384, height: 216 },
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
    expect(JSON.parse(probed.stdout).streams[0]).toEqual({ codec_name: 'h264', width: 384, height: 216 });
    const decoded = await run(
      ffmpeg,
      ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 1 << 24 },
    );
    const luma = decoded.stdout as Buffer;
    expect(luma.length).toBe(384 * 216);
    const at = (x: number, y: number) => luma[Math.floor(y * 216) * 384 + Math.floor(x * 384)]!;
    const inside = [0.1, 0.25, 0.4].flatMap((x) => [0.1, 0.25, 0.4].map((y) => at(x, y)));
    const outside = [0.6, 0.75, 0.9].flatMap((x) => [0.6, 0.75, 0.9].map((y) => at(x, y)));
    for (const value of inside) expect(value).toBeLessThan(24);
    expect(Math.max(...outside)).toBeGreaterThan(40);
  });
});
