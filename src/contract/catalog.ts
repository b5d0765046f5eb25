import { z } from 'zod';
import { DEVICE_ID_PATTERN } from '../config/profile.js';
import {
  AuditHeadSchema,
  AvailabilitySchema,
  ClipTopicSchema,
  ConsentPromptSchema,
  DeviceStateSchema,
  DingEventSchema,
  MotionAttributesSchema,
  MotionEventSchema,
  MotionStateSchema,
  OwnerNoticeSchema,
  ResponseSchema,
} from '../events/schemas.js';
import { FOOTAGE_COMMANDS } from '../mqtt/acl.js';
import { DiscoveryConfigSchema } from '../mqtt/discovery.js';
import { COMMAND_PATTERN, USERNAME_PATTERN } from '../mqtt/topics.js';
import { COMMAND_SUMMARIES, CommandArgs, type CommandName, CommandResults } from './commands.js';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { AT, envelope, REQUEST_EXAMPLES, RESPONSE_EXAMPLES, STATE_EXAMPLE } from './examples.js';

/** How a payload is encoded on the wire. */
export type PayloadSpec =
  | { format: 'json'; schema: z.ZodType; example: unknown }
  | { format: 'text'; schema: z.ZodType<string>; example: string }
  | { format: 'binary'; contentType: 'image/jpeg'; description: string };

/** From the device's point of view: it publishes (sends) or subscribes (receives). */
export type Direction = 'publish' | 'subscribe';

export interface TopicEntry {
  /** Stable name (AsyncAPI channel id). */
  name: string;
  /** Levels may be `{prefix}`, `{discoveryPrefix}` (fixed per deployment) or `{id}`, `{command}`, `{component}`, `{objectId}`. */
  pattern: string;
  direction: Direction;
  retained: boolean;
  qos: 0 | 1;
  payload: PayloadSpec;
  description: string;
  /** For request and response topics: the command asked or answered. */
  command?: CommandName;
}

export const TransactionSchema = z
  .union([z.string().max(128), z.number()])
  .describe('echoed in the response so callers can match it');

/** The JSON body of a request: the command's arguments plus an optional `transaction`. An empty payload means `{}`. */
export function requestSchema(command: CommandName): z.ZodType {
  return CommandArgs[command].extend({ transaction: TransactionSchema.optional() });
}

const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

/** An answer on `response/<command>`: ok with the command's `data`, or an error with a listed code. */
export function responseSchema(command: CommandName): z.ZodType {
  const transaction = TransactionSchema.optional();
  return z.union([
    z.object({ status: z.literal('ok'), data: CommandResults[command], transaction }).strict(),
    z
      .object({
        status: z.literal('error'),
        error: z.object({ code: ErrorCodeSchema, message: z.string() }).strict(),
        transaction,
      })
      .strict(),
  ]);
}

/** A topic the device answers requests on (everything but the description). */
function responseEntry(name: string, pattern: string, example: unknown): Omit<TopicEntry, 'description'> {
  return {
    name,
    pattern,
    direction: 'publish',
    retained: false,
    qos: 1,
    payload: { format: 'json', schema: ResponseSchema, example },
  };
}

