/**
 * The live stream: what viewers cost and how fast one sees a picture. The doorbell runs as its own process (as
 * `npm start` does) with its RTSP server; ffmpeg viewers pull the main stream over TCP, as an NVR would.
 * - viewers_1_cpu_s / viewers_8_cpu_s: CPU seconds of the agent's whole process tree (Node, its camera's decoder
 *   and the stream's encoder ffmpeg) over a window with 1 and with 8 viewers (median of alternating windows). One
 *   encode serves them all, so the ratio should stay near 1: each extra viewer costs only its RTP packets.
 * - first_frame_ms: from the viewer's PLAY request (seen on its way through a loopback proxy) to its first decoded
 *   frame, with no encoder running (median of 3): the encoder's start, its first keyframe, RTP and the decode.
 *   first_frame_warm_ms: the same while another viewer keeps the encoder running (the GOP cache answers).
 *   viewer_start_to_frame_ms: from spawning the cold viewer to its first frame (adds ffmpeg's start and the
 *   OPTIONS/DESCRIBE/SETUP round trips).
 *   The measuring viewer skips ffmpeg's frame-rate probe (-fpsprobesize 0): by default ffmpeg buffers ≈20 frames
 *   before it hands out the first one, which would measure ffmpeg, not the camera.
 * BENCH_STREAM_PROFILE picks the device profile (default wired-1080p). Motion detection is turned off in a copy of
 * it: a motion clip's encode (≈7 CPU s at 1080p30) landing in one window and not the other would swamp the ratio.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TcpProxy } from '../src/replay/tcp-proxy.js';
import { locateFfmpeg } from '../src/video/locate.js';
import { freePort } from '../test/helpers/mqtt.js';
import { cpuBetween, processTreeCpu } from './lib/process-tree.js';
import { median, printResult, round } from './lib/stats.js';

const WINDOW_MS = Number(process.env['BENCH_STREAM_WINDOW_MS'] ?? 10_000);
const WARMUP_MS = 3_000;
const ROUNDS = Number(process.env['BENCH_STREAM_ROUNDS'] ?? 3);
/** Longer than the encoder's linger after its last viewer, so the next viewer starts it cold. */
const ENCODER_GONE_MS = 7_000;
const PROFILE = process.env['BENCH_STREAM_PROFILE'] ?? 'wired-1080p';
const root = resolve(import.meta.dirname, '..');
const { ffmpeg } = locateFfmpeg();
const log = (line: string) => process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'bench-stream-'));
const profileFile = PROFILE.endsWith('.json')
  ? resolve(PROFILE)
  : join(root, 'device-profiles', `${PROFILE}.json`);
const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Record<string, unknown> & {
  motion: Record<string, unknown>;
  video?: string;
};
const quietProfile = join(dir, 'profile.json');
writeFileSync(
  quietProfile,
  JSON.stringify({
    ...profile,
    $schema: undefined,
    motion: { ...profile.motion, enabled: false },
    ...(profile.video ? { video: resolve(root, profile.video) } : {}),
  }),
);
const rtspPort = await freePort();
const agent = spawn(
  process.execPath,
  [
    ...['--import', 'tsx', join(root, 'src/cli/main.ts'), 'start', '--id', 'bench'],
    ...['--port', String(await freePort()), '--rtsp-port', String(rtspPort), '--data-dir', dir],
    ...['--profile', quietProfile],
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DOORBELL_LOG_LEVEL: 'warn', DOORBELL_LOG_FORMAT: 'json' },
  },
);
await new Promise<void>((ready, fail) => {
  let out = '';
  agent.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('is up')) ready();
  });
  agent.once('exit', (code) => fail(new Error(`agent exited ${code}`)));
});
const url = `rtsp://127.0.0.1:${rtspPort}/bench`;

/** An ffmpeg viewer reading the stream into nothing until stopped. */
function viewer(): ChildProcess {
  return spawn(
    ffmpeg,
    ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', url, '-f', 'null', '-'],
    {
      stdio: ['pipe', 'ignore', 'inherit'],
    },
  );
}

async function stop(viewers: ChildProcess[]): Promise<void> {
  await Promise.all(
    viewers.map(async (child) => {
      if (child.exitCode !== null) return;
      child.stdin?.end('q');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await once(child, 'exit');
      clearTimeout(timer);
    }),
  );
}

