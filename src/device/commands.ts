import type { z } from 'zod';
import type { DeviceProfile } from '../config/profile.js';
import { CommandArgs } from '../contract/commands.js';
import { namespaceRequiredMessage } from '../contract/errors.js';
import { CommandError, type CommandTable, type Transaction } from '../mqtt/requests.js';
import { issueLines } from '../util/zod-errors.js';
import type { Doorbell } from './doorbell.js';

export function parseArgs<T>(schema: z.ZodType<T>, args: Record<string, unknown>): T {
  const result = schema.safeParse(args);
  if (result.success) return result.data;
  const problems = issueLines(result.error, { root: 'arguments', unknownKeys: 'plain' });
  throw new CommandError('invalid-arguments', problems.join('; '));
}

/** Footage requests: the share desk (over no bucket on a device that stores no clips, such as a fleet device). */
export interface SharingCapability {
  request(
    kind: 'share' | 'legal-demand',
    args: Record<string, unknown>,
    transaction: Transaction | undefined,
    requester: string,
  ): Promise<unknown>;
  decide(requestId: string, decision: 'approve' | 'decline'): Promise<unknown>;
}

/** What a device may have besides its doorbell and profile. */
export interface DeviceCapabilities {
  /** Takes a JPEG now and publishes it; absent on a device without a camera. */
  snapshot?: (() => Promise<{ bytes: number; at: string }>) | undefined;
  sharing?: SharingCapability | undefined;
}

export interface CommandTargets extends DeviceCapabilities {
  doorbell: Doorbell;
  config: { get: () => DeviceProfile; set: (patch: Record<string, unknown>) => DeviceProfile };
}

function sharingOf(targets: CommandTargets): SharingCapability {
  if (targets.sharing) return targets.sharing;
  throw new CommandError('not-supported', 'this device takes no footage requests');
}

/** The device's request/response commands; each validates its arguments and answers with data. */
export function deviceCommands(targets: CommandTargets): CommandTable {
  const { doorbell, config } = targets;
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
      if (!targets.snapshot) throw new CommandError('snapshot-failed', 'this device has no camera');
      try {
        return await targets.snapshot();
      } catch (error) {
        throw new CommandError('snapshot-failed', (error as Error).message);
      }
    },
    motion: (args) => {
      const { enabled } = parseArgs(CommandArgs.motion, args);
      config.set({ motion: { enabled } });
      return { motionEnabled: enabled };
    },
    sensitivity: (args) => {
      const { sensitivity } = parseArgs(CommandArgs.sensitivity, args);
      config.set({ motion: { sensitivity } });
      return { sensitivity };
    },
    reboot: (args) => {
      parseArgs(CommandArgs.reboot, args);
      doorbell.reboot();
      return { status: doorbell.currentStatus };
    },
    answer: (args) => {
      parseArgs(CommandArgs.answer, args);
      return doorbell.answer();
    },
    'config-get': (args) => {
      parseArgs(CommandArgs['config-get'], args);
      return config.get();
    },
    'config-set': (args) => {
      const { patch } = parseArgs(CommandArgs['config-set'], args);
      return config.set(patch);
    },
    share: (args, { transaction, requester }) =>
      sharingOf(targets).request('share', args, transaction, requesterOf('share', requester)),
    'legal-demand': (args, { transaction, requester }) =>
      sharingOf(targets).request('legal-demand', args, transaction, requesterOf('legal-demand', requester)),
    'share-decision': (args) => {
      const { requestId, decision } = parseArgs(CommandArgs['share-decision'], args);
      return sharingOf(targets).decide(requestId, decision);
    },
    'share-policy': (args) => {
      const policy = parseArgs(CommandArgs['share-policy'], args);
      return config.set({ privacy: { sharing: policy } }).privacy.sharing;
    },
  };
}

/** Footage requests are taken only from a namespace the broker vouches for, never from `request/<command>`. */
function requesterOf(command: string, requester: string | undefined): string {
  if (requester !== undefined) return requester;
  throw new CommandError('requester-namespace-required', namespaceRequiredMessage(command));
}
