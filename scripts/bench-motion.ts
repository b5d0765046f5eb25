/**
 * Motion pipeline cost next to decoding. Generates a 24 s 720p30 H.264 clip with people walking through a noisy
 * scene (temp dir, not committed), then in one run, alternating and taking medians (the machine is shared):
 *  (a) ffmpeg alone decoding it and scaling to the analysis size into its null sink;
 *  (b) the full `doorbell motion FILE --json` pipeline, in process (decode pipe, re-framing, detector, output).
 * Also the detector alone on frames held in memory (ns per analysed pixel), and RSS while analysing 1 and 10
 * simulated minutes of the looped default feed (fixtures/video/porch-loop.mp4) as fast as it decodes.
 *
 * Env: BENCH_MOTION_ROUNDS (default 9), BENCH_MOTION_SECONDS (default 24), BENCH_MOTION_KEEP=1 keeps the clip,
 * BENCH_MOTION_LOOP_MINUTES (default 10; more adds an RSS mark at that minute, e.g. 30).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { analyzeVideo } from '../src/analysis/analyze-video.js';
import { command as motionCommand } from '../src/cli/commands/motion.js';
import type { CliIo } from '../src/cli/io.js';
import { MotionDetector } from '../src/motion/detector.js';
import { MotionSettingsSchema } from '../src/motion/settings.js';
import { decodeGrayFrames } from '../src/video/ffmpeg/gray-decode.js';
import type { GrayFrame } from '../src/video/frames.js';
import { measure, type Timing } from './lib/cpu-time.js';
import { decodeToNullSink, openRawVideoEncoder } from './lib/ffmpeg-dev.js';
import { median, printResult, round } from './lib/stats.js';

const ROUNDS = Number(process.env['BENCH_MOTION_ROUNDS'] ?? 9);
const LOOP_MINUTES = Math.max(10, Number(process.env['BENCH_MOTION_LOOP_MINUTES'] ?? 10));
const RSS_MARKS = [...new Set([1, 10, LOOP_MINUTES])];
const SECONDS = Number(process.env['BENCH_MOTION_SECONDS'] ?? 24);
const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 30;
const root = resolve(import.meta.dirname, '..');
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Gray 720p frames: textured wall and floor, sensor noise, two people crossing at different times. */
async function generateClip(file: string): Promise<number> {
  const frames = Math.round(SECONDS * FPS);
  let seed = 20240601;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const background = new Uint8Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const base = y < 420 ? (y % 28 < 3 ? 150 : 178) : 140 - (y - 420) * 0.05;
      background[y * WIDTH + x] = Math.round(base + (rand() - 0.5) * 14);
    }
  }
  const noise = Int8Array.from({ length: 1 << 20 }, () => Math.round((rand() + rand() - 1) * 6));
  const frame = new Uint8Array(WIDTH * HEIGHT);
  const encoder = openRawVideoEncoder({
    output: file,
    width: WIDTH,
    height: HEIGHT,
    fps: FPS,
    pixelFormat: 'gray',
    crf: 23,
    preset: 'veryfast',
    gop: FPS * 2,
    threads: 0,
  });
  const fill = (x0: number, y0: number, x1: number, y1: number, value: number) => {
    for (let y = Math.max(0, Math.round(y0)); y < Math.min(HEIGHT, Math.round(y1)); y++) {
      const from = Math.max(0, Math.round(x0));
      const to = Math.min(WIDTH, Math.round(x1));
      if (to > from) frame.fill(value, y * WIDTH + from, y * WIDTH + to);
    }
  };
  const person = (fx: number, fy: number, s: number, stride: number, shade: number) => {
    const swing = Math.sin(stride) * 18 * s;
    fill(fx - 34 * s + swing, fy - 164 * s, fx - 6 * s + swing, fy, shade - 30);
    fill(fx + 6 * s - swing, fy - 164 * s, fx + 34 * s - swing, fy, shade - 30);
    fill(fx - 46 * s, fy - 304 * s, fx + 46 * s, fy - 156 * s, shade);
    fill(fx - 30 * s, fy - 372 * s, fx + 30 * s, fy - 304 * s, shade + 90);
  };
  for (let f = 0; f < frames; f++) {
    frame.set(background);
    const t = f / FPS;
    if (t >= 2 && t < 9) person(-100 + (t - 2) * 210, 690, 1, t * 9, 60);
    if (t >= 12 && t < 20) person(1380 - (t - 12) * 190, 660, 0.9, t * 9, 90);
    const offset = (f * 7919) % (noise.length - frame.length);
    for (let i = 0; i < frame.length; i++)
      frame[i] = Math.max(0, Math.min(255, frame[i]! + noise[offset + i]!));
    await encoder.write(frame);
  }
  await encoder.finish();
  return frames;
}

function nullIo(): CliIo {
  const sink = () =>
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    });
  return { stdout: sink(), stderr: sink(), stdin: process.stdin, env: process.env, cwd: root };
}

const timeDecodeOnly = (file: string) => measure(() => decodeToNullSink(file, { width: 320 }));

const timePipeline = (file: string) =>
  measure(async () => {
    const code = await motionCommand.run([file, '--json'], nullIo());
    if (code !== 0) throw new Error(`doorbell motion exited ${code}`);
  });

