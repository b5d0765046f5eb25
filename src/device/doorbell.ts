import type { Clock, TimerHandle } from '../clock/clock.js';
import type { DeviceProfile } from '../config/profile.js';
import type { PressRefusal } from '../contract/commands.js';
import type { EventBus } from '../events/bus.js';
import type { Envelope } from '../events/envelope.js';
import { envelope, iso } from '../events/envelope.js';
import type {
  Box,
  ClipEventPayload,
  DeviceState,
  DeviceStatus,
  LostClipEventPayload,
  MotionLabel,
  PressSource,
  RingOutcome,
  StreamUrls,
  ThreadState,
} from '../events/schemas.js';
import type { Sensitivity } from '../motion/settings.js';
import type { RetentionMode } from '../retention/modes.js';
import { seededRandom, seedFrom } from '../util/random.js';
import { Battery } from './battery.js';
import { VisitSessions } from './visit-sessions.js';

export type PressOutcome = { accepted: true; seq: number } | { accepted: false; reason: PressRefusal };

export type AnswerOutcome = { answered: true; dingIds: string[] } | { answered: false; reason: 'no-ring' };

/** What the detector reports, already mapped to device time. */
export interface MotionInput {
  type: 'start' | 'update' | 'end';
  atMs: number;
  score: number;
  box: Box;
  zones: string[];
  /** What moved, when the source knows (a fixture's ground truth, a scenario); else `motion`. */
  labels?: readonly MotionLabel[] | undefined;
}

/** The motion in progress: its thread and the visit it belongs to. */
interface MotionThread {
  motionId: string;
  sessionId: string;
  labels: MotionLabel[];
  startedAtMs: number;
}

/** A ring waiting for an answer. */
interface OpenRing {
  dingId: string;
  sessionId: string;
  source: PressSource;
  timer: TimerHandle;
}

export interface DoorbellOptions {
  deviceId: string;
  profile: DeviceProfile;
  clock: Clock;
  bus: EventBus;
  /** Next event sequence number; the agent persists it so it survives restarts. */
  nextSeq: () => number;
  bootMs?: number;
  /** Seed for simulated radio noise; defaults to one derived from the device id. */
  seed?: number;
}

/**
 * The doorbell's firmware as a pure state machine: inputs (presses, motion, telemetry ticks) in,
 * DeviceEvents out, time only from the Clock.
 */
export class Doorbell {
  private status: DeviceStatus = 'booting';
  private readonly bootedAt: number;
  private readonly battery: Battery | undefined;
  private readonly random: () => number;
  private rssi: number;
  private motionEnabled: boolean;
  private sensitivity: Sensitivity;
  /** The motion in progress, if any. */
  private motionThread: MotionThread | undefined;
  /** Rings waiting for an answer, oldest first (a visitor may ring again before anyone comes). */
  private rings: OpenRing[] = [];
  private readonly sessions: VisitSessions;
  private lastPressAt = Number.NEGATIVE_INFINITY;
  private lastDingAt: number | undefined;
  private dings = 0;
  private suppressedPresses = 0;
  private queues = { outbox: 0, uploads: 0 };
  private readonly problems = new Set<string>();
  private streams: StreamUrls | undefined;
  /** Until the agent has asked the bucket: the sweeper, as for a folder. */
  private retention: RetentionMode = 'sweeper';
  private timers: { boot?: TimerHandle; chime?: TimerHandle; telemetry?: TimerHandle } = {};
  private started = false;

  constructor(private options: DoorbellOptions) {
    const { profile, clock } = options;
    this.bootedAt = clock.now();
    this.battery = profile.power.source === 'battery' ? new Battery(profile.power, this.bootedAt) : undefined;
    this.random = seededRandom(options.seed ?? seedFrom(options.deviceId));
    this.rssi = profile.wifi.baseRssiDbm;
    this.motionEnabled = profile.motion.enabled;
    this.sensitivity = profile.motion.sensitivity;
    this.sessions = new VisitSessions(profile.sessionGapMs);
  }

  get deviceId(): string {
    return this.options.deviceId;
  }

  get currentStatus(): DeviceStatus {
    return this.status;
  }

  /** Whether integrators may see this device as `online`: booted and taking presses. */
  get online(): boolean {
    return isOnlineStatus(this.status);
  }

