import type { z } from 'zod';
import type { Doorbell } from '../device/doorbell.js';
import { CommandArgs } from '../events/commands.js';
import { CommandError, type CommandTable } from '../mqtt/requests.js';

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

/** The device's request/response commands; each validates its arguments and answers with data. */
export function deviceCommands(doorbell: Doorbell): CommandTable {
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
    motion: (args) => {
      const { enabled } = parseArgs(CommandArgs.motion, args);
      doorbell.setMotionEnabled(enabled);
      return { motionEnabled: enabled };
    },
    sensitivity: (args) => {
      const { sensitivity } = parseArgs(CommandArgs.sensitivity, args);
      doorbell.setSensitivity(sensitivity);
      return { sensitivity };
    },
    reboot: (args) => {
      parseArgs(CommandArgs.reboot, args);
      doorbell.reboot();
      return { status: doorbell.currentStatus };
    },
  };
}
