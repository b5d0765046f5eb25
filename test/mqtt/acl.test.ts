import { describe, expect, it } from 'vitest';
import {
  canPublish,
  canReceive,
  canSubscribe,
  filterCovers,
  OWNER_COMMANDS,
  type Principal,
  topicMatches,
} from '../../src/mqtt/acl.js';

const scope = { prefix: 'doorbell', discoveryPrefix: 'homeassistant' };
const deviceA: Principal = { role: 'device', deviceId: 'door-a', username: 'a' };
const integrator: Principal = { role: 'integrator', username: 'ha' };
const admin: Principal = { role: 'admin', username: 'root' };
const owner: Principal = { role: 'owner', devices: ['door-a', 'door-c'], username: 'kim' };

describe('topic filters', () => {
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', '$SYS/x', true],
    ['+/x', '$SYS/x', false],
    ['a/+', 'a/b/c', false],
    ['a/b', 'a/b/c', false],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it.each([
    ['doorbell/a/request/+', 'doorbell/a/request/+', true],
    ['doorbell/a/request/+', 'doorbell/a/request/press', true],
    ['doorbell/a/request/+', 'doorbell/a/request/#', false],
    ['doorbell/a/request/+', 'doorbell/+/request/+', false],
    ['doorbell/a/request/+', 'doorbell/#', false],
    ['doorbell/a/request/+', '#', false],
    ['doorbell/a/#', 'doorbell/a/x/y', true],
    ['doorbell/a/#', 'doorbell/a/#', true],
  ])('%s covers %s: %s', (allowed, requested, expected) => {
    expect(filterCovers(allowed, requested)).toBe(expected);
  });
});

describe('device role', () => {
  it('publishes under its own id and its own discovery topics only', () => {
    expect(canPublish(deviceA, 'doorbell/door-a/state', scope).allowed).toBe(true);
    expect(canPublish(deviceA, 'doorbell/door-a/events/ding', scope).allowed).toBe(true);
    expect(canPublish(deviceA, 'doorbell/door-a/motion/attributes', scope).allowed).toBe(true);
    expect(canPublish(deviceA, 'homeassistant/event/door-a/ring/config', scope).allowed).toBe(true);
    expect(canPublish(deviceA, 'doorbell/door-b/state', scope)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('doorbell/door-a/'),
    });
    expect(canPublish(deviceA, 'doorbell/door-b/request/press', scope).allowed).toBe(false);
    expect(canPublish(deviceA, 'homeassistant/event/door-b/ring/config', scope).allowed).toBe(false);
    expect(canPublish(deviceA, 'homeassistant/status', scope).allowed).toBe(false);
    expect(canPublish(deviceA, 'doorbell/door-a-evil/state', scope).allowed).toBe(false);
    expect(canPublish(deviceA, '$SYS/broker', scope).allowed).toBe(false);
  });

  it('subscribes only to its own requests and the HA birth topic', () => {
    expect(canSubscribe(deviceA, 'doorbell/door-a/request/+', scope).allowed).toBe(true);
    expect(canSubscribe(deviceA, 'doorbell/door-a/request/press', scope).allowed).toBe(true);
    expect(canSubscribe(deviceA, 'homeassistant/status', scope).allowed).toBe(true);
    for (const filter of [
      'doorbell/door-b/request/+',
      'doorbell/+/request/+',
      'doorbell/#',
      '#',
      'doorbell/door-a/#',
      'doorbell/door-a/state',
      '$share/g/doorbell/door-b/request/+',
      '$share//x',
    ]) {
      expect(canSubscribe(deviceA, filter, scope).allowed, filter).toBe(false);
    }
    expect(canSubscribe(deviceA, '$share/g/doorbell/door-a/request/+', scope).allowed).toBe(true);
  });

  it('respects a multi-level prefix', () => {
    const deep = { prefix: 'acme/doorbell', discoveryPrefix: 'ha' };
    expect(canPublish(deviceA, 'acme/doorbell/door-a/state', deep).allowed).toBe(true);
    expect(canPublish(deviceA, 'doorbell/door-a/state', deep).allowed).toBe(false);
    expect(canSubscribe(deviceA, 'ha/status', deep).allowed).toBe(true);
  });
});

