import { z } from 'zod';
import { EVENT_SCHEMA_VERSION } from '../events/schemas.js';
import { TOPIC_CATALOG, type TopicEntry } from './catalog.js';

export interface AsyncApiOptions {
  /** Device topic prefix written into channel addresses; default `doorbell`. */
  prefix?: string;
  discoveryPrefix?: string;
  /** Broker host:port for the servers block; default the embedded broker on localhost. */
  host?: string;
  tlsHost?: string;
}

type Json = Record<string, unknown>;

const PARAMETERS: Record<string, Json> = {
  deviceId: {
    description:
      'Device id: 1-64 characters of a-z, 0-9, "_" or "-" (anything else is refused by the broker).',
    examples: ['front-door'],
  },
  command: { description: 'Command name of the request being answered.', examples: ['press', 'state'] },
  user: {
    description: "The sender's broker username; the broker lets only that user publish and read under it.",
    examples: ['neighbour-12'],
  },
  component: {
    description: 'Home Assistant entity platform.',
    enum: ['event', 'binary_sensor', 'camera', 'sensor', 'button', 'switch', 'select'],
  },
  objectId: { description: 'Entity within the device.', examples: ['ring', 'motion', 'battery'] },
};

/** The reply of a request: the channel (by name) its answer is published on. */
function replyTo(channel: string): Json {
  return {
    channel: { $ref: `#/channels/${channel}` },
    messages: [{ $ref: `#/channels/${channel}/messages/${channel}` }],
  };
}

/** The catalog as an AsyncAPI 3.0 document, from the device's point of view (send = it publishes). */
export function asyncApiDocument(options: AsyncApiOptions = {}): Json {
  const prefix = options.prefix ?? 'doorbell';
  const discoveryPrefix = options.discoveryPrefix ?? 'homeassistant';
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};
  /** The answer channel of each command's request. */
  const responseOf = (command: string) =>
    TOPIC_CATALOG.find((entry) => entry.command === command && entry.direction === 'publish');

  for (const entry of TOPIC_CATALOG) {
    const address = entry.pattern
      .replace('{prefix}', prefix)
      .replace('{discoveryPrefix}', discoveryPrefix)
      .replace('{id}', '{deviceId}');
    const params = [...address.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const messageId = entry.name;
    messages[messageId] = message(entry);
    channels[entry.name] = {
      address,
      title: entry.name,
      description: entry.description,
      messages: { [messageId]: { $ref: `#/components/messages/${messageId}` } },
      ...(params.length
        ? { parameters: Object.fromEntries(params.map((p) => [p, PARAMETERS[p] ?? { description: p }])) }
        : {}),
    };
    const action = entry.direction === 'publish' ? 'send' : 'receive';
    // A request sent in a requester's namespace is answered there; any other on its command's response topic.
    const reply =
      entry.command && entry.direction === 'subscribe'
        ? entry.pattern.includes('{user}')
          ? 'requesterResponse'
          : responseOf(entry.command)?.name
        : undefined;
    operations[`${action}${entry.name.charAt(0).toUpperCase()}${entry.name.slice(1)}`] = {
      action,
      channel: { $ref: `#/channels/${entry.name}` },
      summary: entry.description.split('. ')[0],
      messages: [{ $ref: `#/channels/${entry.name}/messages/${messageId}` }],
      bindings: { mqtt: { qos: entry.qos, retain: entry.retained, bindingVersion: '0.2.0' } },
      ...(reply ? { reply: replyTo(reply) } : {}),
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'virtual-doorbell MQTT API',
      version: `${EVENT_SCHEMA_VERSION}.0.0`,
      description:
        'Topics, payloads, retain flags and QoS of one simulated video doorbell. Operations are from the ' +
        "device's point of view: `send` = the device publishes, `receive` = the device subscribes. Every event " +
        'carries `v` (schema version), `id`, `seq` (per device, monotonic across restarts) and `at` (ISO-8601 UTC).',
    },
    defaultContentType: 'application/json',
    servers: {
      embedded: {
        host: options.host ?? 'localhost:1883',
        protocol: 'mqtt',
        protocolVersion: '3.1.1',
        description: 'The embedded broker of `doorbell start` (plain TCP).',
        security: [{ $ref: '#/components/securitySchemes/userPassword' }],
      },
      embeddedTls: {
        host: options.tlsHost ?? 'localhost:8883',
        protocol: 'secure-mqtt',
        protocolVersion: '3.1.1',
        description:
          'The embedded broker with a TLS listener (`--tls-cert`/`--tls-key`, client certificates with `--tls-ca`).',
        security: [
          { $ref: '#/components/securitySchemes/userPassword' },
          { $ref: '#/components/securitySchemes/clientCertificate' },
        ],
      },
    },
    channels,
    operations,
    components: {
      messages,
      securitySchemes: {
        userPassword: {
          type: 'userPassword',
          description:
            'With `--auth FILE`: roles device (its own topics only), owner (requests to and all topics of its ' +
            'devices; the only role besides admin that sends share-decision, share-policy, config-set and ' +
            'config-get, or receives owner/ topics), integrator (reads the rest, writes the other requests), admin.',
        },
        clientCertificate: {
          type: 'X509',
          description: 'Mutual TLS with a client certificate signed by the CA.',
        },
      },
    },
  };
}

