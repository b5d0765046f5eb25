import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { DingEventSchema } from '../../src/events/schemas.js';
import { silentLogger } from '../../src/log/logger.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { runInProcess } from '../helpers/cli.js';
import { freePort, spawnCli, stopChild, tempDir } from '../helpers/mqtt.js';

// Every press rings, so three presses make three events.
const EVERY_PRESS_RINGS = { debounceMs: 0, chimeWindowMs: 0, answerWindowMs: 30_000 };

const DING = (id: string) => `doorbell/${id}/events/ding`;

/** A persistent session (clean: false) that subscribes at QoS 1 and goes away, as `mosquitto_sub -c -q 1` does. */
async function persistentSubscriber(url: string, topic: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { clientId: 'sub1', clean: false, reconnectPeriod: 0 });
  await client.subscribeAsync(topic, { qos: 1 });
  return client;
}

/** Comes back as the same session and collects what the broker kept for it. */
async function collectQueued(url: string, count: number): Promise<number[]> {
  const seqs: number[] = [];
  const client = mqtt.connect(url, { clientId: 'sub1', clean: false, reconnectPeriod: 100 });
  client.on('message', (_topic, payload) =>
    seqs.push(DingEventSchema.parse(JSON.parse(payload.toString())).seq),
  );
  try {
    await expect
      .poll(() => seqs.length, { timeout: 10_000, message: `got seqs ${seqs.join(',')}` })
      .toBeGreaterThanOrEqual(count);
    return seqs;
  } finally {
    await client.endAsync();
  }
}

async function wiredProfile() {
  const loaded = await loadProfile('wired-1080p');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.value;
}

async function embeddedAgent(dataDir: string, port: number, persistence?: 'memory' | 'disk'): Promise<Agent> {
  const loaded = { value: await wiredProfile() };
  const agent = new Agent({
    deviceId: 'porch',
    profile: { ...loaded.value, profile: { ...loaded.value.profile, button: EVERY_PRESS_RINGS } },
    broker: { kind: 'embedded', host: '127.0.0.1', port, ...(persistence ? { persistence } : {}) },
    dataDir,
    bucket: join(dataDir, 'bucket'),
    logger: silentLogger(),
    video: null,
    bootMs: 0,
  });
  await agent.start();
  await expect.poll(() => agent.doorbell.state().status, { timeout: 5000 }).not.toBe('booting');
  return agent;
}