  /** Boots: `booting` for bootMs, then `idle`, with periodic telemetry. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.enterBooting();
    const { clock, profile } = this.options;
    this.timers.telemetry = clock.setInterval(() => this.telemetryTick(), profile.telemetryIntervalMs);
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    const { clock } = this.options;
    for (const timer of Object.values(this.timers)) clock.clearTimer(timer);
    this.timers = {};
    for (const ring of this.rings) clock.clearTimer(ring.timer);
    this.rings = [];
  }

  /**
   * The device is shutting down: every thread still open ends now (waiting rings as missed, a motion in progress),
   * so no integrator is left with a ring or a motion that never ends. Called before the device stops speaking.
   */
  endThreads(): void {
    if (!this.started) return;
    this.endRings('missed');
    if (this.motionActive) {
      this.endMotion({ type: 'end', atMs: this.options.clock.now(), score: 0, box: emptyBox(), zones: [] });
    }
  }

  /** Simulated reboot: offline to integrators, then booting, then idle again. */
  reboot(): void {
    if (!this.started) return;
    this.options.clock.clearTimer(this.timers.chime);
    this.endRings('missed');
    this.setStatus('rebooting');
    this.enterBooting();
  }

  press(source: PressSource): PressOutcome {
    const now = this.options.clock.now();
    if (this.status === 'booting' || this.status === 'rebooting')
      return { accepted: false, reason: 'booting' };
    if (this.battery?.isEmpty(now)) return { accepted: false, reason: 'battery-empty' };
    const sinceLast = now - this.lastPressAt;
    this.lastPressAt = now;
    if (sinceLast < this.options.profile.button.debounceMs) return { accepted: false, reason: 'bounce' };
    const { chimeWindowMs } = this.options.profile.button;
    if (this.lastDingAt !== undefined && now - this.lastDingAt < chimeWindowMs) {
      this.suppressedPresses++;
      return { accepted: false, reason: 'chime-window' };
    }
    this.dings++;
    this.lastDingAt = now;
    this.battery?.chargeDing();
    const seq = this.options.nextSeq();
    const head = envelope(this.deviceId, seq, now);
    const sessionId = this.sessions.sessionOf(head.id, now);
    this.sessions.opened(head.id);
    const ring: OpenRing = {
      dingId: head.id,
      sessionId,
      source,
      timer: this.options.clock.setTimeout(
        () => this.endRings('missed', ring),
        this.options.profile.button.answerWindowMs,
      ),
    };
    this.rings.push(ring);
    this.options.bus.emit({
      kind: 'ding',
      payload: { ...head, event_type: 'ring', source, sessionId, thread: 'started', dingId: head.id },
    });
    this.setStatus('ringing');
    this.timers.chime = this.options.clock.setTimeout(() => {
      delete this.timers.chime;
      if (this.status === 'ringing') this.setStatus('idle');
    }, chimeWindowMs);
    return { accepted: true, seq };
  }

  /** Someone answered the door (`request/answer`): every ring still waiting ends as answered. */
  answer(): AnswerOutcome {
    if (this.rings.length === 0) return { answered: false, reason: 'no-ring' };
    const dingIds = this.rings.map((ring) => ring.dingId);
    this.endRings('answered');
    return { answered: true, dingIds };
  }

  motion(input: MotionInput): void {
    if (!this.motionEnabled || this.status === 'booting' || this.status === 'rebooting') {
      if (input.type === 'end' && this.motionActive) this.endMotion(input);
      return;
    }
    if (input.type === 'start' ? this.motionActive : !this.motionActive) return;
    if (input.type === 'end') {
      this.endMotion(input);
      return;
    }
    this.emitMotion(input, undefined);
    if (input.type === 'start') this.emitState();
  }

  /** A clip is durably in the bucket: announce it (a one-message thread, so `ended` at once). */
  clipStored(clip: ClipFacts<ClipEventPayload>): void {
    const seq = this.options.nextSeq();
    this.options.bus.emit({
      kind: 'clip',
      payload: { ...envelope(this.deviceId, seq, this.options.clock.now()), ...clipThread(clip) },
    });
  }

  /** A trigger's clip will never be stored: announce it on the clip topic with the reason. */
  clipLost(clip: ClipFacts<Omit<LostClipEventPayload, 'status'>>): void {
    const seq = this.options.nextSeq();
    this.options.bus.emit({
      kind: 'clip-lost',
      payload: {
        ...envelope(this.deviceId, seq, this.options.clock.now()),
        ...clipThread(clip),
        status: 'lost',
      },
    });
  }

