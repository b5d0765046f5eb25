import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { MotionDetector, type MotionEvent } from '../../src/motion/detector.js';
import { MotionSettingsSchema } from '../../src/motion/settings.js';
import { LiveEncoder } from '../../src/stream/encoder.js';
import { type HlsRoutes, hlsRoutes } from '../../src/stream/hls/routes.js';
import type { AccessUnit, LiveVideo } from '../../src/stream/live-video.js';
import { type ConsoleServer, startConsoleServer } from '../../src/ui/server.js';
import { lumaFileSource } from '../../src/video/frame-source.js';
import { REPO_ROOT } from '../helpers/mqtt.js';
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, chromiumSuite, HAS_CHROMIUM } from './chromium.js';
import { FakeBackend, makeFrames } from './fake-backend.js';

const SUITE = chromiumSuite('console live view over HLS in Chromium');

const FIXTURE = join(REPO_ROOT, 'fixtures', 'video', 'person-crossing.mp4');
const FPS = 15;
const WIDTH = 640;
const HEIGHT = 360;

/** A motion event of one loop of the fixture, and the feed time of the frame whose analysis emitted it. */
interface TimedEvent {
  event: MotionEvent;
  emittedAtMs: number;
}

/** The real detector over the fixture's frames: the events a doorbell watching it would send, and when. */
async function detectorEvents(): Promise<{ events: TimedEvent[]; loopMs: number }> {
  const settings = MotionSettingsSchema.parse({});
  let detector: MotionDetector | undefined;
  const events: TimedEvent[] = [];
  let lastMs = 0;
  for await (const frame of lumaFileSource(FIXTURE).frames({ width: settings.analysisWidth })) {
    detector ??= new MotionDetector(settings, { width: frame.width, height: frame.height });
    for (const event of detector.push(frame)) events.push({ event, emittedAtMs: frame.ptsMs });
    lastMs = frame.ptsMs;
  }
  return { events, loopMs: lastMs + 1000 / FPS };
}

/** What the page functions below touch (the project's TypeScript has no DOM lib; they run in the page). */
declare const document: { getElementById(id: string): unknown; createElement(tag: 'canvas'): unknown };

interface PixelCheck {
  box: number[];
  changed: number;
  changedInBox: number;
  loopOffsetMs: number;
}

