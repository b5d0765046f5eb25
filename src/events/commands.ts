import { z } from 'zod';
import { LegalDemandArgs, ShareArgs } from '../privacy/share-request.js';
import { PressSourceSchema } from './schemas.js';

export const SensitivitySchema = z.enum(['low', 'medium', 'high']);

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
  press: 'ring the bell (as if the button were pressed); data: {rang, seq?, reason?}',
  state: 'answer with the current device state',
  snapshot: 'take a JPEG snapshot now and publish it on the snapshot topic; data: {bytes, at}',
  motion: 'enable or disable motion detection',
  sensitivity: 'set motion sensitivity (low, medium, high)',
  reboot: 'simulated reboot: offline → booting → online',
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
