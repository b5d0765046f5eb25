import { isValidDeviceId, parseTopic } from './topics.js';

/**
 * Who a broker client is once authenticated:
 * - `device`: one doorbell; writes only under its own topics, reads only its own requests.
 * - `owner`: the person whose doorbells these are; sends every request to them, including the ones that decide
 *   where footage goes, and reads all their topics, including the consent prompts.
 * - `integrator`: a home-automation system or a backend; reads everything but the owner's topics, sends requests
 *   other than the owner's.
 * - `admin`: anything.
 */
export type Principal =
  | { role: 'device'; deviceId: string; username: string }
  | { role: 'owner'; devices: readonly string[]; username: string }
  | { role: 'integrator'; username: string }
  | { role: 'admin'; username: string };

/**
 * Requests only a device's owner (or an admin) may send, and whose requests and answers only they receive: they
 * decide where footage goes (a share decision, the sharing policy), or read or change the device's settings,
 * privacy zones and sharing policy included. A requester who saw them could tell a decline from a timeout.
 */
export const OWNER_COMMANDS: readonly string[] = [
  'share-decision',
  'share-policy',
  'config-set',
  'config-get',
];

export type Role = Principal['role'];

export interface AclScope {
  /** Device topic prefix, e.g. `doorbell` (may contain `/`). */
  prefix: string;
  /** Home Assistant discovery prefix, e.g. `homeassistant`. */
  discoveryPrefix: string;
}

export type AclDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: AclDecision = { allowed: true };

/** May this principal publish on `topic` (a concrete topic, no wildcards)? */
export function canPublish(principal: Principal, topic: string, scope: AclScope): AclDecision {
  if (topic.startsWith('$')) return deny(`${topic}: topics starting with "$" are reserved`);
  switch (principal.role) {
    case 'admin':
      return ALLOWED;
    case 'owner':
      return firstMatch(topic, ownerPublishFilters(principal.devices, scope))
        ? ALLOWED
        : deny(`owner ${principal.username} may publish only requests to ${principal.devices.join(', ')}`);
    case 'integrator': {
      if (!firstMatch(topic, integratorPublishFilters(scope))) {
        return deny(
          `integrator ${principal.username} may publish only requests and ${scope.discoveryPrefix}/status`,
        );
      }
      return isOwnerTopic(topic, scope.prefix)
        ? deny(
            `request/${topic.split('/').at(-1)} is the owner's: integrator ${principal.username} may not send it`,
          )
        : ALLOWED;
    }
    case 'device':
      return firstMatch(topic, devicePublishFilters(principal.deviceId, scope))
        ? ALLOWED
        : deny(`device ${principal.deviceId} may publish only under ${scope.prefix}/${principal.deviceId}/`);
  }
}

/** May this principal subscribe to `filter` (which may hold wildcards)? */
export function canSubscribe(principal: Principal, filter: string, scope: AclScope): AclDecision {
  const topicFilter = stripSharedSubscription(filter);
  if (topicFilter === undefined) return deny(`${filter}: malformed shared subscription`);
  switch (principal.role) {
    case 'admin':
      return ALLOWED;
    case 'integrator':
      // A filter that can only match the owner's topics would be granted and then deliver nothing: say so.
      return ownerOnlyFilters(scope).some((owner) => filterCovers(owner, topicFilter))
        ? deny(`${topicFilter}: the owner's topics are delivered only to the device's owners`)
        : ALLOWED;
    case 'owner':
      return ownerSubscribeFilters(principal.devices, scope).some((allowed) =>
        filterCovers(allowed, topicFilter),
      )
        ? ALLOWED
        : deny(
            `owner ${principal.username} may subscribe only to the topics of ${principal.devices.join(', ')} and ${scope.discoveryPrefix}/status`,
          );
    case 'device':
      return deviceSubscribeFilters(principal.deviceId, scope).some((allowed) =>
        filterCovers(allowed, topicFilter),
      )
        ? ALLOWED
        : deny(
            `device ${principal.deviceId} may subscribe only to ${scope.prefix}/${principal.deviceId}/request/+ and ${scope.discoveryPrefix}/status`,
          );
  }
}

