/**
 * Issue #16's bad clients against the real agent, with the RTSP server's defaults: while ffmpeg watches the main
 * stream, garbage, a request that never ends, 1,000 idle connections and a viewer that stops reading. The viewer
 * keeps its frame rate, dings reach an independent subscriber about as fast as in a baseline taken in the same run,
 * the clip still lands, and memory stays bounded.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { ClipEventSchema } from '../../src/events/schemas.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { locateFfmpeg } from '../../src/video/locate.js';
import { startAgent } from '../helpers/agent.js';
import { REPO_ROOT, type Recorder, subscriber } from '../helpers/mqtt.js';
import { DECODE_TROUBLE, RawRtspClient, runProgram } from './helpers/clients.js';

const ID = 'abuse-door';
const FPS = 15;
const READ_SECONDS = 8;
const PRESSES = 5;
/** The RTSP server's defaults, which the agent keeps. */
const MAX_CONNECTIONS = 256;
const HEADER_TIMEOUT_MS = 10_000;
const IDLE_CONNECTIONS = 1_000;
const DING = `doorbell/${ID}/events/ding`;
const CLIP = `doorbell/${ID}/events/clip`;

let broker: EmbeddedBroker;
let agent: Agent;
let watcher: Recorder;
let url: string;
let port: number;
const sockets: Socket[] = [];
const rawClients: RawRtspClient[] = [];

beforeAll(async () => {
  broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  agent = await startAgent(
    broker.url,
    ID,
    {
      resolution: { width: 640, height: 360 },
      fps: FPS,
      // Presses a second apart must all ding; one ding-triggered clip per series, and no motion clips among them.
      button: { debounceMs: 50, chimeWindowMs: 500 },
      motion: { enabled: false, sensitivity: 'medium' },
      recording: { preRollMs: 1_000, postRollMs: 2_000, maxClipMs: 60_000 },
    },
    { video: join(REPO_ROOT, 'fixtures/video/porch-loop.mp4'), rtsp: { host: '127.0.0.1', port: 0 } },
  );
  // A press before the camera's first frame loses its clip (as it should): start from a camera that shows one.
  await vi.waitFor(() => expect(agent.cameraFeed?.live).toBe(true), { timeout: 10_000 });
  watcher = await subscriber(broker.url, [DING, CLIP]);
  url = agent.state().streams!.rtsp!.main;
  port = Number(new URL(url).port);
}, 30_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const client of rawClients) client.close();
  await watcher?.client.endAsync();
  await agent?.stop();
  await broker?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Presses a second apart; press → ding seen by the independent subscriber, ms each, then last press → clip. */
async function pressSeries(clipsBefore: number) {
  const dings: number[] = [];
  let lastPressAt = 0;
  for (let i = 0; i < PRESSES; i++) {
    if (i > 0) await sleep(1_000);
    lastPressAt = performance.now();
    const outcome = agent.press('button');
    if (!outcome.accepted) throw new Error(`press ${i} refused: ${outcome.reason}`);
    const ding = await watcher.waitForTopic(DING, (text) => JSON.parse(text).seq === outcome.seq, 10_000);
    dings.push(ding.at - lastPressAt);
  }
  await watcher.waitFor((messages) => messages.filter((m) => m.topic === CLIP).length > clipsBefore, 30_000);
  const clip = watcher.on(CLIP)[clipsBefore]!;
  // A stored clip, not a lost one: the presses extended one recording, which lands after the last press's post-roll.
  expect(ClipEventSchema.parse(JSON.parse(clip.text)).trigger).toBe('ding');
  return { dings, clipMs: clip.at - lastPressAt };
}

/** A connection that says nothing; `closedAt` is set when the server closes it. */
function openIdle(): Promise<{ openedAt: number; closedAt: number | undefined }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    const connection = { openedAt: performance.now(), closedAt: undefined as number | undefined };
    socket.on('error', () => {});
    socket.once('close', () => {
      connection.closedAt = performance.now();
      resolve(connection);
    });
    socket.once('connect', () => resolve(connection));
  });
}

/** OPTIONS on a new connection: its status, or 0 when the server closed it instead (the cap refused it). */
async function optionsStatus(): Promise<number> {
  const client = await RawRtspClient.open(port).catch(() => undefined);
  if (!client) return 0;
  rawClients.push(client);
  const closed = client.whenClosed().then(() => 0);
  return Promise.race([client.request('OPTIONS', url).then((response) => response.status), closed]);
}

const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[ms.length >> 1]!;
const summary = (ms: number[]) =>
  `median ${median(ms).toFixed(1)} ms, worst ${Math.max(...ms).toFixed(1)} ms [${ms.map((m) => m.toFixed(1)).join(', ')}]`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

