import { DEVICE_ID_PATTERN } from '../config/profile.js';

export const COMMAND_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export const MAX_REQUEST_BYTES = 64 * 1024;

/** Every topic one doorbell uses; built here and nowhere else. */
export interface DeviceTopics {
  root: string;
  availability: string;
  state: string;
  motion: string;
  snapshot: string;
  dingEvents: string;
  motionEvents: string;
  clipEvents: string;
  ownerConsent: string;
  ownerNotice: string;
  requestWildcard: string;
  request(command: string): string;
  response(command: string): string;
}

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id);
}

export function deviceTopics(prefix: string, deviceId: string): DeviceTopics {
  if (!isValidDeviceId(deviceId)) throw new Error(`invalid device id ${JSON.stringify(deviceId)}`);
  const root = `${prefix}/${deviceId}`;
  return {
    root,
    availability: `${root}/availability`,
    state: `${root}/state`,
    motion: `${root}/motion`,
    snapshot: `${root}/snapshot`,
    dingEvents: `${root}/events/ding`,
    motionEvents: `${root}/events/motion`,
    clipEvents: `${root}/events/clip`,
    ownerConsent: `${root}/owner/consent`,
    ownerNotice: `${root}/owner/notice`,
    requestWildcard: `${root}/request/+`,
    request: (command) => `${root}/request/${command}`,
    response: (command) => `${root}/response/${command}`,
  };
}

export type ParsedTopic =
  | { kind: 'request'; deviceId: string; command: string }
  | { kind: 'other'; deviceId: string; rest: string[] }
  | { kind: 'invalid-device'; deviceId: string }
  | { kind: 'outside' };

/** Classifies a topic under `prefix`; used by the broker's door check and the agent's request router. */
export function parseTopic(prefix: string, topic: string): ParsedTopic {
  if (!topic.startsWith(`${prefix}/`)) return { kind: 'outside' };
  const [deviceId = '', ...rest] = topic.slice(prefix.length + 1).split('/');
  if (!isValidDeviceId(deviceId)) return { kind: 'invalid-device', deviceId };
  if (rest.length === 2 && rest[0] === 'request') return { kind: 'request', deviceId, command: rest[1]! };
  return { kind: 'other', deviceId, rest };
}
