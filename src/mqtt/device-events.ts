import { isOnlineStatus } from '../device/doorbell.js';
import { type DeviceEvent, nextMotionAttributes } from '../events/schemas.js';
import type { DeviceLink } from './device-link.js';
import type { DeviceTopics } from './topics.js';

/** What a device's retained motion attributes are now (each device keeps its own). */
export interface MotionAttributesMemory {
  now: Parameters<typeof nextMotionAttributes>[0];
}

/**
 * Where a device event goes on MQTT, for the agent and for fleet devices alike: ding, motion and clip events to
 * their event topics (motion start/end also to the retained motion topic, and every motion message to the retained
 * motion attributes); state to the retained state, availability and motion topics; availability follows the
 * device's status (a booting device is not online yet).
 */
export function publishDeviceEvent(
  link: DeviceLink,
  topics: DeviceTopics,
  event: DeviceEvent,
  attributes: MotionAttributesMemory,
): void {
  publishMessages(link, topics, event);
  const before = attributes.now.motion;
  attributes.now = nextMotionAttributes(attributes.now, event);
  if (attributes.now.motion && attributes.now.motion !== before)
    link.publishRetained(topics.motionAttributes, JSON.stringify(attributes.now.motion));
}

function publishMessages(link: DeviceLink, topics: DeviceTopics, event: DeviceEvent): void {
  switch (event.kind) {
    case 'ding':
    case 'ding-ended':
    case 'motion':
    case 'clip':
    case 'clip-lost': {
      const topic =
        event.kind === 'ding' || event.kind === 'ding-ended'
          ? topics.dingEvents
          : event.kind === 'motion'
            ? topics.motionEvents
            : topics.clipEvents;
      link.publishEvent({ topic, payload: JSON.stringify(event.payload), qos: 1, retain: false });
      if (event.kind === 'motion' && event.payload.type !== 'update')
        link.publishRetained(topics.motion, event.payload.type === 'start' ? 'ON' : 'OFF');
      return;
    }
    case 'state': {
      link.publishRetained(topics.state, JSON.stringify(event.payload));
      link.setOnline(isOnlineStatus(event.payload.status));
      // Normally already sent with the motion event; this covers the first state (retained values are deduplicated).
      link.publishRetained(topics.motion, event.payload.motion ? 'ON' : 'OFF');
      return;
    }
  }
}