const deviceEntries: TopicEntry[] = [
  {
    name: 'availability',
    pattern: '{prefix}/{id}/availability',
    direction: 'publish',
    retained: true,
    qos: 1,
    payload: { format: 'text', schema: AvailabilitySchema, example: 'online' },
    description:
      '`online` once the device is ready: booted, and the broker acknowledged its command subscription (a request ' +
      'sent then is answered). `offline` while booting or rebooting, on a clean stop, and as the MQTT last will.',
  },
  {
    name: 'state',
    pattern: '{prefix}/{id}/state',
    direction: 'publish',
    retained: true,
    qos: 1,
    payload: {
      format: 'json',
      schema: DeviceStateSchema,
      example: STATE_EXAMPLE,
    },
    description: 'Device state; republished on every change, on a telemetry tick and on (re)connect.',
  },
  {
    name: 'motionState',
    pattern: '{prefix}/{id}/motion',
    direction: 'publish',
    retained: true,
    qos: 1,
    payload: { format: 'text', schema: MotionStateSchema, example: 'ON' },
    description: '`ON` while motion is in progress, `OFF` otherwise.',
  },
  {
    name: 'motionAttributes',
    pattern: '{prefix}/{id}/motion/attributes',
    direction: 'publish',
    retained: true,
    qos: 1,
    payload: {
      format: 'json',
      schema: MotionAttributesSchema,
      example: {
        at: AT,
        motionId: 'front-door-000015',
        sessionId: 'front-door-000015',
        thread: 'updated',
        labels: ['person'],
        score: 0.31,
        box: { x: 0.42, y: 0.3, w: 0.18, h: 0.55 },
        zones: ['porch'],
      },
    },
    description:
      "The last motion at a glance: the latest motion message's score, box, zones, labels, motionId, sessionId, " +
      "thread and time, replaced by every start, update and end. Home Assistant reads it as the motion sensor's " +
      'attributes (json_attributes_topic). `lastClipUrl`, `lastClipAt` and `lastClipUrlExpiresAt`: the latest ' +
      "stored clip's link (from its events/clip message), once one was given.",
  },
  {
    name: 'snapshot',
    pattern: '{prefix}/{id}/snapshot',
    direction: 'publish',
    retained: true,
    qos: 1,
    payload: {
      format: 'binary',
      contentType: 'image/jpeg',
      description: 'The latest camera snapshot as raw JPEG bytes (no base64).',
    },
    description: 'Latest JPEG snapshot (after a ding, a motion start, or the `snapshot` request).',
  },
  {
    name: 'dingEvents',
    pattern: '{prefix}/{id}/events/ding',
    direction: 'publish',
    retained: false,
    qos: 1,
    payload: {
      format: 'json',
      schema: DingEventSchema,
      example: {
        ...envelope(42),
        event_type: 'ring',
        source: 'button',
        sessionId: 'front-door-000015',
        thread: 'started',
        dingId: 'front-door-000016',
      },
    },
    description:
      'Someone rang (`thread: "started"`); when the ring ends, a second message of the same `dingId` says how ' +
      '(`thread: "ended"`, `outcome`: answered by `request/answer` within the answer window, or missed). Count ' +
      'rings by `thread: "started"`. Delivered from the durable outbox, in order; `seq` survives restarts.',
  },
  {
    name: 'motionEvents',
    pattern: '{prefix}/{id}/events/motion',
    direction: 'publish',
    retained: false,
    qos: 1,
    payload: {
      format: 'json',
      schema: MotionEventSchema,
      example: {
        ...envelope(43),
        type: 'end',
        sessionId: 'front-door-000015',
        thread: 'ended',
        motionId: 'front-door-000015',
        labels: ['person'],
        score: 0.31,
        box: { x: 0.42, y: 0.3, w: 0.18, h: 0.55 },
        zones: ['porch'],
        startedAt: '2025-06-01T18:03:58.000Z',
        endedAt: AT,
      },
    },
    description:
      'Motion start / update / end (`thread` started / updated / ended, one `motionId`) with score, bounding box ' +
      '(fractions of the frame), zones and labels.',
  },
  {
    name: 'clipEvents',
    pattern: '{prefix}/{id}/events/clip',
    direction: 'publish',
    retained: false,
    qos: 1,
    payload: {
      format: 'json',
      schema: ClipTopicSchema,
      example: {
        ...envelope(44),
        sessionId: 'front-door-000015',
        thread: 'ended',
        clipId: 'front-door-000015',
        trigger: 'motion',
        startedAt: '2025-06-01T18:03:58.000Z',
        endedAt: AT,
        bytes: 1843200,
        sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        bucket: 'doorbell-clips',
        key: 'clips/front-door/2025/06/01/front-door-000015.mp4',
        retainUntil: '2025-07-31T18:04:05.123Z',
        encrypted: false,
        triggerEventIds: ['front-door-000015', 'front-door-000016'],
        thumbnailKey: 'clips/front-door/2025/06/01/front-door-000015.jpg',
        url:
          'http://192.168.1.20:8080/shared/clips/front-door/2025/06/01/front-door-000015.mp4' +
          '?expires=1748801945&sig=0vJ3m0dWq3tXQz6o4e1sQ0kYc7rS9yZlq1pB2nH8aUw',
        urlExpiresAt: '2025-06-01T18:19:05.000Z',
      },
    },
    description:
      'A clip is durably stored in the bucket (sent only after the bucket confirmed it), or, with `status: "lost"` ' +
      "and a `reason`, a trigger's clip could not be recorded (disk refused it; a crash lost it and its footage " +
      'could not be cut again). `triggerEventIds` names the ding and motion-start events the clip was recorded ' +
      'for (one clip can hold a whole visit), `thumbnailKey` its JPEG. `url` fetches the clip until ' +
      "`urlExpiresAt` (device time), as the owner's `privacy.clipLinks` allows: an S3 presigned GET, or for a folder " +
      'bucket a signed link on the console (403 once tampered with, 410 once expired); an end-to-end ' +
      'encrypted clip gets one only with `ciphertext: true`, and it fetches the envelope. Fetch the clip soon after ' +
      'the event or check `urlExpiresAt`: an event delivered late may carry a link that has expired.',
  },
  ...(Object.keys(CommandArgs) as CommandName[]).map(
    (command): TopicEntry => ({
      name: `request${pascal(command)}`,
      // Footage requests are taken only in the sender's namespace, where the broker vouches for who sent them.
      pattern: FOOTAGE_COMMANDS.includes(command)
        ? `{prefix}/{id}/requester/{user}/request/${command}`
        : `{prefix}/{id}/request/${command}`,
      direction: 'subscribe',
      retained: false,
      qos: 1,
      command,
      payload: { format: 'json', schema: requestSchema(command), example: REQUEST_EXAMPLES[command] },
      description: FOOTAGE_COMMANDS.includes(command)
        ? `Request: ${COMMAND_SUMMARIES[command]}. Only in the sender's own namespace: \`{user}\` is its broker username (the broker refuses any other); answered, including the released links, only on \`{prefix}/{id}/requester/{user}/response/${command}\`.`
        : `Request: ${COMMAND_SUMMARIES[command]}. Answered on \`{prefix}/{id}/response/${command}\` (an MQTT 5 response topic is honoured only for a request sent in the sender's namespace, see requesterRequest).`,
    }),
  ),
  ...(Object.keys(CommandArgs) as CommandName[]).map(
    (command): TopicEntry => ({
      name: `response${pascal(command)}`,
      pattern: `{prefix}/{id}/response/${command}`,
      direction: 'publish',
      retained: false,
      qos: 1,
      command,
      payload: { format: 'json', schema: responseSchema(command), example: RESPONSE_EXAMPLES[command] },
      description: FOOTAGE_COMMANDS.includes(command)
        ? `Answer to \`request/${command}\` sent outside a namespace: always the error \`requester-namespace-required\` (the answers to a namespaced request go to requesterResponse).`
        : `Answer to \`request/${command}\`: \`status\` ok with \`data\`, or error with \`error.code\` and \`error.message\`.`,
    }),
  ),
  {
    name: 'requesterRequest',
    pattern: '{prefix}/{id}/requester/{user}/request/{command}',
    direction: 'subscribe',
    retained: false,
    qos: 1,
    payload: {
      format: 'json',
      schema: z
        .record(z.string(), z.unknown())
        .describe('the arguments of request/{command}, plus transaction'),
      example: { transaction: 'tx-9' },
    },
    description:
      "Any other request, sent in the sender's own namespace (`{user}` is its broker username; the broker refuses any " +
      'other): the same arguments as `{prefix}/{id}/request/{command}`, answered on ' +
      '`{prefix}/{id}/requester/{user}/response/{command}` and on an MQTT 5 response topic only if it is inside that namespace.',
  },
  {
    ...responseEntry('requesterResponse', '{prefix}/{id}/requester/{user}/response/{command}', {
      status: 'ok',
      data: { requestId: 'req-2025-17', clips: [] },
      transaction: 'share-1',
    }),
    description:
      "Answer to a request sent in `{user}`'s namespace, readable only by that user, the device's owners and admins: " +
      'share acknowledgements, final share answers and released links go nowhere else.',
  },
  {
    name: 'ownerAuditHead',
    pattern: '{prefix}/{id}/owner/audit-head',
    direction: 'publish',
    retained: true,
    qos: 1,
    payload: {
      format: 'json',
      schema: AuditHeadSchema,
      example: { seq: 12, hash: 'a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90' },
    },
    description:
      "The audit log's newest record (seq and hash), after every append: `doorbell audit verify --head HASH` against it " +
      'catches a log cut short or rewritten from some line on. For the owner only, like every `owner/` topic.',
  },
  {
    name: 'ownerConsent',
    pattern: '{prefix}/{id}/owner/consent',
    direction: 'publish',
    retained: false,
    qos: 1,
    payload: {
      format: 'json',
      schema: ConsentPromptSchema,
      example: {
        kind: 'consent-prompt',
        requestId: 'req-2025-17',
        requester: { kind: 'requester', identity: 'neighbour-12' },
        reason: 'bike stolen from the porch',
        window: { from: '2025-06-01T17:00:00.000Z', to: '2025-06-01T19:00:00.000Z' },
        clipsInWindow: 2,
        expiresAt: '2025-06-01T18:19:05.123Z',
      },
    },
    description:
      'To the owner (policy `ask`): someone asks for footage. Answer with `request/share-decision`; no answer by ' +
      "`expiresAt` counts as a decline. The embedded broker with `--auth` delivers it only to the device's owners " +
      '(role `owner`) and admins; `request/share-decision`, `share-policy`, `config-set` and `config-get` (and their ' +
      'responses) are theirs alone too. On another broker, give its ACL the same rule.',
  },
  {
    name: 'ownerNotice',
    pattern: '{prefix}/{id}/owner/notice',
    direction: 'publish',
    retained: false,
    qos: 1,
    payload: {
      format: 'json',
      schema: OwnerNoticeSchema,
      example: { kind: 'prompt-withdrawn', requestId: 'req-2025-17', reason: 'expired' },
    },
    description:
      'To the owner: a legal hold was placed on clips (with the demand reference), or a prompt was withdrawn.',
  },
  {
    ...responseEntry('response', '{prefix}/{id}/response/{command}', {
      status: 'error',
      error: { code: 'unknown-command', message: 'unknown command "explode" (known: press, state)' },
      transaction: 'tx-1',
    }),
    description:
      'Answer to a request for a command the device does not have (`unknown-command`); the answers to its commands ' +
      'have a topic each, above. Requests over 64 KiB are refused.',
  },
];

