import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { DeviceProfileSchema } from '../../src/config/profile.js';
import { asyncApiDocument, eventsJsonSchema } from '../../src/contract/asyncapi.js';
import { checkMessage, TOPIC_CATALOG } from '../../src/contract/catalog.js';
import { silentLogger } from '../../src/log/logger.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import { type RawMessage, type RawRecorder, REPO_ROOT, rawSubscriber, tempDir } from '../helpers/mqtt.js';

/**
 * Runs agents through everything an integrator can make them do, records every message on doorbell/# and
 * homeassistant/#, and checks each against the catalog (payload schema) and the AsyncAPI document (channel).
 */
describe('everything the agent publishes follows the contract', () => {
  let broker: EmbeddedBroker;
  let watcher: RawRecorder;
  const agents: Agent[] = [];
  const seen: RawMessage[] = [];

  beforeAll(async () => {
    broker = new EmbeddedBroker({ port: 0 });
    await broker.start();
    watcher = await rawSubscriber(broker.url, ['doorbell/#', 'homeassistant/#']);
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await watcher?.client.endAsync();
    await broker?.stop();
  });

  async function startAgent(deviceId: string, video: string | null): Promise<Agent> {
    const loaded = await loadProfile('wired-1080p');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const profile = DeviceProfileSchema.parse({
      ...loaded.value.profile,
      button: { debounceMs: 0, chimeWindowMs: 0 },
      recording: { preRollMs: 1000, postRollMs: 1000, maxClipMs: 5000 },
    });
    const agent = new Agent({
      deviceId,
      profile: { ...loaded.value, profile },
      broker: {
        kind: 'external',
        connection: BrokerConnectionSchema.parse({ url: broker.url, reconnectPeriodMs: 200 }),
      },
      dataDir: tempDir(),
      bucket: tempDir('bucket-'),
      video,
      logger: silentLogger(),
      bootMs: 20,
    });
    agents.push(agent);
    await agent.start();
    await watcher.waitFor(
      (ms) => ms.some((m) => m.topic === `doorbell/${deviceId}/state` && m.payload.includes('"idle"')),
      10_000,
      `${deviceId} idle`,
    );
    return agent;
  }

  async function request(
    deviceId: string,
    command: string,
    body: string | Buffer,
    transaction: string,
    /** Send it in this user's namespace (footage requests are taken only there). */
    user?: string,
  ) {
    const root = user === undefined ? `doorbell/${deviceId}` : `doorbell/${deviceId}/requester/${user}`;
    await watcher.client.publishAsync(`${root}/request/${command}`, body, { qos: 1 });
    await watcher.waitFor(
      (ms) => ms.some((m) => m.topic === `${root}/response/${command}` && m.payload.includes(transaction)),
      10_000,
      `${command} response ${transaction}`,
    );
  }

  it('a device without a camera: press, state, motion, sensitivity, config, reboot, bad requests', async () => {
    const id = 'contract-door';
    const agent = await startAgent(id, null);
    await request(id, 'press', '{"transaction":"t-press"}', 't-press');
    await request(id, 'press', '{"source":"homeassistant","transaction":"t-press-ha"}', 't-press-ha');
    await request(id, 'answer', '{"transaction":"t-answer"}', 't-answer');
    await request(id, 'state', '{"transaction":"t-state"}', 't-state');
    await request(id, 'motion', '{"enabled":false,"transaction":"t-off"}', 't-off');
    await request(id, 'motion', '{"enabled":true,"transaction":"t-on"}', 't-on');
    await request(id, 'sensitivity', '{"sensitivity":"high","transaction":"t-sens"}', 't-sens');
    await request(id, 'config-get', '{"transaction":"t-cfg"}', 't-cfg');
    await request(id, 'config-set', '{"patch":{"retentionDays":30},"transaction":"t-cfgset"}', 't-cfgset');
    await request(id, 'snapshot', '{"transaction":"t-snap"}', 't-snap');
    const window = { from: '2026-01-01T00:00:00Z', to: '2026-01-01T06:00:00Z' };
    await request(id, 'share-policy', '{"policy":"ask","transaction":"t-policy"}', 't-policy');
    // Footage requests outside the sender's namespace are refused, on the plain response topic.
    const plainShare = { requestId: 'r0', reason: 'bike', window, transaction: 't-share-plain' };
    await request(id, 'share', JSON.stringify(plainShare), 't-share-plain');
    const plainDemand = {
      requestId: 'ld0',
      reason: 'case',
      demandRef: 'PR-0',
      window,
      transaction: 't-ld-plain',
    };
    await request(id, 'legal-demand', JSON.stringify(plainDemand), 't-ld-plain');
    await request(
      id,
      'share',
      JSON.stringify({ requestId: 'r1', reason: 'bike', window, transaction: 't-share' }),
      't-share',
      'neighbour-12',
    );
    await request(
      id,
      'share-decision',
      '{"requestId":"r1","decision":"decline","transaction":"t-dec"}',
      't-dec',
    );
    const demand = {
      requestId: 'ld1',
      reason: 'case',
      demandRef: 'PR-1',
      window,
    };
    await request(id, 'legal-demand', JSON.stringify({ ...demand, transaction: 't-ld' }), 't-ld', 'police');
    await watcher.waitFor(
      (ms) => ms.some((m) => m.topic === `doorbell/${id}/owner/notice`),
      5000,
      'owner notice',
    );
    await request(id, 'press', '{"transaction":"t-bad", oops', 'malformed-json');
    await request(id, 'press', '{"source":"ghost","transaction":"t-args"}', 't-args');
    await request(id, 'explode', '{"transaction":"t-unknown"}', 't-unknown');
    await request(id, 'state', '[1,2,3]', 'invalid-request');
    await request(id, 'state', Buffer.alloc(70 * 1024, 0x20), 'payload-too-large');

    const now = agent.clock.now();
    const box = { x: 0.4, y: 0.3, w: 0.2, h: 0.5 };
    agent.doorbell.motion({ type: 'start', atMs: now, score: 0.4, box, zones: ['porch'] });
    agent.doorbell.motion({ type: 'update', atMs: now + 100, score: 0.6, box, zones: ['porch'] });
    agent.doorbell.motion({ type: 'end', atMs: now + 200, score: 0.1, box, zones: [] });
    await watcher.waitFor(
      (ms) => ms.some((m) => m.topic === `doorbell/${id}/events/motion` && m.payload.includes('"end"')),
      5000,
      'motion end',
    );

    await request(id, 'reboot', '{"transaction":"t-reboot"}', 't-reboot');
    await watcher.waitFor(
      (ms) => {
        const states = ms.filter((m) => m.topic === `doorbell/${id}/state`).map((m) => m.payload.toString());
        const rebooting = states.findIndex((s) => s.includes('"rebooting"'));
        return rebooting >= 0 && states.slice(rebooting).some((s) => s.includes('"idle"'));
      },
      10_000,
      'reboot back to idle',
    );
    await agent.stop();
    await watcher.waitFor(
      (ms) => ms.some((m) => m.topic === `doorbell/${id}/availability` && m.payload.toString() === 'offline'),
      5000,
      'offline',
    );
  });

  it('a device with a camera: snapshot JPEG and a clip event after the bucket has the clip', async () => {
    const id = 'contract-cam';
    await startAgent(id, join(REPO_ROOT, 'fixtures/video/person-crossing.mp4'));
    const agent = agents.at(-1)!;
    await watcher.waitFor(() => agent.cameraFeed?.live === true, 10_000, 'camera live');
    await request(id, 'snapshot', '{"transaction":"t-snap"}', 't-snap');
    await request(id, 'press', '{"transaction":"t-ring"}', 't-ring');
    await watcher.waitFor(
      (ms) => ms.some((m) => m.topic === `doorbell/${id}/events/clip`),
      15_000,
      'clip event',
    );
    await agent.stop();
  });

  it('every message parses against its catalog schema and its topic is an AsyncAPI channel address', () => {
    seen.push(...watcher.messages);
    const doc = asyncApiDocument() as { channels: Record<string, { address: string }> };
    const problems: string[] = [];
    const covered = new Set<string>();
    for (const message of seen) {
      // Requests on doorbell/+/request/+ are this test's own messages, not the agent's.
      if (message.topic.includes('/request/')) continue;
      const result = checkMessage(message.topic, message.payload, { prefix: 'doorbell' });
      if (!result.ok) {
        problems.push(result.error);
        continue;
      }
      if (result.entry.direction !== 'publish')
        problems.push(`${message.topic}: the device should not publish here`);
      // Retained topics reach existing subscribers with retain=false; a retained non-retained topic is wrong.
      if (!result.entry.retained && message.retain) problems.push(`${message.topic}: arrived retained`);
      if (message.qos !== result.entry.qos)
        problems.push(`${message.topic}: QoS ${message.qos}, catalog says ${result.entry.qos}`);
      const channel = doc.channels[result.entry.name];
      const address = channel?.address.replace(/\{(\w+)\}/g, (_, param: string) =>
        param === 'deviceId' ? result.params['id']! : result.params[param]!,
      );
      if (address !== message.topic) problems.push(`${message.topic}: no AsyncAPI channel (got ${address})`);
      covered.add(result.entry.name);
    }
    expect(problems).toEqual([]);
    expect(seen.length).toBeGreaterThan(40);
    // Every kind of message the agent can send today was seen at least once.
    expect([...covered].sort()).toEqual(
      expect.arrayContaining([
        'availability',
        'clipEvents',
        'dingEvents',
        'motionAttributes',
        'motionEvents',
        'motionState',
        'response',
        'snapshot',
        'state',
      ]),
    );
    const unexercised = TOPIC_CATALOG.filter((e) => e.direction === 'publish' && !covered.has(e.name)).map(
      (e) => e.name,
    );
    expect(unexercised).toEqual([]);
  });

  /**
   * The compatibility rule: within v1 fields are only ever added, and a consumer ignores fields it does not know.
   * fixtures/events-v1.0.schema.json is `doorbell schema events` as of contract v1.0 (before event threads), frozen.
   */
  it('a consumer written against the v1.0 payloads, ignoring unknown fields, accepts every message', () => {
    const frozen = JSON.parse(
      readFileSync(join(REPO_ROOT, 'test/contract/fixtures/events-v1.0.schema.json'), 'utf8'),
    ) as { $defs: Record<string, object> };
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const problems: string[] = [];
    const checked = new Map<string, number>();
    for (const message of watcher.messages) {
      if (message.topic.includes('/request/')) continue;
      const result = checkMessage(message.topic, message.payload, { prefix: 'doorbell' });
      if (!result.ok || result.entry.payload.format !== 'json') continue;
      const old = frozen.$defs[result.entry.name];
      if (!old) continue; // a topic v1.0 did not have: nothing an old consumer reads
      const validate = ajv.compile(ignoringUnknownFields(old));
      if (!validate(JSON.parse(message.payload.toString())))
        problems.push(`${message.topic}: ${ajv.errorsText(validate.errors)}`);
      checked.set(result.entry.name, (checked.get(result.entry.name) ?? 0) + 1);
    }
    expect(problems).toEqual([]);
    for (const name of ['dingEvents', 'motionEvents', 'clipEvents', 'state', 'response'])
      expect(checked.get(name), name).toBeGreaterThan(0);
    // The threads' new messages were among them: a ring's end and a motion's thread.
    const payloads = watcher.messages.map((m) => m.payload.toString());
    expect(payloads.some((p) => p.includes('"thread":"ended"') && p.includes('"outcome"'))).toBe(true);
    expect(payloads.some((p) => p.includes('"motionId"'))).toBe(true);
  });

  it('the published payload schemas stay open to added fields (nothing the device emits forbids them)', () => {
    const defs = eventsJsonSchema()['$defs'] as Record<string, object>;
    const emitted = TOPIC_CATALOG.filter((e) => e.direction === 'publish').map((e) => e.name);
    const closed = emitted.filter((name) =>
      JSON.stringify(defs[name]).includes('"additionalProperties":false'),
    );
    expect(closed).toEqual([]);
  });
});

/** The schema as a consumer following the compatibility rule reads it: unknown fields are ignored. */
function ignoringUnknownFields(schema: object): object {
  return JSON.parse(
    JSON.stringify(schema).replaceAll('"additionalProperties":false', '"additionalProperties":true'),
  );
}
