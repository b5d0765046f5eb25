/**
 * The agent's own RTSP server on its real camera feed and encoder, the way an NVR meets it: the default profile
 * (wired-1080p, 1920x1080 at 30 fps), pulled by ffprobe, ffmpeg over TCP and UDP at once, and GStreamer's rtspsrc.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { findOnPath, locateFfmpeg } from '../../src/video/locate.js';
import { startAgent } from '../helpers/agent.js';
import { REPO_ROOT } from '../helpers/mqtt.js';
import { decodeTrouble, gstTrouble, runProgram, UDP_READER_OPTIONS } from './helpers/clients.js';

const READ_SECONDS = 10;
const { ffmpeg, ffprobe } = locateFfmpeg();
const gstLaunch = findOnPath('gst-launch-1.0');

let broker: EmbeddedBroker;
let agent: Agent;
let url: string;
let size: { width: number; height: number };
let fps: number;

beforeAll(async () => {
  broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  const loaded = await loadProfile('wired-1080p');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const { profile } = loaded.value;
  agent = await startAgent(
    broker.url,
    'front-door',
    {},
    { video: join(REPO_ROOT, profile.video!), rtsp: { host: '127.0.0.1', port: 0 } },
  );
  size = profile.resolution;
  fps = profile.fps;
  url = agent.state().streams!.rtsp!.main;
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await broker?.stop();
});

/** Decodes READ_SECONDS of the stream; `frames` is what ffmpeg's progress report counted at the end. */
async function ffmpegRead(transport: 'tcp' | 'udp') {
  const run = await runProgram(
    ffmpeg,
    [
      ...['-hide_banner', '-nostats', '-v', 'warning', '-rtsp_transport', transport],
      ...(transport === 'udp' ? UDP_READER_OPTIONS : []),
      ...['-i', url],
      ...['-t', String(READ_SECONDS), '-progress', 'pipe:1', '-f', 'null', '-'],
    ],
    60_000,
  );
  const counts = [...run.stdout.matchAll(/^frame=(\d+)$/gm)].map((match) => Number(match[1]));
  return { ...run, frames: counts.at(-1) ?? 0 };
}

describe('doorbell RTSP on the real camera', () => {
  it("ffprobe reports H.264 at the profile's size and frame rate", async () => {
    expect(url).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\/front-door$/);
    const run = await runProgram(
      ffprobe,
      ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,r_frame_rate', '-of', 'csv=p=0', url],
      30_000,
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(`h264,${size.width},${size.height},${fps}/1`);
  });

  it(`ffmpeg reads ${READ_SECONDS} s over TCP and UDP at once at ≥ 95 % of the profile fps, decoding cleanly`, async () => {
    const [tcp, udp] = await Promise.all([ffmpegRead('tcp'), ffmpegRead('udp')]);
    for (const [name, run] of [
      ['tcp', tcp],
      ['udp', udp],
    ] as const) {
      console.log(`agent RTSP, ffmpeg ${name}: ${run.frames} frames in ${(run.ms / 1000).toFixed(2)} s`);
      expect(run.code, `${name}: ${run.stderr}`).toBe(0);
      expect(decodeTrouble(run.stderr, name), name).toBeUndefined();
      expect(run.frames, name).toBeGreaterThanOrEqual(Math.ceil(0.95 * fps * READ_SECONDS));
    }
  }, 90_000);

  it.skipIf(!gstLaunch)(
    'GStreamer rtspsrc plays the main stream and the substream into a fakesink',
    async () => {
      const play = (location: string) =>
        runProgram(
          gstLaunch!,
          [
            ...['rtspsrc', `location=${location}`, 'protocols=tcp', '!', 'rtph264depay', '!', 'h264parse'],
            ...['!', 'avdec_h264', '!', 'fakesink', 'num-buffers=60'],
          ],
          60_000,
        );
      const [main, sub] = await Promise.all([play(url), play(agent.state().streams!.rtsp!.sub)]);
      expect(gstTrouble(main), 'main').toBeUndefined();
      expect(gstTrouble(sub), 'sub').toBeUndefined();
    },
    90_000,
  );
});
