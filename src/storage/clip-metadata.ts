import { DEFAULT_RETENTION_DAYS, retainUntilIso } from '../retention/policy.js';
import { checkMetadata, InvalidMetadataError, type ObjectMetadata } from './bucket.js';
import { assertClipId, assertDeviceId } from './keys.js';

/** What the recorder knows about a finished clip. */
export interface ClipDescriptor {
  deviceId: string;
  clipId: string;
  /** The DeviceEvent that triggered the clip. */
  eventId: string;
  /** ding | motion | manual … */
  trigger: string;
  /**
   * The events that opened or extended the clip, for events/clip. Kept in the spool entry (a clip uploaded after a
   * restart still names them), not in the object metadata.
   */
  triggerEventIds?: string[];
  /** The visit (sessionId) the clip belongs to, for events/clip; kept like triggerEventIds. */
  sessionId?: string;
  /** When recording began (ISO-8601); retention counts from here and the key's date folder comes from it. */
  recordedAt: string;
  /** The clip window, carried through to `uploaded` for events/clip. */
  startedAt?: string;
  endedAt?: string;
  /** Profile retention; default 60. */
  retentionDays?: number;
  encrypted?: boolean;
  legalHold?: boolean;
  /** More metadata for every object of the clip (e.g. the envelope's enc-* entries). */
  extraMetadata?: ObjectMetadata;
}

/** The descriptor with defaults applied and times normalised to ISO-8601 UTC. */
type OptionalClipFacts = 'startedAt' | 'endedAt' | 'triggerEventIds' | 'sessionId';
export type NormalizedClip = Required<Omit<ClipDescriptor, OptionalClipFacts>> &
  Pick<ClipDescriptor, OptionalClipFacts> & { retainUntil: string };

/** Metadata names on every clip object (DESIGN.md). */
export const CLIP_META = {
  deviceId: 'device-id',
  clipId: 'clip-id',
  eventId: 'event-id',
  trigger: 'trigger',
  recordedAt: 'recorded-at',
  startedAt: 'started-at',
  endedAt: 'ended-at',
  retentionDays: 'retention-days',
  retainUntil: 'retain-until',
  sha256: 'sha256',
  encrypted: 'encrypted',
  legalHold: 'legal-hold',
} as const;

const RESERVED = new Set<string>(Object.values(CLIP_META));
const TRIGGER = /^[a-z0-9_-]{1,32}$/;
const EVENT_ID = /^[\x21-\x7e]{1,128}$/;

function isoTime(field: string, value: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new InvalidMetadataError(`${field} ${JSON.stringify(value)} is not an ISO-8601 time`);
  return new Date(ms).toISOString();
}

export function normalizeClip(clip: ClipDescriptor): NormalizedClip {
  assertDeviceId(clip.deviceId);
  assertClipId(clip.clipId);
  if (typeof clip.eventId !== 'string' || !EVENT_ID.test(clip.eventId)) {
    throw new InvalidMetadataError(
      `eventId ${JSON.stringify(clip.eventId)} must be 1-128 printable characters without spaces`,
    );
  }
  if (typeof clip.trigger !== 'string' || !TRIGGER.test(clip.trigger)) {
    throw new InvalidMetadataError(`trigger ${JSON.stringify(clip.trigger)} must match [a-z0-9_-]{1,32}`);
  }
  const eventIds = [
    ...(clip.triggerEventIds ?? []).map((id) => ({ field: 'triggerEventIds entry', id })),
    ...(clip.sessionId === undefined ? [] : [{ field: 'sessionId', id: clip.sessionId }]),
  ];
  for (const { field, id } of eventIds) {
    if (typeof id !== 'string' || !EVENT_ID.test(id)) {
      throw new InvalidMetadataError(
        `${field} ${JSON.stringify(id)} must be 1-128 printable characters without spaces`,
      );
    }
  }
  const retentionDays = clip.retentionDays ?? DEFAULT_RETENTION_DAYS;
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 3650) {
    throw new InvalidMetadataError(
      `retentionDays ${JSON.stringify(retentionDays)} must be an integer from 1 to 3650`,
    );
  }
  const extraMetadata = checkMetadata(clip.extraMetadata ?? {});
  for (const key of Object.keys(extraMetadata)) {
    if (RESERVED.has(key))
      throw new InvalidMetadataError(`extraMetadata "${key}" is reserved for the clip's own metadata`);
  }
  const recordedAt = isoTime('recordedAt', clip.recordedAt);
  return {
    deviceId: clip.deviceId,
    clipId: clip.clipId,
    eventId: clip.eventId,
    trigger: clip.trigger,
    ...(clip.triggerEventIds !== undefined ? { triggerEventIds: [...new Set(clip.triggerEventIds)] } : {}),
    ...(clip.sessionId !== undefined ? { sessionId: clip.sessionId } : {}),
    recordedAt,
    ...(clip.startedAt !== undefined ? { startedAt: isoTime('startedAt', clip.startedAt) } : {}),
    ...(clip.endedAt !== undefined ? { endedAt: isoTime('endedAt', clip.endedAt) } : {}),
    retentionDays,
    retainUntil: retainUntilIso(recordedAt, retentionDays),
    encrypted: clip.encrypted ?? false,
    legalHold: clip.legalHold ?? false,
    extraMetadata,
  };
}

/** The object metadata for a clip's objects (the bucket adds sha256). */
export function clipObjectMetadata(clip: NormalizedClip): ObjectMetadata {
  return checkMetadata({
    ...clip.extraMetadata,
    [CLIP_META.deviceId]: clip.deviceId,
    [CLIP_META.clipId]: clip.clipId,
    [CLIP_META.eventId]: clip.eventId,
    [CLIP_META.trigger]: clip.trigger,
    [CLIP_META.recordedAt]: clip.recordedAt,
    ...(clip.startedAt ? { [CLIP_META.startedAt]: clip.startedAt } : {}),
    ...(clip.endedAt ? { [CLIP_META.endedAt]: clip.endedAt } : {}),
    [CLIP_META.retentionDays]: String(clip.retentionDays),
    [CLIP_META.retainUntil]: clip.retainUntil,
    [CLIP_META.encrypted]: String(clip.encrypted),
    [CLIP_META.legalHold]: String(clip.legalHold),
  });
}
