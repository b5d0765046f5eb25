import { isValidDeviceId, parseTopic, REQUESTER_LEVEL } from './topics.js';

/**
 * Who a broker client is once authenticated:
 * - `device`: one doorbell; writes only under its own topics, reads only its own requests.
 * - `owner`: the person whose doorbells these are; sends every request to them, including the ones that decide
 *   where footage goes, and reads all their topics, including the consent prompts and every requester's answers.
 * - `integrator`: a home-automation system or a backend; reads the devices' public topics, sends requests other
 *   than the owner's and the footage requests, and never sees share traffic.
 * - `requester`: someone who may ask for footage (`share`), only in their own namespace, and reads only it.
 * - `agency`: a requester that may also place legal demands (`legal-demand`).
 * - `admin`: anything.
 * Requester and agency are granted by whoever writes the users file (the owner or an admin), never by a payload.
 */
export type Principal =
  | { role: 'device'; deviceId: string; username: string }
  | { role: 'owner'; devices: readonly string[]; username: string }
  | { role: 'integrator' | 'requester' | 'agency' | 'admin'; username: string };

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

/**
 * Requests for footage: taken only in the sender's namespace (`<prefix>/<id>/requester/<user>/request/…`), so who
 * asks is the broker's word, and answered only there.
 */
export const FOOTAGE_COMMANDS: readonly string[] = ['share', 'legal-demand'];

/** The footage commands each role may send (in its own namespace). */
const FOOTAGE_GRANTS: Readonly<Record<Principal['role'], readonly string[]>> = {
  admin: FOOTAGE_COMMANDS,
  owner: FOOTAGE_COMMANDS,
  agency: FOOTAGE_COMMANDS,
  requester: ['share'],
  integrator: [],
  device: [],
};

/** The footage commands a role may send, in its own namespace. */
export function footageCommandsOf(role: Principal['role']): readonly string[] {
  return FOOTAGE_GRANTS[role];
}

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
  const { role, username } = principal;
  if (role === 'admin') return ALLOWED;
  if (role === 'device') {
    return firstMatch(topic, devicePublishFilters(principal.deviceId, scope))
      ? ALLOWED
      : deny(`device ${principal.deviceId} may publish only under ${scope.prefix}/${principal.deviceId}/`);
  }
  if (role === 'integrator' && topic === `${scope.discoveryPrefix}/status`) return ALLOWED;
  const parsed = parseTopic(scope.prefix, topic);
  if (parsed.kind !== 'request' && parsed.kind !== 'requester-request') {
    return deny(
      `${role} ${username} may publish only requests${role === 'integrator' ? ` and ${scope.discoveryPrefix}/status` : ''}`,
    );
  }
  if (role === 'owner' && !principal.devices.includes(parsed.deviceId)) {
    return deny(`owner ${username} may publish only requests to ${principal.devices.join(', ')}`);
  }
  const { command } = parsed;
  if (parsed.kind === 'requester-request' && parsed.user !== username) {
    return deny(
      `${username} may send requests only in its own namespace (${REQUESTER_LEVEL}/${username}), not ${parsed.user}'s`,
    );
  }
  if (FOOTAGE_COMMANDS.includes(command)) {
    if (!FOOTAGE_GRANTS[role].includes(command)) {
      return deny(`request/${command} needs a broker role that may send it; ${username} is ${role}`);
    }
    return parsed.kind === 'requester-request'
      ? ALLOWED
      : deny(
          `request/${command} is taken only in the sender's namespace: ${scope.prefix}/${parsed.deviceId}/${REQUESTER_LEVEL}/${username}/request/${command}`,
        );
  }
  if (role === 'requester' || role === 'agency') {
    return deny(`${role} ${username} may send only footage requests (${FOOTAGE_GRANTS[role].join(', ')})`);
  }
  if (role === 'integrator' && OWNER_COMMAND_SET.has(command)) {
    return deny(`request/${command} is the owner's: integrator ${username} may not send it`);
  }
  return ALLOWED;
}

