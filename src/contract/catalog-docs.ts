import { z } from 'zod';
import { EVENT_SCHEMA_VERSION, MOTION_LABELS } from '../events/schemas.js';
import {
  devicePublishFilters,
  deviceSubscribeFilters,
  FOOTAGE_COMMANDS,
  footageCommandsOf,
  integratorPublishFilters,
  OWNER_COMMANDS,
  ownerPublishFilters,
  ownerSubscribeFilters,
  requesterNamespaceFilter,
} from '../mqtt/acl.js';
import { DEFAULT_SCRYPT } from '../mqtt/auth.js';
import { discoveryMessages } from '../mqtt/discovery.js';
import { MAX_REQUEST_BYTES } from '../mqtt/topics.js';
import { jsonSchemaOf } from './asyncapi.js';
import { TOPIC_CATALOG, type TopicEntry } from './catalog.js';
import { COMMAND_SUMMARIES, type CommandName, CommandResults } from './commands.js';
import { ERROR_CODES } from './errors.js';

type Json = Record<string, unknown>;

/** docs/mqtt.md, generated from the catalog; a test fails when the committed file differs. */
export function renderMqttDocs(): string {
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);
  push(
    '# MQTT API',
    '',
    '<!-- Generated from src/contract/catalog.ts by `npx tsx src/cli/main.ts schema docs > docs/mqtt.md`. Do not edit by hand. The AsyncAPI document: docs/asyncapi.json. -->',
    '',
    `Schema version ${EVENT_SCHEMA_VERSION}. The same catalog produces \`doorbell schema events\` (JSON Schema) and`,
    '`doorbell schema asyncapi` (AsyncAPI 3.0), and every message the agent publishes is checked against it in tests.',
    '',
    "- `{prefix}` is the profile's `topicPrefix` (default `doorbell`); `{discoveryPrefix}` is Home Assistant's (default `homeassistant`).",
    '- `{id}` is the device id: 1-64 characters of `a-z`, `0-9`, `_`, `-`. The embedded broker refuses anything else.',
    "- Direction is from the device's point of view: **publishes** = the device sends, **subscribes** = the device listens.",
    '- Events are QoS 1 and come from a durable outbox: in order, at least once, `seq` monotonic per device across restarts.',
    '',
    '## Compatibility',
    '',
    `Within schema version ${EVENT_SCHEMA_VERSION} fields are only ever added, never renamed, retyped or removed; a change`,
    'that breaks that bumps `v`. So a consumer must ignore fields it does not know. The published schemas of what the',
    'device sends allow them now; the v1.0 ones said `additionalProperties: false`, so a validator generated strictly',
    'from those rejects the fields below: regenerate it from this document, or let unknown fields through. A test checks',
    'every message the agent sends in the contract run against the v1.0 payload schemas, frozen in',
    '`test/contract/fixtures/events-v1.0.schema.json`, read that way.',
    '',
    'Added in v1 since v1.0 (event threads and links):',
    '',
    "- on ding, motion and clip messages `sessionId` (one visit: the id of its first event; a new visit after the profile's",
    '  `sessionGapMs`, default 60 s, with no motion and no ring waiting; a clip belongs to the visit of the event that',
    '  opened it) and `thread` (`started` / `updated` / `ended`; a clip is a one-message thread, `ended`);',
    "- on motion messages `motionId` (the start's id, shared by its updates and end) and `labels`;",
    '- on ding messages `dingId` and, when a ring ends, a second message on `events/ding` with `thread: "ended"` and',
    '  `outcome`: `answered` by `request/answer` within `button.answerWindowMs` (default 30 s), else `missed` (also at',
    '  a reboot or when the device stops: it can no longer be answered through; a motion in progress then ends too).',
    '  A consumer written before threads that treats every `events/ding` message as a ring would count an outcome as a',
    '  ring: count rings by `thread` absent or `"started"`;',
    '- on clip messages `triggerEventIds`, `thumbnailKey`, `url` and `urlExpiresAt`;',
    '- the retained topic `{prefix}/{id}/motion/attributes` and the request `answer`.',
    '',
    '## Topics',
    '',
    '| topic | direction | retained | QoS | payload |',
    '|---|---|---|---|---|',
  );
  for (const entry of TOPIC_CATALOG) {
    push(
      `| \`${entry.pattern}\` | ${entry.direction === 'publish' ? 'publishes' : 'subscribes'} | ${
        entry.retained ? 'yes' : 'no'
      } | ${entry.qos} | ${payloadKind(entry)} |`,
    );
  }

  push(
    '',
    '## Requests and responses',
    '',
    `Publish a JSON object (or an empty payload, meaning \`{}\`) of at most ${MAX_REQUEST_BYTES / 1024} KiB to`,
    '`{prefix}/{id}/request/{command}`. Add `"transaction"` (a string of at most 128 characters, or a number) to match the',
    'answer, which arrives on `{prefix}/{id}/response/{command}`. Unknown arguments are errors; nothing changes when a',
    'request is refused. A retained request is never run (the embedded broker refuses the whole retained publish and, as',
    'for every refused publish, closes that connection; on another broker the device ignores it). An ok answer',
    "carries `data`, shaped per command (each response topic's schema below has it in full).",
    '',
    'Every broker user also has its own namespace, `{prefix}/{id}/requester/{user}/`, that only it (and the',
    "device's owners and admins) may read: a request sent as `…/requester/{user}/request/{command}` is answered on",
    '`…/requester/{user}/response/{command}`, and an MQTT 5 response topic (with its correlation data) is honoured only',
    "inside that namespace. `share` and `legal-demand` are taken only there: who asks is the broker's word (`{user}`),",
    'not the payload. See [security.md](security.md).',
    '',
    '| command | what it does | `data` of an ok answer |',
    '|---|---|---|',
  );
  for (const [command, summary] of Object.entries(COMMAND_SUMMARIES) as Array<[CommandName, string]>) {
    push(`| \`${command}\` | ${summary} | ${resultShape(command)} |`);
  }
  push('', 'An error answer carries `error.code`, one of:', '', '| code | meaning |', '|---|---|');
  for (const [code, meaning] of Object.entries(ERROR_CODES)) push(`| \`${code}\` | ${meaning} |`);
  push(
    '',
    'With the mosquitto clients, on the embedded broker of `doorbell start` (MQTT 3.1.1):',
    '',
    '```sh',
    "mosquitto_sub -h 127.0.0.1 -t 'doorbell/front-door/response/+' -v &",
    'mosquitto_pub -h 127.0.0.1 -t doorbell/front-door/request/press -m \'{"transaction":"tx-1"}\'',
    '```',
    '',
    'Response topics and correlation data are MQTT 5 features, and the embedded broker (aedes) speaks 3.1.1 only, so',
    '`mosquitto_rr` and `doorbell start --mqtt-version 5` need an external MQTT 5 broker, e.g. mosquitto. The device',
    "honours a response topic only inside the asker's namespace, so the request goes there too (`me` stands for the",
    "asker's broker username; on a broker without logins any name works):",
    '',
    '```sh',
    'mosquitto -p 1884 &',
    'doorbell start --broker mqtt://127.0.0.1:1884 --mqtt-version 5 &',
    'mosquitto_rr -h 127.0.0.1 -p 1884 -t doorbell/front-door/requester/me/request/state \\',
    "  -e doorbell/front-door/requester/me/replies/1 -m '{}'",
    '```',
    '',
    '## Payloads',
  );
  for (const entry of TOPIC_CATALOG) {
    push('', `### \`${entry.pattern}\``, '', entry.description, '');
    push(
      `${entry.direction === 'publish' ? 'Published by the device' : 'Received by the device'}; ${
        entry.retained ? 'retained' : 'not retained'
      }; QoS ${entry.qos}; ${payloadKind(entry)}.`,
    );
    const { payload } = entry;
    if (payload.format === 'binary') continue;
    const schema = jsonSchemaOf(entry);
    if (payload.format === 'text') {
      push('', `Values: ${((schema['enum'] as string[]) ?? []).map((v) => `\`${v}\``).join(', ')}.`);
      continue;
    }
    // A payload of several shapes (events/clip: stored or lost) gets one table per shape.
    const shapes = (schema['anyOf'] as Json[] | undefined) ?? [schema];
    for (const [index, shape] of shapes.entries()) {
      const rows = fieldRows(shape);
      if (shapes.length > 1) push('', `Shape ${index + 1} of ${shapes.length}:`);
      if (rows.length) {
        push('', '| field | type | required | notes |', '|---|---|---|---|', ...rows);
      }
    }
    push('', 'Example:', '', '```json', JSON.stringify(payload.example, null, 2), '```');
  }

  push(
    '',
    '## Home Assistant discovery',
    '',
    'On connect, and whenever `{discoveryPrefix}/status` says `online`, the device publishes one retained config per',
    'entity on `{discoveryPrefix}/{component}/{id}/{objectId}/config`, all attached to one HA device (identifiers,',
    'name, model, manufacturer, firmware) with availability on `{prefix}/{id}/availability`. For a battery-powered',
    'model (front-door):',
    '',
    '| entity | topic it reads | topic it writes |',
    '|---|---|---|',
  );
  const example = discoveryMessages({
    topicPrefix: 'doorbell',
    deviceId: 'front-door',
    profile: {
      model: 'VDB-100 Battery',
      manufacturer: 'Virtual Doorbell Co.',
      firmwareVersion: '1.0.0',
      power: {
        source: 'battery',
        capacityMah: 6000,
        idleDrawMa: 0.9,
        dingCostMah: 0.5,
        recordingCostMahPerS: 0.08,
        initialPercent: 100,
      },
    },
  });
  for (const message of example) {
    const config = message.config;
    const reads = [config['state_topic'] ?? config['topic'], config['json_attributes_topic']].filter(
      (topic): topic is string => typeof topic === 'string',
    );
    const writes = (config['command_topic'] ?? '') as string;
    push(
      `| ${message.component} \`${message.objectId}\`${config['device_class'] ? ` (${config['device_class']})` : ''} | ${reads
        .map((topic) => `\`${topic}\``)
        .join(', ')} | ${writes ? `\`${writes}\`` : ''} |`,
    );
  }
  const scope = { prefix: '{prefix}', discoveryPrefix: '{discoveryPrefix}' };
  push(
    '',
    'The switch sends the JSON request bodies as `payload_on`/`payload_off`; the select uses `command_template` to',
    'wrap the chosen option; the button sends `{"source":"homeassistant"}`.',
    '',
    "The two event entities fire once per thread: HA's MQTT event platform ignores a message whose `value_template`",
    'renders empty, so `ring` renders only for a ring (`thread` not `ended`: its outcome fires nothing) and',
    '`motion_event` only for a motion start, with `event_type` its first label and score, box, zones, labels,',
    `motionId and sessionId as attributes (\`event_types\`: ${MOTION_LABELS.map((label) => `\`${label}\``).join(', ')}).`,
    "The motion binary_sensor takes the last motion's fields as its attributes from",
    '`{prefix}/{id}/motion/attributes` (`json_attributes_topic`).',
    '',
    '## Broker security',
    '',
    '`doorbell start --auth users.json` (and `doorbell broker --auth users.json`) require a username and password.',
    '`doorbell auth add-user users.json --user NAME --role device --device ID` adds a user with a salted scrypt hash',
    `(N=2^${DEFAULT_SCRYPT.logN}, r=${DEFAULT_SCRYPT.r}, p=${DEFAULT_SCRYPT.p}); a wrong password gets CONNACK "bad username or password".`,
    '',
    '| role | may publish | may subscribe |',
    '|---|---|---|',
    `| device (bound to one id) | ${filters(devicePublishFilters('device-id', scope))} | ${filters(deviceSubscribeFilters('device-id', scope))} |`,
    `| owner (bound to one or more ids) | ${filters(ownerPublishFilters(['device-id'], '{user}', scope))} | ${filters(ownerSubscribeFilters(['device-id'], scope))} |`,
    `| integrator | ${filters(integratorPublishFilters('{user}', scope))}, except the owner's requests (${OWNER_COMMANDS.map((c) => `\`${c}\``).join(', ')}) ` +
      `and footage requests (${FOOTAGE_COMMANDS.map((c) => `\`${c}\``).join(', ')}) | everything, but it is never sent the owner's topics ` +
      `(\`{prefix}/+/owner/#\`, the owner's requests and responses), footage requests and answers, other users' namespaces, or \`$SYS\` |`,
    ...(['requester', 'agency'] as const).map(
      (role) =>
        `| ${role} | ${footageCommandsOf(role)
          .map((c) => `\`{prefix}/+/requester/{user}/request/${c}\``)
          .join(', ')} | ${filters([requesterNamespaceFilter('+', '{user}', scope)])} |`,
    ),
    '| admin | everything | everything |',
    '',
    'A refused publish closes the connection (MQTT 3.1.1 has no negative acknowledgement); a refused subscription is',
    'answered with return code 0x80 and the connection stays up.',
    '',
    'TLS: `--tls-cert FILE --tls-key FILE` add an `mqtts://` listener; with `--tls-ca FILE` clients must present a',
    'certificate signed by that CA (mutual TLS). Clients connect with `--broker mqtts://host:8883 --ca ca.pem',
    '[--cert client.pem --key client.key] [--username U --password P]`.',
    '',
  );
  return lines.join('\n');
}