  /** A new effective profile (owner's config change): button, motion and telemetry settings apply at once. */
  reconfigure(profile: DeviceProfile): void {
    const { clock } = this.options;
    const telemetryChanged = profile.telemetryIntervalMs !== this.options.profile.telemetryIntervalMs;
    this.options = { ...this.options, profile };
    this.setMotionEnabled(profile.motion.enabled);
    this.sensitivity = profile.motion.sensitivity;
    if (telemetryChanged && this.timers.telemetry) {
      clock.clearTimer(this.timers.telemetry);
      this.timers.telemetry = clock.setInterval(() => this.telemetryTick(), profile.telemetryIntervalMs);
    }
    this.sessions.gap = profile.sessionGapMs;
    this.emitState();
  }

  get motionActiveNow(): boolean {
    return this.motionActive;
  }

  get motionEnabledNow(): boolean {
    return this.motionEnabled;
  }

  setMotionEnabled(enabled: boolean): void {
    if (this.motionEnabled === enabled) return;
    this.motionEnabled = enabled;
    if (!enabled && this.motionActive) {
      this.endMotion({ type: 'end', atMs: this.options.clock.now(), score: 0, box: emptyBox(), zones: [] });
    } else {
      this.emitState();
    }
  }

  setSensitivity(sensitivity: Sensitivity): void {
    if (this.sensitivity === sensitivity) return;
    this.sensitivity = sensitivity;
    this.emitState();
  }

  get currentSensitivity(): Sensitivity {
    return this.sensitivity;
  }

  chargeRecording(seconds: number): void {
    this.battery?.chargeRecording(seconds);
  }

  /** Events waiting for the broker's acknowledgement; sampled by every state, not announced on its own. */
  setOutboxDepth(depth: number): void {
    this.queues = { ...this.queues, outbox: depth };
  }

  /** Clips waiting to upload; a change is announced, so every view of the state agrees. */
  setUploadDepth(depth: number): void {
    if (depth === this.queues.uploads) return;
    this.queues = { ...this.queues, uploads: depth };
    this.emitState();
  }

  /** Marks a named problem (e.g. "spool unwritable") present or cleared; the state says unhealthy while any is. */
  setProblem(problem: string, present: boolean): void {
    const had = this.problems.has(problem);
    if (had === present) return;
    if (present) this.problems.add(problem);
    else this.problems.delete(problem);
    this.emitState();
  }

  /** Where the live streams are served now (undefined: nowhere); a change is announced. */
  setStreams(streams: StreamUrls | undefined): void {
    const empty = !streams || Object.keys(streams).length === 0;
    const next = empty ? undefined : streams;
    if (JSON.stringify(next) === JSON.stringify(this.streams)) return;
    this.streams = next;
    this.emitState();
  }

  /** Who enforces retention in the bucket (the agent's probe says); a change is announced. */
  setRetentionMode(mode: RetentionMode): void {
    if (mode === this.retention) return;
    this.retention = mode;
    this.emitState();
  }

  state(): DeviceState {
    const { profile, clock } = this.options;
    const now = clock.now();
    const battery = this.battery ? this.battery.percent(now) : null;
    const problems = [...this.problems];
    if (battery !== null && battery <= 0) problems.push('battery empty');
    return {
      v: 1,
      deviceId: this.deviceId,
      at: iso(now),
      status: this.status,
      model: profile.model,
      manufacturer: profile.manufacturer,
      firmware: profile.firmwareVersion,
      power: profile.power.source,
      battery,
      rssi: this.rssi,
      uptimeS: Math.floor((now - this.bootedAt) / 1000),
      motionEnabled: this.motionEnabled,
      motion: this.motionActive,
      sensitivity: this.sensitivity,
      lastDingAt: this.lastDingAt === undefined ? null : iso(this.lastDingAt),
      dings: this.dings,
      suppressedPresses: this.suppressedPresses,
      queues: { ...this.queues },
      healthy: problems.length === 0,
      problems,
      retention: this.retention,
      ...(this.streams ? { streams: this.streams } : {}),
    };
  }

