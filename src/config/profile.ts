import { z } from 'zod';
import { MotionSettingsSchema, PolygonSchema } from '../motion/settings.js';
import { CLIP_LINK_TTL_MS, DEFAULT_CLIP_LINK_POLICY } from '../privacy/clip-links.js';

export const DEVICE_ID_PATTERN = /^[a-z0-9_-]{1,64}$/;
export const DeviceIdSchema = z
  .string()
  .regex(DEVICE_ID_PATTERN, 'a device id is 1-64 characters of a-z, 0-9, "_" or "-"');

const PowerSchema = z.discriminatedUnion('source', [
  z.object({ source: z.literal('wired') }).strict(),
  z
    .object({
      source: z.literal('battery'),
      capacityMah: z.number().positive().max(100_000),
      /** Average draw while idle (Wi-Fi keep-alive, PIR), mA. */
      idleDrawMa: z.number().nonnegative().default(0.9),
      /** Charge one ring costs (chime, radio, camera wake), mAh. */
      dingCostMah: z.number().nonnegative().default(0.5),
      /** Charge per second of recording/streaming, mAh. */
      recordingCostMahPerS: z.number().nonnegative().default(0.08),
      initialPercent: z.number().min(0).max(100).default(100),
    })
    .strict(),
]);

const ButtonSchema = z
  .object({
    /** Presses closer together than this are contact bounce: one press. */
    debounceMs: z.number().int().min(0).max(5_000).default(50),
    /** After a ding, further presses within this window chime no more and emit no ding. */
    chimeWindowMs: z.number().int().min(0).max(60_000).default(3_000),
    /** A ring is answered by `request/answer` within this long, or ends as missed. */
    answerWindowMs: z.number().int().min(1_000).max(600_000).default(30_000),
  })
  .strict();

const RecordingSchema = z
  .object({
    preRollMs: z.number().int().min(0).max(30_000).default(5_000),
    postRollMs: z.number().int().min(0).max(60_000).default(5_000),
    maxClipMs: z.number().int().min(1_000).max(600_000).default(60_000),
  })
  .strict();

const WifiSchema = z
  .object({
    /** Typical signal at the door, dBm. The simulated RSSI wanders around it. */
    baseRssiDbm: z.number().int().min(-100).max(-20).default(-58),
    jitterDbm: z.number().min(0).max(20).default(3),
  })
  .strict();

const PrivacySchema = z
  .object({
    /** Blacked out in every clip and snapshot before anything leaves the device, and ignored by motion detection. */
    zones: z
      .array(z.object({ name: z.string().min(1).max(64).optional(), polygon: PolygonSchema }).strict())
      .default([]),
    /** End-to-end clip encryption to the owner's public key (X25519 PEM file, see `doorbell keys generate`). */
    encryption: z
      .object({ enabled: z.boolean().default(false), ownerPublicKey: z.string().min(1).optional() })
      .strict()
      .refine((e) => !e.enabled || e.ownerPublicKey, {
        message: 'ownerPublicKey (a PEM file path) is required when encryption is enabled',
        path: ['ownerPublicKey'],
      })
      .default({ enabled: false }),
    /** Who may get footage: `deny` (default) refuses every share request, `ask` prompts the owner, `allow` releases. */
    sharing: z
      .object({
        policy: z.enum(['deny', 'ask', 'allow']).default('deny'),
        optedOut: z.boolean().default(false),
        consentTimeoutMs: z
          .number()
          .int()
          .min(1_000)
          .max(7 * 86_400_000)
          .default(15 * 60_000),
        linkTtlMs: z
          .number()
          .int()
          .min(60_000)
          .max(7 * 86_400_000)
          .default(86_400_000),
      })
      .strict()
      .default({ policy: 'deny', optedOut: false, consentTimeoutMs: 15 * 60_000, linkTtlMs: 86_400_000 }),
    /**
     * Links in clip events (`url`, `urlExpiresAt`): whoever reads events/clip (integrators) may fetch the clip until
     * the link expires. `ciphertext`: an end-to-end encrypted clip gets a link to its envelope too.
     */
    clipLinks: z
      .object({
        enabled: z.boolean().default(DEFAULT_CLIP_LINK_POLICY.enabled),
        ttlMs: z
          .number()
          .int()
          .min(CLIP_LINK_TTL_MS.min)
          .max(CLIP_LINK_TTL_MS.max)
          .default(DEFAULT_CLIP_LINK_POLICY.ttlMs),
        ciphertext: z.boolean().default(DEFAULT_CLIP_LINK_POLICY.ciphertext),
      })
      .strict()
      .default(() => ({ ...DEFAULT_CLIP_LINK_POLICY })),
  })
  .strict();

export const DeviceProfileSchema = z
  .object({
    $schema: z.string().optional(),
    model: z.string().min(1).max(64),
    manufacturer: z.string().min(1).max(64),
    firmwareVersion: z
      .string()
      .regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'a semantic version like 1.4.2'),
    resolution: z
      .object({ width: z.number().int().min(160).max(7680), height: z.number().int().min(120).max(4320) })
      .strict(),
    fps: z.number().int().min(1).max(60),
    power: PowerSchema,
    button: ButtonSchema.default(ButtonSchema.parse({})),
    motion: MotionSettingsSchema.default(MotionSettingsSchema.parse({})),
    recording: RecordingSchema.default(RecordingSchema.parse({})),
    wifi: WifiSchema.default(WifiSchema.parse({})),
    privacy: PrivacySchema.default(PrivacySchema.parse({})),
    retentionDays: z.number().int().min(1).max(3650).default(60),
    retentionLockMode: z
      .enum(['governance', 'compliance'])
      .default('governance')
      .describe(
        'S3 Object Lock mode clips and thumbnails are written with, when the bucket has Object Lock enabled (see docs/cloud.md). governance: nobody deletes a clip before its retain-until except a user allowed s3:BypassGovernanceRetention; compliance: nobody at all, not even the root account, and the date can never be shortened.',
      ),
    /** Events belong to one visit (sessionId) until this long passes without motion or an open ring. */
    sessionGapMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
    telemetryIntervalMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
    topicPrefix: z
      .string()
      .regex(/^[a-zA-Z0-9_-]+(\/[a-zA-Z0-9_-]+)*$/, 'MQTT topic levels of letters, digits, "_" or "-"')
      .default('doorbell'),
    /** Sample video played as the camera feed, relative to the repository root or absolute. */
    video: z.string().min(1).optional(),
  })
  .strict();

export type DeviceProfile = z.output<typeof DeviceProfileSchema>;
export type DeviceProfileInput = z.input<typeof DeviceProfileSchema>;
