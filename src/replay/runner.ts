import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Agent } from '../agent/agent.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { type NormalizedPolygon, rasterizePolygons } from '../geometry/polygon.js';
import { type Logger, silentLogger } from '../log/logger.js';
import { EmbeddedBroker } from '../mqtt/broker.js';
import { BrokerConnectionSchema } from '../mqtt/connection.js';
import { deviceTopics } from '../mqtt/topics.js';
import { FsBucket } from '../storage/fs-bucket.js';
import { probe } from '../video/ffmpeg/probe.js';
import { type FrameRunFeed, framesInWindow, nearestFrameIndex } from '../video/frame-runs.js';
import { roundMs } from '../video/frames.js';
import { type LumaFixture, lumaFixture } from '../video/luma-frames.js';
import { CameraTimeline } from './camera-timeline.js';
import { checkExpectations, type ExpectationResult } from './expectations.js';
import {
  COMPARISON_WIDTH,
  type CompareMask,
  clipFidelity,
  compareMask,
  describeFrames,
  frameName,
  MIN_THUMBNAIL_PSNR_DB,
  type SourceTimeline,
  stillFidelity,
} from './fidelity.js';
import { type ComparisonSize, clipLuma, jpegLuma } from './object-facts.js';
import { OutageBucket } from './outage-bucket.js';
import type { ResolvedScenario, ScenarioAction } from './scenario.js';
import {
  countEvents,
  isStoredClipEvent,
  serializeTape,
  TAPE_VERSION,
  type TapeAction,
  type TapeLine,
  type TapeMessage,
  type TapeObject,
} from './tape.js';
import { WireProxy, type WirePublish } from './wire-proxy.js';

export interface ReplayProgress {
  simMs: number;
  durationMs: number;
  counts: Record<string, number>;
}

export interface ReplayOptions {
  logger?: Logger;
  /** 'max' (default): as fast as possible; N: N virtual seconds per real second. */
  speed?: number | 'max';
  onProgress?: (progress: ReplayProgress) => void;
  /** Keep the temp folder (data dir, bucket) instead of removing it; its path is in the result. */
  keepWorkDir?: boolean;
  /** Real-time bound for waiting on the broker or the device (a replay that needs longer has failed). */
  waitTimeoutMs?: number;
}

export interface ReplayResult {
  scenario: string;
  tape: TapeLine[];
  text: string;
  counts: Record<string, number>;
  expectations: ExpectationResult[];
  /** Things that went wrong outside the expectations: undelivered messages, a clip event that does not match its object. */
  problems: string[];
  simMs: number;
  wallMs: number;
  /** Wall ms by phase (camera decode, start, the run, waiting for the device, sign-off, the tape). */
  timings: Record<string, number>;
  workDir?: string;
}

interface QueuedAction {
  atMs: number;
  order: number;
  action: ScenarioAction | { do: 'broker-back' } | { do: 'bucket-back' };
  index: number;
}

interface Sniffed {
  t: number;
  publish: WirePublish;
  via?: 'will';
  /**
   * For a retained snapshot, the camera frame it should show: the one on screen at the last ding or motion start
   * before it was read off the wire (after an outage only the latest retained snapshot goes out), else the one shown when it went out
   * (-1: none yet).
   */
  snapshotFrame?: number;
}

/** What the camera showed, frame by frame, at the size the tape's pictures are checked at (fidelity.ts). */
interface CameraSources {
  timeline: SourceTimeline;
  size: ComparisonSize;
  /** The starting profile's privacy zones (a `config` action that changes them is not followed). */
  mask: CompareMask | undefined;
  fps: number;
}

const BARRIER_PREFIX = 'replay-barrier-';

/**
 * Runs a scenario on a virtual clock against a real embedded broker (through an unpluggable proxy that reads what
 * the device sends) and a real folder bucket (behind a switchable outage), driving the camera frame by frame.
 * After every step that made the device do something, it waits until that work has settled (recordings, uploads,
 * snapshots, and every byte the device sent has been read off the wire), so nothing depends on wall-clock timing.
 */
export async function runScenario(
  resolved: ResolvedScenario,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const run = new ScenarioRun(resolved, options);
  return run.execute();
}