function message(entry: TopicEntry): Json {
  const { payload } = entry;
  const base: Json = {
    name: entry.name,
    title: entry.name,
    summary: entry.description,
    bindings: { mqtt: { bindingVersion: '0.2.0' } },
  };
  if (payload.format === 'binary') {
    return {
      ...base,
      contentType: payload.contentType,
      payload: {
        type: 'string',
        format: 'binary',
        contentMediaType: payload.contentType,
        description: payload.description,
      },
    };
  }
  return {
    ...base,
    contentType: payload.format === 'json' ? 'application/json' : 'text/plain',
    payload: jsonSchemaOf(entry, 'draft-7'),
    examples: [{ name: 'example', payload: payload.example }],
  };
}

/** JSON Schema of an entry's payload: what the device emits (output) or what it accepts (input). */
export function jsonSchemaOf(entry: TopicEntry, target: 'draft-7' | 'draft-2020-12' = 'draft-2020-12'): Json {
  if (entry.payload.format === 'binary') {
    return {
      type: 'string',
      contentMediaType: entry.payload.contentType,
      description: entry.payload.description,
    };
  }
  const emitted = entry.direction === 'publish';
  const schema = z.toJSONSchema(entry.payload.schema, {
    io: emitted ? 'output' : 'input',
    target,
    unrepresentable: 'any',
  }) as Json;
  delete schema['$schema'];
  // What the device emits gains fields within a version (the compatibility rule): a validator made from this
  // schema must let them through. What it accepts stays closed: it refuses unknown arguments.
  return emitted ? openObjects(schema) : schema;
}

/** The schema with every `additionalProperties: false` removed, at any depth. */
function openObjects(schema: Json): Json {
  const open = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(open);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node)
        .filter(([key, value]) => !(key === 'additionalProperties' && value === false))
        .map(([key, value]) => [key, open(value)]),
    );
  };
  return open(schema) as Json;
}

/** `doorbell schema events`: one JSON Schema document with a definition per payload. */
export function eventsJsonSchema(): Json {
  const defs: Json = {};
  for (const entry of TOPIC_CATALOG) {
    defs[entry.name] = {
      ...jsonSchemaOf(entry),
      description: `${entry.pattern} (${entry.direction === 'publish' ? 'device publishes' : 'device subscribes'}${
        entry.retained ? ', retained' : ''
      }, QoS ${entry.qos}): ${entry.description}`,
    };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'virtual-doorbell MQTT payloads',
    description: `Schema version ${EVENT_SCHEMA_VERSION}. One definition per topic in $defs.`,
    $defs: defs,
  };
}