/** ACL filters for the docs, with the example device id shown as `{id}`. */
function filters(list: readonly string[]): string {
  return list.map((f) => `\`${f.replace('device-id', '{id}')}\``).join(', ');
}

/** Named instead of spelled out: these answers are large and documented where they are published. */
const RESULT_NAMES: Partial<Record<CommandName, string>> = {
  state: 'the device state, as on `{prefix}/{id}/state`',
  'config-get': 'the effective device profile',
  'config-set': 'the effective device profile, after the change',
};

function resultShape(command: CommandName): string {
  const named = RESULT_NAMES[command];
  if (named) return named;
  const schema = z.toJSONSchema(CommandResults[command], { io: 'output', unrepresentable: 'any' }) as Json;
  // The table cell must not split on the union's bar.
  return `\`${shapeOf(schema)}\``.replaceAll('|', '\\|');
}

/** A one-line sketch of a JSON Schema: `{rang: true, seq: integer} | {rang: false, reason: booting/…}`. */
function shapeOf(schema: Json): string {
  const union = (schema['anyOf'] ?? schema['oneOf']) as Json[] | undefined;
  if (union) return union.map(shapeOf).join(' | ');
  if ('const' in schema) return JSON.stringify(schema['const']);
  if (schema['enum']) return (schema['enum'] as unknown[]).map(String).join('/');
  if (schema['type'] === 'array') return `[${shapeOf((schema['items'] ?? {}) as Json)}, …]`;
  if (schema['type'] === 'object') {
    const properties = (schema['properties'] ?? {}) as Record<string, Json>;
    const required = new Set((schema['required'] ?? []) as string[]);
    const fields = Object.entries(properties).map(
      ([name, property]) => `${name}${required.has(name) ? '' : '?'}: ${shapeOf(property)}`,
    );
    return `{${fields.join(', ')}}`;
  }
  if (schema['format'] === 'date-time') return 'ISO time';
  return typeof schema['type'] === 'string' ? schema['type'] : 'any';
}

