import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock/clock.js';
import { RealClock } from '../clock/real-clock.js';
import type { NamedProfile } from '../config/load-profile.js';
import type { DeviceProfile } from '../config/profile.js';
import { DeviceCore } from '../device/device-core.js';
import type { Doorbell } from '../device/doorbell.js';
import { ShareDesk, shareDeskSends } from '../device/share-desk.js';
import { SignedLinks } from '../device/signed-links.js';
import { loopedFileLabeller, type MotionLabeller, MotionLabelTracker } from '../evaluation/ground-truth.js';
import { groundTruthBeside } from '../evaluation/reference-file.js';
import type { EventBus } from '../events/bus.js';
import type { DeviceEvent, DeviceState, PressSource } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import type { EmbeddedBroker } from '../mqtt/broker.js';
import { type MotionAttributesMemory, publishDeviceEvent } from '../mqtt/device-events.js';
import { DeviceLink } from '../mqtt/device-link.js';
import {
  DEFAULT_DISCOVERY_PREFIX,
  discoveryMessages,
  discoveryStatusTopic,
  isDiscoveryRequest,
} from '../mqtt/discovery.js';
import { DurableOutbox, OutboxFullError } from '../mqtt/outbox.js';
import { type DeviceTopics, deviceTopics } from '../mqtt/topics.js';
import { OnvifService, type OnvifSettings } from '../onvif/onvif-service.js';
import { persistentSecret } from '../persist/secret.js';
import { SeenIds } from '../persist/seen-ids.js';
import type { Recorder } from '../recording/recorder.js';
import type { RetentionMode } from '../retention/modes.js';
import { RetentionSweeper } from '../retention/sweeper.js';
import { type Bucket, engageRetention } from '../storage/bucket.js';
import { openBucket } from '../storage/bucket-url.js';
import { DiskGuard } from '../storage/disk-guard.js';
import { UploadQueue } from '../storage/upload-queue.js';
import { reachableOrigin } from '../ui/access.js';
import { Emitter } from '../util/emitter.js';
import { seededRandom } from '../util/random.js';
import type { FrameRunFeed } from '../video/frame-runs.js';
import type { GrayFrame } from '../video/frames.js';
import type { CameraFeed } from './camera-feed.js';
import { resolveVideoSource, startCameraRig } from './camera-rig.js';
import { clipLinkOf } from './clip-links.js';
import { type BrokerChoice, startDeviceBroker } from './device-broker.js';
import { LiveStreams, type RtspSettings } from './live-streams.js';
import { clipEventOf, type RecordingPipeline } from './recording-pipeline.js';

export interface AgentOptions {
  deviceId: string;
  profile: NamedProfile;
  broker: BrokerChoice;
  /** Per-device state (sequence counter, outbox, spool, config) lives under dataDir/<deviceId>. */
  dataDir: string;
  logger: Logger;
  clock?: Clock;
  bootMs?: number;
  /** Camera feed: a video file; undefined = the profile's; null = no camera (no motion, no clips). */
  video?: string | null;
  /**
   * A composed camera (replay, with a driven camera): what it shows, as runs of frames of several files. Clips and
   * snapshots are cut from these instead of the looped `video`, which then only describes the feed's format.
   */
  cameraRuns?: FrameRunFeed;
  /** --bucket value (DIR, file://DIR, s3://…); default ./.doorbell/bucket. */
  bucket?: string;
  /** A bucket object to use instead of --bucket (tests, fleets). */
  bucketInstance?: Bucket;
  retentionCron?: string;
  /** Owner's public key PEM for clip encryption; overrides the profile's path. */
  ownerPublicKey?: string;
  /** Home Assistant MQTT discovery: on by default, prefix `homeassistant`. */
  discovery?: { enabled?: boolean; prefix?: string };
  /** Camera feed speed: 1 = real time (default); tests and demos run the sample video faster. */
  feedSpeed?: number;
  cwd?: string;
  /** Replay: the camera decodes nothing; frames are handed to cameraFeed.pushFrame() by the runner. */
  drivenCamera?: boolean;
  /**
   * What moved at a feed time (replay's composed camera); default: the ground truth beside the looped video
   * (`porch-loop.mp4` → `porch-loop.json`), if it has one.
   */
  motionLabels?: MotionLabeller;
  /** Seeds the simulated radio noise and the upload retry jitter (default: from the device id / Math.random). */
  seed?: number;
  /** Free space kept for events: below it the device reports `disk` and refuses clips (default 4 MiB). */
  diskReserveBytes?: number;
  /** Serve the camera's live streams over RTSP here (MJPEG and snapshots go through the console). */
  rtsp?: RtspSettings;
  /** Be an ONVIF camera (WS-Discovery, device/media/events services): off unless given. */
  onvif?: OnvifSettings;
  /** Hears the MQTT session's acknowledgements, reconnects and errors (metrics). */
  mqttObserver?: MqttObserver;
}

