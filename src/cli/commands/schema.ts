import { z } from 'zod';
import { DeviceProfileSchema } from '../../config/profile.js';
import { type CliCommand, UsageError, writeLine } from '../io.js';

const SCHEMAS: Record<string, () => unknown> = {
  profile: () => z.toJSONSchema(DeviceProfileSchema, { io: 'input' }),
};

export const command: CliCommand = {
  summary: 'print a JSON Schema (profile, …)',
  usage: `doorbell schema ${Object.keys(SCHEMAS).join('|')}`,
  async run(args, io) {
    const [name, ...extra] = args;
    const build = name ? SCHEMAS[name] : undefined;
    if (!build || extra.length) {
      throw new UsageError(
        `which schema? one of: ${Object.keys(SCHEMAS).join(', ')}${name ? ` (got "${name}")` : ''}`,
      );
    }
    writeLine(io.stdout, JSON.stringify(build(), null, 2));
    return 0;
  },
};