class ScenarioRun {
  private readonly scenario;
  private readonly logger: Logger;
  private readonly epochMs: number;
  private readonly clock: VirtualClock;
  private readonly sniffed: Sniffed[] = [];
  /** Events seen so far, for progress lines (counted as they are sniffed, not by rescanning). */
  private readonly liveCounts: Record<string, number> = { ding: 0, motion: 0, clip: 0 };
  private readonly actionLines: Array<{ seqInTape: number; line: TapeAction }> = [];
  private readonly problems: string[] = [];
  private readonly waitTimeoutMs: number;
  private activity = 0;
  private barrierSeq = 0;
  private barrierWaiters = new Map<string, () => void>();
  private delivered: Array<{ topic: string; payload: Buffer }> = [];
  private broker: EmbeddedBroker | undefined;
  private proxy: WireProxy | undefined;
  private watcher: MqttClient | undefined;
  private agent: Agent | undefined;
  private bucket: OutageBucket | undefined;
  private fsBucket: FsBucket | undefined;
  private workDir = '';
  private readonly timings: Record<string, number> = {};
  private readonly clipFrames = new Map<string, ReturnType<typeof clipLuma>>();
  private sources: CameraSources | undefined;
  private shownFrame = -1;
  /** The camera frame each clip trigger (ding, motion start) happened at, by event id: its thumbnail shows it. */
  private readonly triggerFrames = new Map<string, number>();
  /** The frame shown at the last ding or motion start: the device takes its unrequested snapshots then. */
  private lastSnapshotFrame = -1;

  constructor(
    private readonly resolved: ResolvedScenario,
    private readonly options: ReplayOptions,
  ) {
    this.scenario = resolved.scenario;
    this.logger = options.logger ?? silentLogger();
    this.epochMs = Date.parse(this.scenario.epoch);
    this.clock = new VirtualClock(this.epochMs);
    this.waitTimeoutMs = options.waitTimeoutMs ?? 15_000;
  }

  private get t(): number {
    return roundMs(this.clock.now() - this.epochMs);
  }

  async execute(): Promise<ReplayResult> {
    const started = performance.now();
    this.workDir = await mkdtemp(join(tmpdir(), 'doorbell-replay-'));
    try {
      const camera = await this.timed('camera', () => this.prepareCamera());
      await this.timed('start', () => this.startWorld(camera));
      await this.timed('run', () => this.play(camera));
      await this.timed('stop', () => this.finish());
      const tape = await this.timed('tape', () => this.buildTape(camera));
      const text = serializeTape(tape);
      const counts = countEvents(tape);
      return {
        scenario: this.scenario.name,
        tape,
        text,
        counts,
        expectations: checkExpectations(this.scenario.expect, counts),
        problems: this.problems,
        simMs: this.scenario.durationMs,
        wallMs: performance.now() - started,
        timings: this.timings,
        ...(this.options.keepWorkDir ? { workDir: this.workDir } : {}),
      };
    } finally {
      await this.teardown();
      if (!this.options.keepWorkDir) await rm(this.workDir, { recursive: true, force: true });
    }
  }

  // ------------------------------------------------------------------ setup

