import { z } from 'zod';
import { SENSITIVITIES } from '../motion/settings.js';
import { REQUESTER_KINDS } from '../privacy/share-request.js';
import { RETENTION_MODES } from '../retention/modes.js';

/** Schema version of every event payload; bump on a breaking change. */
export const EVENT_SCHEMA_VERSION = 1;

const IsoTime = z.iso.datetime({ offset: false });
const Unit = z.number().min(0).max(1);

export const EnvelopeSchema = z.object({
  v: z.literal(EVENT_SCHEMA_VERSION),
  id: z.string().min(1).max(128),
  seq: z.number().int().nonnegative(),
  deviceId: z.string().regex(/^[a-z0-9_-]{1,64}$/),
  at: IsoTime,
});

export const PressSourceSchema = z.enum([
  'button',
  'cli',
  'mqtt',
  'homeassistant',
  'scenario',
  'ui',
  'fleet',
]);
export type PressSource = z.infer<typeof PressSourceSchema>;

/**
 * Where a message stands in its thread (one ring, one motion): more messages of the same thread follow until
 * `ended`. A one-message thread (a clip) is `ended` at once.
 */
export const THREAD_STATES = ['started', 'updated', 'ended'] as const;
export const ThreadStateSchema = z.enum(THREAD_STATES);

const EventId = z.string().min(1).max(128);

/** What every event message carries besides the envelope: the visit it belongs to and its place in its thread. */
const Threaded = {
  sessionId: EventId.describe(
    'one visit: every event of one episode (motion, rings, clips) shares it; the id of its first event. A new ' +
      "session starts after the profile's sessionGapMs without motion or ringing. A clip's is the visit of the " +
      'event that opened it (its own opening event id when that is not known: a clip queued by an older version)',
  ),
  thread: ThreadStateSchema,
};

/** How a ring ended: answered (`request/answer` within the profile's button.answerWindowMs), or missed. */
export const RING_OUTCOMES = ['missed', 'answered'] as const;

export const DingEventSchema = EnvelopeSchema.extend({
  event_type: z.literal('ring'),
  source: PressSourceSchema,
  ...Threaded,
  dingId: EventId.describe("the ring's first message id: the ring and its outcome share it"),
  outcome: z
    .enum(RING_OUTCOMES)
    .optional()
    .describe('on the ended message only (thread "ended"): how the ring ended'),
});

export const BoxSchema = z.object({ x: Unit, y: Unit, w: Unit, h: Unit });

/**
 * What moved. The detector says `motion`; a fixture's ground truth or a scenario may name what it is (simulated
 * smart detection), so CI can assert on it deterministically.
 */
export const MOTION_LABELS = ['motion', 'person', 'animal', 'vehicle', 'package'] as const;
export const MotionLabelSchema = z.enum(MOTION_LABELS);
export type MotionLabel = z.infer<typeof MotionLabelSchema>;

export const MotionEventSchema = EnvelopeSchema.extend({
  type: z.enum(['start', 'update', 'end']),
  ...Threaded,
  motionId: EventId.describe('the start message id: start, updates and end of one motion share it'),
  labels: z
    .array(MotionLabelSchema)
    .min(1)
    .describe('what moved: the labels the scenario or fixture declares, else `motion`'),
  score: Unit,
  box: BoxSchema,
  zones: z.array(z.string()),
  startedAt: IsoTime,
  endedAt: IsoTime.optional(),
});

export const ClipEventSchema = EnvelopeSchema.extend({
  ...Threaded,
  clipId: z.string().min(1).max(128),
  trigger: z.enum(['ding', 'motion', 'manual']),
  startedAt: IsoTime,
  endedAt: IsoTime,
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bucket: z.string(),
  key: z.string(),
  retainUntil: IsoTime,
  encrypted: z.boolean(),
  triggerEventIds: z
    .array(z.string().min(1).max(128))
    .describe(
      'the ids of the ding and motion-start events that opened or extended this clip, in order, each once ' +
        '(empty only when the device cannot know, e.g. a clip queued by an older version)',
    ),
  thumbnailKey: z
    .string()
    .optional()
    .describe(
      "the bucket key of the clip's JPEG thumbnail (encrypted like the clip); absent when none was stored",
    ),
  url: z
    .url()
    .optional()
    .describe(
      'a time-limited link that fetches the clip object (S3: a presigned GET; folder bucket: served by the ' +
        'console). Absent ' +
        "when the owner's privacy.clipLinks turns links off, for an end-to-end encrypted clip unless " +
        'privacy.clipLinks.ciphertext allows its envelope, and when nothing can serve it (a folder bucket without ' +
        'the console)',
    ),
  urlExpiresAt: IsoTime.optional().describe('when `url` stops working (device time); present with `url`'),
});