export interface MqttObserver {
  eventAcknowledged(latencyMs: number): void;
  /** firstConnectMs: since start() for the first session; undefined for a reconnect. */
  connected(firstConnectMs: number | undefined): void;
  error(message: string): void;
}

/** Wires one doorbell to its camera, recorder, bucket and broker, and owns start/stop order. No I/O in the constructor. */
export class Agent {
  readonly clock: Clock;
  readonly topics: DeviceTopics;
  private broker: EmbeddedBroker | undefined;
  private link: DeviceLink | undefined;
  private core: DeviceCore | undefined;
  private outbox: DurableOutbox | undefined;
  private queue: UploadQueue | undefined;
  private disk: DiskGuard | undefined;
  private sweeper: RetentionSweeper | undefined;
  private retentionMode: RetentionMode = 'sweeper';
  private feed: CameraFeed | undefined;
  private pipeline: RecordingPipeline | undefined;
  private recorder: Recorder | undefined;
  private bucket: Bucket | undefined;
  private streams: LiveStreams | undefined;
  private onvif: OnvifService | undefined;
  private unsubscribers: Array<() => void> = [];
  /** A frame listener that throws (a viewer) is logged and skipped: the camera keeps running for the rest. */
  private readonly frameListeners = new Emitter<[frame: GrayFrame, feedMs: number]>((error) =>
    this.options.logger.error({ err: (error as Error).message }, 'a camera frame listener failed'),
  );
  private shareDesk: ShareDesk | undefined;
  private links: SignedLinks | undefined;
  private audit: AuditLog | undefined;
  private linkOrigin: string | undefined;
  private readonly motionAttributes: MotionAttributesMemory = { now: {} };
  private started = false;
  /** Fire-and-forget work (snapshots after a ding), so settled() can wait for it. */
  private readonly background = new Set<Promise<unknown>>();

  constructor(private readonly options: AgentOptions) {
    this.clock = options.clock ?? new RealClock();
    this.topics = deviceTopics(options.profile.profile.topicPrefix, options.deviceId);
  }

  private get device(): DeviceCore {
    if (!this.core) throw new Error('agent not started');
    return this.core;
  }

  get doorbell(): Doorbell {
    return this.device.doorbell;
  }

  get bus(): EventBus {
    return this.device.bus;
  }

  get profile(): DeviceProfile {
    return this.core?.profile ?? this.options.profile.profile;
  }

  /** The URL clients use to reach this device's broker. */
  get brokerUrl(): string {
    const { broker } = this.options;
    if (broker.kind === 'external') return broker.connection.url;
    return this.broker?.url ?? `mqtt://${broker.host}:${broker.port}`;
  }

  get embeddedBroker(): EmbeddedBroker | undefined {
    return this.broker;
  }

  get uploadQueue(): UploadQueue | undefined {
    return this.queue;
  }

  get cameraFeed(): CameraFeed | undefined {
    return this.feed;
  }

  get storageBucket(): Bucket | undefined {
    return this.bucket;
  }

  /** Whether the device's MQTT session is up right now. */
  get mqttConnected(): boolean {
    return this.link?.connected ?? false;
  }

  /** Connected and subscribed to its commands (a request sent now is answered). */
  get acceptingCommands(): boolean {
    return this.link?.acceptingCommands ?? false;
  }

  /** Resolves once the work started so far has finished: snapshots, recordings, uploads (replay waits on it). */
  async settled(): Promise<void> {
    do {
      await Promise.allSettled([...this.background]);
      await this.recorder?.idle();
      await this.queue?.whenIdle();
    } while (this.background.size > 0 || (this.recorder?.inProgress ?? 0) > 0);
  }

