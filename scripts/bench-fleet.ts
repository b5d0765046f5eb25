/**
 * 1,000 doorbells (FLEET_COUNT) for 60 simulated seconds (FLEET_SECONDS), each ringing about every 10 s and watching
 * the shared porch fixture; one subscriber counts every event. The broker (FLEET_BROKER) is a mosquitto child process
 * (default) or the fleet's embedded aedes (`embedded`). Time runs FLEET_SPEED times faster than the wall clock
 * (default 1: real time). Ends with one JSON line.
 */

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import mqtt from 'mqtt';
import { loadProfile } from '../src/config/load-profile.js';
import { Fleet } from '../src/fleet/fleet.js';
import { SpeedClock } from '../src/fleet/virtual-driver.js';
import { BrokerConnectionSchema } from '../src/mqtt/connection.js';
import { type RunningMosquitto, startMosquitto } from '../test/helpers/mqtt.js';
import { printResult, round } from './lib/stats.js';

const COUNT = Number(process.env['FLEET_COUNT'] ?? 1000);
const SECONDS = Number(process.env['FLEET_SECONDS'] ?? 60);
const SPEED = Number(process.env['FLEET_SPEED'] ?? 1);
const VIDEO = resolve(
  import.meta.dirname,
  '..',
  'fixtures/video',
  `${process.env['FLEET_VIDEO'] ?? 'porch-loop'}.mp4`,
);

// One socket per device (and as many on mosquitto's side, which inherits this limit): say so before they run out.
const openFiles = Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim());
if (Number.isFinite(openFiles) && openFiles < COUNT + 200)
  throw new Error(
    `ulimit -n is ${openFiles}: ${COUNT} devices need ${COUNT + 200}; run ulimit -n ${COUNT + 200} first`,
  );

const BROKER = process.env['FLEET_BROKER'] ?? 'mosquitto';
if (BROKER !== 'mosquitto' && BROKER !== 'embedded')
  throw new Error(`FLEET_BROKER ${JSON.stringify(BROKER)}: use mosquitto or embedded`);

let mosquitto: RunningMosquitto | undefined;
if (BROKER === 'mosquitto')
  mosquitto = await startMosquitto([
    'allow_anonymous true',
    'max_connections -1',
    // The one counting subscriber receives every device's events: no per-client queue limit may drop them.
    'max_queued_messages 0',
    'max_inflight_messages 0',
  ]);

const loaded = await loadProfile(process.env['FLEET_PROFILE'] ?? 'wired-1080p');
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const clock = SPEED === 1 ? undefined : new SpeedClock(SPEED);
const fleet = new Fleet({
  count: COUNT,
  profile: loaded.value.profile,
  video: VIDEO,
  ...(mosquitto
    ? {
        broker: BrokerConnectionSchema.parse({ url: mosquitto.url, reconnectPeriodMs: 2000, keepaliveS: 60 }),
      }
    : { port: 0 }),
  ringEveryS: 10,
  connectRate: Number(process.env['FLEET_CONNECT_RATE'] ?? 500),
  ...(clock ? { clock } : {}),
});

let peakRss = 0;
const sample = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const started = performance.now();
clock?.run();
const startPromise = fleet.start();
// The broker is up once start() has detected motion and listened; the counter connects as soon as it has a URL.
while (!fleet.brokerUrl) await new Promise((r) => setTimeout(r, 10));
const counter = mqtt.connect(fleet.brokerUrl, { clientId: 'bench-fleet-counter', clean: true });
await new Promise<void>((ok) => counter.once('connect', () => ok()));
let received = 0;
counter.on('message', () => received++);
await counter.subscribeAsync('doorbell/+/events/#', { qos: 1 });
const ramp = setInterval(() => {
  const stats = fleet.stats();
  process.stderr.write(
    `  ramp: ${stats.started} started, ${stats.connected} connected, rss ${stats.rssMb} MB\n`,
  );
}, 5000);
await startPromise;
clearInterval(ramp);
const connectS = (performance.now() - started) / 1000;
process.stderr.write(`bench-fleet: ${fleet.devices.length} devices started in ${connectS.toFixed(1)} s\n`);

const runStart = performance.now();
const sentBeforeRun = fleet.stats().eventsSent;
let lastSent = sentBeforeRun;
let connectedAtEnd = 0;
await new Promise<void>((done) => {
  const timer = setInterval(() => {
    sample();
    const stats = fleet.stats();
    const elapsed = (performance.now() - runStart) / 1000;
    process.stderr.write(
      `  ${(elapsed * SPEED).toFixed(0)} s: ${stats.connected}/${stats.devices} connected, ${stats.eventsSent - lastSent} events in the last second, ${received} received, rss ${stats.rssMb} MB\n`,
    );
    lastSent = stats.eventsSent;
    if (elapsed * SPEED >= SECONDS) {
      clearInterval(timer);
      connectedAtEnd = stats.connected;
      done();
    }
  }, 1000);
});
fleet.quiesce();
const runS = (performance.now() - runStart) / 1000;
clock?.halt();
const { eventsSent: sent } = fleet.stats();
// Drain: everything sent must arrive (QoS 1); give up after 30 s without progress.
let last = -1;
let still = 0;
while (received < sent && still < 300) {
  await new Promise((r) => setTimeout(r, 100));
  still = received === last ? still + 1 : 0;
  last = received;
}
sample();
await fleet.drain();
const acknowledged = fleet.stats().eventsAcknowledged;
await counter.endAsync();
await fleet.stop();
await mosquitto?.stop();
printResult({
  bench: 'fleet',
  devices: COUNT,
  connected: connectedAtEnd,
  lost: sent - received,
  rss_mb: Math.round(peakRss / 2 ** 20),
  connect_s: round(connectS, 2),
  events_per_s: round((sent - sentBeforeRun) / (runS || 1), 1),
  broker: BROKER,
  sim_s: SECONDS,
  speed: SPEED,
  events_sent: sent,
  events_received: received,
  events_unacknowledged: sent - acknowledged,
});