/**
 * On events/clip too: a trigger's clip could not be recorded (the disk refused it, a crash lost the encode and the
 * footage could not be cut again). Sent instead of the stored-clip event, so no trigger is silently without one.
 */
export const LostClipEventSchema = EnvelopeSchema.extend({
  ...Threaded,
  clipId: z.string().min(1).max(128),
  trigger: z.enum(['ding', 'motion', 'manual']),
  startedAt: IsoTime,
  endedAt: IsoTime,
  status: z.literal('lost'),
  reason: z.string().min(1).max(1000),
  triggerEventIds: z
    .array(z.string().min(1).max(128))
    .describe(
      'the ids of the ding and motion-start events whose clip this was, in order (empty when not known: a ' +
        'journal entry that could not be read)',
    ),
});

/** What events/clip carries: a stored clip, or a lost one (`status: "lost"`). */
export const ClipTopicSchema = z.union([ClipEventSchema, LostClipEventSchema]);

export const AvailabilitySchema = z.enum(['online', 'offline']);
export const MotionStateSchema = z.enum(['ON', 'OFF']);

export const DeviceStatusSchema = z.enum([
  'booting',
  'idle',
  'ringing',
  'recording',
  'uploading',
  'rebooting',
]);

const StreamPairSchema = z.object({
  main: z.string().describe("the profile's resolution and fps"),
  sub: z.string().describe('the low-resolution substream (640 wide at most)'),
});

/** Where the camera's live streams are served (main: the profile's resolution; sub: the low-resolution one). */
export const StreamUrlsSchema = z
  .object({
    rtsp: StreamPairSchema.optional().describe('H.264 over RTSP (when started with --rtsp-port)'),
    mjpeg: StreamPairSchema.optional().describe('multipart/x-mixed-replace JPEGs (on the console)'),
    hls: StreamPairSchema.optional().describe(
      'HLS playlists of fMP4 segments, for browsers (on the console)',
    ),
    snapshot: z.string().optional().describe('one JPEG of the feed now (on the console)'),
  })
  .describe('where the live streams are served; absent while none is');

export const DeviceStateSchema = z.object({
  v: z.literal(EVENT_SCHEMA_VERSION),
  deviceId: z.string(),
  at: IsoTime,
  status: DeviceStatusSchema,
  model: z.string(),
  manufacturer: z.string(),
  firmware: z.string(),
  power: z.enum(['wired', 'battery']),
  battery: z.number().min(0).max(100).nullable(),
  rssi: z.number().int(),
  uptimeS: z.number().int().nonnegative(),
  motionEnabled: z.boolean(),
  motion: z.boolean(),
  sensitivity: z.enum(SENSITIVITIES),
  lastDingAt: IsoTime.nullable(),
  dings: z.number().int().nonnegative(),
  suppressedPresses: z.number().int().nonnegative(),
  queues: z.object({ outbox: z.number().int().nonnegative(), uploads: z.number().int().nonnegative() }),
  healthy: z.boolean(),
  problems: z.array(z.string()),
  retention: z
    .enum(RETENTION_MODES)
    .describe(
      "who deletes clips when their retention ends: the bucket's Object Lock (no early delete; the agent only reports), its lifecycle rule, or the agent's sweeper (folder buckets and buckets with neither)",
    ),
  /** Absent while nothing is served (no camera, no console, no RTSP port); parts not served are left out. */
  streams: StreamUrlsSchema.optional(),
});

/**
 * The last motion at a glance, retained on `<prefix>/<id>/motion/attributes` (Home Assistant shows it as the motion
 * sensor's attributes through json_attributes_topic): the latest motion message's fields, replaced by each one.
 */
export const MotionAttributesSchema = z.object({
  at: IsoTime.describe('when the motion message these come from happened'),
  motionId: EventId.describe('the motion they belong to (its start message id)'),
  sessionId: EventId.describe('the visit that motion belongs to'),
  thread: ThreadStateSchema.describe('started, updated or ended: where that motion stood'),
  labels: MotionEventSchema.shape.labels,
  score: Unit,
  box: BoxSchema,
  zones: z.array(z.string()),
  lastClipUrl: z
    .string()
    .optional()
    .describe("the latest stored clip's link (its events/clip `url`), while one was given"),
  lastClipAt: IsoTime.optional().describe('when that clip was announced'),
  lastClipUrlExpiresAt: IsoTime.optional().describe('when that link stops working'),
});