function payloadKind(entry: TopicEntry): string {
  switch (entry.payload.format) {
    case 'binary':
      return 'JPEG bytes';
    case 'text':
      return 'text';
    case 'json':
      return 'JSON';
  }
}

function fieldRows(schema: Json, path = '', depth = 0): string[] {
  const properties = (schema['properties'] ?? {}) as Record<string, Json>;
  const required = new Set((schema['required'] ?? []) as string[]);
  const rows: string[] = [];
  for (const [name, property] of Object.entries(properties)) {
    const field = path ? `${path}.${name}` : name;
    rows.push(
      `| \`${field}\` | ${typeOf(property)} | ${required.has(name) ? 'yes' : 'no'} | ${notes(property)} |`,
    );
    if (property['type'] === 'object' && property['properties'] && depth < 2) {
      rows.push(...fieldRows(property, field, depth + 1));
    }
  }
  return rows;
}

function typeOf(property: Json): string {
  if ('const' in property) return `\`${JSON.stringify(property['const'])}\``;
  const anyOf = property['anyOf'] as Json[] | undefined;
  if (anyOf) return anyOf.map(typeOf).join(' or ');
  const type = property['type'];
  if (type === 'array') return `array of ${typeOf((property['items'] ?? {}) as Json)}`;
  if (typeof type === 'string') return type;
  return 'any';
}

