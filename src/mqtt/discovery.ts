import { z } from 'zod';
import type { DeviceProfile } from '../config/profile.js';
import { MOTION_LABELS } from '../events/schemas.js';
import { SENSITIVITIES } from '../motion/settings.js';
import { deviceTopics } from './topics.js';

export const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';

/** Where Home Assistant announces itself; `online` after a restart means "publish discovery again". */
export function discoveryStatusTopic(discoveryPrefix = DEFAULT_DISCOVERY_PREFIX): string {
  return `${discoveryPrefix}/status`;
}

export function isDiscoveryRequest(payload: string | Uint8Array): boolean {
  return Buffer.from(payload).toString('utf8').trim() === 'online';
}

export interface DiscoveryOrigin {
  name: string;
  sw_version?: string;
  support_url?: string;
}

export interface DiscoveryOptions {
  /** Home Assistant's discovery prefix; default `homeassistant`. */
  discoveryPrefix?: string;
  /** Our topic prefix (profile.topicPrefix). */
  topicPrefix: string;
  deviceId: string;
  profile: Pick<DeviceProfile, 'model' | 'manufacturer' | 'firmwareVersion' | 'power'>;
  /** Device name shown in Home Assistant; default derived from the id ("front-door" → "Front door"). */
  name?: string;
  /** Who publishes the discovery messages (shown in HA's logs); default `virtual-doorbell`. */
  origin?: DiscoveryOrigin;
  /** Whether the device has a camera (default yes): without one, no camera entity and no snapshot button. */
  camera?: boolean;
  /** The device's web console, linked from HA's device page (`configuration_url`). */
  configurationUrl?: string | undefined;
}

export type HaComponent = 'event' | 'binary_sensor' | 'camera' | 'sensor' | 'button' | 'switch' | 'select';

export interface DiscoveryMessage {
  topic: string;
  /** JSON text of `config`. */
  payload: string;
  config: Record<string, unknown>;
  component: HaComponent;
  objectId: string;
  retain: true;
  qos: 1;
}

/** What every discovery config we publish carries (checked in tests, described in AsyncAPI). */
export const DiscoveryConfigSchema = z
  .object({
    name: z.string().nullable(),
    unique_id: z.string().regex(/^[a-zA-Z0-9_-]+$/),
    /** `<platform>.<name>`; HA 2025.10 replaced `object_id` with it (object_id stops working in 2026.4). */
    default_entity_id: z.string().regex(/^[a-z_]+\.[a-z0-9_]+$/),
    availability: z
      .array(
        z.object({ topic: z.string(), payload_available: z.string(), payload_not_available: z.string() }),
      )
      .min(1),
    device: z
      .object({
        identifiers: z.array(z.string()).min(1),
        name: z.string(),
        model: z.string(),
        manufacturer: z.string(),
        sw_version: z.string(),
        serial_number: z.string(),
      })
      .loose(),
    origin: z
      .object({ name: z.string(), sw_version: z.string().optional(), support_url: z.string().optional() })
      .strict(),
    qos: z.union([z.literal(0), z.literal(1)]).optional(),
  })
  .loose();

export type DiscoveryConfig = z.output<typeof DiscoveryConfigSchema>;

/**
 * HA's MQTT event platform fires an event for every message whose value_template renders to a JSON object with an
 * `event_type`, and ignores one that renders empty (homeassistant/components/mqtt/event.py, `_event_received`). So
 * each template renders only for the message that starts its thread, and empty for the rest.
 */

/** events/ding → a `ring` event with our fields as attributes; the ring's ended message (its outcome) fires none. */
export const RING_EVENT_TEMPLATE =
  "{% if value_json.thread != 'ended' %}{{ {'event_type': value_json.event_type, 'source': value_json.source, " +
  "'seq': value_json.seq, 'at': value_json.at, 'dingId': value_json.dingId, 'sessionId': value_json.sessionId} " +
  '| to_json }}{% endif %}';

/**
 * events/motion → one event per motion, on its start: event_type = its first label (`person`, `animal`… or
 * `motion`), the rest as attributes. Updates and the end fire none.
 */
export const MOTION_EVENT_TEMPLATE =
  "{% if value_json.thread == 'started' %}{{ {'event_type': value_json.labels[0], 'labels': value_json.labels, " +
  "'score': value_json.score, 'box': value_json.box, 'zones': value_json.zones, 'motionId': value_json.motionId, " +
  "'sessionId': value_json.sessionId} | to_json }}{% endif %}";

interface EntitySpec {
  component: HaComponent;
  objectId: string;
  name: string | null;
  config: Record<string, unknown>;
}

/**
 * Home Assistant MQTT discovery for one doorbell: one HA device, one retained config message per
 * entity on `<discoveryPrefix>/<component>/<deviceId>/<objectId>/config`. Pure.
 */