it('keeps streaming, dinging and clipping through garbage, a half request, 1,000 idle connections and a stuck viewer', async () => {
  const baseline = await pressSeries(0);
  const memoryBefore = process.memoryUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const encoder = agent.liveStreams!.device!.encoders.main;

  // A viewer that sets up, plays, then never reads again.
  const stuck = await RawRtspClient.open(port);
  rawClients.push(stuck);
  const setup = await stuck.request('SETUP', `${url}/trackID=0`, {
    Transport: 'RTP/AVP/TCP;interleaved=0-1',
  });
  const session = setup.headers.get('session')!.split(';')[0]!;
  expect((await stuck.request('PLAY', url, { Session: session })).status).toBe(200);
  stuck.socket.pause();

  const viewer = runProgram(
    locateFfmpeg().ffmpeg,
    [
      ...['-hide_banner', '-nostats', '-v', 'warning', '-rtsp_transport', 'tcp', '-i', url],
      ...['-t', String(READ_SECONDS), '-progress', 'pipe:1', '-f', 'null', '-'],
    ],
    60_000,
  );
  // The viewer must hold its connection before the idle flood takes the rest.
  await expect.poll(() => encoder.viewers, { timeout: 15_000 }).toBe(2);

  const garbage = await RawRtspClient.open(port);
  rawClients.push(garbage);
  expect((await garbage.send(randomBytes(64).fill(0x16, 0, 1))).status).toBe(400);
  await garbage.whenClosed();

  // All at once. Beyond the cap each newcomer closes the quietest connection without a session (the viewers keep
  // theirs); the last ones would wait out the 30 s idle timeout.
  const flood = Promise.all(Array.from({ length: IDLE_CONNECTIONS }, openIdle));
  // The first press is delivered in the same event-loop turns as the flood's accepts and refusals.
  const pressing = pressSeries(1);
  pressing.catch(() => {});
  const idle = await flood;
  const evictedCount = () => idle.filter((connection) => connection.closedAt !== undefined).length;
  await expect
    .poll(evictedCount, { timeout: 10_000 })
    .toBeGreaterThanOrEqual(IDLE_CONNECTIONS - MAX_CONNECTIONS);
  await sleep(1_000);
  const accepted = IDLE_CONNECTIONS - evictedCount();
  const slowestEvictionMs = Math.max(...idle.map((c) => (c.closedAt ?? c.openedAt) - c.openedAt));
  console.log(
    `idle flood: ${accepted} accepted, ${evictedCount()} closed to make room, slowest ${slowestEvictionMs.toFixed(0)} ms`,
  );
  expect(accepted).toBeLessThanOrEqual(MAX_CONNECTIONS);
  // The cap was reached (the viewers and the half request hold a few of its slots).
  expect(accepted).toBeGreaterThanOrEqual(MAX_CONNECTIONS - 10);
  expect(slowestEvictionMs).toBeLessThan(10_000);
  // Squatters holding every slot do not lock out a viewer that arrives now.
  expect(await optionsStatus()).toBe(200);

  // A request that never ends, sent after the flood so that it is not the quietest connection the flood evicts.
  const half = await RawRtspClient.open(port);
  rawClients.push(half);
  const halfStarted = performance.now();
  const halfAnswer = half.send(`DESCRIBE ${url} RTSP/1.0\r\nCSeq: 1\r\n`);

  const run = await viewer;
  const abuse = await pressing;
  loopDelay.disable();
  expect((await halfAnswer).status).toBe(400);
  await half.whenClosed();
  expect(performance.now() - halfStarted).toBeGreaterThanOrEqual(HEADER_TIMEOUT_MS - 500);

  const frames = Number([...run.stdout.matchAll(/^frame=(\d+)$/gm)].at(-1)?.[1] ?? 0);
  console.log(
    `viewer under abuse: ${frames} frames in ${(run.ms / 1000).toFixed(2)} s; stuck viewer ` +
      `${stuck.closed ? 'dropped' : 'still connected'}; event loop delay max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
  );
  console.log(`ding baseline: ${summary(baseline.dings)}; under abuse: ${summary(abuse.dings)}`);
  console.log(
    `clip after last press: baseline ${baseline.clipMs.toFixed(0)} ms, abuse ${abuse.clipMs.toFixed(0)} ms`,
  );
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).not.toMatch(DECODE_TROUBLE);
  expect(frames).toBeGreaterThanOrEqual(Math.ceil(0.95 * FPS * READ_SECONDS));
  expect(abuse.dings).toHaveLength(PRESSES);
  expect(Math.max(...abuse.dings)).toBeLessThan(1_000);
  // Medians shrug off one unlucky scheduling spike on a shared machine; a loop blocked by the abuse still shows.
  expect(median(abuse.dings)).toBeLessThan(median(baseline.dings) + 250);
  expect(loopDelay.max / 1e6).toBeLessThan(2_000);
  expect(abuse.clipMs).toBeLessThan(baseline.clipMs + 5_000);

  // The squatters gone, the server answers a newcomer, and nothing piled up.
  for (const socket of sockets) socket.destroy();
  stuck.close();
  await expect.poll(() => encoder.viewers, { timeout: 5_000 }).toBe(0);
  await expect.poll(optionsStatus, { timeout: 5_000 }).toBe(200);
  const memoryAfter = process.memoryUsage();
  const growth = {
    rss: memoryAfter.rss - memoryBefore.rss,
    heap: memoryAfter.heapUsed - memoryBefore.heapUsed,
  };
  console.log(
    `memory growth: rss ${mb(growth.rss)}, heap ${mb(growth.heap)} (rss now ${mb(memoryAfter.rss)})`,
  );
  expect(growth.heap).toBeLessThan(64 * 2 ** 20);
  expect(growth.rss).toBeLessThan(200 * 2 ** 20);
}, 90_000);
