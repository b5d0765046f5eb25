import type { z } from 'zod';
import type { DeviceProfile } from '../config/profile.js';
import type { Doorbell, Sensitivity } from '../device/doorbell.js';
import { CommandArgs } from '../events/commands.js';
import { CommandError, type CommandTable } from '../mqtt/requests.js';
import type { ShareDesk } from './share-desk.js';

export function parseArgs<T>(schema: z.ZodType<T>, args: Record<string, unknown>): T {
  const result = schema.safeParse(args);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.join('.') || 'arguments';
    const unknown = issue.code === 'unrecognized_keys' ? ` ${issue.keys.join(', ')}` : '';
    return `${path}: ${issue.message}${unknown}`;
  });
  throw new CommandError('invalid-arguments', problems.join('; '));
}

export interface CommandTargets {
  doorbell: Doorbell;
  snapshot: () => Promise<{ bytes: number; at: string }>;
  config: { get: () => DeviceProfile; set: (patch: Record<string, unknown>) => DeviceProfile };
  setMotionEnabled: (enabled: boolean) => void;
  setSensitivity: (sensitivity: Sensitivity) => void;
  sharing: ShareDesk;
  setSharePolicy: (policy: { policy?: 'deny' | 'ask' | 'allow'; optedOut?: boolean }) => unknown;
}

/** The device's request/response commands; each validates its arguments and answers with data. */
export function deviceCommands(targets: CommandTargets): CommandTable {
  const { doorbell } = targets;
  return {
    press: (args) => {
      const { source } = parseArgs(CommandArgs.press, args);
      const outcome = doorbell.press(source);
      if (outcome.accepted) return { rang: true, seq: outcome.seq };
      return { rang: false, reason: outcome.reason };
    },
    state: (args) => {
      parseArgs(CommandArgs.state, args);
      return doorbell.state();
    },
    snapshot: async (args) => {
      parseArgs(CommandArgs.snapshot, args);
      try {
        return await targets.snapshot();
      } catch (error) {
        throw new CommandError('snapshot-failed', (error as Error).message);
      }
    },
    motion: (args) => {
      const { enabled } = parseArgs(CommandArgs.motion, args);
      targets.setMotionEnabled(enabled);
      return { motionEnabled: enabled };
    },
    sensitivity: (args) => {
      const { sensitivity } = parseArgs(CommandArgs.sensitivity, args);
      targets.setSensitivity(sensitivity);
      return { sensitivity };
    },
    reboot: (args) => {
      parseArgs(CommandArgs.reboot, args);
      doorbell.reboot();
      return { status: doorbell.currentStatus };
    },
    'config-get': (args) => {
      parseArgs(CommandArgs['config-get'], args);
      return targets.config.get();
    },
    'config-set': (args) => {
      const { patch } = parseArgs(CommandArgs['config-set'], args);
      return targets.config.set(patch);
    },
    share: (args, { transaction, requester }) =>
      targets.sharing.request('share', args, transaction, requesterOf('share', requester)),
    'legal-demand': (args, { transaction, requester }) =>
      targets.sharing.request('legal-demand', args, transaction, requesterOf('legal-demand', requester)),
    'share-decision': (args) => {
      const { requestId, decision } = parseArgs(CommandArgs['share-decision'], args);
      return targets.sharing.decide(requestId, decision);
    },
    'share-policy': (args) => targets.setSharePolicy(parseArgs(CommandArgs['share-policy'], args)),
  };
}

/** Footage requests are taken only from a namespace the broker vouches for, never from `request/<command>`. */
function requesterOf(command: string, requester: string | undefined): string {
  if (requester !== undefined) return requester;
  throw new CommandError(
    'requester-namespace-required',
    `send ${command} on <prefix>/<id>/requester/<your broker username>/request/${command}: who asks is the broker login, not the payload`,
  );
}
