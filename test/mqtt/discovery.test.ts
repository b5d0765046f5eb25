import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../src/config/load-profile.js';
import type { DeviceProfile } from '../../src/config/profile.js';
import { findTopic, requestSchema } from '../../src/contract/catalog.js';
import {
  DeviceStateSchema,
  DingEventSchema,
  MOTION_LABELS,
  MotionAttributesSchema,
  MotionEventSchema,
} from '../../src/events/schemas.js';
import { canPublish } from '../../src/mqtt/acl.js';
import {
  DiscoveryConfigSchema,
  type DiscoveryMessage,
  discoveryMessages,
  discoveryRemovalMessages,
  discoveryStatusTopic,
  isDiscoveryRequest,
} from '../../src/mqtt/discovery.js';

/**
 * Required configuration variables per platform, from Home Assistant's MQTT integration docs
 * (home-assistant.io/integrations/<platform>.mqtt) and the DISCOVERY_SCHEMA of each platform in
 * homeassistant/components/mqtt/<platform>.py.
 */
const HA_REQUIRED: Record<string, string[]> = {
  event: ['state_topic', 'event_types'],
  binary_sensor: ['state_topic'],
  camera: ['topic'],
  sensor: ['state_topic'],
  button: ['command_topic'],
  switch: ['command_topic'],
  select: ['command_topic', 'options'],
};

/** Device classes HA accepts per platform (only the ones we might use), and units sensors need with them. */
const HA_DEVICE_CLASSES: Record<string, string[]> = {
  event: ['doorbell', 'button', 'motion'],
  binary_sensor: ['motion', 'occupancy', 'connectivity', 'problem'],
  sensor: ['battery', 'signal_strength'],
  button: ['restart', 'identify', 'update'],
  switch: ['switch', 'outlet'],
};
const SENSOR_UNITS: Record<string, string[]> = { battery: ['%'], signal_strength: ['dB', 'dBm'] };

/** Platforms that render `command_template` (switch only since HA 2024.8, so we do not rely on it there). */
const COMMAND_TEMPLATE_PLATFORMS = ['button', 'select', 'number', 'text', 'lock', 'fan', 'climate'];

async function profile(name: string): Promise<DeviceProfile> {
  const loaded = await loadProfile(name);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.value.profile;
}

function byObject(messages: DiscoveryMessage[], objectId: string): Record<string, unknown> {
  const found = messages.find((m) => m.objectId === objectId);
  if (!found) throw new Error(`no ${objectId} entity`);
  return found.config;
}