async function detectorNsPerPixel(file: string): Promise<{ ns: number; frames: number }> {
  const frames: GrayFrame[] = [];
  for await (const frame of decodeGrayFrames(file, { width: 320 })) frames.push(frame);
  const settings = MotionSettingsSchema.parse({});
  let best = Number.POSITIVE_INFINITY;
  for (let rep = 0; rep < 7; rep++) {
    const detector = new MotionDetector(settings, { width: frames[0]!.width, height: frames[0]!.height });
    const started = process.hrtime.bigint();
    for (const frame of frames) detector.push(frame);
    detector.finish();
    const ns = Number(process.hrtime.bigint() - started);
    if (ns < best) best = ns;
  }
  const pixels = frames.length * frames[0]!.width * frames[0]!.height;
  return { ns: best / pixels, frames: frames.length };
}

/** RSS while analysing the looped default feed as fast as it decodes, at each of RSS_MARKS minutes of video. */
async function loopMemory(): Promise<{ rss: Map<number, number>; events: number; wallS: number }> {
  const controller = new AbortController();
  const marks = new Map<number, number>();
  let events = 0;
  const started = performance.now();
  const feed = join(root, 'fixtures/video/porch-loop.mp4');
  for await (const _event of analyzeVideo(
    feed,
    {},
    {
      loop: true,
      signal: controller.signal,
      onFrame: (frame) => {
        for (const minute of RSS_MARKS) {
          if (!marks.has(minute) && frame.ptsMs >= minute * 60_000) {
            marks.set(minute, process.memoryUsage().rss / 2 ** 20);
            log(`  looped feed: ${minute} min of video analysed, rss ${marks.get(minute)!.toFixed(1)} MB`);
          }
        }
        if (marks.has(LOOP_MINUTES)) controller.abort();
      },
    },
  )) {
    events++;
  }
  return { rss: marks, events, wallS: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-motion-'));
  const clip = join(dir, 'clip-720p30.mp4');
  try {
    log(`generating ${SECONDS} s of 720p30 H.264 with motion…`);
    const genStarted = performance.now();
    const frames = await generateClip(clip);
    const { size } = await stat(clip);
    log(
      `  ${clip}: ${frames} frames, ${(size / 2 ** 20).toFixed(1)} MB, ` +
        `${((performance.now() - genStarted) / 1000).toFixed(1)} s`,
    );

    log('warming up (one run of each)…');
    await timeDecodeOnly(clip);
    await timePipeline(clip);

    const decodeRuns: Timing[] = [];
    const pipelineRuns: Timing[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order so drift on a shared machine hits both sides alike.
      if (r % 2 === 0) {
        decodeRuns.push(await timeDecodeOnly(clip));
        pipelineRuns.push(await timePipeline(clip));
      } else {
        pipelineRuns.push(await timePipeline(clip));
        decodeRuns.push(await timeDecodeOnly(clip));
      }
      const d = decodeRuns.at(-1)!;
      const p = pipelineRuns.at(-1)!;
      log(
        `  round ${r + 1}: decode-only ${d.wallS.toFixed(3)} s (cpu ${d.cpuS.toFixed(2)} s), ` +
          `pipeline ${p.wallS.toFixed(3)} s (cpu ${p.cpuS.toFixed(2)} s)`,
      );
    }
    const medianOf = (runs: Timing[], key: keyof Timing) => median(runs.map((t) => t[key]));
    const decodeS = medianOf(decodeRuns, 'wallS');
    const pipelineS = medianOf(pipelineRuns, 'wallS');
    const decodeCpuS = medianOf(decodeRuns, 'cpuS');
    const pipelineCpuS = medianOf(pipelineRuns, 'cpuS');

    log('detector alone on frames in memory…');
    const detector = await detectorNsPerPixel(clip);
    log(`  ${detector.ns.toFixed(2)} ns per analysed pixel (320×180 frames, best of 7)`);

    log(`memory on a looped feed (porch-loop, ${LOOP_MINUTES} simulated minutes)…`);
    const memory = await loopMemory();
    log(
      `  looped feed: ${memory.events} events in ${LOOP_MINUTES} min of video, analysed in ${memory.wallS.toFixed(2)} s ` +
        '(its RSS figures are in the last line)',
    );

    printResult({
      bench: 'motion',
      frames,
      decode_only_s: round(decodeS),
      pipeline_s: round(pipelineS),
      ratio: round(pipelineS / decodeS),
      // CPU seconds (ffmpeg + node) hold steadier than wall time on a shared machine.
      decode_only_cpu_s: round(decodeCpuS),
      pipeline_cpu_s: round(pipelineCpuS),
      cpu_ratio: round(pipelineCpuS / decodeCpuS),
      realtime_x: round(frames / FPS / pipelineS, 1),
      detector_ns_per_px: round(detector.ns, 2),
      ...Object.fromEntries(
        RSS_MARKS.map((minute) => [`rss_mb_${minute}min`, round(memory.rss.get(minute)!, 1)]),
      ),
    });
  } finally {
    if (process.env['BENCH_MOTION_KEEP'] !== '1') await rm(dir, { recursive: true, force: true });
    else log(`kept ${clip}`);
  }
}

await main();