/** May this principal subscribe to `filter` (which may hold wildcards)? */
export function canSubscribe(principal: Principal, filter: string, scope: AclScope): AclDecision {
  const topicFilter = stripSharedSubscription(filter);
  if (topicFilter === undefined) return deny(`${filter}: malformed shared subscription`);
  if (principal.role === 'admin') return ALLOWED;
  if (topicFilter.startsWith('$')) {
    return deny(`${topicFilter}: "$" topics (broker internals: client ids, filters) are for admins only`);
  }
  switch (principal.role) {
    case 'integrator':
      // A filter that can only match topics it may not read would be granted and then deliver nothing: say so.
      return hiddenFromIntegratorFilters(principal.username, scope).some((hidden) =>
        filterCovers(hidden, topicFilter),
      )
        ? deny(
            `${topicFilter}: the owner's topics and other users' share traffic are not delivered to integrators`,
          )
        : ALLOWED;
    case 'requester':
    case 'agency':
      return filterCovers(requesterNamespaceFilter('+', principal.username, scope), topicFilter)
        ? ALLOWED
        : deny(
            `${principal.role} ${principal.username} may subscribe only to its own namespace, ${requesterNamespaceFilter('+', principal.username, scope)}`,
          );
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
            `device ${principal.deviceId} may subscribe only to its own requests and ${scope.discoveryPrefix}/status`,
          );
  }
}

/**
 * May this principal receive a message on `topic` it subscribed to? Checked per message, whatever wildcard the
 * subscription used: integrators never get the owner's topics or anyone's share traffic; requesters only their own
 * namespace; `$SYS` only admins.
 */
export function canReceive(principal: Principal, topic: string, scope: AclScope): boolean {
  if (principal.role === 'admin') return true;
  if (topic.startsWith('$')) return false;
  if (principal.role === 'integrator')
    return !isHiddenFromIntegrator(topic, principal.username, scope.prefix);
  if (principal.role === 'requester' || principal.role === 'agency') {
    return topicMatches(requesterNamespaceFilter('+', principal.username, scope), topic);
  }
  return true;
}

const OWNER_COMMAND_SET: ReadonlySet<string> = new Set(OWNER_COMMANDS);
const PRIVATE_COMMANDS: readonly string[] = [...OWNER_COMMANDS, ...FOOTAGE_COMMANDS];
const PRIVATE_COMMAND_SET: ReadonlySet<string> = new Set(PRIVATE_COMMANDS);

/**
 * A concrete topic an integrator may not read: under owner/, an owner or footage command's request or response,
 * or under another user's namespace.
 */
function isHiddenFromIntegrator(topic: string, username: string, prefix: string): boolean {
  const parsed = parseTopic(prefix, topic);
  if (parsed.kind === 'request') return PRIVATE_COMMAND_SET.has(parsed.command);
  if (parsed.kind === 'requester-request') return parsed.user !== username;
  if (parsed.kind !== 'other') return false;
  const [level, second] = parsed.rest;
  if (level === REQUESTER_LEVEL) return second !== username;
  return (
    level === 'owner' ||
    (level === 'response' && parsed.rest.length === 2 && PRIVATE_COMMAND_SET.has(second!))
  );
}

/** The same topics as filters, for refusing a subscription that could match nothing else. */
function hiddenFromIntegratorFilters(username: string, scope: AclScope): string[] {
  return [
    `${scope.prefix}/+/owner/#`,
    ...PRIVATE_COMMANDS.flatMap((command) => [
      `${scope.prefix}/+/request/${command}`,
      `${scope.prefix}/+/response/${command}`,
    ]),
  ].filter((filter) => filter !== requesterNamespaceFilter('+', username, scope));
}

/** `<prefix>/<device>/requester/<user>/#`, device and user may be `+`. */
export function requesterNamespaceFilter(device: string, user: string, scope: AclScope): string {
  return `${scope.prefix}/${device}/${REQUESTER_LEVEL}/${user}/#`;
}

export function ownerPublishFilters(devices: readonly string[], username: string, scope: AclScope): string[] {
  return devices.flatMap((deviceId) => {
    assertDeviceId(deviceId);
    return [
      `${scope.prefix}/${deviceId}/request/+`,
      `${scope.prefix}/${deviceId}/${REQUESTER_LEVEL}/${username}/request/+`,
    ];
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
  return [
    `${scope.prefix}/${deviceId}/request/+`,
    `${scope.prefix}/${deviceId}/${REQUESTER_LEVEL}/+/request/+`,
    `${scope.discoveryPrefix}/status`,
  ];
}

/** Before the command checks: neither the owner's commands nor footage requests pass those. */
export function integratorPublishFilters(username: string, scope: AclScope): string[] {
  return [
    `${scope.prefix}/+/request/+`,
    `${scope.prefix}/+/${REQUESTER_LEVEL}/${username}/request/+`,
    `${scope.discoveryPrefix}/status`,
  ];
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
