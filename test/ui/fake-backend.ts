import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { envelope } from '../../src/events/envelope.js';
import {
  ClipEventSchema,
  type DeviceEvent,
  type DeviceState,
  DingEventSchema,
  MotionEventSchema,
} from '../../src/events/schemas.js';
import type { ConsoleBackend, ConsoleClip, LiveFrame } from '../../src/ui/backend.js';
import { REPO_ROOT } from '../helpers/mqtt.js';

export const CLIP_FIXTURE = join(REPO_ROOT, 'fixtures', 'video', 'visitor-at-door.mp4');
const HOUR = 3600_000;
const DAY = 24 * HOUR;

/**
 * Small annotated JPEGs like the agent's: a porch, a moving motion box and a hatched privacy zone.
 * `count` frames of `width`×`height`.
 */
export async function makeFrames(count: number, width = 480, height = 270): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const x = Math.round(((i % count) / count) * (width - 120)) + 20;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
      <defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">
        <stop offset="0" stop-color="#5b7083"/><stop offset="1" stop-color="#2f3b2f"/></linearGradient></defs>
      <rect width="100%" height="100%" fill="url(#g)"/>
      <rect x="${width * 0.35}" y="${height * 0.2}" width="${width * 0.3}" height="${height * 0.8}" fill="#6b4f3a"/>
      <rect x="${width * 0.75}" y="0" width="${width * 0.25}" height="${height * 0.45}" fill="#000" fill-opacity="0.7"/>
      <text x="${width * 0.77}" y="22" font-size="13" fill="#ccc" font-family="sans-serif">privacy zone</text>
      <rect x="${x}" y="${height * 0.35}" width="90" height="${height * 0.55}" fill="none" stroke="#ff3b30" stroke-width="3"/>
      <text x="8" y="${height - 10}" font-size="13" fill="#fff" font-family="monospace">fake camera · frame ${i}</text>
    </svg>`;
    frames.push(await sharp(Buffer.from(svg)).jpeg({ quality: 70 }).toBuffer());
  }
  return frames;
}

export interface FakeBackendOptions {
  deviceId?: string;
  frames: Buffer[];
  fps?: number;
  clipFile?: string;
}

/** A ConsoleBackend that behaves like a doorbell: presses ring (with a chime window), events flow, frames stream. */
export class FakeBackend implements ConsoleBackend {
  readonly id: string;
  private seq = 0;
  private visit: string | undefined;
  private motionId: string | undefined;
  private readonly eventListeners = new Set<(event: DeviceEvent) => void>();
  private readonly frameListeners = new Set<(frame: LiveFrame) => void>();
  private frameTimer: NodeJS.Timeout | undefined;
  private frameIndex = 0;
  private lastDingAt = Number.NEGATIVE_INFINITY;
  private readonly clipList: ConsoleClip[] = [];
  private readonly clipFiles = new Map<string, string>();
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  current: DeviceState;
  chimeWindowMs = 0;
  framesEmitted = 0;

  constructor(private readonly options: FakeBackendOptions) {
    this.id = options.deviceId ?? 'front-door';
    this.current = {
      v: 1,
      deviceId: this.id,
      at: new Date().toISOString(),
      status: 'idle',
      model: 'VDB-1080 Wired',
      manufacturer: 'Virtual Doorbell Co.',
      firmware: '1.4.2',
      power: 'battery',
      battery: 87,
      rssi: -58,
      uptimeS: 3725,
      motionEnabled: true,
      motion: false,
      sensitivity: 'medium',
      lastDingAt: null,
      dings: 0,
      suppressedPresses: 0,
      queues: { outbox: 0, uploads: 2 },
      healthy: true,
      problems: [],
      retention: 'sweeper',
    };
  }

  deviceId(): string {
    return this.id;
  }

  state(): DeviceState {
    return this.current;
  }

  press(): { rang: boolean; reason?: string } {
    this.calls.push({ method: 'press', args: [] });
    const now = this.now();
    if (now - this.lastDingAt < this.chimeWindowMs) return { rang: false, reason: 'chime-window' };
    this.lastDingAt = now;
    const head = envelope(this.id, ++this.seq, now);
    const payload = DingEventSchema.parse({
      ...head,
      event_type: 'ring',
      source: 'ui',
      sessionId: this.sessionOf(head.id),
      thread: 'started',
      dingId: head.id,
    });
    this.emit({ kind: 'ding', payload });
    this.updateState({ status: 'ringing', dings: this.current.dings + 1, lastDingAt: payload.at });
    return { rang: true };
  }

  setSensitivity(sensitivity: 'low' | 'medium' | 'high'): void {
    this.calls.push({ method: 'setSensitivity', args: [sensitivity] });
    this.updateState({ sensitivity });
  }

  setMotionEnabled(enabled: boolean): void {
    this.calls.push({ method: 'setMotionEnabled', args: [enabled] });
    this.updateState({ motionEnabled: enabled });
  }

  onEvent(listener: (event: DeviceEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onFrame(listener: (frame: LiveFrame) => void): () => void {
    this.frameListeners.add(listener);
    const fps = this.options.fps ?? 10;
    this.frameTimer ??= setInterval(() => {
      const { frames } = this.options;
      const jpeg = frames[this.frameIndex++ % frames.length]!;
      this.framesEmitted++;
      for (const each of this.frameListeners) each({ jpeg, at: new Date().toISOString() });
    }, 1000 / fps);
    return () => {
      this.frameListeners.delete(listener);
      if (this.frameListeners.size === 0) {
        clearInterval(this.frameTimer);
        this.frameTimer = undefined;
      }
    };
  }

  get frameSubscribers(): number {
    return this.frameListeners.size;
  }

  async clips(): Promise<ConsoleClip[]> {
    return [...this.clipList];
  }

  async openClip(clipId: string) {
    const file = this.clipFiles.get(clipId);
    if (!file) return undefined;
    return { stream: createReadStream(file), bytes: statSync(file).size };
  }

  now(): number {
    return Date.now();
  }

  /** The visit events belong to until endVisit(): named by its first event, as the device names it. */
  private sessionOf(eventId: string): string {
    this.visit ??= eventId;
    return this.visit;
  }

  /** The next event starts a new visit (as the device does after its session gap). */
  endVisit(): void {
    this.visit = undefined;
  }

  /** Motion start → end, the way the detector reports a visitor; `atMs` and `box` default to now and a porch box. */
  motion(
    type: 'start' | 'update' | 'end',
    zones: string[] = ['porch'],
    at: { atMs?: number; box?: { x: number; y: number; w: number; h: number } } = {},
  ): void {
    const now = at.atMs ?? this.now();
    const head = envelope(this.id, ++this.seq, now);
    if (type === 'start' || this.motionId === undefined) this.motionId = head.id;
    const payload = MotionEventSchema.parse({
      ...head,
      type,
      sessionId: this.sessionOf(head.id),
      thread: type === 'start' ? 'started' : type === 'end' ? 'ended' : 'updated',
      motionId: this.motionId,
      labels: ['motion'],
      score: 0.42,
      box: at.box ?? { x: 0.3, y: 0.35, w: 0.2, h: 0.55 },
      zones,
      startedAt: new Date(now - (type === 'start' ? 0 : 4000)).toISOString(),
      ...(type === 'end' ? { endedAt: new Date(now).toISOString() } : {}),
    });
    this.emit({ kind: 'motion', payload });
    this.updateState({ motion: type !== 'end' });
  }

  /** Adds a clip (the fixture MP4, or an encrypted stand-in) and emits its clip event. */
  addClip(options: {
    clipId: string;
    trigger: ConsoleClip['trigger'];
    retainForMs?: number;
    encrypted?: boolean;
    legalHold?: boolean;
    startedAgoMs?: number;
  }): ConsoleClip {
    const file = this.options.clipFile ?? CLIP_FIXTURE;
    const bytes = statSync(file).size;
    const now = this.now();
    const startedAt = new Date(now - (options.startedAgoMs ?? 20_000)).toISOString();
    const endedAt = new Date(Date.parse(startedAt) + 14_000).toISOString();
    const clip: ConsoleClip = {
      clipId: options.clipId,
      trigger: options.trigger,
      startedAt,
      endedAt,
      bytes,
      key: `clips/${this.id}/${startedAt.slice(0, 10).replaceAll('-', '/')}/${options.clipId}.mp4`,
      retainUntil: new Date(now + (options.retainForMs ?? 60 * DAY)).toISOString(),
      legalHold: options.legalHold ?? false,
      encrypted: options.encrypted ?? false,
    };
    this.clipList.push(clip);
    if (!clip.encrypted) this.clipFiles.set(clip.clipId, file);
    const payload = ClipEventSchema.parse({
      ...envelope(this.id, ++this.seq, now),
      clipId: clip.clipId,
      trigger: clip.trigger,
      startedAt,
      endedAt,
      bytes,
      sha256: createHash('sha256').update(clip.clipId).digest('hex'),
      bucket: 'local',
      key: clip.key,
      retainUntil: clip.retainUntil,
      encrypted: clip.encrypted,
      // A clip is named after the event that opened it, and belongs to that event's visit.
      triggerEventIds: [clip.clipId],
      sessionId: this.visit ?? clip.clipId,
      thread: 'ended',
    });
    this.emit({ kind: 'clip', payload });
    return clip;
  }

  updateState(patch: Partial<DeviceState>): void {
    this.current = { ...this.current, ...patch, at: new Date().toISOString() };
    this.emit({ kind: 'state', payload: this.current });
  }

  stop(): void {
    clearInterval(this.frameTimer);
    this.frameTimer = undefined;
  }

  private emit(event: DeviceEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }
}

export { DAY, HOUR };
