import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { Fleet } from '../../src/fleet/fleet.js';
import { fleetMotionSettings, motionTimeline } from '../../src/fleet/motion-timeline.js';
import { fleetDeviceId, parseShard, shardIndices } from '../../src/fleet/shard.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import { VIDEO_FIXTURES_DIR } from '../../src/replay/scenario.js';
import { mosquittoPath, startMosquitto } from '../helpers/mqtt.js';

const VISITOR = join(VIDEO_FIXTURES_DIR, 'visitor-at-door.mp4');

async function profile() {
  const loaded = await loadProfile('wired-1080p');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.value.profile;
}

describe('shards', () => {
  it('splits a fleet into disjoint shards that cover it', () => {
    const shards = [0, 1, 2].map((index) => shardIndices(10, { index, total: 3 }));
    expect(shards).toEqual([
      [0, 3, 6, 9],
      [1, 4, 7],
      [2, 5, 8],
    ]);
    expect(parseShard('1/3')).toEqual({ index: 1, total: 3 });
    expect(parseShard('3/3')).toMatch(/0 ≤ i < n/);
    expect(parseShard('x')).toMatch(/use i\/n/);
  });

  it('names devices with fixed-width numbers and keeps MQTT client ids within 23 characters', () => {
    expect(fleetDeviceId(42, 1000)).toBe('fleet-00042');
    expect(fleetDeviceId(42, 2_000_000)).toBe('fleet-0000042');
    expect(`doorbell-${fleetDeviceId(999_999, 1_000_000)}`.length).toBeLessThanOrEqual(23);
  });
});

describe('shared motion detection', () => {
  it('detects a fixture once per (fixture, settings) and keeps one loop of events', async () => {
    const settings = fleetMotionSettings(await profile());
    const first = motionTimeline(VISITOR, settings);
    expect(motionTimeline(VISITOR, settings)).toBe(first);
    const timeline = await first;
    expect(timeline.loopMs).toBeCloseTo(14_000, 0);
    const starts = timeline.events.filter((e) => e.event.type === 'start');
    const ends = timeline.events.filter((e) => e.event.type === 'end');
    expect(starts.length).toBe(2);
    expect(ends.length).toBe(2);
    for (const { offsetMs } of timeline.events) expect(offsetMs).toBeGreaterThanOrEqual(0);
    expect(timeline.events.every((e, i, all) => i === 0 || all[i - 1]!.offsetMs <= e.offsetMs)).toBe(true);
  });
});

describe('a fleet on the embedded broker', () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('connects every device of its shard with its own session, and every event reaches a subscriber', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    fleet = new Fleet({
      count: 40,
      shard: { index: 1, total: 2 },
      profile: await profile(),
      video: VISITOR,
      port: 0,
      clock,
      ringEveryS: 5,
      connectRate: 2000,
    });
    await fleet.start();
    expect(fleet.devices.map((d) => d.topics.root)).toContain('doorbell/fleet-00001');
    expect(fleet.devices.map((d) => d.topics.root)).not.toContain('doorbell/fleet-00000');
    expect(fleet.devices).toHaveLength(20);
    const watcher = mqtt.connect(fleet.brokerUrl, { clientId: 'fleet-test-watcher' });
    const events: string[] = [];
    watcher.on('message', (topic) => events.push(topic));
    await watcher.subscribeAsync('doorbell/+/events/#', { qos: 1 });
    await expect.poll(() => fleet!.stats().connected, { timeout: 10_000 }).toBe(20);
    // 20 device sessions + the watcher, each its own client on the broker.
    expect(fleet.embeddedBroker?.instance?.connectedClients).toBe(21);

    // 30 virtual seconds in 1 s steps: rings about every 5 s, the visitor's motion with a per-device phase.
    for (let s = 0; s < 30; s++) {
      clock.advance(1000);
      await new Promise((r) => setImmediate(r));
    }
    fleet.quiesce();
    const sent = fleet.stats().eventsSent;
    await expect.poll(() => events.length, { timeout: 10_000 }).toBe(sent);
    await watcher.endAsync();
    const dings = events.filter((t) => t.endsWith('/events/ding')).length;
    const motion = events.filter((t) => t.endsWith('/events/motion')).length;
    expect(dings).toBeGreaterThanOrEqual(20 * 4);
    expect(dings).toBeLessThanOrEqual(20 * 7);
    expect(motion).toBeGreaterThan(20);
    // Phases differ, so devices do not all start moving at the same instant.
    expect(new Set(events.filter((t) => t.endsWith('/events/motion')).slice(0, 20)).size).toBeGreaterThan(1);
  }, 30_000);
});

describe.skipIf(!mosquittoPath())('source addresses', () => {
  it('binds the devices connections to the --local-address list, round-robin', async () => {
    const broker = await startMosquitto();
    // A TCP relay in front of mosquitto sees where each connection comes from.
    const sources: string[] = [];
    const relay = createServer((inbound) => {
      sources.push(inbound.remoteAddress ?? '');
      const outbound = createConnection({ host: '127.0.0.1', port: broker.port });
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((ok) => relay.listen(0, '127.0.0.1', ok));
    const port = (relay.address() as { port: number }).port;
    const fleet = new Fleet({
      count: 4,
      profile: await profile(),
      video: null,
      ringEveryS: 0,
      broker: BrokerConnectionSchema.parse({ url: `mqtt://127.0.0.1:${port}` }),
      localAddresses: ['127.0.0.2', '127.0.0.3'],
    });
    try {
      await fleet.start();
      await expect.poll(() => fleet.stats().connected, { timeout: 10_000 }).toBe(4);
      expect(sources.map((a) => a.replace(/^::ffff:/, '')).sort()).toEqual([
        '127.0.0.2',
        '127.0.0.2',
        '127.0.0.3',
        '127.0.0.3',
      ]);
    } finally {
      await fleet.stop();
      relay.close();
      await broker.stop();
    }
  }, 30_000);
});