describe.skipIf(!HAS_CHROMIUM)(SUITE, () => {
  let browser: Browser;
  let backend: FakeBackend;
  let video: LiveEncoder;
  let hls: HlsRoutes;
  let server: ConsoleServer;
  /** Device-clock ms of feed time 0. */
  let feedStartMs: number;
  let loopMs: number;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const [launched, detected, frames] = await Promise.all([
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
      detectorEvents(),
      makeFrames(2),
    ]);
    browser = launched;
    loopMs = detected.loopMs;
    expect(detected.events.map((timed) => timed.event.type)).toContain('update');
    backend = new FakeBackend({ frames, fps: 5 });
    video = new LiveEncoder({
      name: 'main',
      size: { width: WIDTH, height: HEIGHT },
      fps: FPS,
      source: FIXTURE,
      loopDurationMs: loopMs,
      feedNow: () => 0,
      privacyZones: () => [],
      logger: silentLogger(),
      lingerMs: 200,
    });
    feedStartMs = Date.now();
    // Like the agent: the detector sees each picture when the encoder does, and its events reach the console then.
    let lastFeedMs = Number.NEGATIVE_INFINITY;
    const detectAlong = (unit: AccessUnit) => {
      if (unit.feedMs <= lastFeedMs) return; // a group of pictures replayed to a new viewer
      lastFeedMs = unit.feedMs;
      const frameMs = 1000 / FPS;
      const offsetMs = Math.round((unit.feedMs % loopMs) / frameMs) * frameMs;
      const loopStartMs = unit.feedMs - offsetMs;
      for (const { event, emittedAtMs } of detected.events) {
        if (Math.abs(emittedAtMs - offsetMs) > 1) continue;
        backend.motion(event.type, event.zones, {
          atMs: feedStartMs + loopStartMs + event.ptsMs,
          box: event.box,
        });
      }
    };
    const watched: LiveVideo = {
      subscribe: (onUnit, onEnd) =>
        video.subscribe((unit) => {
          detectAlong(unit);
          onUnit(unit);
        }, onEnd),
    };
    hls = hlsRoutes({
      sourceFor: (deviceId) =>
        deviceId === backend.id
          ? { video: watched, deviceMsOf: (feedMs) => feedStartMs + feedMs }
          : undefined,
    });
    server = await startConsoleServer({ backend, port: 0, streams: hls });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    hls?.close();
    await video?.close();
    backend?.stop();
  });

  async function open(): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`console.${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(server.url);
    await page.locator('#live-view[data-mode="hls"]').waitFor({ timeout: 5000 });
    return { page, problems };
  }

  /**
   * Frames the video presented so far (requestVideoFrameCallback's presentedFrames) and the media time of the last,
   * with the page's clock.
   */
  function presented(
    page: Page,
  ): Promise<{ frames: number; at: number; dropped: number; mediaTime: number }> {
    return page.evaluate(() => {
      const element = document.getElementById('live-video') as {
        getVideoPlaybackQuality(): { droppedVideoFrames: number };
      };
      const view = document.getElementById('live-view') as { dataset: Record<string, string> };
      const overlay = document.getElementById('live-overlay') as { dataset: Record<string, string> };
      return {
        mediaTime: Number(overlay.dataset['mediaTime'] ?? 0),
        frames: Number(view.dataset['frames'] ?? 0),
        at: performance.now(),
        dropped: element.getVideoPlaybackQuality().droppedVideoFrames,
      };
    });
  }

  /**
   * Over 4 s of playback: every picture of the stream reaches the video (presented, or dropped by a decoder short of
   * CPU: ≥ 95 % of the fps per second of media time), nearly all are presented (≥ 85 %), and the media runs in real
   * time (≥ 75 %: on a loaded 2-core machine the encoder itself can lag).
   */
  async function expectStreamRate(page: Page, what: string): Promise<void> {
    const before = await presented(page);
    await page.waitForFunction((start) => performance.now() - start >= 4000, before.at, { polling: 250 });
    const after = await presented(page);
    const frames = after.frames - before.frames;
    const dropped = after.dropped - before.dropped;
    const mediaS = after.mediaTime - before.mediaTime;
    const perWallSecond = (frames * 1000) / (after.at - before.at);
    console.info(
      `console HLS (${what}): ${(frames / mediaS).toFixed(1)} presented + ${(dropped / mediaS).toFixed(1)} dropped ` +
        `per media second, ${perWallSecond.toFixed(1)} fps presented in Chromium (stream ${FPS} fps)`,
    );
    expect((frames + dropped) / mediaS).toBeGreaterThanOrEqual(0.95 * FPS);
    expect(frames / mediaS).toBeGreaterThanOrEqual(0.85 * FPS);
    expect(perWallSecond).toBeGreaterThanOrEqual(0.75 * FPS);
  }

  it('plays the live stream from HLS/MSE in colour at the stream frame rate', async () => {
    const { page, problems } = await open();
    await expect.poll(async () => (await presented(page)).frames, { timeout: 15_000 }).toBeGreaterThan(FPS);
    await expectStreamRate(page, 'test source 640×360');
    const size = await page.evaluate(() => {
      const element = document.getElementById('live-video') as { videoWidth: number; videoHeight: number };
      return [element.videoWidth, element.videoHeight];
    });
    expect(size).toEqual([WIDTH, HEIGHT]);
    expect(problems).toEqual([]);
    await page.close();
  }, 40_000);

  it("plays the agent's own live encoder (porch loop, 1280×720) at its frame rate", async () => {
    const encoder = new LiveEncoder({
      name: 'main',
      size: { width: 1280, height: 720 },
      fps: FPS,
      source: join(REPO_ROOT, 'fixtures', 'video', 'porch-loop.mp4'),
      loopDurationMs: 30_000,
      feedNow: () => 0,
      privacyZones: () => [],
      logger: silentLogger(),
      lingerMs: 200,
    });
    const realHls = hlsRoutes({ sourceFor: () => ({ video: encoder }) });
    const realServer = await startConsoleServer({ backend, port: 0, streams: realHls });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      await page.goto(realServer.url);
      await page.locator('#live-view[data-mode="hls"]').waitFor({ timeout: 5000 });
      await expect.poll(async () => (await presented(page)).frames, { timeout: 20_000 }).toBeGreaterThan(FPS);
      await expectStreamRate(page, 'live encoder 1280×720');
      await page.close();
    } finally {
      await realServer.stop();
      realHls.close();
      await encoder.close();
    }
  }, 60_000);

  it('draws the motion box over the moving person in the frame it belongs to (pixel test)', async () => {
    const { page, problems } = await open();
    const checks = (await page.evaluate(
      ({ feedStartMs, loopMs }) =>
        new Promise((resolve, reject) => {
          type Frame = { mediaTime: number };
          const doc = document as {
            getElementById(id: string): unknown;
            createElement(tag: 'canvas'): {
              width: number;
              height: number;
              getContext(
                kind: '2d',
                options: object,
              ): {
                drawImage(source: unknown, x: number, y: number): void;
                getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
              };
            };
          };
          const videoElement = doc.getElementById('live-video') as {
            videoWidth: number;
            videoHeight: number;
            requestVideoFrameCallback(callback: (now: number, metadata: Frame) => void): void;
          };
          const overlay = doc.getElementById('live-overlay') as {
            dataset: Record<string, string | undefined>;
          };
          const scratch = doc.createElement('canvas');
          let background: Uint8ClampedArray | undefined;
          const checks: Array<{
            box: number[];
            changed: number;
            changedInBox: number;
            loopOffsetMs: number;
          }> = [];
          const timer = setTimeout(
            () => reject(new Error('fewer than 3 frames with a motion box in 30 s')),
            30_000,
          );
          const pixels = () => {
            scratch.width = videoElement.videoWidth;
            scratch.height = videoElement.videoHeight;
            const context = scratch.getContext('2d', { willReadFrequently: true });
            context.drawImage(videoElement, 0, 0);
            return context.getImageData(0, 0, scratch.width, scratch.height).data;
          };
          const onFrame = (_now: number, metadata: Frame) => {
            // Checked once this frame's callbacks have all run (the app's draws the overlay), on the same frame.
            setTimeout(() => check(metadata), 0);
          };
          const check = (metadata: Frame) => {
            // Only a frame whose overlay was drawn for this very frame counts.
            const drawnFor = Number(overlay.dataset['mediaTime']);
            const deviceMs = Number(overlay.dataset['deviceMs']);
            const offset = (deviceMs - feedStartMs) % loopMs;
            if (drawnFor === metadata.mediaTime && Number.isFinite(offset)) {
              if (!background && offset > 200 && offset < 1300 && !overlay.dataset['box'])
                background = pixels();
              const box = overlay.dataset['box'];
              const spaced = offset - (checks.at(-1)?.loopOffsetMs ?? 0) > 400;
              if (background && box && offset > 3000 && offset < 6000 && spaced) {
                const [x, y, w, h] = box.split(',').map(Number) as [number, number, number, number];
                const frame = pixels();
                let changed = 0;
                let changedInBox = 0;
                for (let i = 0; i < frame.length; i += 4) {
                  const delta =
                    Math.abs(frame[i]! - background[i]!) +
                    Math.abs(frame[i + 1]! - background[i + 1]!) +
                    Math.abs(frame[i + 2]! - background[i + 2]!);
                  if (delta < 90) continue;
                  changed++;
                  const px = (i / 4) % scratch.width;
                  const py = Math.floor(i / 4 / scratch.width);
                  if (px >= x && px < x + w && py >= y && py < y + h) changedInBox++;
                }
                checks.push({ box: [x, y, w, h], changed, changedInBox, loopOffsetMs: offset });
                if (checks.length === 3) {
                  clearTimeout(timer);
                  resolve(checks);
                  return;
                }
              }
            }
            videoElement.requestVideoFrameCallback(onFrame);
          };
          videoElement.requestVideoFrameCallback(onFrame);
        }),
      { feedStartMs, loopMs },
    )) as PixelCheck[];
    await page.locator('#live-view').screenshot({ path: join(ARTIFACTS, 'console-hls-motion.png') });
    for (const check of checks) {
      const share = check.changedInBox / check.changed;
      console.info(
        `HLS overlay pixel test at ${Math.round(check.loopOffsetMs)} ms into the loop: box ${check.box.join(',')}, ` +
          `${check.changedInBox} of ${check.changed} changed pixels inside (${(share * 100).toFixed(0)} %)`,
      );
      // The person is what changed against the empty porch: most of it lies inside the box drawn for that frame.
      expect(check.changed).toBeGreaterThan(500);
      expect(share).toBeGreaterThanOrEqual(0.6);
    }
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