describe('integrator and admin roles', () => {
  it('an integrator reads everything but writes only requests and the HA birth topic', () => {
    expect(canSubscribe(integrator, '#', scope).allowed).toBe(true);
    expect(canPublish(integrator, 'doorbell/door-a/request/press', scope).allowed).toBe(true);
    expect(canPublish(integrator, 'homeassistant/status', scope).allowed).toBe(true);
    expect(canPublish(integrator, 'doorbell/door-a/state', scope).allowed).toBe(false);
    expect(canPublish(integrator, 'doorbell/door-a/events/ding', scope).allowed).toBe(false);
    expect(canPublish(integrator, 'homeassistant/event/door-a/ring/config', scope).allowed).toBe(false);
  });

  it('an admin may do anything except write $-topics', () => {
    expect(canPublish(admin, 'doorbell/door-a/state', scope).allowed).toBe(true);
    expect(canPublish(admin, 'anything/else', scope).allowed).toBe(true);
    expect(canPublish(admin, '$SYS/x', scope).allowed).toBe(false);
    expect(canSubscribe(admin, '#', scope).allowed).toBe(true);
  });
});

describe('owner role: only the owner decides where footage goes', () => {
  it('sends every request, the owner-only ones included, to its own doorbells and to no other', () => {
    for (const command of ['press', 'state', ...OWNER_COMMANDS]) {
      expect(canPublish(owner, `doorbell/door-a/request/${command}`, scope).allowed).toBe(true);
      expect(canPublish(owner, `doorbell/door-c/request/${command}`, scope).allowed).toBe(true);
    }
    expect(canPublish(owner, 'doorbell/door-b/request/share-decision', scope)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('door-a, door-c'),
    });
    expect(canPublish(owner, 'doorbell/door-a/state', scope).allowed).toBe(false);
    expect(canPublish(owner, 'doorbell/door-a/owner/consent', scope).allowed).toBe(false);
  });

  it("reads all of its doorbells' topics, consent prompts included, and nothing of other doorbells", () => {
    for (const filter of [
      'doorbell/door-a/#',
      'doorbell/door-a/owner/+',
      'doorbell/door-c/events/+',
      'homeassistant/status',
    ])
      expect(canSubscribe(owner, filter, scope).allowed).toBe(true);
    for (const filter of ['doorbell/door-b/#', 'doorbell/+/owner/+', 'doorbell/#', '#'])
      expect(canSubscribe(owner, filter, scope).allowed).toBe(false);
    expect(canReceive(owner, 'doorbell/door-a/owner/consent', scope)).toBe(true);
  });

  it("an integrator (a requester app, a backend) sends the other requests but never the owner's", () => {
    for (const command of OWNER_COMMANDS) {
      expect(canPublish(integrator, `doorbell/door-a/request/${command}`, scope)).toEqual({
        allowed: false,
        reason: `request/${command} is the owner's: integrator ha may not send it`,
      });
    }
    for (const command of ['press', 'snapshot', 'motion', 'sensitivity']) {
      expect(canPublish(integrator, `doorbell/door-a/request/${command}`, scope).allowed).toBe(true);
      expect(canPublish(integrator, `doorbell/door-a/requester/ha/request/${command}`, scope).allowed).toBe(
        true,
      );
    }
    // Footage requests need a requester or agency role, and are taken only in the sender's own namespace.
    for (const command of ['share', 'legal-demand']) {
      expect(canPublish(integrator, `doorbell/door-a/request/${command}`, scope).allowed).toBe(false);
      expect(canPublish(integrator, `doorbell/door-a/requester/ha/request/${command}`, scope).allowed).toBe(
        false,
      );
    }
    expect(canPublish(admin, 'doorbell/door-a/request/share-decision', scope).allowed).toBe(true);
  });

  it("an integrator subscribed to everything is not sent the owner's topics, requests or answers", () => {
    expect(canReceive(integrator, 'doorbell/door-a/owner/consent', scope)).toBe(false);
    expect(canReceive(integrator, 'doorbell/door-a/owner/notice', scope)).toBe(false);
    // Seeing the owner decline (or opt out, or the policy in config-get) would tell a decline from a timeout.
    for (const command of OWNER_COMMANDS) {
      expect(canReceive(integrator, `doorbell/door-a/request/${command}`, scope)).toBe(false);
      expect(canReceive(integrator, `doorbell/door-a/response/${command}`, scope)).toBe(false);
    }
    // Nor any share traffic: others' namespaces, or footage commands on the shared topics.
    expect(canReceive(integrator, 'doorbell/door-a/request/share', scope)).toBe(false);
    expect(canReceive(integrator, 'doorbell/door-a/response/share', scope)).toBe(false);
    expect(canReceive(integrator, 'doorbell/door-a/requester/neighbour/response/share', scope)).toBe(false);
    expect(canReceive(integrator, 'doorbell/door-a/requester/ha/response/press', scope)).toBe(true);
    expect(canReceive(integrator, 'doorbell/door-a/events/ding', scope)).toBe(true);
    expect(canReceive(integrator, 'doorbell/door-a/motion/attributes', scope)).toBe(true);
    expect(canReceive(integrator, '$SYS/broker/clients', scope)).toBe(false);
    expect(canSubscribe(integrator, '$SYS/#', scope).allowed).toBe(false);
    expect(canReceive(admin, 'doorbell/door-a/owner/consent', scope)).toBe(true);
    // A subscription that could only ever match the owner's topics is refused outright, not granted empty.
    for (const filter of [
      'doorbell/+/owner/#',
      'doorbell/door-a/owner/consent',
      'doorbell/+/response/config-get',
    ])
      expect(canSubscribe(integrator, filter, scope).allowed).toBe(false);
    for (const filter of ['#', 'doorbell/#', 'doorbell/+/response/+'])
      expect(canSubscribe(integrator, filter, scope).allowed).toBe(true);
    expect(
      canReceive(integrator, 'site/doorbell/door-a/owner/consent', { ...scope, prefix: 'site/doorbell' }),
    ).toBe(false);
  });
});