function notes(property: Json): string {
  const parts: string[] = [];
  const anyOf = property['anyOf'] as Json[] | undefined;
  const source = anyOf ? { ...anyOf[0], ...property } : property;
  if (source['enum']) parts.push((source['enum'] as unknown[]).map((v) => `\`${String(v)}\``).join(', '));
  if (source['format'] === 'date-time') parts.push('ISO-8601 UTC');
  else if (source['pattern']) parts.push(`pattern \`${String(source['pattern'])}\``);
  const min = source['minimum'];
  const max = source['maximum'];
  const safe = (n: unknown) => typeof n === 'number' && Math.abs(n) < Number.MAX_SAFE_INTEGER;
  if (safe(min) && safe(max)) parts.push(`${min}…${max}`);
  else if (safe(min)) parts.push(`≥ ${min}`);
  if (source['maxLength'] !== undefined) parts.push(`≤ ${source['maxLength']} chars`);
  if (source['default'] !== undefined) parts.push(`default \`${JSON.stringify(source['default'])}\``);
  if (typeof property['description'] === 'string') parts.push(property['description']);
  return parts.join('; ');
}

export const README_TOPICS_START =
  '<!-- topics: generated by `npx tsx src/cli/main.ts schema readme`; checked by a test -->';
export const README_TOPICS_END = '<!-- /topics -->';

