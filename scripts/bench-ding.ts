/**
 * Press → independent subscriber latency through the embedded broker, on loopback.
 * The doorbell runs as its own process (as `npm start` does); this process presses over MQTT
 * (as `doorbell press` does) and a separate client subscribes to the ding events.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { disableNagle } from '../src/mqtt/connection.js';
import { freePort } from '../test/helpers/mqtt.js';
import { percentile, printResult, round } from './lib/stats.js';

const PRESSES = Number(process.env['BENCH_PRESSES'] ?? 1000);
/** The embedded broker's persistence: disk (the default) or memory (BENCH_BROKER_PERSISTENCE). */
const PERSISTENCE = process.env['BENCH_BROKER_PERSISTENCE'];
const WARMUP = 50;
const root = resolve(import.meta.dirname, '..');

const dir = mkdtempSync(join(tmpdir(), 'bench-ding-'));
const profile = JSON.parse(readFileSync(join(root, 'device-profiles/wired-1080p.json'), 'utf8'));
// Debounce and chime window would (correctly) swallow back-to-back presses; the bench measures the path, not the UX.
profile.button = { debounceMs: 0, chimeWindowMs: 0 };
delete profile.$schema;
delete profile.video;
writeFileSync(join(dir, 'bench.json'), JSON.stringify(profile));

const port = await freePort();
const url = `mqtt://127.0.0.1:${port}`;
const agent = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    join(root, 'src/cli/main.ts'),
    'start',
    '--id',
    'bench',
    '--port',
    String(port),
    '--profile',
    join(dir, 'bench.json'),
    '--data-dir',
    dir,
    ...(PERSISTENCE ? ['--broker-persistence', PERSISTENCE] : []),
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DOORBELL_LOG_LEVEL: 'warn', DOORBELL_LOG_FORMAT: 'json' },
  },
);
await new Promise<void>((ready, fail) => {
  let out = '';
  agent.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('is up')) ready();
  });
  agent.once('exit', (code) => fail(new Error(`agent exited ${code}`)));
});

const connectClient = (clientId: string) =>
  mqtt.connectAsync(url, { clientId, reconnectPeriod: 0 }).then((client) => {
    disableNagle(client);
    return client;
  });
const watcher = await connectClient('bench-subscriber');
const presser = await connectClient('bench-presser');
const idle = new Promise<void>((resolveIdle) => {
  const onState = (topic: string, payload: Buffer) => {
    if (topic.endsWith('/state') && JSON.parse(payload.toString()).status !== 'booting') {
      watcher.off('message', onState);
      resolveIdle();
    }
  };
  watcher.on('message', onState);
});
await watcher.subscribeAsync(['doorbell/bench/events/ding', 'doorbell/bench/state'], { qos: 1 });
await idle;

let onDing: (() => void) | undefined;
watcher.on('message', (topic) => {
  if (topic.endsWith('/events/ding')) onDing?.();
});

const latencies: number[] = [];
let missed = 0;
for (let i = 0; i < WARMUP + PRESSES; i++) {
  const started = performance.now();
  const outcome = await new Promise<'ding' | 'missed'>((settle) => {
    const timer = setTimeout(() => settle('missed'), 2000);
    onDing = () => {
      clearTimeout(timer);
      settle('ding');
    };
    presser.publish('doorbell/bench/request/press', JSON.stringify({ transaction: i, source: 'cli' }), {
      qos: 1,
    });
  });
  if (outcome === 'missed') missed++;
  else if (i >= WARMUP) latencies.push(performance.now() - started);
}

await watcher.endAsync();
await presser.endAsync();
agent.kill('SIGTERM');
await new Promise((done) => agent.once('exit', done));

const p50 = percentile(latencies, 50);
const p99 = percentile(latencies, 99);
console.error(
  `ding latency over ${PRESSES} presses: p50 ${round(p50)} ms, p99 ${round(p99)} ms, max ${round(Math.max(...latencies))} ms`,
);
printResult({
  bench: 'ding',
  n: latencies.length,
  p50_ms: round(p50),
  p90_ms: round(percentile(latencies, 90)),
  p99_ms: round(p99),
  max_ms: round(Math.max(...latencies)),
  missed,
  broker_persistence: PERSISTENCE ?? 'disk',
  path: 'MQTT press request → agent process → embedded aedes → subscriber',
});