  /** Runs work nobody waits for; a failure is logged as `what`. */
  private inBackground(work: Promise<unknown>, what: string): void {
    const tracked: Promise<unknown> = work
      .catch((error: Error) => this.options.logger.error({ err: error.message }, what))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { options } = this;
    const deviceDir = join(options.dataDir, options.deviceId);
    mkdirSync(deviceDir, { recursive: true });
    // Disk pressure is a state: the guard and the outbox report it, events wait in memory, clips are refused.
    const disk = new DiskGuard({
      dir: deviceDir,
      ...(options.diskReserveBytes === undefined ? {} : { reserveBytes: options.diskReserveBytes }),
      onChange: (problem) => {
        if (problem) options.logger.error({ dir: deviceDir }, problem);
        else options.logger.info({ dir: deviceDir }, 'disk takes writes again');
        if (!problem) this.outbox?.persistHeld();
        this.refreshStorageProblems();
      },
    });
    this.disk = disk;
    this.outbox = new DurableOutbox(join(deviceDir, 'outbox'), {
      onStorageError: (error, path) => disk.report(error, 'cannot append to', path),
    });
    await disk.start();
    const outbox = this.outbox;
    const core = new DeviceCore({
      deviceId: options.deviceId,
      profile: options.profile.profile,
      clock: this.clock,
      logger: options.logger,
      stateDir: deviceDir,
      bootMs: options.bootMs,
      seed: options.seed,
      // An event the disk cannot take and memory cannot hold is refused before it takes a sequence number.
      beforeSeq: () => {
        if (!outbox.hasRoom) throw new OutboxFullError(`event refused: ${disk.problem ?? 'outbox full'}`);
      },
    });
    // A number taken for an event that a kill -9 kept from the outbox is given back.
    if (outbox.lastEventSeq !== undefined) core.resumeSeqAfter(outbox.lastEventSeq);
    this.core = core;
    const { doorbell } = core;
    const profile = core.profile;
    const announced = new SeenIds(join(deviceDir, 'announced-clips'));

    const bucket = options.bucketInstance ?? openBucket(options.bucket, options.cwd ?? process.cwd());
    this.bucket = bucket;
    this.queue = new UploadQueue({
      spoolDir: join(deviceDir, 'spool'),
      bucket,
      clock: this.clock,
      logger: options.logger,
      ...(options.seed === undefined ? {} : { random: seededRandom(options.seed ^ 0x5eed) }),
    });
    // Uploads wait until the 'uploaded' listener below exists: a clip left in the spool is announced when it lands.
    await this.queue.start({ holdUploads: true });
    // Asked while the rest starts; uploads resume only once the bucket has said how objects must be written.
    const retentionEngaged = this.engageRetention(profile);
    let engagedFor = profile;
    this.unsubscribers.push(
      core.onProfile((next) => {
        const changed =
          next.retentionDays !== engagedFor.retentionDays ||
          next.retentionLockMode !== engagedFor.retentionLockMode;
        engagedFor = next;
        if (changed)
          this.inBackground(this.engageRetention(next), 'asking the bucket about retention failed');
      }),
    );
    this.sweeper = new RetentionSweeper({
      bucket: this.bucket,
      clock: this.clock,
      spool: this.queue,
      logger: options.logger,
      mode: () => this.retentionMode,
      ...(options.retentionCron ? { cron: options.retentionCron } : {}),
    });

    const { broker, connection, brokerStored } = await startDeviceBroker({
      choice: options.broker,
      deviceId: options.deviceId,
      profile,
      deviceDir,
      discoveryPrefix: this.discoveryPrefix,
      availabilityTopic: this.topics.availability,
      logger: options.logger,
    });
    this.broker = broker;
    if (broker?.persistenceProblem) core.doorbell.setProblem('broker-sessions', true);
    const sharing = this.createShareDesk(profile, deviceDir);
    this.unsubscribers.push(
      core.onProfile((next) => {
        sharing
          .configure(next.privacy.sharing)
          .catch((error: Error) =>
            options.logger.error({ err: error.message }, 'the sharing policy change failed'),
          );
      }),
    );
    const link = new DeviceLink({
      connection,
      prefix: profile.topicPrefix,
      deviceId: options.deviceId,
      topics: this.topics,
      outbox: this.outbox,
      commands: core.commands({
        snapshot: this.cameraSource(profile) ? () => this.publishSnapshot() : undefined,
        sharing,
      }),
      logger: options.logger,
      onConnected: () => link.republishRetained(),
      onOutboxDepth: (depth) => doorbell.setOutboxDepth(depth),
      ...(brokerStored ? { brokerStored } : {}),
      ...this.mqttHooks(),
      listeners: this.discoveryEnabled
        ? [
            {
              topic: discoveryStatusTopic(this.discoveryPrefix),
              onMessage: (payload) => {
                if (isDiscoveryRequest(payload)) this.announce();
              },
            },
          ]
        : [],
    });
    this.link = link;
    doorbell.setOutboxDepth(this.outbox.depth);
    doorbell.setUploadDepth(this.queue.health().depth);
    await this.shareDesk?.publishAuditHead();
    this.unsubscribers.push(core.bus.subscribe((event) => this.onDeviceEvent(event)));
    const queue = this.queue;
    this.unsubscribers.push(
      queue.on('uploaded', async (clip) => {
        if (!announced.has(clip.clipId) && !outbox.announcedBeforeRestart(clip.clipId)) {
          const link = await clipLinkOf(clip, core.profile.privacy.clipLinks, {
            bucket,
            links: this.links,
            clock: this.clock,
            logger: options.logger,
          });
          doorbell.clipStored(clipEventOf(clip, link));
          announced.add(clip.clipId);
        }
        // Announced as uploaded, the clip no longer waits, though the queue forgets it only after this listener.
        doorbell.setUploadDepth(Math.max(0, queue.health().depth - 1));
      }),
      queue.on('health', (health) => {
        this.refreshStorageProblems();
        doorbell.setUploadDepth(health.depth);
      }),
      queue.on('spooled', () => doorbell.setUploadDepth(queue.health().depth)),
    );
    await retentionEngaged;
    queue.resumeUploads();
    // The queue and the guard may have found problems while starting, before the doorbell existed.
    this.refreshStorageProblems();
    this.announce();
    await this.startCamera(profile, deviceDir, outbox.lastEventSeq);
    await this.startStreams(profile);
    await this.startOnvif();
    doorbell.start();
    this.sweeper.start();
    await link.start();
  }