/** The moment each connection through the proxy sent its PLAY request. */
let playAt: number | undefined;
const proxy = new TcpProxy({
  upstreamPort: rtspPort,
  readClient: () => (chunk) => {
    if (playAt === undefined && chunk.includes('PLAY rtsp://')) playAt = performance.now();
  },
});
await proxy.start();
const measuredUrl = `rtsp://127.0.0.1:${proxy.port}/bench`;

/** From PLAY, and from the viewer's start, to its first decoded frame. */
async function firstFrame(): Promise<{ fromPlayMs: number; fromStartMs: number }> {
  playAt = undefined;
  const started = performance.now();
  const child = spawn(
    ffmpeg,
    [
      ...['-hide_banner', '-loglevel', 'error', '-fpsprobesize', '0', '-rtsp_transport', 'tcp'],
      ...['-i', measuredUrl, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  const at = performance.now();
  child.kill('SIGKILL');
  await once(child, 'exit');
  if (chunk.length === 0) throw new Error('viewer decoded nothing');
  if (playAt === undefined) throw new Error('the viewer never sent PLAY through the proxy');
  return { fromPlayMs: at - playAt, fromStartMs: at - started };
}

/** CPU seconds of the agent's tree over one window while `viewers` watch (all still running at its end). */
async function windowCpu(viewers: ChildProcess[]): Promise<number> {
  await sleep(WARMUP_MS);
  const before = processTreeCpu(agent.pid!);
  await sleep(WINDOW_MS);
  const after = processTreeCpu(agent.pid!);
  const stopped = viewers.filter((child) => child.exitCode !== null).length;
  if (stopped > 0) throw new Error(`${stopped} of ${viewers.length} viewers stopped early`);
  const cpu = cpuBetween(before, after);
  log(
    `${viewers.length} viewer(s): ${cpu.toFixed(2)} CPU s in ${WINDOW_MS / 1000} s (agent and its encoder)`,
  );
  return cpu;
}

/**
 * One viewer keeps the encoder running throughout; seven more join and leave, so 1- and 8-viewer windows alternate
 * (ROUNDS of each) and a slow drift in the machine's load hits both alike. Medians of each.
 */
async function viewerCost(): Promise<{ one: number; eight: number }> {
  const keeper = viewer();
  const one: number[] = [];
  const eight: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      one.push(await windowCpu([keeper]));
      const extra = Array.from({ length: 7 }, viewer);
      try {
        eight.push(await windowCpu([keeper, ...extra]));
      } finally {
        await stop(extra);
      }
    }
  } finally {
    await stop([keeper]);
  }
  return { one: median(one), eight: median(eight) };
}

try {
  const cold: Array<{ fromPlayMs: number; fromStartMs: number }> = [];
  for (let i = 0; i < 3; i++) {
    const run = await firstFrame();
    cold.push(run);
    log(
      `first frame, encoder cold: ${run.fromPlayMs.toFixed(0)} ms after PLAY, ${run.fromStartMs.toFixed(0)} ms after spawn`,
    );
    await sleep(ENCODER_GONE_MS);
  }
  const keeper = viewer();
  await sleep(WARMUP_MS);
  const warm: number[] = [];
  for (let i = 0; i < 3; i++) warm.push((await firstFrame()).fromPlayMs);
  log(`first frame, encoder running: ${warm.map((ms) => ms.toFixed(0)).join(', ')} ms after PLAY`);
  await stop([keeper]);
  const { one, eight } = await viewerCost();
  printResult({
    bench: 'stream',
    viewers_1_cpu_s: round(one, 2),
    viewers_8_cpu_s: round(eight, 2),
    ratio: round(eight / one, 3),
    first_frame_ms: Math.round(median(cold.map((run) => run.fromPlayMs))),
    first_frame_warm_ms: Math.round(median(warm)),
    viewer_start_to_frame_ms: Math.round(median(cold.map((run) => run.fromStartMs))),
    window_s: WINDOW_MS / 1000,
    rounds: ROUNDS,
    profile: PROFILE,
  });
} finally {
  await proxy.stop();
  agent.kill('SIGINT');
  await once(agent, 'exit');
}