/** The README's topic table: every catalog entry, requests and per-command responses folded into one row each. */
export function renderReadmeTopics(): string {
  const rows = ['| topic | retained | payload |', '|---|---|---|'];
  const folded = new Set<string>();
  for (const entry of TOPIC_CATALOG) {
    const kind = entry.command ? (entry.direction === 'subscribe' ? 'request' : 'response') : undefined;
    if (kind && folded.has(kind)) continue;
    if (kind) folded.add(kind);
    const pattern = kind
      ? `doorbell/<id>/${kind}/<command>`
      : entry.pattern
          .replace('{prefix}', 'doorbell')
          .replace('{discoveryPrefix}', 'homeassistant')
          .replace('{id}', '<id>')
          .replace(/\{(\w+)\}/g, '<$1>');
    if (kind === undefined && entry.name === 'response') continue;
    rows.push(`| \`${pattern}\` | ${entry.retained ? 'yes' : 'no'} | ${readmePayload(entry, kind)} |`);
  }
  return [README_TOPICS_START, ...rows, README_TOPICS_END].join('\n');
}

function readmePayload(entry: TopicEntry, kind: 'request' | 'response' | undefined): string {
  if (kind === 'request') {
    const commands = (Object.keys(COMMAND_SUMMARIES) as CommandName[])
      .filter((c) => !FOOTAGE_COMMANDS.includes(c))
      .map((c) => `\`${c}\``);
    return `JSON arguments + optional \`transaction\`: ${commands.join(', ')} (footage requests only in a requester namespace)`;
  }
  if (kind === 'response')
    return "`{status: ok\\|error, data?, error?: {code, message}, transaction?}`; an MQTT 5 response topic is honoured only in the asker's namespace";
  const sentence = entry.description.split(/(?<=\.) /)[0]!;
  if (entry.payload.format === 'binary') return `JPEG bytes. ${sentence}`;
  const schema = jsonSchemaOf(entry);
  if (entry.payload.format === 'text')
    return `${((schema['enum'] as string[]) ?? []).map((v) => `\`${v}\``).join(' / ')}. ${sentence}`;
  const properties = Object.keys((schema['properties'] ?? {}) as Json);
  const required = new Set((schema['required'] ?? []) as string[]);
  const fields = properties.map((name) => (required.has(name) ? name : `${name}?`));
  return fields.length > 0 && fields.length <= 16
    ? `\`{${fields.join(', ')}}\`. ${sentence}`.replaceAll('|', '\\|')
    : sentence;
}