/** The latest clip link, kept across motion messages. */
type LastClip = Pick<MotionAttributes, 'lastClipUrl' | 'lastClipAt' | 'lastClipUrlExpiresAt'>;

/**
 * The attributes after `event`, from those before it (undefined: none yet): a motion message replaces the motion's
 * fields, a stored clip with a link replaces the clip's. Undefined while no motion has been seen (nothing to show).
 */
export function nextMotionAttributes(
  previous: { motion?: MotionAttributes; clip?: LastClip },
  event: DeviceEvent,
): { motion?: MotionAttributes; clip?: LastClip } {
  if (event.kind === 'motion') {
    const { at, motionId, sessionId, thread, labels, score, box, zones } = event.payload;
    return {
      ...previous,
      motion: { at, motionId, sessionId, thread, labels, score, box, zones, ...previous.clip },
    };
  }
  if (event.kind === 'clip' && event.payload.url && event.payload.urlExpiresAt) {
    const clip = {
      lastClipUrl: event.payload.url,
      lastClipAt: event.payload.at,
      lastClipUrlExpiresAt: event.payload.urlExpiresAt,
    };
    return { clip, ...(previous.motion ? { motion: { ...previous.motion, ...clip } } : {}) };
  }
  return previous;
}

export const ResponseSchema = z.object({
  status: z.enum(['ok', 'error']),
  data: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  transaction: z.union([z.string().max(128), z.number()]).optional(),
});

export type DingEvent = z.infer<typeof DingEventSchema>;
export type MotionEventPayload = z.infer<typeof MotionEventSchema>;
export type MotionAttributes = z.infer<typeof MotionAttributesSchema>;
export type ThreadState = z.infer<typeof ThreadStateSchema>;
export type RingOutcome = (typeof RING_OUTCOMES)[number];
export type ClipEventPayload = z.infer<typeof ClipEventSchema>;
export type LostClipEventPayload = z.infer<typeof LostClipEventSchema>;
export type DeviceState = z.infer<typeof DeviceStateSchema>;
export type DeviceStatus = z.infer<typeof DeviceStatusSchema>;
export type StreamUrls = z.infer<typeof StreamUrlsSchema>;
export type CommandResponse = z.infer<typeof ResponseSchema>;
export type Box = z.infer<typeof BoxSchema>;

/** Everything the device emits, as one discriminated union keyed by `kind`. */
export type DeviceEvent =
  | { kind: 'ding'; payload: DingEvent }
  /** A ring's thread ended (answered or missed): on the ding topic too, but not a ring. */
  | { kind: 'ding-ended'; payload: DingEvent }
  | { kind: 'motion'; payload: MotionEventPayload }
  | { kind: 'clip'; payload: ClipEventPayload }
  | { kind: 'clip-lost'; payload: LostClipEventPayload }
  | { kind: 'state'; payload: DeviceState };

export type EventKind = DeviceEvent['kind'];

const RequesterSchema = z.object({
  kind: z.enum(REQUESTER_KINDS),
  /** The requester's broker username (the broker's word, not the payload's). */
  identity: z.string(),
});
const WindowSchema = z.object({ from: IsoTime, to: IsoTime });

/** `owner/audit-head`: the newest record of the hash-chained audit log. */
export const AuditHeadSchema = z
  .object({ seq: z.number().int().positive(), hash: z.string().regex(/^[0-9a-f]{64}$/) })
  .strict();

/** `owner/consent`: a requester asks for footage; the owner answers with request/share-decision. */
export const ConsentPromptSchema = z.object({
  kind: z.literal('consent-prompt'),
  requestId: z.string(),
  requester: RequesterSchema,
  reason: z.string(),
  window: WindowSchema,
  clipsInWindow: z.number().int().nonnegative(),
  expiresAt: IsoTime,
});

/** `owner/notice`: things the owner is told but does not decide (a legal hold, a withdrawn prompt). */
export const OwnerNoticeSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('legal-hold'),
    requestId: z.string(),
    requester: RequesterSchema,
    demandRef: z.string(),
    reason: z.string(),
    window: WindowSchema,
    /** The clips now under legal hold. */
    clipIds: z.array(z.string()),
    /** Clips in the window whose hold could not be set (the requester was answered `hold-failed`). */
    failedClipIds: z.array(z.string()).optional(),
  }),
  z.object({
    kind: z.literal('prompt-withdrawn'),
    requestId: z.string(),
    reason: z.enum(['expired', 'opted-out']),
  }),
]);
