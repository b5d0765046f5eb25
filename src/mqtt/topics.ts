import { DEVICE_ID_PATTERN } from '../config/profile.js';

export const COMMAND_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A broker username; also a topic level (the asker's namespace), so it never holds `/`, `+`, `#` or `$`. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
/** The level under a device under which each broker user has its own requests and answers. */
export const REQUESTER_LEVEL = 'requester';

/** Every topic one doorbell uses; built here and nowhere else. */
export interface DeviceTopics {
  root: string;
  availability: string;
  state: string;
  motion: string;
  /** Retained JSON of the last motion (score, box, zones, labels…): HA's json_attributes_topic of the motion sensor. */
  motionAttributes: string;
  snapshot: string;
  dingEvents: string;
  motionEvents: string;
  clipEvents: string;
  ownerConsent: string;
  ownerNotice: string;
  /** Retained `{seq, hash}` of the audit chain's newest record, so a truncated log is caught without `--head`. */
  ownerAuditHead: string;
  requestWildcard: string;
  /** Requests sent in any user's namespace (the broker vouches that `<user>` is the sender). */
  requesterRequestWildcard: string;
  request(command: string): string;
  response(command: string): string;
  /** `<root>/requester/<user>`: only that user (and the owners, admins) may read under it. */
  requesterRoot(user: string): string;
  requesterRequest(user: string, command: string): string;
  requesterResponse(user: string, command: string): string;
}

/** The MQTT client id a device connects with; reserved to that device's broker user. */
export function deviceClientId(deviceId: string): string {
  return `doorbell-${deviceId}`;
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
    motionAttributes: `${root}/motion/attributes`,
    snapshot: `${root}/snapshot`,
    dingEvents: `${root}/events/ding`,
    motionEvents: `${root}/events/motion`,
    clipEvents: `${root}/events/clip`,
    ownerConsent: `${root}/owner/consent`,
    ownerNotice: `${root}/owner/notice`,
    ownerAuditHead: `${root}/owner/audit-head`,
    requestWildcard: `${root}/request/+`,
    requesterRequestWildcard: `${root}/${REQUESTER_LEVEL}/+/request/+`,
    request: (command) => `${root}/request/${command}`,
    response: (command) => `${root}/response/${command}`,
    requesterRoot: (user) => `${root}/${REQUESTER_LEVEL}/${checkedUser(user)}`,
    requesterRequest: (user, command) => `${root}/${REQUESTER_LEVEL}/${checkedUser(user)}/request/${command}`,
    requesterResponse: (user, command) =>
      `${root}/${REQUESTER_LEVEL}/${checkedUser(user)}/response/${command}`,
  };
}

function checkedUser(user: string): string {
  if (!USERNAME_PATTERN.test(user)) throw new Error(`invalid username ${JSON.stringify(user)}`);
  return user;
}

export type ParsedTopic =
  | { kind: 'request'; deviceId: string; command: string }
  /** A request in `user`'s namespace: `<prefix>/<id>/requester/<user>/request/<command>`. */
  | { kind: 'requester-request'; deviceId: string; user: string; command: string }
  | { kind: 'other'; deviceId: string; rest: string[] }
  | { kind: 'invalid-device'; deviceId: string }
  | { kind: 'outside' };

/** Classifies a topic under `prefix`; used by the broker's door check and the agent's request router. */
export function parseTopic(prefix: string, topic: string): ParsedTopic {
  if (!topic.startsWith(`${prefix}/`)) return { kind: 'outside' };
  const [deviceId = '', ...rest] = topic.slice(prefix.length + 1).split('/');
  if (!isValidDeviceId(deviceId)) return { kind: 'invalid-device', deviceId };
  if (rest.length === 2 && rest[0] === 'request') return { kind: 'request', deviceId, command: rest[1]! };
  if (
    rest.length === 4 &&
    rest[0] === REQUESTER_LEVEL &&
    rest[2] === 'request' &&
    USERNAME_PATTERN.test(rest[1]!)
  )
    return { kind: 'requester-request', deviceId, user: rest[1]!, command: rest[3]! };
  return { kind: 'other', deviceId, rest };
}
