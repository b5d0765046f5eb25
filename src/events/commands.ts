import { z } from 'zod';
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
};
