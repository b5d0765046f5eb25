import { readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { silentLogger } from '../../src/log/logger.js';
import { BrokerAuth, hashPassword, type UsersFile } from '../../src/mqtt/auth.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import { connect, makeTestPki, subscriber, type TestPki, tempDir } from '../helpers/mqtt.js';

const CHEAP = { logN: 10, r: 8, p: 1, keyLength: 32, saltLength: 16 };

async function usersFile(): Promise<UsersFile> {
  const hash = (pw: string) => hashPassword(pw, CHEAP);
  return {
    users: [
      { username: 'door-a', role: 'device', deviceId: 'door-a', passwordHash: await hash('pw-door-a') },
      { username: 'door-b', role: 'device', deviceId: 'door-b', passwordHash: await hash('pw-door-b') },
      { username: 'ha', role: 'integrator', passwordHash: await hash('pw-integrator') },
      { username: 'kim', role: 'owner', devices: ['door-a'], passwordHash: await hash('pw-owner') },
    ],
  };
}

/** Publishes what the broker must refuse; resolves once it has closed the connection (3.1.1 has no NACK). */
async function publishRefused(
  client: MqttClient,
  topic: string,
  payload: string,
  options: { retain?: boolean } = {},
): Promise<void> {
  const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
  client.publish(topic, payload, { qos: 1, ...options });
  await gone;
}

async function connectError(
  url: string,
  options: Parameters<typeof connect>[1],
): Promise<Error & { code?: number }> {
  try {
    const client = await connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
    await client.endAsync(true);
  } catch (error) {
    return error as Error & { code?: number };
  }
  throw new Error('connected, but it should have been refused');
}

describe('embedded broker with --auth', () => {
  let broker: EmbeddedBroker;
  let integrator: Awaited<ReturnType<typeof subscriber>>;
  const cleanup: MqttClient[] = [];

  beforeAll(async () => {
    broker = new EmbeddedBroker({ port: 0, auth: new BrokerAuth({ users: await usersFile() }) });
    await broker.start();
    integrator = await subscriber(broker.url, 'doorbell/#', { username: 'ha', password: 'pw-integrator' });
  });

  afterAll(async () => {
    await Promise.all(cleanup.map((client) => client.endAsync(true)));
    await integrator?.client.endAsync(true);
    await broker?.stop();
  });

  it('refuses a wrong password, an unknown user and a missing username at CONNACK', async () => {
    const wrong = await connectError(broker.url, { username: 'door-a', password: 'pw-door-b' });
    expect(wrong.message).toMatch(/Bad username or password/);
    expect(wrong.code).toBe(4);
    const unknown = await connectError(broker.url, { username: 'mallory', password: 'pw-door-a' });
    expect(unknown.code).toBe(4);
    const anonymous = await connectError(broker.url, {});
    expect(anonymous.code).toBe(5);
  });

  it("device A cannot publish on device B's topics: the broker drops the message and closes A", async () => {
    const deviceA = await connect(broker.url, {
      username: 'door-a',
      password: 'pw-door-a',
      reconnectPeriod: 0,
    });
    cleanup.push(deviceA);
    await deviceA.publishAsync('doorbell/door-a/state', '{"mine":true}', { qos: 1 });
    await integrator.waitForTopic('doorbell/door-a/state');

    await publishRefused(deviceA, 'doorbell/door-b/events/ding', '{"forged":true}');
    const again = await connect(broker.url, {
      username: 'door-a',
      password: 'pw-door-a',
      reconnectPeriod: 0,
    });
    cleanup.push(again);
    await publishRefused(again, 'doorbell/door-b/request/press', '{}');

    // A marker sent afterwards arrives; the forged messages never did.
    const deviceB = await connect(broker.url, { username: 'door-b', password: 'pw-door-b' });
    cleanup.push(deviceB);
    await deviceB.publishAsync('doorbell/door-b/state', 'marker', { qos: 1 });
    await integrator.waitForTopic('doorbell/door-b/state', (t) => t === 'marker');
    expect(integrator.on('doorbell/door-b/events/ding')).toEqual([]);
    expect(integrator.on('doorbell/door-b/request/press')).toEqual([]);
  });

  it("device A cannot read device B's requests (SUBACK 0x80) but reads its own", async () => {
    const deviceA = await connect(broker.url, { username: 'door-a', password: 'pw-door-a' });
    cleanup.push(deviceA);
    const received: string[] = [];
    deviceA.on('message', (topic) => received.push(topic));
    // mqtt.js rejects a SUBACK with any 0x80 code; the packet still lists every code.
    const suback = await deviceA
      .subscribeAsync(
        ['doorbell/door-b/request/+', 'doorbell/+/request/+', 'doorbell/#', 'doorbell/door-a/request/+'],
        { qos: 1 },
      )
      .then(
        () => undefined,
        (error: { packet?: { granted: number[] } }) => error.packet?.granted,
      );
    expect(suback).toEqual([128, 128, 128, 1]);
    await integrator.client.publishAsync('doorbell/door-b/request/state', '{"transaction":"for-b"}', {
      qos: 1,
    });
    await integrator.client.publishAsync('doorbell/door-a/request/state', '{"transaction":"for-a"}', {
      qos: 1,
    });
    // Sent after the request for door-b on the same connection: once it is here, door-b's would have been too.
    await expect.poll(() => received).toContain('doorbell/door-a/request/state');
    expect(received).toEqual(['doorbell/door-a/request/state']);
    expect(deviceA.connected).toBe(true);
  });

  it('an integrator writes requests but cannot forge device state', async () => {
    const tool = await connect(broker.url, { username: 'ha', password: 'pw-integrator', reconnectPeriod: 0 });
    cleanup.push(tool);
    await tool.publishAsync('doorbell/door-b/request/press', '{"transaction":"ok"}', { qos: 1 });
    await integrator.waitForTopic('doorbell/door-b/request/press');
    await publishRefused(tool, 'doorbell/door-b/availability', 'offline', { retain: true });
    const late = await subscriber(broker.url, 'doorbell/door-b/availability', {
      username: 'ha',
      password: 'pw-integrator',
    });
    // A marker from door-b itself arrives after anything retained there would have.
    const deviceB = await connect(broker.url, { username: 'door-b', password: 'pw-door-b' });
    cleanup.push(deviceB);
    await deviceB.publishAsync('doorbell/door-b/availability', 'marker', { qos: 1 });
    await late.waitForTopic('doorbell/door-b/availability', (t) => t === 'marker');
    expect(late.messages.map((m) => m.text)).toEqual(['marker']);
    await late.client.endAsync(true);
  });

  it("only the owner reads consent prompts and sends share decisions; an integrator's wildcard skips them", async () => {
    const owner = await subscriber(broker.url, 'doorbell/door-a/#', {
      username: 'kim',
      password: 'pw-owner',
    });
    cleanup.push(owner.client);
    const device = await subscriber(broker.url, 'doorbell/door-a/request/+', {
      username: 'door-a',
      password: 'pw-door-a',
    });
    cleanup.push(device.client);
    await device.client.publishAsync('doorbell/door-a/owner/consent', '{"requestId":"r1"}', { qos: 1 });
    await device.client.publishAsync('doorbell/door-a/events/ding', 'after-consent', { qos: 1 });
    await owner.waitForTopic('doorbell/door-a/owner/consent');
    await integrator.waitForTopic('doorbell/door-a/events/ding', (t) => t === 'after-consent');
    expect(integrator.on('doorbell/door-a/owner/consent')).toEqual([]);

    await owner.client.publishAsync(
      'doorbell/door-a/request/share-decision',
      '{"requestId":"r1","decision":"approve"}',
      {
        qos: 1,
      },
    );
    await device.waitForTopic('doorbell/door-a/request/share-decision');
    await device.client.publishAsync('doorbell/door-a/response/share-decision', '{"status":"ok"}', {
      qos: 1,
    });
    await owner.waitForTopic('doorbell/door-a/response/share-decision');
    const requester = await connect(broker.url, {
      username: 'ha',
      password: 'pw-integrator',
      reconnectPeriod: 0,
    });
    cleanup.push(requester);
    await publishRefused(
      requester,
      'doorbell/door-a/request/share-decision',
      '{"requestId":"r2","decision":"approve"}',
    );
    await owner.client.publishAsync('doorbell/door-a/request/state', 'marker', { qos: 1 });
    await device.waitForTopic('doorbell/door-a/request/state', (t) => t === 'marker');
    expect(device.on('doorbell/door-a/request/share-decision').map((m) => m.text)).toEqual([
      '{"requestId":"r1","decision":"approve"}',
    ]);
    // The integrator, subscribed to doorbell/#, saw neither the owner's decision nor its answer.
    await integrator.waitForTopic('doorbell/door-a/request/state', (t) => t === 'marker');
    expect(integrator.on('doorbell/door-a/request/share-decision')).toEqual([]);
    expect(integrator.on('doorbell/door-a/response/share-decision')).toEqual([]);
  });

  it("a known device's client id is its device user's alone (CONNACK 2); other doorbell- ids stay free", async () => {
    const takeover = await connectError(broker.url, {
      username: 'ha',
      password: 'pw-integrator',
      clientId: 'doorbell-door-a',
    });
    expect(takeover.code).toBe(2);
    const owner = await connectError(broker.url, {
      username: 'kim',
      password: 'pw-owner',
      clientId: 'doorbell-door-b',
    });
    expect(owner.code).toBe(2);
    const itself = await connect(broker.url, {
      username: 'door-a',
      password: 'pw-door-a',
      clientId: 'doorbell-door-a',
      reconnectPeriod: 0,
    });
    cleanup.push(itself);
    const tool = await connect(broker.url, {
      username: 'kim',
      password: 'pw-owner',
      clientId: 'doorbell-cli-1234',
      reconnectPeriod: 0,
    });
    cleanup.push(tool);
    expect(itself.connected && tool.connected).toBe(true);
  });

  it('session credentials let the host process run its own device without a users-file entry', async () => {
    const session = broker.auth!.issueSessionCredentials({ role: 'device', deviceId: 'door-c' });
    const device = await connect(broker.url, { ...session, reconnectPeriod: 0 });
    cleanup.push(device);
    await device.publishAsync('doorbell/door-c/state', 'from-session', { qos: 1 });
    await integrator.waitForTopic('doorbell/door-c/state', (t) => t === 'from-session');
    await publishRefused(device, 'doorbell/door-a/state', 'forged');
  });
});

describe('embedded broker TLS listener', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });

  it('serves mqtts:// with a certificate from a test CA; clients without the CA refuse the broker', async () => {
    const broker = new EmbeddedBroker({
      port: 0,
      tls: { port: 0, cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
    });
    await broker.start();
    try {
      expect(broker.tlsUrl).toBe(`mqtts://127.0.0.1:${broker.tlsPort}`);
      const watcher = await subscriber(broker.url, 'doorbell/#');
      const client = await connect(broker.tlsUrl, { ca: readFileSync(pki.caCert), reconnectPeriod: 0 });
      await client.publishAsync('doorbell/tls-door/state', 'over-tls', { qos: 1 });
      await watcher.waitForTopic('doorbell/tls-door/state', (t) => t === 'over-tls');
      await client.endAsync();
      await watcher.client.endAsync();
      const untrusted = await connectError(broker.tlsUrl, {});
      expect(untrusted.message).toMatch(/self[- ]signed|unable to verify|certificate/i);
    } finally {
      await broker.stop();
    }
  });

  it('mutual TLS: no client certificate, no connection; a certificate CN can be the username', async () => {
    const broker = new EmbeddedBroker({
      plain: false,
      auth: new BrokerAuth({ users: await usersFile(), certificateIdentity: true }),
      tls: {
        port: 0,
        cert: readFileSync(pki.serverCert),
        key: readFileSync(pki.serverKey),
        ca: readFileSync(pki.caCert),
        requireClientCert: true,
      },
    });
    await broker.start();
    try {
      expect(broker.port).toBe(0);
      expect(broker.url).toBe(broker.tlsUrl);
      const ca = readFileSync(pki.caCert);
      const noCert = await connectError(broker.tlsUrl, { ca, username: 'ha', password: 'pw-integrator' });
      expect(noCert.message).toMatch(/certificate|socket hang up|ECONNRESET|closed/i);

      const haCert = pki.client('ha');
      const watcher = await subscriber(broker.tlsUrl, 'doorbell/#', {
        ca,
        cert: readFileSync(haCert.cert),
        key: readFileSync(haCert.key),
      });
      const doorCert = pki.client('door-a');
      const door = await connect(broker.tlsUrl, {
        ca,
        cert: readFileSync(doorCert.cert),
        key: readFileSync(doorCert.key),
        reconnectPeriod: 0,
      });
      await door.publishAsync('doorbell/door-a/state', 'cert-identity', { qos: 1 });
      await watcher.waitForTopic('doorbell/door-a/state', (t) => t === 'cert-identity');
      await publishRefused(door, 'doorbell/door-b/state', 'forged');

      // A certificate whose CN is no user, without a password: refused as a bad username.
      const stranger = pki.client('stranger');
      const refused = await connectError(broker.tlsUrl, {
        ca,
        cert: readFileSync(stranger.cert),
        key: readFileSync(stranger.key),
      });
      expect(refused.code).toBe(4);
      await watcher.client.endAsync();
    } finally {
      await broker.stop();
    }
  });

  it('the agent connects over mqtts with a CA, a client certificate and a username/password', async () => {
    const broker = new EmbeddedBroker({
      port: 0,
      auth: new BrokerAuth({ users: await usersFile() }),
      tls: {
        port: 0,
        cert: readFileSync(pki.serverCert),
        key: readFileSync(pki.serverKey),
        ca: readFileSync(pki.caCert),
        requireClientCert: true,
      },
    });
    await broker.start();
    const loaded = await loadProfile('wired-1080p');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const { video: _video, ...profile } = loaded.value.profile;
    const clientCert = pki.client('door-a-device');
    const agent = new Agent({
      deviceId: 'door-a',
      profile: { ...loaded.value, profile },
      broker: {
        kind: 'external',
        connection: BrokerConnectionSchema.parse({
          url: broker.tlsUrl,
          caFile: pki.caCert,
          certFile: clientCert.cert,
          keyFile: clientCert.key,
          username: 'door-a',
          password: 'pw-door-a',
          reconnectPeriodMs: 200,
        }),
      },
      dataDir: tempDir(),
      video: null,
      logger: silentLogger(),
      bootMs: 20,
    });
    try {
      const watcher = await subscriber(broker.url, 'doorbell/door-a/#', {
        username: 'ha',
        password: 'pw-integrator',
      });
      await agent.start();
      await watcher.waitForTopic('doorbell/door-a/state', (t) => JSON.parse(t).status === 'idle');
      await watcher.client.publishAsync('doorbell/door-a/request/press', '{"transaction":"tls-1"}', {
        qos: 1,
      });
      const reply = await watcher.waitForTopic('doorbell/door-a/response/press');
      expect(JSON.parse(reply.text)).toMatchObject({
        status: 'ok',
        transaction: 'tls-1',
        data: { rang: true },
      });
      expect(watcher.on('doorbell/door-a/availability').at(-1)?.text).toBe('online');
      await watcher.client.endAsync();
    } finally {
      await agent.stop();
      await broker.stop();
    }
  });
});