  private enterBooting(): void {
    const { clock } = this.options;
    this.status = 'booting';
    this.emitState();
    clock.clearTimer(this.timers.boot);
    this.timers.boot = clock.setTimeout(() => {
      delete this.timers.boot;
      this.setStatus('idle');
    }, this.options.bootMs ?? 500);
  }

  private telemetryTick(): void {
    const { baseRssiDbm, jitterDbm } = this.options.profile.wifi;
    const step = (this.random() * 2 - 1) * jitterDbm;
    const pull = (baseRssiDbm - this.rssi) * 0.3;
    this.rssi = Math.round(Math.min(-20, Math.max(-100, this.rssi + step + pull)));
    this.emitState();
  }

  private get motionActive(): boolean {
    return this.motionThread !== undefined;
  }

  private endMotion(input: MotionInput): void {
    this.emitMotion({ ...input, type: 'end' }, input.atMs);
    this.emitState();
  }

  /** Closes the threads of the waiting rings (or of just `only`) with their outcome. */
  private endRings(outcome: RingOutcome, only?: OpenRing): void {
    const ending = only ? [only] : this.rings;
    this.rings = only ? this.rings.filter((ring) => ring !== only) : [];
    for (const ring of ending) this.endRing(ring, outcome);
  }

  private endRing(ring: OpenRing, outcome: RingOutcome): void {
    const { clock } = this.options;
    clock.clearTimer(ring.timer);
    const now = clock.now();
    this.sessions.closed(ring.dingId, now);
    this.options.bus.emit({
      kind: 'ding-ended',
      payload: {
        ...envelope(this.deviceId, this.options.nextSeq(), now),
        event_type: 'ring',
        source: ring.source,
        sessionId: ring.sessionId,
        thread: 'ended',
        dingId: ring.dingId,
        outcome,
      },
    });
  }

  /** The motion thread this input belongs to (a start opens one; an end closes it). */
  private motionThreadOf(input: MotionInput, head: Envelope): MotionThread & { thread: ThreadState } {
    let current = this.motionThread;
    if (input.type === 'start' || !current) {
      current = {
        motionId: head.id,
        sessionId: this.sessions.sessionOf(head.id, input.atMs),
        labels: ['motion'],
        startedAtMs: input.atMs,
      };
      this.sessions.opened(current.motionId);
    }
    if (input.labels && input.labels.length > 0) current.labels = [...input.labels];
    if (input.type === 'end') {
      this.sessions.closed(current.motionId, input.atMs);
      this.motionThread = undefined;
    } else {
      this.motionThread = current;
    }
    const thread = input.type === 'start' ? 'started' : input.type === 'end' ? 'ended' : 'updated';
    return { ...current, labels: [...current.labels], thread };
  }

  private emitMotion(input: MotionInput, endedAtMs: number | undefined): void {
    const head = envelope(this.deviceId, this.options.nextSeq(), input.atMs);
    const { motionId, sessionId, labels, thread, startedAtMs } = this.motionThreadOf(input, head);
    this.options.bus.emit({
      kind: 'motion',
      payload: {
        ...head,
        type: input.type,
        sessionId,
        thread,
        motionId,
        labels,
        score: clampUnit(input.score),
        box: input.box,
        zones: input.zones,
        startedAt: iso(startedAtMs),
        ...(endedAtMs === undefined ? {} : { endedAt: iso(endedAtMs) }),
      },
    });
  }

  private setStatus(status: DeviceStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.emitState();
  }

  private emitState(): void {
    this.options.bus.emit({ kind: 'state', payload: this.state() });
  }
}

/** What the recording side knows of a clip: everything but the envelope and the thread, the visit when known. */
export type ClipFacts<P> = Omit<P, keyof Envelope | 'thread' | 'sessionId'> & {
  sessionId?: string | undefined;
};

function clipThread<C extends { clipId: string; triggerEventIds: string[]; sessionId?: string | undefined }>(
  clip: C,
): C & { sessionId: string; thread: 'ended' } {
  return { ...clip, sessionId: clip.sessionId ?? clip.triggerEventIds[0] ?? clip.clipId, thread: 'ended' };
}

/** A booting or rebooting device is not on the network yet: it would refuse a press. */
export function isOnlineStatus(status: DeviceStatus): boolean {
  return status !== 'booting' && status !== 'rebooting';
}

function clampUnit(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function emptyBox(): Box {
  return { x: 0, y: 0, w: 0, h: 0 };
}