describe('the embedded broker keeps persistent sessions across restarts', () => {
  const running: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const stop of running.splice(0).reverse()) await stop();
  });

  it('a subscriber offline across a doorbell restart gets every queued event, in order', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const first = await embeddedAgent(dataDir, port);
    const url = `mqtt://127.0.0.1:${port}`;
    await (await persistentSubscriber(url, DING('porch'))).endAsync();
    for (let i = 0; i < 3; i++) first.press('button');
    await expect.poll(() => first.doorbell.state().queues.outbox, { timeout: 5000 }).toBe(0);
    await first.stop();
    expect(existsSync(join(dataDir, 'porch', 'broker'))).toBe(true);

    const second = await embeddedAgent(dataDir, port);
    running.push(() => second.stop());
    // Three rings, and their three ends (missed) as the doorbell stops: six messages on the ding topic.
    const seqs = await collectQueued(url, 6);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6].map((n) => seqs[0]! + n - 1));
  });

  it('events queued before and after a restart arrive in seq order', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const first = await embeddedAgent(dataDir, port);
    await (await persistentSubscriber(url, DING('porch'))).endAsync();
    for (let i = 0; i < 3; i++) first.press('button');
    await expect.poll(() => first.doorbell.state().queues.outbox, { timeout: 5000 }).toBe(0);
    await first.stop();
    for (let run = 0; run < 2; run++) {
      const next = await embeddedAgent(dataDir, port);
      for (let i = 0; i < 3; i++) next.press('button');
      await expect.poll(() => next.doorbell.state().queues.outbox, { timeout: 5000 }).toBe(0);
      await next.stop();
    }
    const last = await embeddedAgent(dataDir, port);
    running.push(() => last.stop());
    // Per run three rings and, as it stops, their three ends: 18 messages.
    const seqs = await collectQueued(url, 18);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(18);
  });

  it("the doorbell's outbox lets an event go only once its own broker has stored it", async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const agent = await embeddedAgent(dataDir, port);
    running.push(() => agent.stop());
    await (await persistentSubscriber(`mqtt://127.0.0.1:${port}`, DING('porch'))).endAsync();
    const persistence = (
      agent.embeddedBroker!.instance as unknown as { persistence: Record<string, unknown> }
    ).persistence;
    const enqueue = persistence['outgoingEnqueueCombi'] as (...args: unknown[]) => Promise<void>;
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    persistence['outgoingEnqueueCombi'] = async (...args: unknown[]) => {
      await held;
      await enqueue.apply(persistence, args);
    };
    agent.press('button');
    // PUBACK has long come back; the event stays in the outbox while the broker has not stored it.
    await new Promise((r) => setTimeout(r, 300));
    expect(agent.doorbell.state().queues.outbox).toBe(1);
    release();
    await expect.poll(() => agent.doorbell.state().queues.outbox, { timeout: 5000 }).toBe(0);
  });

  it('--broker-persistence memory forgets them (the old speed, the old promise)', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const first = await embeddedAgent(dataDir, port, 'memory');
    const url = `mqtt://127.0.0.1:${port}`;
    await (await persistentSubscriber(url, DING('porch'))).endAsync();
    first.press('button');
    await expect.poll(() => first.doorbell.state().queues.outbox, { timeout: 5000 }).toBe(0);
    await first.stop();
    expect(existsSync(join(dataDir, 'porch', 'broker'))).toBe(false);
    const second = await embeddedAgent(dataDir, port, 'memory');
    running.push(() => second.stop());
    const client = await mqtt.connectAsync(url, { clientId: 'sub1', clean: false, reconnectPeriod: 0 });
    expect(client.connected).toBe(true);
    const got: string[] = [];
    client.on('message', (topic) => got.push(topic));
    // The session is gone, so nothing can be delivered; the retained state below proves the broker is serving.
    await client.subscribeAsync('doorbell/porch/availability', { qos: 1 });
    await expect.poll(() => got, { timeout: 5000 }).toContain('doorbell/porch/availability');
    expect(got).not.toContain(DING('porch'));
    await client.endAsync();
  });

  it('a subscriber offline across a kill -9 of the doorbell gets every queued event', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const profile = join(dataDir, 'every-press-rings.json');
    const { video: _video, ...base } = (await wiredProfile()).profile;
    writeFileSync(profile, JSON.stringify({ ...base, button: EVERY_PRESS_RINGS }));
    const args = ['start', '--id', 'porch', '--port', String(port), '--video', 'none', '--data-dir', dataDir];
    args.push('--profile', profile);
    const first = spawnCli([...args, '--bucket', join(dataDir, 'bucket')]);
    running.push(() => stopChild(first.child, 'SIGKILL'));
    await first.waitForOutput('is up', 20_000);
    await (await persistentSubscriber(url, DING('porch'))).endAsync();

    // A live watcher sees the dings pass the broker; by then the broker has queued them for sub1.
    const watcher = await mqtt.connectAsync(url, { clientId: 'watcher', reconnectPeriod: 0 });
    const passed: string[] = [];
    watcher.on('message', (topic, payload) => passed.push(`${topic} ${payload}`));
    await watcher.subscribeAsync([DING('porch'), 'doorbell/porch/availability'], { qos: 1 });
    // Online means the device listens for commands.
    await expect.poll(() => passed, { timeout: 10_000 }).toContain('doorbell/porch/availability online');
    const presser = await mqtt.connectAsync(url, { clientId: 'presser', reconnectPeriod: 0 });
    for (let i = 0; i < 3; i++) await presser.publishAsync('doorbell/porch/request/press', '{}', { qos: 1 });
    await expect
      .poll(() => passed.filter((line) => line.startsWith(DING('porch'))).length, { timeout: 10_000 })
      .toBe(3);
    await Promise.all([watcher.endAsync(true), presser.endAsync(true)]);
    await stopChild(first.child, 'SIGKILL');

    const second = spawnCli([...args, '--bucket', join(dataDir, 'bucket')]);
    running.push(() => stopChild(second.child));
    await second.waitForOutput('is up', 20_000);
    const seqs = await collectQueued(url, 3);
    expect(seqs.slice(0, 3)).toEqual([seqs[0]!, seqs[0]! + 1, seqs[0]! + 2]);
  });

  it('--broker-persistence takes disk or memory and names a wrong value', async () => {
    const dataDir = tempDir();
    const wrong = await runInProcess(['start', '--broker-persistence', 'sqlite', '--data-dir', dataDir]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--broker-persistence "sqlite": use disk or memory');
    const help = await runInProcess(['start', '--help']);
    expect(help.stdout).toMatch(/--broker-persistence disk\|memory.*\n?.*DOORBELL_BROKER_PERSISTENCE/);
  });

  it('a session store that cannot be opened (no room, not a dir) leaves the broker running in memory, said loudly', async () => {
    const notADir = join(tempDir(), 'a-file');
    writeFileSync(notADir, 'in the way');
    const broker = new EmbeddedBroker({
      port: 0,
      persistence: { kind: 'disk', dir: join(notADir, 'broker') },
    });
    await broker.start();
    running.push(() => broker.stop());
    expect(broker.persistenceProblem).toContain(
      `cannot open the broker's session store ${join(notADir, 'broker')}`,
    );
    expect(broker.persistenceProblem).toContain('sessions are kept in memory until a restart');
    const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await client.publishAsync('t/x', 'still a broker', { qos: 1 });
    await client.endAsync();
  });

  it('a second broker on the same session store says which store is busy', async () => {
    const dir = join(tempDir(), 'broker');
    const one = new EmbeddedBroker({ port: 0, persistence: { kind: 'disk', dir } });
    await one.start();
    running.push(() => one.stop());
    const two = new EmbeddedBroker({ port: 0, persistence: { kind: 'disk', dir } });
    await expect(two.start()).rejects.toThrow(`cannot open the broker's session store ${dir}: it is in use`);
  });
});