const homeAssistantEntries: TopicEntry[] = [
  {
    name: 'homeAssistantDiscovery',
    pattern: '{discoveryPrefix}/{component}/{id}/{objectId}/config',
    direction: 'publish',
    retained: true,
    qos: 1,
    payload: {
      format: 'json',
      schema: DiscoveryConfigSchema,
      example: {
        name: 'Motion',
        unique_id: 'doorbell_front-door_motion',
        default_entity_id: 'binary_sensor.front_door_motion',
        state_topic: 'doorbell/front-door/motion',
        device_class: 'motion',
        payload_on: 'ON',
        payload_off: 'OFF',
        qos: 1,
        availability: [
          {
            topic: 'doorbell/front-door/availability',
            payload_available: 'online',
            payload_not_available: 'offline',
          },
        ],
        device: {
          identifiers: ['doorbell_front-door'],
          name: 'Front door',
          model: 'VDB-200 Wired Pro',
          manufacturer: 'Virtual Doorbell Co.',
          sw_version: '2.4.1',
          serial_number: 'front-door',
        },
        origin: { name: 'virtual-doorbell' },
      },
    },
    description:
      'Home Assistant MQTT discovery: one config per entity (event, binary_sensor, camera, sensor, button, switch, select), all on one HA device.',
  },
  {
    name: 'homeAssistantStatus',
    pattern: '{discoveryPrefix}/status',
    direction: 'subscribe',
    retained: true,
    qos: 1,
    payload: { format: 'text', schema: AvailabilitySchema, example: 'online' },
    description:
      'Home Assistant birth message: on `online` the device publishes its discovery configs again.',
  },
];