  state(): DeviceState {
    return this.doorbell.state();
  }

  /**
   * Asks the bucket which retention it enforces (Object Lock, a lifecycle rule, or neither: the sweeper), logs it
   * and reports it in the state. A bucket that cannot be asked, or answers inconclusively, keeps the mode of its last
   * answer (the sweeper at start).
   */
  private async engageRetention(profile: DeviceProfile): Promise<void> {
    const { logger } = this.options;
    const bucket = this.bucket!;
    try {
      const engaged = await engageRetention(bucket, {
        retentionDays: profile.retentionDays,
        lockMode: profile.retentionLockMode,
      });
      this.retentionMode = engaged.mode;
      logger[engaged.kept ? 'warn' : 'info'](
        {
          bucket: bucket.describe(),
          retention: engaged.mode,
          ...(engaged.facts ? { facts: engaged.facts } : {}),
        },
        `retention mode ${engaged.mode}: ${engaged.reason}`,
      );
    } catch (error) {
      // Asked again after a config change, a bucket that does not answer keeps the mode it last answered (the
      // bucket's writer keeps it too); at start that is the sweeper.
      logger.warn(
        { bucket: bucket.describe(), retention: this.retentionMode, err: (error as Error).message },
        `retention mode ${this.retentionMode}: the bucket could not be asked which retention it enforces`,
      );
    }
    this.core?.doorbell.setRetentionMode(this.retentionMode);
  }

  /** Every change of the effective profile (a capability outside the agent, such as the console, applies it). */
  onProfile(listener: (profile: DeviceProfile) => void): () => void {
    return this.device.onProfile(listener);
  }

  /** Every analysed camera frame (its buffer is reused after the call: copy what you keep). */
  onFrame(listener: (frame: GrayFrame, feedMs: number) => void): () => void {
    return this.frameListeners.on(listener);
  }

  press(source: PressSource) {
    return this.doorbell.press(source);
  }

  /** Applies a partial profile change (validated, persisted) to everything that runs on it. */
  reconfigure(patch: Record<string, unknown>): DeviceProfile {
    return this.device.reconfigure(patch);
  }