  private async prepareCamera(): Promise<
    | {
        timeline: CameraTimeline;
        video: string;
        runs: FrameRunFeed | undefined;
        fixtures: Map<string, LumaFixture>;
        fps: number;
      }
    | undefined
  > {
    const { resolved, scenario } = this;
    if (!resolved.video) return undefined;
    const width = resolved.profile.profile.motion.analysisWidth;
    const unique = [...new Set([resolved.video, ...resolved.plays.values()])];
    const infos = await Promise.all(unique.map((path) => probe(path)));
    const base = infos[0]!;
    unique.forEach((path, i) => {
      const info = infos[i]!;
      if (Math.abs(info.fps - base.fps) > 1e-6 || info.width !== base.width || info.height !== base.height) {
        throw new Error(
          `${path}: every video of a scenario needs the size and frame rate of ${resolved.video} (${base.width}x${base.height} at ${base.fps} fps; got ${info.width}x${info.height} at ${info.fps} fps)`,
        );
      }
    });
    const plays = scenario.timeline.flatMap((action, i) =>
      action.do === 'play' ? [{ atMs: action.at, path: resolved.plays.get(i)!, loop: action.loop }] : [],
    );
    const frameCountOf = (i: number) =>
      infos[i]!.frameCount ?? Math.round((infos[i]!.durationMs * infos[i]!.fps) / 1000);
    const frameCounts = new Map(unique.map((path, i) => [path, frameCountOf(i)]));
    const timeline = new CameraTimeline(
      { path: resolved.video, frameCount: frameCounts.get(resolved.video)! },
      plays,
      1000 / base.fps,
      scenario.durationMs,
      frameCounts,
    );
    const decoded = await Promise.all(unique.map((path) => lumaFixture(path, width)));
    const fixtures = new Map(unique.map((path, i) => [path, decoded[i]!]));
    for (const [path, fixture] of fixtures) {
      if (fixture.frames.length !== frameCounts.get(path)) {
        throw new Error(
          `${path}: the container says ${frameCounts.get(path)} frames, decoding gave ${fixture.frames.length}`,
        );
      }
    }
    const sourceFixtures = await Promise.all(
      unique.map(async (path) => [path, await lumaFixture(path, COMPARISON_WIDTH)] as const),
    );
    this.sources = cameraSources(
      timeline,
      new Map(sourceFixtures),
      resolved.profile.profile.privacy.zones,
      base.fps,
    );
    // One looped file needs nothing more; otherwise the recorder cuts clips from the timeline's frame runs.
    const runs =
      timeline.singleFile && plays.length === 0 ? undefined : { runs: timeline.segments, fps: base.fps };
    return { timeline, video: resolved.video, runs, fixtures, fps: base.fps };
  }