/**
 * May this principal receive a message on `topic` it subscribed to? Only the owner (and admins) read the owner's
 * topics (consent prompts say who asked for footage and why), whatever wildcard an integrator subscribed with.
 */
export function canReceive(principal: Principal, topic: string, scope: AclScope): boolean {
  return principal.role !== 'integrator' || !isOwnerTopic(topic, scope.prefix);
}

const OWNER_COMMAND_SET: ReadonlySet<string> = new Set(OWNER_COMMANDS);

/** A concrete topic that is the owner's: under owner/, or an owner command's request or response. */
function isOwnerTopic(topic: string, prefix: string): boolean {
  const parsed = parseTopic(prefix, topic);
  if (parsed.kind === 'request') return OWNER_COMMAND_SET.has(parsed.command);
  if (parsed.kind !== 'other') return false;
  const [level, command] = parsed.rest;
  return (
    level === 'owner' || (level === 'response' && parsed.rest.length === 2 && OWNER_COMMAND_SET.has(command!))
  );
}

/** The same topics as filters, for refusing a subscription that could match nothing else. */
function ownerOnlyFilters(scope: AclScope): string[] {
  return [
    `${scope.prefix}/+/owner/#`,
    ...OWNER_COMMANDS.flatMap((command) => [
      `${scope.prefix}/+/request/${command}`,
      `${scope.prefix}/+/response/${command}`,
    ]),
  ];
}

export function ownerPublishFilters(devices: readonly string[], scope: AclScope): string[] {
  return devices.map((deviceId) => {
    assertDeviceId(deviceId);
    return `${scope.prefix}/${deviceId}/request/+`;
  });
}

export function ownerSubscribeFilters(devices: readonly string[], scope: AclScope): string[] {
  const own = devices.map((deviceId) => {
    assertDeviceId(deviceId);
    return `${scope.prefix}/${deviceId}/#`;
  });
  return [...own, `${scope.discoveryPrefix}/status`];
}

export function devicePublishFilters(deviceId: string, scope: AclScope): string[] {
  assertDeviceId(deviceId);
  return [`${scope.prefix}/${deviceId}/#`, `${scope.discoveryPrefix}/+/${deviceId}/+/config`];
}

export function deviceSubscribeFilters(deviceId: string, scope: AclScope): string[] {
  assertDeviceId(deviceId);
  return [`${scope.prefix}/${deviceId}/request/+`, `${scope.discoveryPrefix}/status`];
}

export function integratorPublishFilters(scope: AclScope): string[] {
  return [`${scope.prefix}/+/request/+`, `${scope.discoveryPrefix}/status`];
}

/** MQTT topic filter matching (`+` one level, `#` the rest, including the parent level). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level === '+') {
      // A wildcard at the first level does not match "$SYS"-style topics (MQTT-4.7.2-1).
      if (i === 0 && t[0]!.startsWith('$')) return false;
      continue;
    }
    if (level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True if every topic that `requested` can match is also matched by `allowed`. */
export function filterCovers(allowed: string, requested: string): boolean {
  const a = allowed.split('/');
  const r = requested.split('/');
  for (let i = 0; i < a.length; i++) {
    const level = a[i]!;
    if (level === '#') return true;
    if (i >= r.length) return false;
    const asked = r[i]!;
    if (asked === '#') return false;
    if (level === '+') continue;
    if (asked === '+' || asked !== level) return false;
  }
  return a.length === r.length;
}

function firstMatch(topic: string, filters: string[]): boolean {
  return filters.some((filter) => topicMatches(filter, topic));
}

/** `$share/<group>/<filter>` → `<filter>`; other filters unchanged; undefined if malformed. */
function stripSharedSubscription(filter: string): string | undefined {
  if (!filter.startsWith('$share/')) return filter;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return rest.slice(slash + 1);
}

function deny(reason: string): AclDecision {
  return { allowed: false, reason };
}

function assertDeviceId(deviceId: string): void {
  if (!isValidDeviceId(deviceId)) throw new Error(`invalid device id ${JSON.stringify(deviceId)}`);
}
