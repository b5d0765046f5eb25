/**
 * What a clip and a snapshot cost at the camera's picture (#16): the recorder's own encodeClip and grabFrame on the
 * default sample video, at the old size (the 640×360, 15 fps source as it is), battery-720p (1280×720, 15 fps) and
 * wired-1080p (1920×1080, 30 fps). A clip is the profile's pre-roll + a 2 s event + its post-roll (the old size uses
 * wired-1080p's: that is what a wired-1080p device recorded before). Rounds alternate between the pictures (the
 * machine is shared) and each figure is the median: wall seconds, CPU seconds (this process and its ffmpeg children)
 * and the clip's real-time factor (seconds of video per wall second; ≥ 1 keeps up with the camera).
 *
 * `npx tsx scripts/bench-clip.ts`. Env: BENCH_CLIP_ROUNDS (default 3), BENCH_CLIP_PRESET (x264 preset, default the
 * recorder's). Last line: one JSON object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadProfile } from '../src/config/load-profile.js';
import { type CameraPicture, cameraPicture } from '../src/video/camera-picture.js';
import { encodeClip } from '../src/video/ffmpeg/clip.js';
import { grabFrame } from '../src/video/ffmpeg/still.js';
import { measure, type Timing } from './lib/cpu-time.js';
import { median, printResult, round } from './lib/stats.js';

const ROUNDS = Number(process.env['BENCH_CLIP_ROUNDS'] ?? 3);
const PRESET = process.env['BENCH_CLIP_PRESET'];
const SOURCE = resolve(import.meta.dirname, '../fixtures/video/porch-loop.mp4');
const EVENT_MS = 2000;
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Case {
  name: string;
  picture: CameraPicture | undefined;
  clipMs: number;
}

async function cases(): Promise<Case[]> {
  const out: Case[] = [];
  for (const name of ['battery-720p', 'wired-1080p']) {
    const loaded = await loadProfile(name);
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const { profile } = loaded.value;
    const clipMs = profile.recording.preRollMs + EVENT_MS + profile.recording.postRollMs;
    out.push({ name, picture: cameraPicture(profile), clipMs });
    if (name === 'wired-1080p') out.unshift({ name: 'source-640x360', picture: undefined, clipMs });
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'doorbell-bench-clip-'));
try {
  const all = await cases();
  const samples = new Map(all.map((c) => [c.name, { clip: [] as Timing[], snapshot: [] as Timing[] }]));
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    for (const c of all) {
      const output = join(dir, `${c.name}.mp4`);
      // A window that does not wrap around the loop: seek, cut, frame, re-time, encode.
      const clip = await measure(() =>
        encodeClip({
          input: SOURCE,
          startMs: 1000,
          endMs: 1000 + c.clipMs,
          loopDurationMs: 30_000,
          output,
          ...(c.picture ? { picture: c.picture } : {}),
          ...(PRESET ? { preset: PRESET } : {}),
        }),
      );
      const snapshot = await measure(() =>
        grabFrame({
          input: SOURCE,
          atMs: 4000,
          format: 'jpeg',
          ...(c.picture ? { picture: c.picture } : {}),
        }),
      );
      samples.get(c.name)!.clip.push(clip);
      samples.get(c.name)!.snapshot.push(snapshot);
      log(
        `round ${round_ + 1} ${c.name}: clip ${c.clipMs / 1000} s in ${round(clip.wallS, 2)} s wall / ${round(clip.cpuS, 2)} s CPU; snapshot ${round(snapshot.wallS, 3)} s / ${round(snapshot.cpuS, 3)} s`,
      );
    }
  }
  const result: Record<string, unknown> = {
    bench: 'clip',
    rounds: ROUNDS,
    preset: PRESET ?? 'recorder default',
  };
  for (const c of all) {
    const s = samples.get(c.name)!;
    const key = c.name.replace(/[^a-z0-9]+/g, '_');
    const clipWall = median(s.clip.map((x) => x.wallS));
    result[key] = {
      size: c.picture ? `${c.picture.width}x${c.picture.height}@${c.picture.fps}` : '640x360@15',
      clip_s: c.clipMs / 1000,
      clip_wall_s: round(clipWall, 2),
      clip_cpu_s: round(median(s.clip.map((x) => x.cpuS)), 2),
      realtime: round(c.clipMs / 1000 / clipWall, 2),
      snapshot_wall_s: round(median(s.snapshot.map((x) => x.wallS)), 3),
      snapshot_cpu_s: round(median(s.snapshot.map((x) => x.cpuS)), 3),
    };
  }
  printResult(result);
} finally {
  await rm(dir, { recursive: true, force: true });
}