  private async startWorld(
    camera: { video: string; runs: FrameRunFeed | undefined } | undefined,
  ): Promise<void> {
    const { scenario, resolved } = this;
    const prefix = resolved.profile.profile.topicPrefix;
    this.broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, prefix, logger: this.logger });
    await this.broker.start();
    const topics = deviceTopics(prefix, scenario.device.id);
    const responseTopic = topics.response('state');
    this.proxy = new WireProxy({
      upstreamHost: '127.0.0.1',
      upstreamPort: this.broker.port,
      onPublish: (publish) => {
        if (publish.topic === responseTopic) {
          const transaction = barrierOf(publish.payload);
          if (transaction !== undefined) {
            this.barrierWaiters.get(transaction)?.();
            return;
          }
        }
        this.sniff({ t: this.t, publish });
      },
    });
    await this.proxy.start();

    this.watcher = await connectWatcher(this.broker.url, '#');
    this.watcher.on('message', (topic, payload) => {
      if (topic.startsWith('$') || topic.includes('/request/') || topic.includes('/response/')) return;
      this.delivered.push({ topic, payload: Buffer.from(payload) });
    });

    this.fsBucket = new FsBucket(join(this.workDir, 'bucket'));
    const fsBucket = this.fsBucket;
    this.bucket = new OutageBucket(fsBucket, (key) => {
      // Decoding a stored clip for the tape overlaps with the rest of the run.
      if (key.endsWith('.mp4') && this.sources && !this.clipFrames.has(key)) {
        const frames = clipLuma(join(fsBucket.root, key), this.sources.size);
        frames.catch(() => undefined);
        this.clipFrames.set(key, frames);
      }
    });
    this.agent = new Agent({
      deviceId: scenario.device.id,
      profile: resolved.profile,
      broker: {
        kind: 'external',
        connection: BrokerConnectionSchema.parse({
          url: this.proxy.url,
          reconnectPeriodMs: 100,
          keepaliveS: 3600,
        }),
      },
      dataDir: join(this.workDir, 'data'),
      logger: this.logger,
      clock: this.clock,
      bootMs: scenario.device.bootMs,
      video: camera?.video ?? null,
      ...(camera?.runs ? { cameraRuns: camera.runs } : {}),
      bucketInstance: this.bucket,
      drivenCamera: true,
      seed: scenario.seed,
    });
    await this.agent.start();
    this.agent.bus.subscribe((event) => {
      this.activity++;
      // The device snapshots the frame on screen at a ding and at a motion start; a clip's thumbnail is the frame
      // nearest to its trigger (the same events).
      if (event.kind === 'ding' || (event.kind === 'motion' && event.payload.type === 'start')) {
        this.lastSnapshotFrame = this.shownFrame;
        this.triggerFrames.set(event.payload.id, this.frameNearest(event.payload.at));
      }
    });
    await this.waitUntil(() => this.agent?.acceptingCommands === true, 'the device to connect');
    await this.settle();
  }

  // ------------------------------------------------------------------ the run

  private async play(
    camera: { timeline: CameraTimeline; fixtures: Map<string, LumaFixture> } | undefined,
  ): Promise<void> {
    const { scenario } = this;
    const agent = this.agent!;
    const queue = this.actionQueue();
    const endAt = this.epochMs + scenario.durationMs;
    const frameMs = camera ? camera.timeline.frameMs : Number.POSITIVE_INFINITY;
    const frameCount = camera?.timeline.frameCount ?? 0;
    const realStart = performance.now();
    let k = 0;
    let lastProgress = -1;
    for (;;) {
      const frameAt = k < frameCount ? this.epochMs + roundMs(k * frameMs) : Number.POSITIVE_INFINITY;
      const actionAt = queue.length > 0 ? this.epochMs + queue[0]!.atMs : Number.POSITIVE_INFINITY;
      const timerAt = this.clock.nextDue() ?? Number.POSITIVE_INFINITY;
      const next = Math.min(frameAt, actionAt, timerAt);
      if (next > endAt || next === Number.POSITIVE_INFINITY) break;
      await this.pace(next, realStart);
      // At one instant: timers first, then actions, then the frame.
      if (timerAt <= next) {
        const before = this.activity;
        this.clock.runNext();
        await this.settleAfter(before);
        continue;
      }
      this.clock.advanceTo(next);
      if (actionAt <= next) {
        await this.apply(queue.shift()!);
        continue;
      }
      const before = this.activity;
      const shown = camera!.timeline.frameAt(k);
      const width =
        agent.cameraFeed?.currentSettings.analysisWidth ?? camera!.fixtures.get(shown.path)!.width;
      const fixture = await lumaFixture(shown.path, width);
      this.shownFrame = k;
      agent.cameraFeed?.pushFrame({
        index: k,
        ptsMs: roundMs(k * frameMs),
        width: fixture.width,
        height: fixture.height,
        data: fixture.frames[shown.index] as Uint8Array,
      });
      k++;
      await this.settleAfter(before);
      if (this.options.onProgress && Math.floor(this.t / 250) !== lastProgress) {
        lastProgress = Math.floor(this.t / 250);
        this.options.onProgress({
          simMs: this.t,
          durationMs: scenario.durationMs,
          counts: { ...this.liveCounts },
        });
      }
    }
    this.clock.advanceTo(endAt);
    await this.settle();
    this.options.onProgress?.({
      simMs: scenario.durationMs,
      durationMs: scenario.durationMs,
      counts: { ...this.liveCounts },
    });
  }

  private actionQueue(): QueuedAction[] {
    const queue: QueuedAction[] = [];
    let order = 0;
    this.scenario.timeline.forEach((action, index) => {
      queue.push({ atMs: action.at, order: order++, action, index });
      if (action.do === 'broker-outage')
        queue.push({ atMs: action.until, order: order++, action: { do: 'broker-back' }, index });
      if (action.do === 'bucket-outage')
        queue.push({ atMs: action.until, order: order++, action: { do: 'bucket-back' }, index });
    });
    return queue
      .filter((entry) => entry.atMs <= this.scenario.durationMs)
      .sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  }

  private async apply(entry: QueuedAction): Promise<void> {
    const agent = this.agent!;
    const { action } = entry;
    const { at: _at, ...args } = action as ScenarioAction;
    const line: TapeAction = { t: this.t, ...args, do: action.do };
    this.actionLines.push({ seqInTape: this.sniffed.length, line });
    try {
      switch (action.do) {
        case 'press':
          agent.press(action.source);
          break;
        case 'play':
          break;
        case 'reboot':
          agent.doorbell.reboot();
          break;
        case 'config':
          agent.reconfigure(action.patch);
          break;
        case 'sensitivity':
          agent.reconfigure({ motion: { sensitivity: action.value } });
          break;
        case 'motion':
          agent.reconfigure({ motion: { enabled: action.enabled } });
          break;
        case 'bucket-outage':
          this.bucket!.setDown(true);
          break;
        case 'bucket-back':
          this.bucket!.setDown(false);
          break;
        case 'broker-outage':
          await this.settle();
          await this.unplug();
          break;
        case 'broker-back':
          await this.replug();
          break;
      }
    } catch (error) {
      line['error'] = (error as Error).message;
      this.problems.push(
        `timeline.${entry.index} (${action.do} at ${entry.atMs} ms): ${(error as Error).message}`,
      );
    }
    await this.settle();
  }

  private async unplug(): Promise<void> {
    const willsBefore = this.willCandidates();
    this.proxy!.unplug();
    await this.waitUntil(() => this.agent?.mqttConnected === false, 'the device to notice the outage');
    // The broker publishes the device's last will (availability offline) when the connection drops.
    await this.waitUntil(() => this.willCandidates() > willsBefore, 'the broker to publish the last will');
    const topics = deviceTopics(this.resolved.profile.profile.topicPrefix, this.scenario.device.id);
    this.sniff({
      t: this.t,
      publish: {
        topic: topics.availability,
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
        dup: false,
      },
      via: 'will',
    });
  }

  private willCandidates(): number {
    const topics = deviceTopics(this.resolved.profile.profile.topicPrefix, this.scenario.device.id);
    return this.delivered.filter((m) => m.topic === topics.availability && m.payload.toString() === 'offline')
      .length;
  }

  private async replug(): Promise<void> {
    this.proxy!.replug();
    await this.waitUntil(() => this.agent?.acceptingCommands === true, 'the device to reconnect');
  }

  /**
   * After a frame or a timer: wait for whatever the device started (a recording, an upload retry), which costs a few
   * microtasks when nothing did; and for the wire only when the device emitted something.
   */
  private async settleAfter(activityBefore: number): Promise<void> {
    const started = performance.now();
    await this.agent!.settled();
    const spent = performance.now() - started;
    if (spent > 1) this.timings['device-work'] = Math.round((this.timings['device-work'] ?? 0) + spent);
    if (this.activity !== activityBefore) await this.settle();
  }

  /**
   * Waits until the device is quiet: its background work done, and (when connected) every byte it sent read off the
   * wire — proven by a request/response round trip through the broker, whose response the device writes last.
   */
  private async settle(): Promise<void> {
    const started = performance.now();
    try {
      await this.settleNow();
    } finally {
      this.timings['settle'] = (this.timings['settle'] ?? 0) + performance.now() - started;
    }
  }

  private async settleNow(): Promise<void> {
    const agent = this.agent!;
    for (let round = 0; ; round++) {
      const before = this.activity;
      await agent.settled();
      if (this.proxy!.isPlugged && agent.mqttConnected) await this.barrier();
      await agent.settled();
      if (this.activity === before) return;
      if (round > 1000) throw new Error('the device never settled');
    }
  }

  private async barrier(): Promise<void> {
    const prefix = this.resolved.profile.profile.topicPrefix;
    const topics = deviceTopics(prefix, this.scenario.device.id);
    const deadline = performance.now() + this.waitTimeoutMs;
    // Right after a (re)connect the device may not have subscribed yet: ask again until it answers.
    for (;;) {
      const transaction = `${BARRIER_PREFIX}${++this.barrierSeq}`;
      const answered = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 250);
        this.barrierWaiters.set(transaction, () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      this.watcher!.publish(topics.request('state'), JSON.stringify({ transaction }), { qos: 1 });
      const ok = await answered;
      this.barrierWaiters.delete(transaction);
      if (ok) return;
      if (!this.agent?.mqttConnected || !this.proxy?.isPlugged) return;
      if (performance.now() > deadline)
        throw new Error('the device did not answer over MQTT (barrier timed out)');
    }
  }

  private async pace(nextMs: number, realStart: number): Promise<void> {
    const { speed } = this.options;
    if (speed === undefined || speed === 'max') return;
    const due = realStart + (nextMs - this.epochMs) / speed;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  private sniff(message: Omit<Sniffed, 'snapshotFrame'>): void {
    const sniffed: Sniffed = message.publish.topic.endsWith('/snapshot')
      ? { ...message, snapshotFrame: this.lastSnapshotFrame >= 0 ? this.lastSnapshotFrame : this.shownFrame }
      : message;
    this.sniffed.push(sniffed);
    const { topic, payload } = sniffed.publish;
    const counts = this.liveCounts;
    if (topic.endsWith('/events/ding')) counts['ding']!++;
    else if (topic.endsWith('/events/clip') && isStoredClipEvent(topic, decodedPayload(payload)))
      counts['clip']!++;
    else if (topic.endsWith('/events/motion') && payload.includes('"type":"start"')) counts['motion']!++;
  }

  private async finish(): Promise<void> {
    const agent = this.agent!;
    await agent.stop();
    // What the device said on the way out (availability offline) is read off the wire before its socket closes.
    await this.waitUntil(() => (this.proxy?.connections ?? 0) === 0, 'the device to sign off', true);
    await this.checkDelivery();
  }

  /** Every message the device sent (and every will) must have reached a subscriber on the broker, in order per topic. */
  private async checkDelivery(): Promise<void> {
    const expected = new Map<string, Buffer[]>();
    for (const { publish } of this.sniffed) {
      const list = expected.get(publish.topic) ?? [];
      list.push(publish.payload);
      expected.set(publish.topic, list);
    }
    const total = this.sniffed.length;
    await this.waitUntil(() => this.delivered.length >= total, 'the broker to deliver every message', true);
    const got = new Map<string, Buffer[]>();
    for (const message of this.delivered) {
      const list = got.get(message.topic) ?? [];
      list.push(message.payload);
      got.set(message.topic, list);
    }
    for (const [topic, payloads] of expected) {
      const received = got.get(topic) ?? [];
      const same = received.length === payloads.length && payloads.every((p, i) => p.equals(received[i]!));
      if (!same) {
        this.problems.push(
          `broker delivery: ${topic}: the device sent ${payloads.length} message(s), a subscriber got ${received.length}${received.length === payloads.length ? ' (different order or content)' : ''}`,
        );
      }
    }
  }

  // ------------------------------------------------------------------ the tape

  private async buildTape(
    camera: { timeline: CameraTimeline; fps: number } | undefined,
  ): Promise<TapeLine[]> {
    const { scenario, resolved } = this;
    const lines: TapeLine[] = [
      {
        tape: TAPE_VERSION,
        scenario: scenario.name,
        device: scenario.device.id,
        profile: resolved.profile.name,
        epoch: new Date(this.epochMs).toISOString(),
        durationMs: scenario.durationMs,
        seed: scenario.seed,
        fps: camera ? camera.fps : null,
        frames: camera ? camera.timeline.frameCount : 0,
      },
    ];
    const clipEvents: Array<{ key: string; sha256: string; bytes: number }> = [];
    const objectsPromise = this.objectLines();
    const messages = await Promise.all(this.sniffed.map((sniffed) => this.messageLine(sniffed, clipEvents)));
    let action = 0;
    for (let i = 0; i <= messages.length; i++) {
      while (action < this.actionLines.length && this.actionLines[action]!.seqInTape === i) {
        lines.push(this.actionLines[action++]!.line);
      }
      const message = messages[i];
      if (message) lines.push(message);
    }
    const objects = await objectsPromise;
    this.checkClipEvents(objects, clipEvents);
    lines.push(...objects);
    const counts = countEvents(lines);
    lines.push({ end: { t: scenario.durationMs, counts } });
    return lines;
  }

  private async messageLine(
    sniffed: Sniffed,
    clipEvents: Array<{ key: string; sha256: string; bytes: number }>,
  ): Promise<TapeMessage> {
    const { publish } = sniffed;
    const line: TapeMessage = {
      t: sniffed.t,
      mqtt: publish.topic,
      qos: publish.qos,
      retain: publish.retain,
      payload: null,
    };
    if (publish.dup) line.dup = true;
    if (sniffed.via) line.via = sniffed.via;
    if (publish.topic.endsWith('/snapshot')) {
      line.payload = {
        jpeg: await this.stillFacts(publish.payload, sniffed.snapshotFrame ?? -1).catch((error: Error) => ({
          error: error.message,
        })),
      };
      return line;
    }
    let payload = decodedPayload(publish.payload);
    if (isStoredClipEvent(publish.topic, payload)) {
      const clip = payload as Record<string, unknown>;
      clipEvents.push({
        key: String(clip['key']),
        sha256: String(clip['sha256']),
        bytes: Number(clip['bytes']),
      });
      // The MP4's bytes depend on the ffmpeg build (the object line carries what does not).
      payload = { ...clip, bytes: '*', sha256: '*' };
    }
    line.payload = payload;
    return line;
  }

  private async objectLines(): Promise<Array<TapeObject & { stored: { bytes: number; sha256: string } }>> {
    const bucket = this.fsBucket!;
    const keys: Array<{ key: string; bytes: number }> = [];
    for await (const summary of bucket.list('')) keys.push(summary);
    return Promise.all(
      keys.map(async (summary) => {
        const head = await bucket.head(summary.key);
        const path = join(bucket.root, summary.key);
        const { sha256: storedSha, ...metadata } = head?.metadata ?? {};
        const line: TapeObject = { object: summary.key, metadata };
        if (summary.key.endsWith('.mp4')) {
          line['video'] = await this.clipFacts(summary.key, path, metadata);
        } else if (summary.key.endsWith('.jpg')) {
          // A continuation clip (event id "<trigger>-partN") is triggered where it starts.
          const triggerFrame =
            this.triggerFrames.get(metadata['event-id'] ?? '') ??
            this.frameNearest(metadata['started-at'] ?? '');
          line['picture'] = await this.stillFacts(await readFile(path), triggerFrame, MIN_THUMBNAIL_PSNR_DB);
        } else {
          const data = await readFile(path);
          line['bytes'] = data.length;
          line['sha256'] = createHash('sha256').update(data).digest('hex');
        }
        return Object.assign(line, {
          stored: { bytes: summary.bytes, sha256: storedSha ?? head?.sha256 ?? '' },
        });
      }),
    );
  }

  /**
   * A stored clip as the tape states it: its size, frame count, the camera frames its window holds (from its
   * metadata's started-at/ended-at, on the timeline the runner played) and whether it shows them (fidelity.ts).
   */
  private async clipFacts(key: string, path: string, metadata: Record<string, string>) {
    const sources = this.sources;
    if (!sources) return { error: 'a clip, but the scenario has no camera' };
    const decoded = await (this.clipFrames.get(key) ?? clipLuma(path, sources.size));
    const startMs = Date.parse(metadata['started-at'] ?? '') - this.epochMs;
    const endMs = Date.parse(metadata['ended-at'] ?? '') - this.epochMs;
    const { first, end } = framesInWindow(sources.fps, sources.timeline.frameCount, startMs, endMs);
    if (!(end > first)) return { error: `window [${startMs}, ${endMs}) ms holds no camera frame` };
    return {
      width: decoded.width,
      height: decoded.height,
      frames: decoded.frames.length,
      source: describeFrames(sources.timeline, first, end),
      fidelity: clipFidelity(decoded.frames, sources.timeline, first, end - first, sources.mask),
    };
  }

  /** The camera frame nearest to an ISO time (-1 without a camera or a time). */
  private frameNearest(iso: string): number {
    const sources = this.sources;
    const ms = Date.parse(iso) - this.epochMs;
    if (!sources || !Number.isFinite(ms)) return -1;
    return nearestFrameIndex(sources.fps, sources.timeline.frameCount, ms);
  }

  /** A JPEG (snapshot or thumbnail) as the tape states it: its size, the camera frame it shows, and whether it does. */
  private async stillFacts(data: Buffer, frame: number, minPsnrDb?: number) {
    const sources = this.sources;
    if (!sources) return { error: 'a picture, but the scenario has no camera' };
    const still = await jpegLuma(data, sources.size);
    if (frame < 0) return { width: still.width, height: still.height, error: 'taken before the first frame' };
    return {
      width: still.width,
      height: still.height,
      source: frameName(sources.timeline, frame),
      fidelity: stillFidelity(still.luma, sources.timeline, frame, {
        ...(minPsnrDb === undefined ? {} : { minPsnrDb }),
        ...(sources.mask ? { mask: sources.mask } : {}),
      }),
    };
  }

  /** A clip event must name an object the bucket holds, with its size and checksum. */
  private checkClipEvents(
    objects: Array<TapeObject & { stored: { bytes: number; sha256: string } }>,
    clipEvents: Array<{ key: string; sha256: string; bytes: number }>,
  ): void {
    for (const event of clipEvents) {
      const object = objects.find((o) => o.object === event.key);
      if (!object) {
        this.problems.push(`clip event for ${event.key}, but the bucket has no such object`);
      } else if (object.stored.sha256 !== event.sha256 || object.stored.bytes !== event.bytes) {
        this.problems.push(
          `clip event for ${event.key} says ${event.bytes} bytes / ${event.sha256.slice(0, 12)}…, the bucket holds ${object.stored.bytes} bytes / ${object.stored.sha256.slice(0, 12)}…`,
        );
      }
    }
    for (const object of objects) delete (object as Partial<typeof object>).stored;
  }

  // ------------------------------------------------------------------ helpers

  private async timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.timings[phase] = Math.round(performance.now() - started);
    }
  }

  private async waitUntil(predicate: () => boolean, what: string, soft = false): Promise<void> {
    const deadline = performance.now() + this.waitTimeoutMs;
    while (!predicate()) {
      if (performance.now() > deadline) {
        if (soft) {
          this.problems.push(`timed out waiting for ${what}`);
          return;
        }
        throw new Error(`replay timed out waiting for ${what}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  private async teardown(): Promise<void> {
    await this.agent?.stop().catch(() => undefined);
    await this.watcher?.endAsync(true).catch(() => undefined);
    await this.proxy?.stop();
    await this.broker?.stop();
  }
}

function barrierOf(payload: Buffer): string | undefined {
  const text = payload.toString('utf8');
  if (!text.includes(BARRIER_PREFIX)) return undefined;
  try {
    const transaction = (JSON.parse(text) as { transaction?: unknown }).transaction;
    return typeof transaction === 'string' && transaction.startsWith(BARRIER_PREFIX)
      ? transaction
      : undefined;
  } catch {
    return undefined;
  }
}

async function connectWatcher(url: string, filter: string): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    clientId: `replay-tape-${process.pid}`,
    clean: true,
    reconnectPeriod: 100,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return client;
}

function cameraSources(
  timeline: CameraTimeline,
  fixtures: ReadonlyMap<string, LumaFixture>,
  zones: ReadonlyArray<{ polygon: NormalizedPolygon }>,
  fps: number,
): CameraSources {
  const first = fixtures.values().next().value as LumaFixture;
  const size = { width: first.width, height: first.height };
  const names = new Map([...fixtures.keys()].map((path) => [path, basename(path, extname(path))]));
  const zoneRaster = rasterizePolygons(
    size.width,
    size.height,
    zones.map((zone) => zone.polygon),
  );
  return {
    timeline: {
      frameCount: timeline.frameCount,
      luma: (k) => {
        const shown = timeline.frameAt(k);
        return fixtures.get(shown.path)!.frames[shown.index] as Uint8Array;
      },
      frame: (k) => {
        const shown = timeline.frameAt(k);
        return { file: names.get(shown.path)!, index: shown.index };
      },
    },
    size,
    mask: zones.length > 0 ? compareMask(zoneRaster, size.width, size.height) : undefined,
    fps,
  };
}

/** A JSON object or array payload, parsed; anything else (online, ON) as its text. */
function decodedPayload(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' ? parsed : text;
  } catch {
    return text;
  }
}