describe('requester and agency roles: footage requests in their own namespace, answers only there', () => {
  const neighbour: Principal = { role: 'requester', username: 'neighbour' };
  const police: Principal = { role: 'agency', username: 'police' };

  it('a requester asks for footage in its own namespace only, and may not place legal demands', () => {
    expect(canPublish(neighbour, 'doorbell/door-a/requester/neighbour/request/share', scope).allowed).toBe(
      true,
    );
    for (const topic of [
      'doorbell/door-a/requester/police/request/share',
      'doorbell/door-a/request/share',
      'doorbell/door-a/requester/neighbour/request/legal-demand',
      'doorbell/door-a/requester/neighbour/request/press',
      'doorbell/door-a/request/press',
    ])
      expect(canPublish(neighbour, topic, scope).allowed, topic).toBe(false);
    expect(canPublish(police, 'doorbell/door-a/requester/police/request/legal-demand', scope).allowed).toBe(
      true,
    );
    expect(
      canPublish(police, 'doorbell/door-a/requester/neighbour/request/legal-demand', scope).allowed,
    ).toBe(false);
  });

  it('reads its own namespace and nothing else', () => {
    expect(canSubscribe(neighbour, 'doorbell/+/requester/neighbour/#', scope).allowed).toBe(true);
    for (const filter of [
      '#',
      'doorbell/#',
      'doorbell/+/requester/+/response/share',
      'doorbell/door-a/state',
    ])
      expect(canSubscribe(neighbour, filter, scope).allowed, filter).toBe(false);
    expect(canReceive(neighbour, 'doorbell/door-a/requester/neighbour/response/share', scope)).toBe(true);
    expect(canReceive(neighbour, 'doorbell/door-a/requester/police/response/share', scope)).toBe(false);
  });

  it("an owner reads every requester's answers on its own doorbells", () => {
    expect(canReceive(owner, 'doorbell/door-a/requester/neighbour/response/share', scope)).toBe(true);
    expect(canSubscribe(owner, 'doorbell/door-b/requester/#', scope).allowed).toBe(false);
  });
});
