import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { LiveEncoder } from '../../src/stream/encoder.js';
import { type HlsRoutes, hlsRoutes } from '../../src/stream/hls/routes.js';
import { locateFfmpeg } from '../../src/video/locate.js';
import { REPO_ROOT } from '../helpers/mqtt.js';

const run = promisify(execFile);
const FIXTURE = join(REPO_ROOT, 'fixtures', 'video', 'person-crossing.mp4');
const FPS = 15;

/** ffprobe and ffmpeg (the located ones) read our live HLS like any player would. */
describe('HLS read by real clients', () => {
  let video: LiveEncoder;
  let routes: HlsRoutes;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    video = new LiveEncoder({
      name: 'main',
      size: { width: 640, height: 360 },
      fps: FPS,
      source: FIXTURE,
      loopDurationMs: 9_000,
      feedNow: () => 0,
      privacyZones: () => [],
      logger: silentLogger(),
      lingerMs: 200,
    });
    routes = hlsRoutes({
      sourceFor: (deviceId, stream) =>
        deviceId === 'front-door' && stream === 'main' ? { video } : undefined,
      idleMs: 2_000,
    });
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      void routes.handle(req, res, url.pathname).then((answered) => {
        if (!answered) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    routes?.close();
    await video?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  it('ffprobe sees H.264 at the stream size; ffmpeg decodes ≥ 95 % of the frames for 4 s, error-free', async () => {
    const { ffmpeg, ffprobe } = locateFfmpeg();
    const url = `${base}/front-door/hls/index.m3u8`;
    const probe = await run(ffprobe, [
      ...['-v', 'error', '-select_streams', 'v:0'],
      ...['-show_entries', 'stream=codec_name,width,height', '-of', 'json', url],
    ]);
    const stream = (JSON.parse(probe.stdout) as { streams: Array<Record<string, unknown>> }).streams[0];
    expect(stream).toEqual({ codec_name: 'h264', width: 640, height: 360 });

    const seconds = 4;
    const startedAt = performance.now();
    const decoded = await run(ffmpeg, [
      ...['-hide_banner', '-nostats', '-v', 'error', '-i', url, '-t', String(seconds)],
      ...['-f', 'framemd5', '-'],
    ]);
    const wallS = (performance.now() - startedAt) / 1000;
    const frames = decoded.stdout.split('\n').filter((line) => /^0,/.test(line)).length;
    const errors = decoded.stderr.split('\n').filter((line) => line.trim());
    console.info(`ffmpeg read HLS: ${frames} frames of ${seconds * FPS} in ${wallS.toFixed(1)} s wall`);
    expect(errors).toEqual([]);
    expect(frames).toBeGreaterThanOrEqual(Math.floor(0.95 * seconds * FPS));
  }, 60_000);

  it('answers 404 for other devices and expired segments, 405 for other methods, and stops when idle', async () => {
    expect((await fetch(`${base}/back-door/hls/index.m3u8`)).status).toBe(404);
    expect((await fetch(`${base}/front-door/hls/seg-999999.m4s`)).status).toBe(404);
    expect((await fetch(`${base}/front-door/hls/index.m3u8`, { method: 'POST' })).status).toBe(405);
    const playlist = await (await fetch(`${base}/front-door/hls/index.m3u8`)).text();
    expect(playlist).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(routes.activeStreams).toBe(1);
    // Nobody asks for 2 s (the idle time in this test): the stream lets go of the encoder.
    await expect.poll(() => video.running, { timeout: 6_000, interval: 200 }).toBe(false);
    expect(routes.activeStreams).toBe(0);
  }, 20_000);
});
