/**
 * The seeded crash loop: a doorbell in a child process is killed with SIGKILL at random moments while it is pressed
 * and sees motion, then restarted; at the end every trigger must have exactly one outcome (a stored clip whose
 * bytes hash to the event's sha256, or a `lost` clip event with a reason), with no seq gap, no duplicate, no
 * partial file and no open recording intent left. Used by `npm run chaos` (long) and test/chaos (short).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { connect, type MqttClient } from 'mqtt';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { seededRandom } from '../../src/util/random.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEVICE = 'chaos';

export interface ChaosOptions {
  kills: number;
  seed: number;
  /**
   * Where the device's broker runs: aedes in this process, a mosquitto child, or the device's own embedded broker
   * (killed with it: what the harness sees then depends on the broker's sessions surviving on disk).
   */
  broker: 'aedes' | 'mosquitto' | 'embedded';
  bucket: 'fs' | 's3';
  /** How long the device runs between its start and the kill (uniform in this range). */
  upMs: [number, number];
  /** Presses come this often while the device is up (uniform in this range). */
  pressEveryMs: [number, number];
  log?: (line: string) => void;
}

export interface ChaosSummary {
  seed: number;
  /** Clips a crash interrupted that a restart cut again from the source. */
  recut?: number;
  broker: string;
  bucket: string;
  kills: number;
  triggers: number;
  dings: number;
  motionStarts: number;
  clipsStored: number;
  clipsLost: number;
  lostReasons: Record<string, number>;
  /** Triggers that no stored or lost clip accounts for. */
  withoutOutcome: string[];
  /** Triggers two outcomes claim (a clip id announced twice, stored and lost). */
  severalOutcomes: string[];
  seqGaps: number[];
  /** Different events that carried the same seq. */
  duplicateSeqs: number[];
  /** Event ids delivered again with different content (a seq given out twice). */
  conflictingIds: string[];
  /**
   * First deliveries whose seq is below one already delivered. Reported, not failed: while aedes replays a
   * reconnecting persistent session's queue, a live publish can overtake it (consumers order by seq).
   */
  outOfOrder: number[];
  /** The same event delivered again (allowed by at-least-once; counted, not a failure). */
  redelivered: number;
  /** Stored clips whose object is missing or does not hash to the event's sha256. */
  badClips: string[];
  partialFiles: string[];
  openIntents: string[];
  ok: boolean;
}

