import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type HlsRoutes, hlsRoutes } from '../../src/stream/hls/routes.js';
import type { AccessUnit, LiveVideo, StreamInfo, Subscription } from '../../src/stream/live-video.js';

const SPS = Buffer.from('6742c01eda0280bfe5c044000003000400000300f03c58ba80', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

/** A LiveVideo the test drives picture by picture: ten a second, a keyframe every ten. */
class SteppedVideo implements LiveVideo {
  listeners = new Set<(unit: AccessUnit) => void>();
  ends = new Set<(error: Error | undefined) => void>();
  subscribes = 0;
  private sent = 0;

  constructor(readonly info: StreamInfo) {}

  async subscribe(
    onUnit: (unit: AccessUnit) => void,
    onEnd?: (error: Error | undefined) => void,
  ): Promise<Subscription> {
    this.subscribes++;
    this.listeners.add(onUnit);
    if (onEnd) this.ends.add(onEnd);
    return {
      info: this.info,
      unsubscribe: () => {
        this.listeners.delete(onUnit);
        if (onEnd) this.ends.delete(onEnd);
      },
    };
  }

  step(count: number): void {
    for (let i = 0; i < count; i++, this.sent++) {
      const keyframe = this.sent % 10 === 0;
      const slice = Buffer.from([keyframe ? 0x65 : 0x41, this.sent & 0xff]);
      const unit = {
        nals: keyframe ? [SPS, PPS, slice] : [slice],
        keyframe,
        ptsMs: this.sent * 100,
        feedMs: this.sent * 100,
      };
      for (const listener of this.listeners) listener(unit);
    }
  }

  fail(): void {
    for (const end of [...this.ends]) end(new Error('encoder died'));
    this.listeners.clear();
    this.ends.clear();
  }
}

describe('HLS routes', () => {
  let server: Server | undefined;
  let routes: HlsRoutes | undefined;

  afterEach(async () => {
    routes?.close();
    if (server) await new Promise((resolve) => server!.close(resolve));
  });

  async function serve(options: Partial<Parameters<typeof hlsRoutes>[0]> & { video: SteppedVideo }) {
    const { video, ...rest } = options;
    routes = hlsRoutes({
      sourceFor: (deviceId) => (deviceId === 'front-door' ? { video } : undefined),
      firstSegmentTimeoutMs: 300,
      ...rest,
    });
    const handler = routes;
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      void handler.handle(req, res, path).then((answered) => {
        if (!answered) res.writeHead(404, { 'X-Not-Hls': '1' }).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('leaves other paths to the next handler and answers odd ones with a clear status, never a crash', async () => {
    const video = new SteppedVideo({ name: 'main', width: 640, height: 360, fps: 10, sps: SPS, pps: PPS });
    const base = await serve({ video });
    expect(routes!.owns('/front-door/hls/index.m3u8')).toBe(true);
    expect(routes!.owns('/front-door/sub/hls/seg-3.m4s')).toBe(true);
    for (const path of [
      '/front-door/hls/../../etc/passwd',
      '/front-door/hls/seg-x.m4s',
      '/FRONT/hls/index.m3u8',
      '/hls',
    ]) {
      expect(routes!.owns(path)).toBe(false);
    }
    expect((await fetch(`${base}/front-door/hls/seg-1x.m4s`)).headers.get('x-not-hls')).toBe('1');
    expect((await fetch(`${base}/back-door/hls/index.m3u8`)).status).toBe(404);
    // Nothing encoded yet: the first request waits its while, then says so.
    const early = await fetch(`${base}/front-door/hls/index.m3u8`);
    expect([early.status, early.headers.get('retry-after')]).toEqual([503, '1']);
    expect(await early.json()).toEqual({
      error: { code: 'stream-not-ready', message: 'the stream has no segment yet' },
    });
    video.step(25);
    const playlist = await fetch(`${base}/front-door/hls/index.m3u8`);
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(await playlist.text()).toContain('seg-1.m4s');
    // Asked with ?token=, the playlist hands it on to every URI it names (players without cookies).
    const withToken = await (await fetch(`${base}/front-door/hls/index.m3u8?token=a%2Bb`)).text();
    expect(withToken).toContain('#EXT-X-MAP:URI="init.mp4?token=a%2Bb"');
    expect(withToken).toContain('seg-1.m4s?token=a%2Bb');
    const head = await fetch(`${base}/front-door/hls/seg-1.m4s`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'video/iso.segment']);
    expect((await fetch(`${base}/front-door/hls/init.mp4`)).headers.get('content-type')).toBe('video/mp4');
    expect(video.subscribes).toBe(1);
  });

  it('serves a bounded number of streams and starts afresh after the encoder fails', async () => {
    const video = new SteppedVideo({ name: 'main', width: 640, height: 360, fps: 10, sps: SPS, pps: PPS });
    const base = await serve({ video, maxSessions: 1 });
    const first = fetch(`${base}/front-door/hls/index.m3u8`);
    await expect.poll(() => video.listeners.size).toBe(1);
    video.step(11);
    expect((await first).status).toBe(200);
    const sub = await fetch(`${base}/front-door/sub/hls/index.m3u8`);
    expect(sub.status).toBe(503);
    expect(routes!.activeStreams).toBe(1);
    video.fail();
    expect(routes!.activeStreams).toBe(0);
    const again = fetch(`${base}/front-door/hls/index.m3u8`);
    await expect.poll(() => video.listeners.size).toBe(1);
    video.step(20); // from picture 11: the next keyframes are 20 and 30
    expect((await again).status).toBe(200);
    expect(video.subscribes).toBe(2);
  });
});