/** Every topic the device uses. */
export const TOPIC_CATALOG: readonly TopicEntry[] = [...deviceEntries, ...homeAssistantEntries];

export interface TopicPrefixes {
  prefix: string;
  discoveryPrefix?: string;
}

export interface TopicMatch {
  entry: TopicEntry;
  params: Record<string, string>;
}

const PARAM_RULES: Record<string, RegExp> = {
  id: DEVICE_ID_PATTERN,
  user: USERNAME_PATTERN,
  command: COMMAND_PATTERN,
  component: /^[a-z_]+$/,
  objectId: /^[a-zA-Z0-9_-]+$/,
};

/** The catalog entry for a concrete topic; literal patterns win over `{command}`. */
export function findTopic(topic: string, prefixes: TopicPrefixes): TopicMatch | undefined {
  const vars = { prefix: prefixes.prefix, discoveryPrefix: prefixes.discoveryPrefix ?? 'homeassistant' };
  const levels = topic.split('/');
  const candidates = [...TOPIC_CATALOG].sort((a, b) => placeholders(a.pattern) - placeholders(b.pattern));
  for (const entry of candidates) {
    const pattern = entry.pattern
      .replace('{prefix}', vars.prefix)
      .replace('{discoveryPrefix}', vars.discoveryPrefix)
      .split('/');
    if (pattern.length !== levels.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((level, i) => {
      const value = levels[i]!;
      const param = /^\{(\w+)\}$/.exec(level)?.[1];
      if (!param) return level === value;
      params[param] = value;
      return PARAM_RULES[param]?.test(value) ?? false;
    });
    if (matches) return { entry, params };
  }
  return undefined;
}

/** A zod schema for the payload as decoded by `decodePayload` (JSON value, text, or raw bytes). */
export function payloadSchemaForTopic(
  prefix: string,
  topic: string,
  discoveryPrefix = 'homeassistant',
): z.ZodType | undefined {
  const match = findTopic(topic, { prefix, discoveryPrefix });
  return match ? schemaOf(match.entry.payload) : undefined;
}

export function schemaOf(payload: PayloadSpec): z.ZodType {
  if (payload.format === 'binary') return JpegSchema;
  return payload.schema;
}

const JpegSchema = z
  .instanceof(Uint8Array)
  .refine(
    (bytes) =>
      bytes.length >= 4 &&
      bytes[0] === 0xff &&
      bytes[1] === 0xd8 &&
      bytes[bytes.length - 2] === 0xff &&
      bytes[bytes.length - 1] === 0xd9,
    'a JPEG image (FF D8 … FF D9)',
  );

/** Bytes on the wire → the value the entry's schema checks: parsed JSON, UTF-8 text, or the bytes. */
export function decodePayload(
  entry: TopicEntry,
  bytes: Uint8Array,
): { ok: true; value: unknown } | { ok: false; error: string } {
  const { payload } = entry;
  if (payload.format === 'binary') return { ok: true, value: bytes };
  const text = Buffer.from(bytes).toString('utf8');
  if (payload.format === 'text') return { ok: true, value: text };
  if (entry.direction === 'subscribe' && text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
}

export type PayloadCheck =
  | { ok: true; entry: TopicEntry; params: Record<string, string> }
  | { ok: false; error: string };

/** Checks one message against the contract: a known topic and a payload its schema accepts. */
export function checkMessage(topic: string, bytes: Uint8Array, prefixes: TopicPrefixes): PayloadCheck {
  const match = findTopic(topic, prefixes);
  if (!match) return { ok: false, error: `${topic}: not a topic in the catalog` };
  const decoded = decodePayload(match.entry, bytes);
  if (!decoded.ok) return { ok: false, error: `${topic}: ${decoded.error}` };
  const result = schemaOf(match.entry.payload).safeParse(decoded.value);
  if (!result.success) return { ok: false, error: `${topic}: ${z.prettifyError(result.error)}` };
  return { ok: true, ...match };
}

function placeholders(pattern: string): number {
  return (pattern.match(/\{(id|user|command|component|objectId)\}/g) ?? []).length;
}

function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
