import { execFile, execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { DeviceLive } from '../../src/stream/device-live.js';
import {
  deviceStreamSpecs,
  parseRtspPath,
  parseStreamRoute,
  streamUrls,
} from '../../src/stream/device-streams.js';
import { streamHttpRoutes } from '../../src/stream/http-routes.js';
import { type ConsoleServer, startConsoleServer } from '../../src/ui/server.js';
import { probe } from '../../src/video/ffmpeg/probe.js';
import { locateFfmpeg } from '../../src/video/locate.js';
import { REPO_ROOT } from '../helpers/mqtt.js';
import { boundaryOf, parseMultipart } from '../helpers/multipart.js';
import { FakeBackend } from '../ui/fake-backend.js';
import { openStream, request } from '../ui/http-client.js';

const SOURCE = join(REPO_ROOT, 'fixtures/video/porch-loop.mp4');
const run = promisify(execFile);

/** Whether GStreamer with these elements is installed (.ci/run installs it; a test without it is skipped). */
function hasGstreamer(elements: string[]): boolean {
  try {
    for (const element of elements)
      execFileSync('gst-inspect-1.0', ['--exists', element], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const GST_MJPEG = ['souphttpsrc', 'multipartdemux', 'jpegdec', 'identity', 'fakesink'];
const TOKEN = 'stream-test-token-0123456789';
const LEFT_HALF = [
  [0, 0],
  [0.5, 0],
  [0.5, 1],
  [0, 1],
] as const;

describe('stream paths and sizes (one source of truth)', () => {
  it('names the streams, parses its own paths, and sizes the substream', () => {
    expect(deviceStreamSpecs({ resolution: { width: 1920, height: 1080 }, fps: 30 }).sub).toEqual({
      name: 'sub',
      size: { width: 640, height: 360 },
      fps: 30,
    });
    expect(deviceStreamSpecs({ resolution: { width: 480, height: 360 }, fps: 10 }).sub.size).toEqual({
      width: 480,
      height: 360,
    });
    const urls = streamUrls('front-door', { rtsp: 'rtsp://h:8554', http: 'http://h:8080' });
    expect(urls).toEqual({
      rtsp: { main: 'rtsp://h:8554/front-door', sub: 'rtsp://h:8554/front-door/sub' },
      mjpeg: { main: 'http://h:8080/front-door/mjpeg', sub: 'http://h:8080/front-door/sub/mjpeg' },
      hls: {
        main: 'http://h:8080/front-door/hls/index.m3u8',
        sub: 'http://h:8080/front-door/sub/hls/index.m3u8',
      },
      snapshot: 'http://h:8080/front-door/snapshot.jpg',
    });
    expect(parseStreamRoute(new URL(urls.mjpeg!.sub).pathname)).toEqual({
      kind: 'mjpeg',
      deviceId: 'front-door',
      stream: 'sub',
    });
    expect(parseStreamRoute('/front-door/snapshot.jpg')).toEqual({
      kind: 'snapshot',
      deviceId: 'front-door',
    });
    expect(parseStreamRoute('/../etc/mjpeg')).toBeUndefined();
    expect(parseRtspPath('front-door', '/front-door/sub/')).toBe('sub');
    expect(parseRtspPath('front-door', '/front-door?x=1')).toBe('main');
    expect(parseRtspPath('front-door', '/other')).toBeUndefined();
  });
});

describe('MJPEG and snapshot over the console (real ffmpeg)', () => {
  let live: DeviceLive;
  let server: ConsoleServer;
  let base: string;

  beforeAll(async () => {
    const { durationMs } = await probe(SOURCE);
    live = new DeviceLive({
      deviceId: 'front-door',
      profile: { resolution: { width: 640, height: 360 }, fps: 15 },
      privacyZones: [LEFT_HALF],
      source: SOURCE,
      loopDurationMs: durationMs,
      feedNow: () => 5_000,
      logger: silentLogger(),
      lingerMs: 300,
    });
    server = await startConsoleServer({
      backend: new FakeBackend({ frames: [] }),
      port: 0,
      token: TOKEN,
      streams: streamHttpRoutes((id) => (id === 'front-door' ? live : undefined)),
    });
    base = server.url.replace(/\/$/, '');
  });

  afterAll(async () => {
    await server?.stop();
    await live?.close();
  });

  it('ffmpeg reads /<id>/sub/mjpeg with the token as a query parameter and decodes frames', async () => {
    const { ffmpeg } = locateFfmpeg();
    const { stdout } = await promisify(execFile)(
      ffmpeg,
      [
        '-v',
        'error',
        '-f',
        'mpjpeg',
        '-i',
        `${base}/front-door/sub/mjpeg?token=${TOKEN}`,
        '-frames:v',
        '10',
        '-f',
        'framemd5',
        '-',
      ],
      { timeout: 20_000 },
    );
    const frames = stdout.split('\n').filter((line) => line && !line.startsWith('#'));
    expect(frames).toHaveLength(10);
    await expect.poll(() => live.mjpeg.sub.running, { timeout: 5_000 }).toBe(false);
  });

  it.skipIf(!hasGstreamer(GST_MJPEG))(
    "GStreamer's multipartdemux decodes /<id>/sub/mjpeg, authenticating with basic auth when challenged",
    async () => {
      const { stdout } = await run(
        'gst-launch-1.0',
        [
          'souphttpsrc',
          `location=${base}/front-door/sub/mjpeg`,
          'user-id=gstreamer',
          `user-pw=${TOKEN}`,
          '!',
          'multipartdemux',
          '!',
          'jpegdec',
          '!',
          'identity',
          'eos-after=10',
          '!',
          'fakesink',
        ],
        { timeout: 20_000 },
      );
      expect(stdout).toContain('Got EOS');
      await expect.poll(() => live.mjpeg.sub.running, { timeout: 5_000 }).toBe(false);
    },
  );

  it('viewers share one JPEG encoder; one that stops reading is dropped to the latest picture', async () => {
    const auth = { Authorization: `Basic ${Buffer.from(`ha:${TOKEN}`).toString('base64')}` };
    const fast = await openStream(`${base}/front-door/mjpeg`, auth);
    expect(fast.status).toBe(200);
    const boundary = boundaryOf(fast.headers['content-type']);
    expect(fast.headers['transfer-encoding']).toBeUndefined();
    // A viewer that sends its request and then never reads.
    const stalled = connect(server.port, '127.0.0.1');
    stalled.write(`GET /front-door/mjpeg?token=${TOKEN} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    stalled.pause();
    await expect.poll(() => live.mjpeg.main.viewerCount, { timeout: 5_000 }).toBe(2);
    await fast.waitFor((body) => parseMultipart(body, boundary).length >= 3, 10_000);
    expect(live.mjpeg.main.starts).toBe(1);
    // MJPEG encodes from the source: no H.264 encoder runs for it.
    expect(live.encoders.main.starts).toBe(0);
    // The stalled viewer's kernel buffers take seconds to fill on loopback; meanwhile the other viewer keeps going
    // (the fan-out's bound is shown with a stalled stream in mjpeg.test.ts).
    const before = parseMultipart(fast.received(), boundary).length;
    await fast.waitFor((body) => parseMultipart(body, boundary).length >= before + 15, 5_000);
    const part = parseMultipart(fast.received(), boundary)[0]!;
    expect(live.mjpeg.main.bufferedBytes()).toBeLessThan(3 * (part.body.length + 200));
    const meta = await sharp(part.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 640, 360]);
    stalled.destroy();
    fast.close();
    await expect.poll(() => live.mjpeg.main.running, { timeout: 5_000 }).toBe(false);
  });

  it('snapshot.jpg is the profile size with the privacy zone black; clients are challenged for basic auth', async () => {
    const denied = await request(`${base}/front-door/snapshot.jpg`);
    expect(denied.status).toBe(401);
    expect(denied.headers['www-authenticate']).toMatch(/^Basic /);
    const res = await request(`${base}/front-door/snapshot.jpg?token=${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    const { data, info } = await sharp(res.body).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([640, 360]);
    const at = (x: number, y: number) =>
      data[Math.floor(y * info.height) * info.width + Math.floor(x * info.width)]!;
    for (const y of [0.1, 0.5, 0.9]) for (const x of [0.05, 0.25, 0.45]) expect(at(x, y)).toBeLessThan(24);
    expect(
      Math.max(...[0.6, 0.75, 0.9].flatMap((x) => [0.2, 0.5, 0.8].map((y) => at(x, y)))),
    ).toBeGreaterThan(40);
    expect((await request(`${base}/nobody/snapshot.jpg?token=${TOKEN}`)).status).toBe(404);
  });
});
