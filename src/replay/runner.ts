import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { Agent } from '../agent/agent.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { type Logger, silentLogger } from '../log/logger.js';
import { EmbeddedBroker } from '../mqtt/broker.js';
import { BrokerConnectionSchema } from '../mqtt/connection.js';
import { deviceTopics } from '../mqtt/topics.js';
import { FsBucket } from '../storage/fs-bucket.js';
import { roundMs } from '../video/frames.js';
import { type LumaFixture, lumaFixture } from '../video/luma-frames.js';
import { actionQueue, type QueuedAction } from './action-queue.js';
import { type CameraSources, frameNearest, type PreparedCamera, prepareCamera } from './camera-sources.js';
import type { CameraTimeline } from './camera-timeline.js';
import { checkExpectations, type ExpectationResult } from './expectations.js';
import { clipLuma } from './object-facts.js';
import { OutageBucket } from './outage-bucket.js';
import type { ResolvedScenario, ScenarioAction } from './scenario.js';
import { countEvents, serializeTape, type TapeAction, type TapeLine } from './tape.js';
import { buildTape } from './tape-builder.js';
import { type Sniffed, WireLog } from './wire-log.js';
import { WireProxy } from './wire-proxy.js';
import { BARRIER_PREFIX, barrierOf, connectWatcher } from './wire-watch.js';

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
  private readonly wire = new WireLog();
  private readonly actionLines: Array<{ seqInTape: number; line: TapeAction }> = [];
  private readonly problems: string[] = [];
  private readonly waitTimeoutMs: number;
  private activity = 0;
  private barrierSeq = 0;
  private barrierWaiters = new Map<string, () => void>();
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
      const camera = await this.timed('camera', () => prepareCamera(this.resolved));
      this.sources = camera?.sources;
      await this.timed('start', () => this.startWorld(camera));
      await this.timed('run', () => this.play(camera));
      await this.timed('stop', () => this.finish());
      const tape = await this.timed('tape', () =>
        buildTape(
          {
            resolved: this.resolved,
            epochMs: this.epochMs,
            camera,
            sources: this.sources,
            sniffed: this.wire.sniffed,
            actionLines: this.actionLines,
            bucket: this.fsBucket!,
            clipFrames: this.clipFrames,
            triggerFrames: this.triggerFrames,
          },
          this.problems,
        ),
      );
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

  private async startWorld(
    camera: Pick<PreparedCamera, 'video' | 'runs' | 'labels' | 'labelProblems'> | undefined,
  ): Promise<void> {
    const { scenario, resolved } = this;
    for (const problem of camera?.labelProblems ?? []) {
      this.logger.warn(
        { problem },
        'no motion labels from this video: the JSON beside it is not a ground truth',
      );
    }
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
      this.wire.deliver(topic, Buffer.from(payload));
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
      ...(camera ? { motionLabels: camera.labels } : {}),
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
        this.triggerFrames.set(event.payload.id, frameNearest(this.sources, this.epochMs, event.payload.at));
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
    const queue = actionQueue(this.scenario.timeline, this.scenario.durationMs);
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
          counts: this.wire.liveCounts,
        });
      }
    }
    this.clock.advanceTo(endAt);
    await this.settle();
    this.options.onProgress?.({
      simMs: scenario.durationMs,
      durationMs: scenario.durationMs,
      counts: this.wire.liveCounts,
    });
  }

  private async apply(entry: QueuedAction): Promise<void> {
    const agent = this.agent!;
    const { action } = entry;
    const { at: _at, ...args } = action as ScenarioAction;
    const line: TapeAction = { t: this.t, ...args, do: action.do };
    this.actionLines.push({ seqInTape: this.wire.sniffed.length, line });
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
        case 'answer':
          agent.doorbell.answer();
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
    return this.wire.willsOn(topics.availability);
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
    this.wire.record(message, this.lastSnapshotFrame >= 0 ? this.lastSnapshotFrame : this.shownFrame);
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
    const total = this.wire.sniffed.length;
    await this.waitUntil(
      () => this.wire.delivered.length >= total,
      'the broker to deliver every message',
      true,
    );
    this.problems.push(...this.wire.deliveryProblems());
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
