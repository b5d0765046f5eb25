import { z } from 'zod';
import { DeviceProfileSchema } from '../../config/profile.js';
import { asyncApiDocument, eventsJsonSchema } from '../../contract/asyncapi.js';
import { renderMqttDocs, renderReadmeTopics } from '../../contract/catalog-docs.js';
import { scenarioJsonSchema } from '../../replay/scenario.js';
import { UserError, writeLine } from '../io.js';
import { defineCommand } from '../spec.js';

interface SchemaFlags {
  prefix?: string | undefined;
  'discovery-prefix'?: string | undefined;
}

const SCHEMAS: Record<string, (flags: SchemaFlags) => unknown> = {
  profile: () => z.toJSONSchema(DeviceProfileSchema, { io: 'input' }),
  scenario: () => scenarioJsonSchema(),
  events: () => eventsJsonSchema(),
  asyncapi: (flags) =>
    asyncApiDocument({
      ...(flags.prefix ? { prefix: flags.prefix } : {}),
      ...(flags['discovery-prefix'] ? { discoveryPrefix: flags['discovery-prefix'] } : {}),
    }),
  docs: () => renderMqttDocs(),
  /** The README's topic table (between its markers). */
  readme: () => renderReadmeTopics(),
};

const TOPIC_LEVELS = /^[a-zA-Z0-9_-]+(\/[a-zA-Z0-9_-]+)*$/;

export const command = defineCommand('schema', {
  summary:
    'print a JSON Schema (profile, events), the AsyncAPI document, the MQTT docs or the README topic table (markdown)',
  synopsis: `${Object.keys(SCHEMAS).join('|')} [options]`,
  positionals: true,
  options: {
    prefix: { type: 'string', value: 'P', help: 'topic prefix in the AsyncAPI document (default doorbell)' },
    'discovery-prefix': {
      type: 'string',
      value: 'P',
      help: 'Home Assistant discovery prefix in the AsyncAPI document (default homeassistant)',
    },
  },
  async run({ values, positionals }, io) {
    const [name, ...extra] = positionals;
    const build = name && Object.hasOwn(SCHEMAS, name) ? SCHEMAS[name] : undefined;
    if (!build || extra.length) {
      throw new UserError(
        `which schema? one of: ${Object.keys(SCHEMAS).join(', ')}${name ? ` (got "${name}")` : ''}`,
      );
    }
    for (const flag of ['prefix', 'discovery-prefix'] as const) {
      const value = values[flag];
      if (value !== undefined && !TOPIC_LEVELS.test(value)) {
        throw new UserError(
          `--${flag} ${JSON.stringify(value)}: MQTT topic levels of letters, digits, "_" or "-"`,
        );
      }
    }
    const output = build(values);
    writeLine(io.stdout, typeof output === 'string' ? output : JSON.stringify(output, null, 2));
    return 0;
  },
});