describe('Home Assistant discovery', () => {
  it('has every field HA requires per platform, plus unique_id, device, availability and origin', async () => {
    const messages = discoveryMessages({
      topicPrefix: 'doorbell',
      deviceId: 'front-door',
      profile: await profile('battery-720p'),
    });
    expect(new Set(messages.map((m) => m.component))).toEqual(new Set(Object.keys(HA_REQUIRED)));
    for (const message of messages) {
      const { config, component } = message;
      for (const field of HA_REQUIRED[component]!) {
        expect(config[field], `${component}/${message.objectId}.${field}`).toBeDefined();
      }
      expect(DiscoveryConfigSchema.safeParse(config).success, message.topic).toBe(true);
      expect(JSON.parse(message.payload)).toEqual(config);
      expect(message).toMatchObject({ retain: true, qos: 1 });
      const deviceClass = config['device_class'] as string | undefined;
      if (deviceClass)
        expect(HA_DEVICE_CLASSES[component], `${component} device_class`).toContain(deviceClass);
      if (component === 'sensor' && deviceClass) {
        expect(SENSOR_UNITS[deviceClass]).toContain(config['unit_of_measurement']);
      }
      if (config['command_template']) expect(COMMAND_TEMPLATE_PLATFORMS).toContain(component);
      if (config['entity_category'] === 'config') expect(component).not.toBe('sensor');
      // Deprecated in HA 2025.10 and ignored from 2026.4: the entity id comes from default_entity_id.
      expect(config).not.toHaveProperty('object_id');
      expect(config['default_entity_id']).toMatch(new RegExp(`^${component}\\.front_door_`));
    }
    const uniqueIds = messages.map((m) => m.config['unique_id']);
    expect(new Set(uniqueIds).size).toBe(uniqueIds.length);
    const devices = messages.map((m) => JSON.stringify(m.config['device']));
    expect(new Set(devices).size).toBe(1);
    expect(messages[0]!.config['device']).toEqual({
      identifiers: ['doorbell_front-door'],
      name: 'Front door',
      model: 'VDB-100 Battery',
      manufacturer: 'Virtual Doorbell Co.',
      sw_version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      serial_number: 'front-door',
    });
  });

  it('the doorbell event, motion sensor, camera and sensors read topics the device publishes', async () => {
    const messages = discoveryMessages({
      topicPrefix: 'doorbell',
      deviceId: 'front-door',
      profile: await profile('battery-720p'),
    });
    const event = byObject(messages, 'ring');
    expect(event).toMatchObject({
      state_topic: 'doorbell/front-door/events/ding',
      device_class: 'doorbell',
      event_types: ['ring'],
    });
    // The template turns our ding payload into HA's {event_type, …attributes}.
    for (const field of (event['value_template'] as string).matchAll(/value_json\.(\w+)/g)) {
      expect(Object.keys(DingEventSchema.shape)).toContain(field[1]);
    }
    expect(event['value_template']).toContain("'event_type': value_json.event_type");
    // One HA event per motion, typed by its first label (test/mqtt/discovery-templates.test.ts renders it).
    const motionEvent = byObject(messages, 'motion_event');
    expect(motionEvent).toMatchObject({
      state_topic: 'doorbell/front-door/events/motion',
      device_class: 'motion',
      event_types: [...MOTION_LABELS],
    });
    for (const field of (motionEvent['value_template'] as string).matchAll(/value_json\.(\w+)/g)) {
      expect(Object.keys(MotionEventSchema.shape)).toContain(field[1]);
    }
    expect(byObject(messages, 'motion')).toMatchObject({
      state_topic: 'doorbell/front-door/motion',
      payload_on: 'ON',
      json_attributes_topic: 'doorbell/front-door/motion/attributes',
    });
    expect(findTopic('doorbell/front-door/motion/attributes', { prefix: 'doorbell' })?.entry).toMatchObject({
      name: 'motionAttributes',
      retained: true,
      payload: { schema: MotionAttributesSchema },
    });
    expect(byObject(messages, 'snapshot')).toMatchObject({ topic: 'doorbell/front-door/snapshot' });
    for (const message of messages) {
      for (const key of ['state_topic', 'topic', 'json_attributes_topic'] as const) {
        const topic = message.config[key] as string | undefined;
        if (!topic) continue;
        const match = findTopic(topic, { prefix: 'doorbell' });
        expect(match?.entry.direction, `${message.objectId}.${key} ${topic}`).toBe('publish');
      }
      const template = message.config['value_template'] as string | undefined;
      if (template && message.config['state_topic'] === 'doorbell/front-door/state') {
        for (const [, path] of template.matchAll(/value_json\.([\w.]+)/g)) {
          const [head, ...rest] = path!.split('.');
          expect(Object.keys(DeviceStateSchema.shape), path).toContain(head);
          if (rest.length) expect(Object.keys(DeviceStateSchema.shape.queues.shape)).toContain(rest[0]);
        }
      }
      for (const availability of message.config['availability'] as Array<{ topic: string }>) {
        expect(availability.topic).toBe('doorbell/front-door/availability');
      }
    }
    for (const objectId of ['battery', 'rssi', 'upload_queue']) {
      expect(byObject(messages, objectId)).toMatchObject({ state_topic: 'doorbell/front-door/state' });
    }
    expect(byObject(messages, 'upload_queue')['value_template']).toBe('{{ value_json.queues.uploads }}');
  });

  it('buttons, the switch and the select send request bodies the device accepts', async () => {
    const messages = discoveryMessages({
      topicPrefix: 'doorbell',
      deviceId: 'front-door',
      profile: await profile('wired-1080p'),
    });
    const commandOf = (objectId: string) => {
      const config = byObject(messages, objectId);
      const match = findTopic(config['command_topic'] as string, { prefix: 'doorbell' });
      expect(match?.entry.direction).toBe('subscribe');
      return { config, schema: requestSchema(match!.entry.command!) };
    };
    const ring = commandOf('ring_button');
    expect(ring.schema.parse(JSON.parse(ring.config['payload_press'] as string))).toEqual({
      source: 'homeassistant',
    });
    const reboot = commandOf('reboot');
    expect(reboot.schema.safeParse(JSON.parse(reboot.config['payload_press'] as string)).success).toBe(true);

    const motion = commandOf('motion_detection');
    expect(motion.schema.parse(JSON.parse(motion.config['payload_on'] as string))).toEqual({ enabled: true });
    expect(motion.schema.parse(JSON.parse(motion.config['payload_off'] as string))).toEqual({
      enabled: false,
    });
    expect(motion.config).toMatchObject({
      state_on: 'ON',
      state_off: 'OFF',
      state_topic: 'doorbell/front-door/state',
    });

    const sensitivity = commandOf('motion_sensitivity');
    for (const option of sensitivity.config['options'] as string[]) {
      // HA renders command_template with `value` = the chosen option.
      const rendered = (sensitivity.config['command_template'] as string).replace('{{ value }}', option);
      expect(sensitivity.schema.parse(JSON.parse(rendered))).toEqual({ sensitivity: option });
    }
  });

  it('no battery sensor on a wired model; the prefix and discovery prefix are configurable', async () => {
    const wired = discoveryMessages({
      topicPrefix: 'acme/bells',
      deviceId: 'gate_2',
      profile: await profile('wired-1080p'),
      discoveryPrefix: 'ha',
    });
    expect(wired.map((m) => m.objectId)).not.toContain('battery');
    for (const message of wired) {
      expect(message.topic).toMatch(/^ha\/[a-z_]+\/gate_2\/[a-z_]+\/config$/);
      expect(message.config['unique_id']).toMatch(/^acme_bells_gate_2_/);
      expect(JSON.stringify(message.config)).not.toContain('doorbell/');
    }
    expect(byObject(wired, 'ring')['state_topic']).toBe('acme/bells/gate_2/events/ding');
  });

  it('a device without a camera announces no camera and no snapshot button; one with a camera has both', async () => {
    const options = {
      topicPrefix: 'doorbell',
      deviceId: 'front-door',
      profile: await profile('wired-1080p'),
    };
    const withCamera = discoveryMessages(options).map((m) => m.objectId);
    expect(withCamera).toEqual(expect.arrayContaining(['snapshot', 'take_snapshot']));
    const blind = discoveryMessages({ ...options, camera: false }).map((m) => m.objectId);
    expect(blind).not.toContain('snapshot');
    expect(blind).not.toContain('take_snapshot');
    expect(byObject(discoveryMessages(options), 'take_snapshot')['command_topic']).toBe(
      'doorbell/front-door/request/snapshot',
    );
  });

  it('links the HA device page to the console when it runs (configuration_url)', async () => {
    const options = {
      topicPrefix: 'doorbell',
      deviceId: 'front-door',
      profile: await profile('wired-1080p'),
    };
    const device = (messages: DiscoveryMessage[]) => messages[0]!.config['device'] as Record<string, unknown>;
    expect(device(discoveryMessages(options))).not.toHaveProperty('configuration_url');
    expect(
      device(discoveryMessages({ ...options, configurationUrl: 'http://127.0.0.1:8080' }))[
        'configuration_url'
      ],
    ).toBe('http://127.0.0.1:8080');
  });

  it('the device role may publish every discovery topic it makes, and only its own', async () => {
    const scope = { prefix: 'doorbell', discoveryPrefix: 'homeassistant' };
    const mine = discoveryMessages({
      topicPrefix: 'doorbell',
      deviceId: 'door-a',
      profile: await profile('battery-720p'),
    });
    const principal = { role: 'device' as const, deviceId: 'door-b', username: 'b' };
    for (const message of mine) {
      expect(canPublish({ ...principal, deviceId: 'door-a' }, message.topic, scope).allowed).toBe(true);
      expect(canPublish(principal, message.topic, scope).allowed).toBe(false);
    }
  });

  it('re-publishes on the HA birth message; removal messages are empty and retained-topic shaped', async () => {
    expect(discoveryStatusTopic()).toBe('homeassistant/status');
    expect(discoveryStatusTopic('ha')).toBe('ha/status');
    expect(isDiscoveryRequest('online')).toBe(true);
    expect(isDiscoveryRequest(Buffer.from('online\n'))).toBe(true);
    expect(isDiscoveryRequest('offline')).toBe(false);
    const options = {
      topicPrefix: 'doorbell',
      deviceId: 'front-door',
      profile: await profile('wired-1080p'),
    };
    expect(discoveryRemovalMessages(options)).toEqual(
      discoveryMessages(options).map((m) => ({ topic: m.topic, payload: '' })),
    );
  });
});
