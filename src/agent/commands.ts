import { z } from 'zod';
import type { Doorbell } from '../device/doorbell.js';
import { PressSourceSchema } from '../events/schemas.js';
import { CommandError, type CommandTable } from '../mqtt/requests.js';

const PressArgs = z.object({ source: PressSourceSchema.default('mqtt') }).strict();
const MotionArgs = z.object({ enabled: z.boolean() }).strict();
const SensitivityArgs = z.object({ sensitivity: z.enum(['low', 'medium', 'high']) }).strict();
const NoArgs = z.object({}).strict();

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
      const { source } = parseArgs(PressArgs, args);
      const outcome = doorbell.press(source);
      if (outcome.accepted) return { rang: true, seq: outcome.seq };
      return { rang: false, reason: outcome.reason };
    },
    state: (args) => {
      parseArgs(NoArgs, args);
      return doorbell.state();
    },
    motion: (args) => {
      const { enabled } = parseArgs(MotionArgs, args);
      doorbell.setMotionEnabled(enabled);
      return { motionEnabled: enabled };
    },
    sensitivity: (args) => {
      const { sensitivity } = parseArgs(SensitivityArgs, args);
      doorbell.setSensitivity(sensitivity);
      return { sensitivity };
    },
    reboot: (args) => {
      parseArgs(NoArgs, args);
      doorbell.reboot();
      return { status: doorbell.currentStatus };
    },
  };
}