export function discoveryMessages(options: DiscoveryOptions): DiscoveryMessage[] {
  const discoveryPrefix = options.discoveryPrefix ?? DEFAULT_DISCOVERY_PREFIX;
  const { deviceId, profile } = options;
  const topics = deviceTopics(options.topicPrefix, deviceId);
  const uniqueBase = `${options.topicPrefix.replace(/\//g, '_')}_${deviceId}`;
  const device = {
    identifiers: [uniqueBase],
    name: options.name ?? humanize(deviceId),
    model: profile.model,
    manufacturer: profile.manufacturer,
    sw_version: profile.firmwareVersion,
    serial_number: deviceId,
    ...(options.configurationUrl ? { configuration_url: options.configurationUrl } : {}),
  };
  const camera = options.camera !== false;
  const origin = options.origin ?? { name: 'virtual-doorbell' };
  const availability = [
    { topic: topics.availability, payload_available: 'online', payload_not_available: 'offline' },
  ];

  const entities: EntitySpec[] = [
    {
      component: 'event',
      objectId: 'ring',
      name: 'Ring',
      config: {
        state_topic: topics.dingEvents,
        device_class: 'doorbell',
        event_types: ['ring'],
        value_template: RING_EVENT_TEMPLATE,
      },
    },
    {
      component: 'event',
      objectId: 'motion_event',
      name: 'Motion event',
      config: {
        state_topic: topics.motionEvents,
        device_class: 'motion',
        event_types: [...MOTION_LABELS],
        value_template: MOTION_EVENT_TEMPLATE,
      },
    },
    {
      component: 'binary_sensor',
      objectId: 'motion',
      name: 'Motion',
      config: {
        state_topic: topics.motion,
        device_class: 'motion',
        payload_on: 'ON',
        payload_off: 'OFF',
        // The last motion's score, box, zones, labels, motionId, sessionId (retained JSON).
        json_attributes_topic: topics.motionAttributes,
      },
    },
    ...(camera
      ? [
          {
            component: 'camera' as const,
            objectId: 'snapshot',
            name: 'Snapshot',
            config: { topic: topics.snapshot },
          },
        ]
      : []),
    ...(profile.power.source === 'battery'
      ? [
          {
            component: 'sensor' as const,
            objectId: 'battery',
            name: 'Battery',
            config: {
              state_topic: topics.state,
              value_template: '{{ value_json.battery }}',
              device_class: 'battery',
              unit_of_measurement: '%',
              state_class: 'measurement',
              entity_category: 'diagnostic',
            },
          },
        ]
      : []),
    {
      component: 'sensor',
      objectId: 'rssi',
      name: 'Wi-Fi signal',
      config: {
        state_topic: topics.state,
        value_template: '{{ value_json.rssi }}',
        device_class: 'signal_strength',
        unit_of_measurement: 'dBm',
        state_class: 'measurement',
        entity_category: 'diagnostic',
      },
    },
    {
      component: 'sensor',
      objectId: 'upload_queue',
      name: 'Upload queue',
      config: {
        state_topic: topics.state,
        value_template: '{{ value_json.queues.uploads }}',
        unit_of_measurement: 'clips',
        state_class: 'measurement',
        icon: 'mdi:cloud-upload',
        entity_category: 'diagnostic',
      },
    },
    {
      component: 'button',
      objectId: 'ring_button',
      name: 'Ring',
      config: {
        command_topic: topics.request('press'),
        payload_press: JSON.stringify({ source: 'homeassistant' }),
        retain: false,
      },
    },
    ...(camera
      ? [
          {
            component: 'button' as const,
            objectId: 'take_snapshot',
            name: 'Take snapshot',
            config: { command_topic: topics.request('snapshot'), payload_press: '{}', retain: false },
          },
        ]
      : []),
    {
      component: 'button',
      objectId: 'reboot',
      name: 'Reboot',
      config: {
        command_topic: topics.request('reboot'),
        payload_press: '{}',
        device_class: 'restart',
        entity_category: 'config',
        retain: false,
      },
    },
    {
      component: 'switch',
      objectId: 'motion_detection',
      name: 'Motion detection',
      config: {
        command_topic: topics.request('motion'),
        state_topic: topics.state,
        value_template: "{{ 'ON' if value_json.motionEnabled else 'OFF' }}",
        state_on: 'ON',
        state_off: 'OFF',
        // The JSON request bodies themselves, so no command_template is needed: the switch platform
        // only gained command_template in HA 2024.8, and this works on older versions too.
        payload_on: JSON.stringify({ enabled: true }),
        payload_off: JSON.stringify({ enabled: false }),
        retain: false,
        entity_category: 'config',
      },
    },
    {
      component: 'select',
      objectId: 'motion_sensitivity',
      name: 'Motion sensitivity',
      config: {
        command_topic: topics.request('sensitivity'),
        command_template: '{"sensitivity": "{{ value }}"}',
        state_topic: topics.state,
        value_template: '{{ value_json.sensitivity }}',
        options: [...SENSITIVITIES],
        retain: false,
        entity_category: 'config',
      },
    },
  ];

  return entities.map(({ component, objectId, name, config }) => {
    const full: Record<string, unknown> = {
      name,
      unique_id: `${uniqueBase}_${objectId}`,
      default_entity_id: `${component}.${deviceId.replace(/-/g, '_')}_${objectId}`,
      ...config,
      qos: 1,
      availability,
      device,
      origin,
    };
    return {
      topic: `${discoveryPrefix}/${component}/${deviceId}/${objectId}/config`,
      payload: JSON.stringify(full),
      config: full,
      component,
      objectId,
      retain: true,
      qos: 1,
    };
  });
}

/** Empty retained payloads on every config topic: Home Assistant removes the entities. */
export function discoveryRemovalMessages(options: DiscoveryOptions): Array<{ topic: string; payload: '' }> {
  return discoveryMessages(options).map(({ topic }) => ({ topic, payload: '' }));
}

function humanize(id: string): string {
  const words = id.replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