/** Wraps the broker's offline-queue write, so a test can hold it back or make it fail per message. */
function interceptQueueWrites(
  broker: EmbeddedBroker,
  around: (payload: string, write: () => Promise<void>) => Promise<void>,
) {
  const persistence = (broker.instance as unknown as { persistence: Record<string, unknown> }).persistence;
  const enqueue = persistence['outgoingEnqueueCombi'] as (
    subs: unknown,
    packet: { payload: Buffer },
  ) => Promise<void>;
  persistence['outgoingEnqueueCombi'] = (subs: unknown, packet: { payload: Buffer }) =>
    around(packet.payload.toString(), () => enqueue.call(persistence, subs, packet));
}

describe('the embedded broker tells an in-process publisher when a QoS 1 message is stored, not just acknowledged', () => {
  const stops: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function brokerWithOfflineSubscriber() {
    const broker = new EmbeddedBroker({
      port: 0,
      persistence: { kind: 'disk', dir: join(tempDir(), 'broker') },
    });
    await broker.start();
    stops.push(() => broker.stop());
    const offline = await mqtt.connectAsync(broker.url, {
      clientId: 'sub1',
      clean: false,
      reconnectPeriod: 0,
    });
    await offline.subscribeAsync('t/#', { qos: 1 });
    await offline.endAsync();
    const device = await mqtt.connectAsync(broker.url, { clientId: 'device', reconnectPeriod: 0 });
    stops.push(() => device.endAsync(true));
    return { broker, device };
  }

  it('each message is matched to its own store: a slow one is not released by a fast one after it', async () => {
    const { broker, device } = await brokerWithOfflineSubscriber();
    const storedAt = new Map<string, number>();
    interceptQueueWrites(broker, async (payload, write) => {
      if (payload === 'A') await new Promise((r) => setTimeout(r, 400));
      await write();
      storedAt.set(payload, performance.now());
    });
    const waits = ['A', 'B', 'C'].map((payload) => broker.storedFrom('device', 't/x', payload));
    const released = new Map<string, number>();
    waits.forEach((wait, i) => void wait.then(() => released.set('ABC'[i]!, performance.now())));
    for (const payload of ['A', 'B', 'C']) await device.publishAsync('t/x', payload, { qos: 1 });
    await Promise.all(waits);
    for (const payload of ['A', 'B', 'C'])
      expect(released.get(payload)!).toBeGreaterThanOrEqual(storedAt.get(payload)!);
  });

  it('a store that fails is never reported stored; the same message stored on a resend is', async () => {
    const { broker, device } = await brokerWithOfflineSubscriber();
    let failNext = true;
    interceptQueueWrites(broker, async (payload, write) => {
      if (payload === 'event-1' && failNext) {
        failNext = false;
        throw new Error('ENOSPC: no space left on device');
      }
      await write();
    });
    let stored = false;
    void broker.storedFrom('device', 't/x', 'event-1').then(() => {
      stored = true;
    });
    await device.publishAsync('t/x', 'event-1', { qos: 1 }).catch(() => undefined);
    await device.endAsync(true);
    const again = await mqtt.connectAsync(broker.url, { clientId: 'device', reconnectPeriod: 0 });
    stops.push(() => again.endAsync(true));
    const after = broker.storedFrom('device', 't/x', 'after');
    await again.publishAsync('t/x', 'after', { qos: 1 });
    await after;
    expect(stored).toBe(false);
    await again.publishAsync('t/x', 'event-1', { qos: 1 });
    await expect.poll(() => stored, { timeout: 5000 }).toBe(true);
  });
});
