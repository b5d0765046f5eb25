import { z } from 'zod';
import { DeviceProfileSchema } from '../config/profile.js';
import { DeviceStateSchema, DeviceStatusSchema, PressSourceSchema } from '../events/schemas.js';
import { SENSITIVITIES } from '../motion/settings.js';
import { LegalDemandArgs, ShareArgs } from '../privacy/share-request.js';

export const SensitivitySchema = z.enum(SENSITIVITIES);

/**
 * Every request a doorbell answers on `<prefix>/<id>/request/<command>`: its arguments (besides the
 * optional `transaction`) and a one-line description. The agent validates with these; AsyncAPI and docs read them.
 */
export const CommandArgs = {
  press: z.object({ source: PressSourceSchema.default('mqtt') }).strict(),
  state: z.object({}).strict(),
  snapshot: z.object({}).strict(),
  motion: z.object({ enabled: z.boolean() }).strict(),
  sensitivity: z.object({ sensitivity: SensitivitySchema }).strict(),
  reboot: z.object({}).strict(),
  answer: z.object({}).strict(),
  'config-get': z.object({}).strict(),
  /** A partial profile: only the keys given change; validated against the profile schema as a whole. */
  'config-set': z.object({ patch: z.record(z.string(), z.unknown()) }).strict(),
  /** A requester (broker role requester or agency) asks for footage in a window; the owner's policy decides. */
  share: ShareArgs,
  /** A legal demand: the clips in the window are put on legal hold; nothing is released by it. */
  'legal-demand': LegalDemandArgs,
  /** The owner answers a consent prompt. */
  'share-decision': z
    .object({ requestId: z.string().min(1).max(64), decision: z.enum(['approve', 'decline']) })
    .strict(),
  /** The owner's sharing policy: deny (default), ask, allow; and a per-device opt-out. */
  'share-policy': z
    .object({ policy: z.enum(['deny', 'ask', 'allow']).optional(), optedOut: z.boolean().optional() })
    .strict(),
} as const;

export type CommandName = keyof typeof CommandArgs;

export const COMMAND_SUMMARIES: Record<CommandName, string> = {
  press: 'ring the bell (as if the button were pressed); `rang: false` says why not',
  state: 'answer with the current device state',
  snapshot: 'take a JPEG snapshot now and publish it on the snapshot topic',
  motion: 'enable or disable motion detection',
  sensitivity: 'set motion sensitivity (low, medium, high)',
  reboot: 'simulated reboot: offline → booting → online',
  answer:
    'answer the door: every ring still waiting for an answer ends now (events/ding, thread "ended", outcome ' +
    '"answered"); `answered: false` when none waits',
  'config-get': 'answer with the effective device profile',
  'config-set': 'apply a partial profile update (validated, persisted), then republish state',
  share:
    'ask for footage in a time window; answered at once with {received, answerBy}, then (same transaction) with ' +
    "the clips released as time-limited links (`encrypted: true`: the link downloads an envelope only the owner's " +
    'key opens) — or none: deny, decline, timeout and opt-out all look the same',
  'legal-demand':
    'legal demand with a reference: clips in the window are held (exempt from retention), none released',
  'share-decision': "the owner's answer to a consent prompt on {prefix}/{id}/owner/consent",
  'share-policy': "the owner's sharing policy (deny, ask, allow) and opt-out",
};

const IsoTime = z.iso.datetime({ offset: false });

/** Why a press did not ring. */
export const PressRefusalSchema = z.enum(['booting', 'bounce', 'chime-window', 'battery-empty']);
export type PressRefusal = z.infer<typeof PressRefusalSchema>;

const ReleasedClipSchema = z.object({
  clipId: z.string(),
  startedAt: IsoTime,
  endedAt: IsoTime,
  url: z.string(),
  expiresAt: IsoTime,
  encrypted: z.boolean(),
});

/**
 * The `data` of an ok response, per command. `share` answers twice on the same transaction: first the
 * acknowledgement, then (when the policy has decided) the release, with no clips for every kind of "no".
 */
export const CommandResults = {
  press: z.union([
    z.object({ rang: z.literal(true), seq: z.number().int().nonnegative() }).strict(),
    z.object({ rang: z.literal(false), reason: PressRefusalSchema }).strict(),
  ]),
  state: DeviceStateSchema,
  snapshot: z.object({ bytes: z.number().int().positive(), at: IsoTime }).strict(),
  motion: z.object({ motionEnabled: z.boolean() }).strict(),
  sensitivity: z.object({ sensitivity: SensitivitySchema }).strict(),
  reboot: z.object({ status: DeviceStatusSchema }).strict(),
  answer: z.union([
    z.object({ answered: z.literal(true), dingIds: z.array(z.string()).min(1) }).strict(),
    z.object({ answered: z.literal(false), reason: z.literal('no-ring') }).strict(),
  ]),
  'config-get': DeviceProfileSchema,
  'config-set': DeviceProfileSchema,
  share: z.union([
    z.object({ requestId: z.string(), received: z.literal(true), answerBy: IsoTime }).strict(),
    z.object({ requestId: z.string(), clips: z.array(ReleasedClipSchema) }).strict(),
  ]),
  'legal-demand': z
    .object({ requestId: z.string(), demandRef: z.string(), hold: z.literal('recorded') })
    .strict(),
  'share-decision': z.object({ ok: z.literal(true) }).strict(),
  'share-policy': DeviceProfileSchema.shape.privacy.unwrap().shape.sharing.unwrap(),
} as const satisfies Record<CommandName, z.ZodType>;
