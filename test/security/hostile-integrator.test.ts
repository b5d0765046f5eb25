import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { verifyAuditLog } from '../../src/audit/audit-verify.js';
import { BrokerAuth, hashPassword, type UsersFile } from '../../src/mqtt/auth.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { mosquittoAcl } from '../../src/mqtt/mosquitto-acl.js';
import { encryptFile } from '../../src/privacy/envelope.js';
import { generateOwnerKeys } from '../../src/privacy/owner-keys.js';
import { CLIP_META } from '../../src/storage/clip-metadata.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { clipObjectKey } from '../../src/storage/keys.js';
import { startAgent } from '../helpers/agent.js';
import { runInProcess } from '../helpers/cli.js';
import {
  connect,
  mosquittoPath,
  type Received,
  Recorder,
  runCli as runCliProcess,
  startMosquitto,
  tempDir,
} from '../helpers/mqtt.js';

/**
 * Issue 22, tried by a hostile integrator: every case is one test, run on the embedded broker (aedes, --auth) and,
 * where it applies, on mosquitto with the ACL `doorbell auth mosquitto-acl` generates.
 */

const CHEAP = { logN: 10, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const DEVICE = 'front-door';
const ROOT = `doorbell/${DEVICE}`;
const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const WINDOW = { from: new Date(T0).toISOString(), to: new Date(T0 + 60 * MIN).toISOString() };
const CLIP_IDS = ['clip-1', 'clip-2', 'clip-3'];

const USERS: Array<{ username: string; role: string; deviceId?: string; devices?: string[] }> = [
  { username: 'dev-front', role: 'device', deviceId: DEVICE },
  { username: 'kim', role: 'owner', devices: [DEVICE] },
  { username: 'int-a', role: 'integrator' },
  { username: 'int-b', role: 'integrator' },
  { username: 'neighbour', role: 'requester' },
  { username: 'neighbour-2', role: 'requester' },
  { username: 'police', role: 'agency' },
  { username: 'root', role: 'admin' },
];
const password = (username: string) => `pw-${username}-secret`;

async function usersFile(): Promise<UsersFile> {
  const users = [];
  for (const user of USERS)
    users.push({ ...user, passwordHash: await hashPassword(password(user.username), CHEAP) });
  return { users } as UsersFile;
}

interface BrokerUnderTest {
  url: string;
  /** The embedded broker refuses some publishes outright (and closes the client); mosquitto drops them. */
  embedded: boolean;
  stop(): Promise<void>;
}

async function startAedes(users: UsersFile): Promise<BrokerUnderTest> {
  const broker = new EmbeddedBroker({ port: 0, auth: new BrokerAuth({ users }) });
  await broker.start();
  return { url: broker.url, embedded: true, stop: () => broker.stop() };
}

async function startMosquittoWithAcl(users: UsersFile): Promise<BrokerUnderTest> {
  const dir = tempDir('mosquitto-acl-');
  chmodSync(dir, 0o755);
  const passwd = join(dir, 'passwd');
  for (const [i, user] of USERS.entries()) {
    const args = ['-b', ...(i === 0 ? ['-c'] : []), passwd, user.username, password(user.username)];
    const result = spawnSync('mosquitto_passwd', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`mosquitto_passwd: ${result.stderr}`);
  }
  const acl = join(dir, 'acl');
  writeFileSync(acl, mosquittoAcl(users, { prefix: 'doorbell', discoveryPrefix: 'homeassistant' }));
  // mosquitto started as root reads these as the `mosquitto` user.
  chmodSync(passwd, 0o644);
  chmodSync(acl, 0o644);
  const broker = await startMosquitto(
    ['allow_anonymous false', `password_file ${passwd}`, `acl_file ${acl}`, 'use_username_as_clientid true'],
    { username: 'root', password: password('root') },
  );
  return { url: broker.url, embedded: false, stop: () => broker.stop() };
}

const brokers = [
  { name: 'embedded broker (aedes, --auth)', start: startAedes, embedded: true, available: true },
  {
    name: 'mosquitto with the generated ACL',
    start: startMosquittoWithAcl,
    embedded: false,
    available: Boolean(mosquittoPath()) && spawnSync('which', ['mosquitto_passwd']).status === 0,
  },
];

async function seedClips(bucketDir: string): Promise<FsBucket> {
  const bucket = new FsBucket(bucketDir);
  const dir = tempDir();
  for (const [i, clipId] of CLIP_IDS.entries()) {
    const start = T0 + (10 + i * 10) * MIN;
    const recordedAt = new Date(start).toISOString();
    const file = join(dir, `${clipId}.mp4`);
    writeFileSync(file, `fake mp4 bytes of ${clipId}`);
    await bucket.put(clipObjectKey({ deviceId: DEVICE, clipId, recordedAt }, 'clip'), file, {
      'device-id': DEVICE,
      'clip-id': clipId,
      'recorded-at': recordedAt,
      'started-at': recordedAt,
      'ended-at': new Date(start + 2 * MIN).toISOString(),
      'retention-days': '60',
      'retain-until': new Date(start + 60 * 86_400_000).toISOString(),
      'legal-hold': 'false',
      encrypted: 'false',
    });
  }
  return bucket;
}

for (const target of brokers) {
  describe.skipIf(!target.available)(`hostile integrator on the ${target.name}`, () => {
    let broker: BrokerUnderTest;
    let agent: Agent;
    let bucket: FsBucket;
    const dataDir = tempDir('hostile-');
    const clients: MqttClient[] = [];
    /** Everything each user's client delivered, subscribed to everything its role might try. */
    const seen: Record<string, Recorder> = {};

    const sessions = new Map<string, Recorder>();

    /**
     * One connection per user, kept for the whole suite: mosquitto with use_username_as_clientid (which keeps
     * device client ids for devices) lets each user hold one session, and a second login would end the first.
     */
    async function session(username: string): Promise<Recorder> {
      const existing = sessions.get(username);
      if (existing) return existing;
      const client = await connect(broker.url, {
        username,
        password: password(username),
        protocolVersion: target.embedded ? 4 : 5,
      });
      clients.push(client);
      const recorder = new Recorder(client);
      sessions.set(username, recorder);
      return recorder;
    }

    const login = async (username: string) => (await session(username)).client;

    /**
     * Publishes what should be refused from a connection of its own (no reconnect) and returns once the broker has
     * refused it: then it was never forwarded to the device. The embedded broker refuses by closing the connection
     * (MQTT 3.1.1 has no NACK); mosquitto answers an MQTT 5 QoS 1 publish with PUBACK 0x87 (not authorized).
     */
    async function attempt(username: string, topic: string, payload: string): Promise<void> {
      const client = await connect(broker.url, {
        username,
        password: password(username),
        reconnectPeriod: 0,
        protocolVersion: target.embedded ? 4 : 5,
      });
      if (target.embedded) {
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        client.publish(topic, payload, { qos: 0 });
        await closed;
      } else {
        await expect(client.publishAsync(topic, payload, { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
      }
      await client.endAsync(true);
    }

    /**
     * A barrier on the device's output: `username` asks for the state and waits for the answer. The device sends
     * it after everything it published before, and the broker keeps one publisher's order, so once `username` has
     * the answer it has whatever else the device published to it earlier.
     */
    async function roundTrip(username: string, tag: string): Promise<void> {
      const recorder = await watch(username, [`${ROOT}/response/state`]);
      await recorder.client.publishAsync(`${ROOT}/request/state`, JSON.stringify({ transaction: tag }), {
        qos: 1,
      });
      await recorder.waitForTopic(`${ROOT}/response/state`, (t) => t.includes(`"transaction":"${tag}"`));
    }

    /** Subscribes to each filter on its own; a refused filter (SUBACK 0x80) is fine: it delivers nothing. */
    async function watch(username: string, filters: string[]): Promise<Recorder> {
      const recorder = await session(username);
      for (const filter of filters)
        await recorder.client.subscribeAsync(filter, { qos: 1 }).catch(() => undefined);
      return recorder;
    }

    /**
     * watch(), then a subscription to the retained availability, waited for: retained messages come right after
     * each subscription, in order, so once it has come the filters before it have brought all they were going to.
     */
    async function watchSettled(username: string, filters: string[]): Promise<Recorder> {
      const availability = `${ROOT}/availability`;
      const recorder = await session(username);
      // mqtt.js sends no SUBSCRIBE for a filter it already holds: drop it first, so the broker sends it again.
      await recorder.client.unsubscribeAsync(availability);
      const known = recorder.on(availability).length;
      await watch(username, [...filters, availability]);
      await recorder.waitFor(
        (ms) => ms.filter((m) => m.topic === availability).length > known,
        5000,
        `the retained ${availability}`,
      );
      return recorder;
    }

    const startDevice = () =>
      startAgent(
        broker.url,
        DEVICE,
        {
          privacy: { sharing: { policy: 'allow', consentTimeoutMs: 3000, linkTtlMs: 10 * MIN } },
        } as never,
        {
          dataDir,
          username: 'dev-front',
          password: password('dev-front'),
          protocolVersion: target.embedded ? 4 : 5,
        },
      );

    beforeAll(async () => {
      broker = await target.start(await usersFile());
      agent = await startDevice();
      bucket = await seedClips(join(dataDir, 'bucket'));
      seen['int-a'] = await watch('int-a', [
        '#',
        'doorbell/#',
        'doorbell/+/response/+',
        `${ROOT}/requester/#`,
      ]);
      seen['kim'] = await watch('kim', [`${ROOT}/#`]);
      seen['neighbour-2'] = await watch('neighbour-2', [`${ROOT}/requester/neighbour-2/#`, `${ROOT}/#`]);
    });

    afterAll(async () => {
      await Promise.all(clients.map((client) => client.endAsync(true)));
      await agent?.stop();
      await broker?.stop();
    });

    const shareTraffic = (messages: Received[]) =>
      messages.filter(
        (m) =>
          m.topic.includes('/requester/') ||
          /\/(request|response)\/(share|legal-demand)/.test(m.topic) ||
          m.text.includes('/shared/'),
      );

    it('case 1: a released footage link reaches only the requester and the owner; integrators see no share traffic', async () => {
      const neighbour = await watch('neighbour', [`${ROOT}/requester/neighbour/#`]);
      await neighbour.client.publishAsync(
        `${ROOT}/requester/neighbour/request/share`,
        JSON.stringify({ requestId: 'req-1', reason: 'bike stolen', window: WINDOW, transaction: 'n-1' }),
        { qos: 1 },
      );
      const released = (m: Received) =>
        m.topic === `${ROOT}/requester/neighbour/response/share` && m.text.includes('/shared/');
      await neighbour.waitFor((ms) => ms.some(released), 8000, 'the release');
      const answer = JSON.parse(neighbour.messages.find(released)!.text) as {
        data: { clips: Array<{ clipId: string; url: string }> };
      };
      expect(answer.data.clips.map((c) => c.clipId)).toEqual(CLIP_IDS);
      await seen['kim']!.waitFor((ms) => ms.some(released), 5000, 'the owner copy of the release');
      // The old, self-declared way is closed too: a share on request/share is refused, not answered.
      await attempt(
        'int-b',
        `${ROOT}/request/share`,
        JSON.stringify({ requestId: 'req-x', reason: 'x', window: WINDOW }),
      );
      // attempt() returned on the broker's refusal; what the device published before (the release) now reaches
      // int-a ahead of a state answer, and neighbour-2 ahead of the answer to a malformed share of its own.
      await roundTrip('int-a', 'case-1');
      const neighbour2 = seen['neighbour-2']!;
      await neighbour2.client.publishAsync(
        `${ROOT}/requester/neighbour-2/request/share`,
        JSON.stringify({ transaction: 'barrier-1' }),
        { qos: 1 },
      );
      await neighbour2.waitForTopic(`${ROOT}/requester/neighbour-2/response/share`, (t) =>
        t.includes('barrier-1'),
      );
      expect(shareTraffic(seen['int-a']!.messages)).toEqual([]);
      expect(shareTraffic(neighbour2.messages).filter((m) => !m.text.includes('barrier-1'))).toEqual([]);
    });

    it('case 2: a forged agency is refused; legal holds need the broker agency role; the audit log names the broker user', async () => {
      const demand = { requestId: 'ld-1', reason: 'preservation', demandRef: 'PR-1', window: WINDOW };
      // A requester (not an agency) in its own namespace, and an integrator on the old topic with a forged agency.
      await attempt('neighbour', `${ROOT}/requester/neighbour/request/legal-demand`, JSON.stringify(demand));
      const forged = { ...demand, requestId: 'ld-2', requester: { kind: 'agency', identity: 'City Police' } };
      await attempt('int-b', `${ROOT}/request/legal-demand`, JSON.stringify(forged));
      await attempt('int-b', `${ROOT}/requester/police/request/legal-demand`, JSON.stringify(forged));
      // No wait: attempt() returns on the broker's refusal, so none of the three reached the device.
      for (const clipId of CLIP_IDS) {
        const key = clipObjectKey({ deviceId: DEVICE, clipId, recordedAt: WINDOW.from }, 'clip');
        expect((await bucket.head(key))!.metadata[CLIP_META.legalHold]).toBe('false');
      }
      // The agency, with a self-declared identity in the payload: refused, naming the field.
      const police = await watch('police', [`${ROOT}/requester/police/#`]);
      await police.client.publishAsync(
        `${ROOT}/requester/police/request/legal-demand`,
        JSON.stringify({
          ...demand,
          requestId: 'ld-3',
          requester: { kind: 'agency', identity: 'FBI' },
          transaction: 'p-0',
        }),
        { qos: 1 },
      );
      const refused = await police.waitForTopic(`${ROOT}/requester/police/response/legal-demand`, (t) =>
        t.includes('p-0'),
      );
      expect(JSON.parse(refused.text)).toMatchObject({
        status: 'error',
        error: { code: 'invalid-arguments', message: expect.stringMatching(/^requester: /) },
      });
      await police.client.publishAsync(
        `${ROOT}/requester/police/request/legal-demand`,
        JSON.stringify({ ...demand, requestId: 'ld-4', transaction: 'p-1' }),
        { qos: 1 },
      );
      const ok = await police.waitForTopic(`${ROOT}/requester/police/response/legal-demand`, (t) =>
        t.includes('p-1'),
      );
      expect(JSON.parse(ok.text)).toMatchObject({ status: 'ok', data: { hold: 'recorded' } });
      const lines = readFileSync(join(dataDir, DEVICE, 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const demandEntry = lines.find((l) => l['requestId'] === 'ld-4' && l['type'] === 'share-request')!;
      expect(demandEntry).toMatchObject({
        actor: 'agency:police',
        requester: { kind: 'agency', identity: 'police' },
      });
      expect(lines.filter((l) => l['requestId'] !== 'ld-4' && l['requestId'] !== 'req-1')).toEqual([]);
      expect(JSON.stringify(lines)).not.toContain('City Police');
    });

    it('case 3: retained requests are never run again on reconnect (and the embedded broker refuses to retain them)', async () => {
      // A fresh connection: the embedded broker closes it on the refused publish.
      const attacker = await connect(broker.url, {
        username: 'int-b',
        password: password('int-b'),
        reconnectPeriod: 0,
        protocolVersion: target.embedded ? 4 : 5,
      });
      const outcome = await Promise.race([
        Promise.all([
          attacker.publishAsync(`${ROOT}/request/motion`, '{"enabled":false}', { qos: 1, retain: true }),
          attacker.publishAsync(`${ROOT}/request/press`, '{}', { qos: 1, retain: true }),
        ]).then(() => 'stored'),
        new Promise<string>((resolve) => attacker.once('close', () => resolve('refused'))),
      ]);
      expect(outcome).toBe(target.embedded ? 'refused' : 'stored');
      await attacker.endAsync(true);
      const kim = await login('kim');
      await kim.publishAsync(`${ROOT}/request/motion`, '{"enabled":true}', { qos: 1 });
      await expect.poll(() => agent.profile.motion.enabled).toBe(true);
      // Rings, not their ends: the stop below ends every ring still waiting (as missed).
      const rings = () =>
        seen['int-a']!.on(`${ROOT}/events/ding`).filter((m) => !m.text.includes('"thread":"ended"')).length;
      const dings = rings();
      await agent.stop();
      agent = await startDevice();
      // A retained request comes right after the device's subscription, so before a request sent once the broker
      // has acknowledged it; the press would have sent its ding before the answer.
      await vi.waitFor(() => expect(agent.acceptingCommands).toBe(true), { timeout: 5000, interval: 10 });
      await roundTrip('int-a', 'case-3');
      expect(agent.profile.motion.enabled).toBe(true);
      expect(rings()).toBe(dings);
      if (target.embedded) {
        const admin = await watchSettled('root', [`${ROOT}/request/+`]);
        expect(admin.messages.filter((m) => m.retain && m.topic.includes('/request/'))).toEqual([]);
      }
    });

    it("case 4: a device's client id is reserved to its device user: no takeover, no forced will", async () => {
      const offlineBefore = seen['int-a']!.on(`${ROOT}/availability`).filter(
        (m) => m.text === 'offline',
      ).length;
      for (let attempt = 0; attempt < 3; attempt++) {
        const taken = await connect(broker.url, {
          username: 'int-b',
          password: password('int-b'),
          clientId: `doorbell-${DEVICE}`,
          reconnectPeriod: 0,
          connectTimeout: 2000,
        }).then(
          (client) => client,
          (error: { code?: number }) => error,
        );
        if (target.embedded) expect(taken).toMatchObject({ code: 2 });
        else await (taken as MqttClient).endAsync(true);
      }
      // A takeover would have ended the device's session, and sent its will, before the broker answered the
      // connect; a state answer after that reaches int-a behind the will.
      await roundTrip('int-a', 'case-4');
      expect(agent.mqttConnected).toBe(true);
      expect(seen['int-a']!.on(`${ROOT}/availability`).filter((m) => m.text === 'offline').length).toBe(
        offlineBefore,
      );
    });

    it("case 5: one requester's flood cannot block another's request; the owner gets one prompt per requester", async () => {
      const kim = await login('kim');
      await kim.publishAsync(`${ROOT}/request/share-policy`, '{"policy":"ask"}', { qos: 1 });
      await expect.poll(() => agent.profile.privacy.sharing.policy).toBe('ask');
      seen['kim']!.clear();
      const flooder = await watch('neighbour-2', [`${ROOT}/requester/neighbour-2/response/share`]);
      for (let i = 0; i < 20; i++) {
        flooder.client.publish(
          `${ROOT}/requester/neighbour-2/request/share`,
          JSON.stringify({ requestId: `flood-${i}`, reason: 'flood', window: WINDOW, transaction: `f-${i}` }),
          { qos: 1 },
        );
      }
      const floodAnswers = (ms: Received[]) =>
        ms.filter((m) => m.topic.endsWith('/response/share') && /"transaction":"f-/.test(m.text));
      // Overlapping subscriptions may deliver a message more than once (mosquitto does): count each once.
      const unique = (ms: Received[]) => [...new Set(floodAnswers(ms).map((m) => m.text))];
      await flooder.waitFor((ms) => unique(ms).length >= 20, 8000, 'twenty answers');
      const bodies = unique(flooder.messages).map(
        (text) => JSON.parse(text) as { data?: { received?: boolean }; error?: { code: string } },
      );
      expect(bodies.filter((b) => b.data?.received === true)).toHaveLength(1);
      expect(bodies.filter((b) => b.error?.code === 'busy')).toHaveLength(19);
      const police = await watch('police', [`${ROOT}/requester/police/response/share`]);
      await police.client.publishAsync(
        `${ROOT}/requester/police/request/share`,
        JSON.stringify({ requestId: 'other-1', reason: 'burglary', window: WINDOW, transaction: 'o-1' }),
        { qos: 1 },
      );
      const answer = await police.waitForTopic(`${ROOT}/requester/police/response/share`, (t) =>
        t.includes('o-1'),
      );
      expect(JSON.parse(answer.text)).toMatchObject({ status: 'ok', data: { received: true } });
      await seen['kim']!.waitFor(
        (ms) => ms.filter((m) => m.topic === `${ROOT}/owner/consent`).length >= 2,
        5000,
        'two prompts',
      );
      // Every request has been answered, and a prompt goes out before its answer: a state answer to the owner
      // comes behind any further prompt.
      await roundTrip('kim', 'case-5');
      const prompts = seen['kim']!.on(`${ROOT}/owner/consent`).map(
        (m) => (JSON.parse(m.text) as { requester: { identity: string } }).requester.identity,
      );
      expect(prompts.sort()).toEqual(['neighbour-2', 'police']);
      // Both requests run their course: answered "no footage" at the deadline, to each requester alone.
      await police.waitForTopic(`${ROOT}/requester/police/response/share`, (t) => t.includes('"clips":[]'));
      await flooder.waitFor(
        (ms) => ms.some((m) => /"clips":\[\],?.*"transaction":"f-0"/.test(m.text)),
        5000,
        'the final answer',
      );
      await kim.publishAsync(`${ROOT}/request/share-policy`, '{"policy":"allow"}', { qos: 1 });
    });

    it.skipIf(target.embedded)(
      "case 6: an MQTT 5 answer goes only to a response topic inside the asker's namespace",
      async () => {
        const admin = await watch('root', ['#']);
        const intA = await watch('int-a', [`${ROOT}/requester/int-a/#`]);
        const forbidden = [
          'doorbell/other-door/events/ding',
          `${ROOT}/availability`,
          `homeassistant/button/${DEVICE}/ring_button/config`,
          'homeassistant/status',
          ROOT,
          `${ROOT}/requester/int-b/reply`,
        ];
        for (const [i, responseTopic] of forbidden.entries()) {
          for (const topic of [`${ROOT}/request/state`, `${ROOT}/requester/int-a/request/state`]) {
            await intA.client.publishAsync(topic, JSON.stringify({ transaction: `bad-${i}` }), {
              qos: 1,
              properties: { responseTopic, correlationData: Buffer.from(`c-${i}`) },
            });
          }
        }
        const mine = `${ROOT}/requester/int-a/reply/1`;
        await intA.client.publishAsync(`${ROOT}/requester/int-a/request/state`, '{"transaction":"good"}', {
          qos: 1,
          properties: { responseTopic: mine, correlationData: Buffer.from('c-good') },
        });
        const reply = await intA.waitForTopic(mine);
        expect(JSON.parse(reply.text)).toMatchObject({
          status: 'ok',
          transaction: 'good',
          data: { deviceId: DEVICE },
        });
        expect(Buffer.from(reply.properties?.['correlationData'] as Buffer).toString()).toBe('c-good');
        // The device answered the bad requests first: once the admin sees the good reply, it has seen those.
        await admin.waitForTopic(mine);
        const misdirected = admin.messages.filter(
          (m) => forbidden.includes(m.topic) && m.text.includes('bad-'),
        );
        expect(misdirected).toEqual([]);
      },
    );

    it('case 9: the audit head is published (retained, owner only); a truncated log fails against it, a duplicate key fails on its own', async () => {
      const owner = await session('kim');
      owner.clear();
      await owner.client.subscribeAsync(`${ROOT}/owner/audit-head`, { qos: 1 });
      const headMessage = await owner.waitForTopic(`${ROOT}/owner/audit-head`, () => true);
      expect(headMessage.retain).toBe(true);
      const head = JSON.parse(headMessage.text) as { seq: number; hash: string };
      const path = join(dataDir, DEVICE, 'audit.jsonl');
      expect(await verifyAuditLog(path, { expectedHead: head.hash })).toMatchObject({
        ok: true,
        records: head.seq,
      });
      const intB = await watchSettled('int-b', [`${ROOT}/owner/audit-head`, '#']);
      expect(intB.messages.filter((m) => m.topic.endsWith('/audit-head'))).toEqual([]);

      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      const truncated = join(tempDir(), 'audit.jsonl');
      writeFileSync(truncated, `${lines.slice(0, -1).join('\n')}\n`);
      expect(await verifyAuditLog(truncated)).toMatchObject({ ok: true });
      // Without --head: the verifier reads the head the device published, as the owner.
      const asOwner = [
        '--broker',
        broker.url,
        '--id',
        DEVICE,
        '--username',
        'kim',
        '--password',
        password('kim'),
      ];
      const cli = await runInProcess(['audit', 'verify', truncated, ...asOwner]);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/records were removed or rewritten/);
      expect((await runInProcess(['audit', 'verify', path, ...asOwner])).code).toBe(0);
      const asIntegrator = [
        '--broker',
        broker.url,
        '--id',
        DEVICE,
        '--username',
        'int-a',
        '--password',
        password('int-a'),
      ];
      const refused = await runInProcess([
        'audit',
        'verify',
        truncated,
        ...asIntegrator,
        '--timeout',
        '1000',
      ]);
      expect(refused.code).toBe(3);

      const duplicated = join(tempDir(), 'audit.jsonl');
      const decision = lines.findIndex((l) => l.includes('"decision":"'));
      const edited = lines.map((l, i) => (i === decision ? l.replace(/^\{/, '{"decision":"approve",') : l));
      writeFileSync(duplicated, `${edited.join('\n')}\n`);
      expect(await verifyAuditLog(duplicated)).toMatchObject({
        ok: false,
        line: decision + 1,
        reason: expect.stringMatching(/canonical form/),
      });
    });

    it('case 10: integrators cannot read $SYS (client ids, filters)', async () => {
      const intB = await session('int-b');
      const received: string[] = [];
      intB.client.on('message', (topic) => received.push(topic));
      const refused = await intB.client.subscribeAsync('$SYS/#', { qos: 0 }).then(
        () => false,
        () => true,
      );
      // Once the retained availability is in, the $SYS/# subscription (if granted) has brought the retained $SYS
      // topics (mosquitto keeps them all retained).
      await watchSettled('int-b', []);
      if (target.embedded) {
        // A new connection: the embedded broker announces it, and its end, on $SYS. Once the admin has the end,
        // a round trip of int-b's to the device comes behind anything the broker forwarded to int-b with it.
        const admin = await watch('root', ['$SYS/#']);
        const probe = await connect(broker.url, {
          username: 'neighbour',
          password: password('neighbour'),
          reconnectPeriod: 0,
        });
        const probeId = probe.options.clientId;
        await probe.endAsync();
        await admin.waitFor(
          (ms) => ms.some((m) => m.topic.endsWith('/disconnect/clients') && m.text === probeId),
          5000,
          'the announcement of the probe',
        );
        await roundTrip('int-b', 'case-10');
      }
      expect(received.filter((topic) => topic.startsWith('$'))).toEqual([]);
      if (target.embedded) expect(refused).toBe(true);
    });
  });
}

describe('hostile integrator, broker-independent cases', () => {
  it('case 7: the embedded broker off loopback needs --auth, or --insecure-anonymous with a warning', async () => {
    const open = new EmbeddedBroker({ host: '0.0.0.0', port: 0 });
    await expect(open.start()).rejects.toThrow(/not loopback: the broker needs --auth/);
    const refused = await runInProcess(['broker', '--host', '0.0.0.0', '--port', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^doorbell broker: --host 0\.0\.0\.0 is not loopback/),
    ]);
    const start = runCliProcess([
      'start',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--video',
      'none',
      '--data-dir',
      tempDir(),
    ]);
    expect(start.code).toBe(2);
    expect(start.stderr).toMatch(/needs --auth/);
    const insecure = new EmbeddedBroker({ host: '0.0.0.0', port: 0, insecureAnonymous: true });
    await insecure.start();
    expect(insecure.port).toBeGreaterThan(0);
    await insecure.stop();
  });

  it('case 8: an encrypted object copied over another clip key is refused, not opened as that clip', async () => {
    const dir = tempDir('swap-');
    const keys = generateOwnerKeys();
    writeFileSync(join(dir, 'owner.pem'), keys.privateKeyPem);
    const bucket = new FsBucket(join(dir, 'bucket'));
    const key = (clipId: string) =>
      clipObjectKey({ deviceId: DEVICE, clipId, recordedAt: '2026-03-01T10:00:00Z' });
    for (const clipId of ['clip-1', 'clip-8']) {
      writeFileSync(join(dir, clipId), `the video of ${clipId}`);
      await encryptFile(join(dir, clipId), join(dir, `${clipId}.enc`), keys.publicKeyPem, {
        binding: { key: key(clipId), clipId },
      });
      await bucket.put(key(clipId), join(dir, `${clipId}.enc`), { encrypted: 'true' });
    }
    const opened = await runInProcess(
      ['decrypt', key('clip-1'), '--key', 'owner.pem', '--bucket', 'bucket', '--out', 'ok.mp4'],
      { cwd: dir },
    );
    expect(opened.code).toBe(0);
    expect(readFileSync(join(dir, 'ok.mp4'), 'utf8')).toBe('the video of clip-1');
    copyFileSync(join(dir, 'bucket', key('clip-8')), join(dir, 'bucket', key('clip-1')));
    const swapped = await runInProcess(
      ['decrypt', key('clip-1'), '--key', 'owner.pem', '--bucket', 'bucket', '--out', 'swapped.mp4'],
      { cwd: dir },
    );
    expect(swapped.code).toBe(2);
    expect(swapped.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/sealed as .*clip-8\.mp4 .*swapped/),
    ]);
    // An envelope that says it is another object, edited to say it is this one, no longer authenticates.
    const bytes = readFileSync(join(dir, 'bucket', key('clip-8')));
    const forged = Buffer.from(
      bytes.toString('latin1').replace('clip-8.mp4","clip":"clip-8', 'clip-1.mp4","clip":"clip-1'),
      'latin1',
    );
    writeFileSync(join(dir, 'bucket', key('clip-1')), forged);
    const edited = await runInProcess(
      ['decrypt', key('clip-1'), '--key', 'owner.pem', '--bucket', 'bucket', '--out', 'edited.mp4'],
      { cwd: dir },
    );
    expect(edited.code).toBe(2);
    expect(edited.stderr).toMatch(/authentication failed/);
  });

  it('case 10: `doorbell decrypt ../../etc/passwd --bucket b` is one line, exit 2, no stack trace', () => {
    for (const args of [
      ['decrypt', '../../etc/passwd', '--bucket', 'b'],
      ['decrypt', '../../etc/passwd', '--bucket', 'b', '--key', 'owner.pem'],
      ['hold', 'set', '../../etc/passwd', '--bucket', tempDir()],
    ]) {
      const result = runCliProcess(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    }
  });
});