interface SeenEvent {
  topic: string;
  payload: Record<string, unknown> & { id: string; seq: number; at: string };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const between = ([low, high]: [number, number]) => low + random() * (high - low);
  const work = mkdtempSync(join(tmpdir(), 'doorbell-chaos-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const broker = await startBroker(options.broker, cleanups);
    const bucket = await startBucket(options.bucket, work, cleanups);
    const events = new Map<string, SeenEvent>();
    let deliveries = 0;
    const conflictingIds = new Set<string>();
    const outOfOrder: number[] = [];
    let highestSeq = 0;
    const dataDir = join(work, 'data');
    const bundle = await bundleDevice();
    cleanups.push(async () => rmSync(bundle, { force: true }));
    // The watcher is a persistent session: across a kill of the device's own broker it must lose nothing.
    let clients: { presser: MqttClient } | undefined;
    const connectClients = async () => {
      if (clients) return clients;
      const watcher = await connectClient(broker.url, { clientId: 'chaos-watch', clean: false });
      cleanups.push(() => watcher.endAsync());
      watcher.on('message', (topic, payload) => {
        if (!topic.includes('/events/')) return;
        const event = JSON.parse(payload.toString()) as SeenEvent['payload'];
        if (process.env['CHAOS_VERBOSE']) log(`event ${topic} ${payload.toString().slice(0, 300)}`);
        deliveries += 1;
        const earlier = events.get(event.id);
        if (earlier && JSON.stringify(earlier.payload) !== JSON.stringify(event))
          conflictingIds.add(event.id);
        if (earlier) return;
        if (event.seq < highestSeq) outOfOrder.push(event.seq);
        highestSeq = Math.max(highestSeq, event.seq);
        events.set(event.id, { topic, payload: event });
      });
      await watcher.subscribeAsync(`doorbell/${DEVICE}/events/#`, { qos: 1 });
      const presser = await connectClient(broker.url, { clientId: 'chaos-press' });
      cleanups.push(() => presser.endAsync());
      clients = { presser };
      return clients;
    };
    if (!broker.embeddedPort) await connectClients();
    let recovered = 0;
    const device = (run: number, motion = true) =>
      startDevice({
        motion,
        brokerUrl: broker.url,
        ...(broker.embeddedPort ? { embeddedPort: broker.embeddedPort } : {}),
        dataDir,
        bucket: bucket.url,
        seed: options.seed + run,
        bundle,
        onLog: (text) => {
          for (const line of text.split('\n')) {
            const cut = /"recut":(\d+)/.exec(line);
            if (cut) recovered += Number(cut[1]);
            if (line.includes('"level":50') || (process.env['CHAOS_VERBOSE'] && line.includes('"level"')))
              log(`device: ${line}`);
          }
        },
      });
    for (let kill = 1; kill <= options.kills; kill++) {
      const child = await device(kill);
      const { presser } = await connectClients();
      // Half the runs are pressed from the moment they answer (before the camera has a picture), half once it has.
      if (random() < 0.5) await child.camera;
      const until = Date.now() + between(options.upMs);
      while (Date.now() < until) {
        await presser.publishAsync(`doorbell/${DEVICE}/request/press`, '{}', { qos: 1 });
        await sleep(Math.min(until - Date.now(), between(options.pressEveryMs)));
      }
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      log(`kill ${kill}/${options.kills}: ${events.size} events so far`);
    }
    // The last run settles everything the crashes left and stops cleanly.
    const last = await device(options.kills + 1, false);
    await waitQuiet(() => events.size, dataDir);
    last.kill('SIGTERM');
    await new Promise((resolve) => last.once('exit', resolve));
    await sleep(300);
    const delivery = { conflictingIds: [...conflictingIds], outOfOrder };
    return { ...(await judge({ options, events, deliveries, delivery, dataDir, bucket })), recut: recovered };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

async function judge(input: {
  options: ChaosOptions;
  events: Map<string, SeenEvent>;
  deliveries: number;
  delivery: Pick<ChaosSummary, 'conflictingIds' | 'outOfOrder'>;
  dataDir: string;
  bucket: { url: string; hashOf(key: string): Promise<string | undefined> };
}): Promise<ChaosSummary> {
  const { options, events } = input;
  const all = [...events.values()];
  const bySeq = new Map<number, number>();
  for (const { payload } of all) bySeq.set(payload.seq, (bySeq.get(payload.seq) ?? 0) + 1);
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  const seqGaps: number[] = [];
  for (let seq = 1; seq <= (seqs.at(-1) ?? 0); seq++) if (!bySeq.has(seq)) seqGaps.push(seq);
  const duplicateSeqs = [...bySeq].filter(([, count]) => count > 1).map(([seq]) => seq);

  const triggers = all.filter(
    (e) =>
      e.topic.endsWith('/events/ding') ||
      (e.topic.endsWith('/events/motion') && e.payload['type'] === 'start'),
  );
  const outcomes = all.filter((e) => e.topic.endsWith('/events/clip'));
  const stored = outcomes.filter((e) => e.payload['status'] !== 'lost');
  const lost = outcomes.filter((e) => e.payload['status'] === 'lost');
  const lostReasons: Record<string, number> = {};
  for (const e of lost) {
    const reason = String(e.payload['reason'])
      .replace(/[0-9a-f]{6,}|\/\S+/g, '…')
      .slice(0, 90);
    lostReasons[reason] = (lostReasons[reason] ?? 0) + 1;
  }
  const byClipId = new Map<string, SeenEvent[]>();
  for (const e of outcomes) {
    const id = String(e.payload['clipId']);
    byClipId.set(id, [...(byClipId.get(id) ?? []), e]);
  }
  const withoutOutcome: string[] = [];
  const severalOutcomes: string[] = [];
  for (const trigger of triggers) {
    const own = byClipId.get(trigger.payload.id) ?? [];
    if (own.length > 1) severalOutcomes.push(trigger.payload.id);
    if (own.length >= 1) continue;
    // A trigger that joined a clip already open is accounted for by that clip's window.
    const at = Date.parse(trigger.payload.at);
    const covering = outcomes.filter(
      (o) =>
        Date.parse(String(o.payload['startedAt'])) <= at + 50 &&
        at - 50 <= Date.parse(String(o.payload['endedAt'])),
    );
    if (covering.length === 0)
      withoutOutcome.push(
        `${trigger.topic.split('/').at(-1)} ${trigger.payload.id} at ${trigger.payload.at}`,
      );
  }
  const badClips: string[] = [];
  for (const clip of stored) {
    const key = String(clip.payload['key']);
    const sha256 = await input.bucket.hashOf(key);
    if (sha256 !== clip.payload['sha256'])
      badClips.push(`${key}: ${sha256 ?? 'missing'} ≠ ${String(clip.payload['sha256'])}`);
  }
  const partialFiles = findFiles(
    input.dataDir,
    (name) => name.includes('.partial-') || name.endsWith('.tmp'),
  );
  const openIntents = findFiles(join(input.dataDir, DEVICE, 'recording-intents'), () => true);
  const summary: ChaosSummary = {
    seed: options.seed,
    broker: options.broker,
    bucket: options.bucket,
    kills: options.kills,
    triggers: triggers.length,
    dings: triggers.filter((t) => t.topic.endsWith('/ding')).length,
    motionStarts: triggers.filter((t) => t.topic.endsWith('/motion')).length,
    clipsStored: stored.length,
    clipsLost: lost.length,
    lostReasons,
    withoutOutcome,
    severalOutcomes,
    seqGaps,
    duplicateSeqs,
    ...input.delivery,
    redelivered: input.deliveries - events.size,
    badClips,
    partialFiles,
    openIntents,
    ok: false,
  };
  summary.ok =
    triggers.length > 0 &&
    withoutOutcome.length === 0 &&
    severalOutcomes.length === 0 &&
    seqGaps.length === 0 &&
    duplicateSeqs.length === 0 &&
    input.delivery.conflictingIds.length === 0 &&
    badClips.length === 0 &&
    partialFiles.length === 0 &&
    openIntents.length === 0;
  return summary;
}

function findFiles(dir: string, match: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && match(entry.name)) found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

/** Waits until no event has come for 3 s and no recording intent or spooled clip is left. */
async function waitQuiet(count: () => number, dataDir: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = -1;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    const open =
      findFiles(join(dataDir, DEVICE, 'recording-intents'), () => true).length +
      findFiles(join(dataDir, DEVICE, 'spool', 'entries'), (name) => name === 'entry.json').length;
    if (count() !== last || open > 0) {
      last = count();
      quietSince = Date.now();
    } else if (Date.now() - quietSince > 3_000) {
      return;
    }
    await sleep(200);
  }
}

function startDevice(options: {
  brokerUrl: string;
  embeddedPort?: number;
  dataDir: string;
  bucket: string;
  seed: number;
  motion: boolean;
  bundle: string;
  onLog: (text: string) => void;
}): Promise<ChildProcess & { camera: Promise<void> }> {
  const config = {
    deviceId: DEVICE,
    brokerUrl: options.brokerUrl,
    ...(options.embeddedPort ? { embeddedPort: options.embeddedPort } : {}),
    dataDir: options.dataDir,
    bucket: options.bucket,
    video: join(REPO, 'fixtures/video/person-crossing.mp4'),
    seed: options.seed,
    motion: options.motion,
  };
  const child = spawn(process.execPath, [options.bundle, JSON.stringify(config)], {
    cwd: REPO,
    env: { ...process.env, ...S3_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let cameraLive = () => {};
  const camera = new Promise<void>((resolve) => {
    cameraLive = resolve;
    child.once('exit', () => resolve());
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chaos device did not get ready in 60 s:\n${output}`));
    }, 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      options.onLog(chunk.toString());
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('camera')) cameraLive();
      if (output.includes('ready')) {
        clearTimeout(timer);
        resolve(Object.assign(child, { camera }));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chaos device exited (${code}) before it was ready:\n${output}`));
    });
  });
}

/**
 * The device as one ES module (dependencies left in node_modules): node starts it in about a second, where tsx
 * compiling the sources took three on every one of the many restarts. It sits two folders below the package root,
 * as dist/cli/main.js does, so the package's own paths resolve the same.
 */
async function bundleDevice(): Promise<string> {
  // One file per harness process: `npm test` and `npm run chaos` may bundle at the same time.
  const outfile = join(REPO, '.cache', 'chaos', `device-${process.pid}.mjs`);
  await build({
    entryPoints: [join(REPO, 'scripts/lib/chaos-device.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return outfile;
}

const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

async function startBroker(
  kind: ChaosOptions['broker'],
  cleanups: Array<() => Promise<void>>,
): Promise<{ url: string; embeddedPort?: number }> {
  if (kind === 'mosquitto') {
    const { startMosquitto } = await import('../../test/helpers/mqtt.js');
    const mosquitto = await startMosquitto();
    cleanups.push(() => mosquitto.stop());
    return { url: mosquitto.url };
  }
  if (kind === 'embedded') {
    const { freePort } = await import('../../test/helpers/mqtt.js');
    const port = await freePort();
    return { url: `mqtt://127.0.0.1:${port}`, embeddedPort: port };
  }
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  cleanups.push(() => broker.stop());
  return { url: broker.url };
}

async function startBucket(kind: ChaosOptions['bucket'], work: string, cleanups: Array<() => Promise<void>>) {
  if (kind === 's3') {
    const { startS3rver } = await import('../../test/storage/s3rver-harness.js');
    const s3 = await startS3rver();
    cleanups.push(() => s3.stop());
    const bucket = await s3.newBucket('chaos');
    return {
      url: `s3://chaos?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`,
      async hashOf(key: string) {
        const head = await bucket.head(key);
        if (!head) return undefined;
        const hash = createHash('sha256');
        for await (const chunk of await bucket.get(key)) hash.update(chunk as Buffer);
        return hash.digest('hex');
      },
    };
  }
  const root = join(work, 'bucket');
  return {
    url: root,
    async hashOf(key: string) {
      const path = join(root, ...key.split('/'));
      return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : undefined;
    },
  };
}

async function connectClient(
  url: string,
  options: { clientId: string; clean?: boolean },
): Promise<MqttClient> {
  const client = connect(url, { ...options, reconnectPeriod: 200, protocolVersion: 4 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