  /** Takes a JPEG of the feed now and publishes it (retained) on the snapshot topic. */
  async publishSnapshot(): Promise<{ bytes: number; at: string }> {
    if (!this.recorder || !this.feed?.live) throw new Error('the camera has not shown a frame yet');
    const jpeg = await this.recorder.snapshot(this.feed.lastFrameMs);
    this.link?.publishRetained(this.topics.snapshot, jpeg);
    return { bytes: jpeg.byteLength, at: new Date(this.clock.now()).toISOString() };
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.core?.doorbell.endThreads();
    await this.onvif?.stop();
    await this.streams?.stop();
    await this.feed?.stop();
    await this.pipeline?.flush().catch(() => undefined);
    await this.sweeper?.stop();
    this.shareDesk?.stop();
    await this.audit?.stop();
    await this.queue?.stop();
    this.disk?.stop();
    this.core?.close();
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    await this.link?.stop();
    this.outbox?.persistWatermark();
    await this.broker?.stop();
  }

  /** Where release links are served (the console's origin); set once the console is up. */
  setLinkOrigin(origin: string | undefined): void {
    this.linkOrigin = origin === undefined ? undefined : reachableOrigin(origin);
    this.core?.doorbell.setStreams(this.streams?.urls(this.linkOrigin));
    // Home Assistant links the device page to the console.
    this.announce();
  }

  /** Serves a signed link (the console's /shared/ route): a share release, or a clip event's link. */
  openShared(pathAndQuery: string) {
    if (!this.links) throw new Error('agent not started');
    return this.links.open(pathAndQuery);
  }

  private createShareDesk(profile: DeviceProfile, deviceDir: string): ShareDesk {
    if (!this.bucket || !this.queue) throw new Error('storage must start before sharing');
    this.audit = new AuditLog({ path: join(deviceDir, 'audit.jsonl'), clock: this.clock });
    this.links = new SignedLinks({
      bucket: this.bucket,
      // Named for the share links it first signed; renaming it would break the links already out.
      secret: persistentSecret(join(deviceDir, 'share-link.key')),
      clock: this.clock,
      origin: () => this.linkOrigin,
    });
    this.shareDesk = new ShareDesk({
      deviceId: this.options.deviceId,
      clock: this.clock,
      bucket: this.bucket,
      queue: this.queue,
      audit: this.audit,
      config: profile.privacy.sharing,
      links: this.links,
      send: shareDeskSends(() => this.link, this.topics),
      logger: this.options.logger,
    });
    return this.shareDesk;
  }

  private mqttHooks() {
    const observer = this.options.mqttObserver;
    if (!observer) return {};
    const startedAt = performance.now();
    let connectedBefore = false;
    return {
      onEventAcknowledged: (ms: number) => observer.eventAcknowledged(ms),
      onError: (message: string) => observer.error(message),
      onConnectionChange: (connected: boolean) => {
        if (!connected) return;
        observer.connected(connectedBefore ? undefined : performance.now() - startedAt);
        connectedBefore = true;
      },
    };
  }

  private get discoveryEnabled(): boolean {
    return this.options.discovery?.enabled !== false;
  }

  private get discoveryPrefix(): string {
    return this.options.discovery?.prefix ?? DEFAULT_DISCOVERY_PREFIX;
  }

  /** Home Assistant discovery configs, retained; sent again on every reconnect and when HA comes online. */
  private announce(): void {
    const link = this.link;
    if (!link || !this.discoveryEnabled) return;
    const messages = discoveryMessages({
      discoveryPrefix: this.discoveryPrefix,
      topicPrefix: this.profile.topicPrefix,
      deviceId: this.options.deviceId,
      profile: this.profile,
      origin: { name: 'virtual-doorbell' },
      camera: this.cameraSource(this.profile) !== undefined,
      configurationUrl: this.linkOrigin,
    });
    for (const message of messages) link.publishRetained(message.topic, message.payload, { force: true });
  }

  /** The ONVIF capability, when the agent runs one (its ports, its subscriptions). */
  get onvifService(): OnvifService | undefined {
    return this.onvif;
  }

  /** The `onvif` capability: after the streams, whose URLs it hands out; on the bus for motion and rings. */
  private async startOnvif(): Promise<void> {
    const settings = this.options.onvif;
    if (!settings) return;
    this.onvif = new OnvifService({
      deviceId: this.options.deviceId,
      profile: () => this.profile,
      settings,
      bus: this.bus,
      state: () => this.state(),
      clock: this.clock,
      logger: this.options.logger,
    });
    await this.onvif.start();
  }

  /** The camera's live streams (for the console's MJPEG and snapshot routes); undefined without a looped camera. */
  get liveStreams(): LiveStreams | undefined {
    return this.streams;
  }

  /** The `stream` capability: after the camera, on its feed; replay's composed camera has no live stream. */
  private async startStreams(profile: DeviceProfile): Promise<void> {
    const { options } = this;
    const source = this.cameraSource(profile);
    if (!source || !this.feed || options.cameraRuns || options.drivenCamera) return;
    this.streams = await LiveStreams.start({ ...options, profile, source, feed: this.feed });
    this.unsubscribers.push(this.device.onProfile((next) => this.streams?.reconfigure(next)));
    this.doorbell.setStreams(this.streams.urls(this.linkOrigin));
  }

  /** The video the camera plays; undefined: this device has no camera. */
  private cameraSource(profile: DeviceProfile): string | undefined {
    return resolveVideoSource(profile, this.options.video, this.options.cwd);
  }

  /** `lastPublishedSeq`: the outbox's last event before this run, which tells recovery which triggers were seen. */
  private async startCamera(
    profile: DeviceProfile,
    deviceDir: string,
    lastPublishedSeq: number | undefined,
  ): Promise<void> {
    const { options } = this;
    const source = this.cameraSource(profile);
    if (!source || !this.queue) return;
    const labeller =
      options.motionLabels ?? (options.cameraRuns ? undefined : await this.fileLabeller(source));
    const labels = labeller ? new MotionLabelTracker(labeller) : undefined;
    const rig = await startCameraRig({
      deviceId: options.deviceId,
      profile,
      source,
      cameraRuns: options.cameraRuns,
      deviceDir,
      queue: this.queue,
      clock: this.clock,
      logger: options.logger,
      cwd: options.cwd,
      ownerPublicKey: options.ownerPublicKey,
      feedSpeed: options.feedSpeed,
      drivenCamera: options.drivenCamera,
      onMotion: (event, deviceMs) =>
        this.doorbell.motion({
          ...event,
          atMs: deviceMs,
          labels: labels?.labelsFor(event, this.profile.motion.sensitivity),
        }),
      onFrame: (frame, feedMs) => this.frameListeners.emit(frame, feedMs),
      onFeedError: () => this.doorbell.setProblem('camera feed stopped', true),
      onRecordingFailure: () => this.doorbell.setProblem('a clip failed to record', true),
      clipRefusal: () => this.disk?.problem ?? this.queue?.spoolRefusal,
      onClipLost: (lost) => this.doorbell.clipLost(lost),
      lastPublishedSeq,
      announced: (clipId) => this.outbox?.announcedBeforeRestart(clipId) ?? false,
    });
    this.unsubscribers.push(this.device.onProfile((next) => rig.reconfigure(next)));
    this.feed = rig.feed;
    this.recorder = rig.recorder;
    this.pipeline = rig.pipeline;
  }

  /** Labels from the ground truth beside the looped video; none when it has none (a broken one is logged). */
  private async fileLabeller(video: string): Promise<MotionLabeller | undefined> {
    const found = await groundTruthBeside(video);
    if (found && 'problem' in found) {
      this.options.logger.warn(
        { problem: found.problem },
        'no motion labels: the JSON beside the video is not a ground truth',
      );
    }
    return found && 'truth' in found ? loopedFileLabeller(found.truth) : undefined;
  }

  /** `disk`: full, read-only or below the reserve; `spool`: the spool refuses writes; `uploads`: the bucket. */
  private refreshStorageProblems(): void {
    const doorbell = this.core?.doorbell;
    if (!doorbell) return;
    const codes = this.queue?.health().problemCodes ?? [];
    doorbell.setProblem('disk', this.disk?.problem !== undefined || (this.outbox?.heldInMemory ?? 0) > 0);
    const spoolCodes = codes.filter((code) => code.startsWith('spool-'));
    doorbell.setProblem('spool', spoolCodes.length > 0);
    doorbell.setProblem('uploads', codes.length > spoolCodes.length);
  }

  private onDeviceEvent(event: DeviceEvent): void {
    const link = this.link;
    // The clip's plan goes into the journal first, the event into the outbox right after (see RecordingPipeline).
    const afterPublished = this.pipeline?.onDeviceEvent(event);
    if (link) publishDeviceEvent(link, this.topics, event, this.motionAttributes);
    afterPublished?.();
    if (!link) return;
    if (event.kind === 'ding' && this.feed?.live)
      this.inBackground(this.publishSnapshot(), 'the snapshot after a ding failed');
    if (event.kind === 'motion' && event.payload.type === 'start' && this.feed?.live)
      this.inBackground(this.publishSnapshot(), 'the snapshot after a motion start failed');
  }
}
