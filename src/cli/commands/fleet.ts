import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { resolveVideoSource } from '../../agent/camera-rig.js';
import type { Clock } from '../../clock/clock.js';
import type { DeviceProfile } from '../../config/profile.js';
import { Fleet } from '../../fleet/fleet.js';
import { parseShard, type Shard } from '../../fleet/shard.js';
import { type FleetSummary, FleetSummarySchema, fleetVerdict, mergeSummaries } from '../../fleet/summary.js';
import { SpeedClock } from '../../fleet/virtual-driver.js';
import { createLogger } from '../../log/logger.js';
import { DoorbellMetrics } from '../../metrics/doorbell-metrics.js';
import { VIDEO_FIXTURES_DIR } from '../../replay/scenario.js';
import { type CliCommand, type CliIo, UserError, waitForSignal, writeLine } from '../io.js';
import { metricsOptionSpec, serveMetrics } from '../metrics.js';
import {
  brokerOptionSpec,
  connectionFrom,
  listenOptionSpec,
  portFrom,
  profileFrom,
  profileOption,
} from '../options.js';
import { defineCommand } from '../spec.js';

const runCommand = defineCommand('fleet', {
  summary:
    'run N simulated doorbells in one process (own MQTT session each, shared motion detection, no clips)',
  synopsis: '--count N [options]',
  options: {
    count: { type: 'string', value: 'N', help: 'how many doorbells (required)', env: 'FLEET_COUNT' },
    ...profileOption,
    video: {
      type: 'string',
      value: 'FIXTURE|FILE|none',
      help: "a fixture name, a video file, or none (default: the profile's sample video)",
    },
    shard: {
      type: 'string',
      value: 'i/n',
      help:
        'run devices i, i+n, … of the fleet (k machines: --shard 0/k … --shard k-1/k; a Kubernetes Indexed Job: ' +
        '--shard $(JOB_COMPLETION_INDEX)/<completions>)',
      env: 'DOORBELL_SHARD',
    },
    'ring-every': {
      type: 'string',
      value: 'S',
      help: 'each doorbell rings every S seconds (default 10; 0: never)',
    },
    'connect-rate': { type: 'string', value: 'N', help: 'connections opened per second (default 200)' },
    'start-at': {
      type: 'string',
      value: 'ISO',
      help: 'begin connecting at this UTC time (e.g. 2026-12-04T12:00:00Z), so every shard ramps together',
      env: 'DOORBELL_FLEET_START_AT',
    },
    summary: {
      type: 'string',
      value: 'FILE',
      help: "write this shard's result as JSON to FILE at the end (- for stdout), for doorbell fleet merge",
      env: 'DOORBELL_FLEET_SUMMARY',
    },
    'local-address': {
      type: 'string',
      value: 'A,B,…',
      help: 'bind the MQTT connections to these source IPs, round-robin (≈60k ports per IP and broker address)',
      env: 'DOORBELL_FLEET_LOCAL_ADDRESS',
    },
    duration: { type: 'string', value: 'S', help: 'stop after S simulated seconds (default: at Ctrl+C)' },
    speed: { type: 'string', value: 'N', help: 'run time N times faster (default 1)' },
    'data-dir': {
      type: 'string',
      value: 'DIR',
      help: 'per-device seq, outbox and audit log on disk under DIR (default: in memory)',
    },
    'id-prefix': { type: 'string', value: 'P', help: 'device ids are P-0, P-1, … (default fleet)' },
    ...metricsOptionSpec,
    ...listenOptionSpec,
    ...brokerOptionSpec,
    'log-level': {
      type: 'string',
      value: 'LEVEL',
      help: 'pino log level (default warn)',
      env: 'DOORBELL_LOG_LEVEL',
    },
  },
  async run({ values }, io) {
    const count = positiveNumber('--count', values.count, true);
    if (count === undefined) throw new UserError('how many doorbells? doorbell fleet --count N');
    const shardText = values.shard;
    let shard: Shard | undefined;
    if (shardText !== undefined) {
      const parsed = parseShard(shardText);
      if (typeof parsed === 'string') throw new UserError(parsed);
      shard = parsed;
    }
    const profile = await profileFrom(values.profile, io);
    const video = videoPath(values.video, io.cwd, profile.profile);
    const idPrefix = values['id-prefix'] ?? 'fleet';
    if (!/^[a-z0-9_-]{1,20}$/.test(idPrefix))
      throw new UserError(`--id-prefix ${JSON.stringify(idPrefix)}: 1-20 of a-z, 0-9, "_", "-"`);
    const speed = positiveNumber('--speed', values.speed, false) ?? 1;
    const startAt = startAtFrom(values['start-at']);
    const localAddresses = localAddressesFrom(values['local-address']);
    if (localAddresses && !values.broker)
      throw new UserError('--local-address needs --broker: the embedded broker listens on this machine');
    const summaryFile =
      values.summary === undefined || values.summary === '-'
        ? values.summary
        : resolve(io.cwd, values.summary);
    const clock: Clock | undefined = speed === 1 ? undefined : new SpeedClock(speed);
    const external = values.broker;
    const metrics =
      values['metrics-port'] === undefined
        ? undefined
        : new DoorbellMetrics({
            outboxDepth: () => fleet.stats().outboxDepth,
            devices: () => {
              const stats = fleet.stats();
              return { total: stats.devices, connected: stats.connected };
            },
          });
    const fleet = new Fleet(
      {
        count,
        ...(shard ? { shard } : {}),
        profile: profile.profile,
        video,
        ...(external
          ? { broker: connectionFrom(values, '') }
          : { port: portFrom(values.port), host: values.host ?? '127.0.0.1' }),
        ...(clock ? { clock } : {}),
        ringEveryS: positiveNumber('--ring-every', values['ring-every'], false, true) ?? 10,
        connectRate: positiveNumber('--connect-rate', values['connect-rate'], false) ?? 200,
        ...(startAt !== undefined ? { startAt } : {}),
        ...(localAddresses ? { localAddresses } : {}),
        ...(values['data-dir'] ? { dataDir: resolve(io.cwd, values['data-dir']) } : {}),
        idPrefix,
        logger: createLogger({ level: values['log-level'] ?? 'warn' }),
      },
      metrics,
    );
    const durationS = positiveNumber('--duration', values.duration, false);
    const progress = setInterval(() => writeLine(io.stderr, summaryLine()), 1000);
    let lastSent = 0;
    let lastAt = performance.now();
    function summaryLine(): string {
      const stats = fleet.stats();
      const now = performance.now();
      const rate = ((stats.eventsSent - lastSent) * 1000) / Math.max(1, now - lastAt);
      lastSent = stats.eventsSent;
      lastAt = now;
      return (
        `fleet: ${stats.connected}/${stats.devices} connected (${stats.started} started) · ${rate.toFixed(1)} events/s · ` +
        `${stats.eventsSent} sent · rss ${stats.rssMb} MB · heap ${stats.heapMb} MB${speed === 1 ? '' : ` · ${speed}x time`}`
      );
    }
    const metricsServer = metrics ? await serveMetrics(values, metrics, io) : undefined;
    const shardSize = Math.ceil(count / (shard?.total ?? 1));
    if (!external && shardSize > EMBEDDED_BROKER_COMFORT)
      writeLine(
        io.stderr,
        `fleet: ${shardSize} devices on the embedded broker, which shares this process's CPU with them; beyond ` +
          `about ${EMBEDDED_BROKER_COMFORT} use --broker (e.g. mosquitto) — docs/fleet.md`,
      );
    try {
      if (clock instanceof SpeedClock) clock.run();
      await fleet.start();
      writeLine(
        io.stdout,
        `fleet of ${fleet.devices.length} doorbell(s)${shard ? ` (shard ${shard.index}/${shard.total} of ${count})` : ''} on ${fleet.brokerUrl}; Ctrl+C stops it`,
      );
      await Promise.race([
        waitForSignal(),
        ...(durationS ? [new Promise((r) => setTimeout(r, (durationS * 1000) / speed))] : []),
      ]);
      if (summaryFile !== undefined) {
        // What was sent must have its chance to be acknowledged before the result is taken.
        fleet.quiesce();
        await fleet.drain();
      }
    } finally {
      clearInterval(progress);
      if (clock instanceof SpeedClock) clock.halt();
      writeLine(io.stderr, summaryLine());
      if (summaryFile !== undefined) await writeSummary(summaryFile, fleet.summary(), io);
      await fleet.stop();
      await metricsServer?.stop();
    }
    return 0;
  },
});

/** Devices the embedded broker serves in the fleet's own process without falling behind (docs/fleet.md, measured). */
const EMBEDDED_BROKER_COMFORT = 1000;

const mergeCommand = defineCommand('fleet merge', {
  summary: 'merge the --summary files of a sharded fleet run into one verdict',
  synopsis: 'FILE… [--max-lost N] [--max-p99-ms X]',
  about:
    'Adds up the shards (events sent and acknowledged, devices, reconnects, errors; latency histograms, so the\n' +
    'percentiles are those of the whole run) and prints one JSON verdict. Exit 0: pass; 1: a threshold missed, a\n' +
    'shard missing, or devices of the fleet unaccounted for; 2: a file that is not a fleet summary, or\n' +
    'summaries of different runs.',
  positionals: true,
  options: {
    'max-lost': {
      type: 'string',
      value: 'N',
      help: 'fail when more than N events were sent but never acknowledged by the broker',
    },
    'max-p99-ms': {
      type: 'string',
      value: 'X',
      help: "fail when the 99th percentile of publish latency (event → broker's PUBACK) exceeds X ms",
    },
  },
  async run({ values, positionals }, io) {
    if (positionals.length === 0) throw new UserError('which summaries? doorbell fleet merge FILE…');
    const maxLost = positiveNumber('--max-lost', values['max-lost'], true, true);
    const maxP99Ms = positiveNumber('--max-p99-ms', values['max-p99-ms'], false);
    const summaries = await Promise.all(
      positionals.map(async (file) => ({ file, summary: await readSummary(resolve(io.cwd, file), file) })),
    );
    let merged: ReturnType<typeof mergeSummaries>;
    try {
      merged = mergeSummaries(summaries);
    } catch (error) {
      throw new UserError((error as Error).message);
    }
    const verdict = fleetVerdict(merged, { maxLost, maxP99Ms });
    for (const failure of verdict.failures) writeLine(io.stderr, `fleet merge: FAIL ${failure}`);
    const { buckets: _c, ...connectMs } = merged.connectMs;
    const { buckets: _p, ...publishMs } = merged.publishMs;
    writeLine(
      io.stdout,
      JSON.stringify({
        verdict: verdict.pass ? 'pass' : 'fail',
        failures: verdict.failures,
        ...merged,
        connectMs,
        publishMs,
      }),
    );
    return verdict.pass ? 0 : 1;
  },
});

/** `doorbell fleet …` runs a fleet; `doorbell fleet merge …` merges the summaries of its shards. */
export const command: CliCommand = {
  summary: runCommand.summary,
  usage: `${runCommand.usage}\n\n${mergeCommand.usage}`,
  options: { ...runCommand.options, ...mergeCommand.options },
  run: (args, io) => (args[0] === 'merge' ? mergeCommand.run(args.slice(1), io) : runCommand.run(args, io)),
};

async function readSummary(path: string, name: string): Promise<FleetSummary> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserError(`${name}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`, 2);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${name}: not JSON (${(error as Error).message})`, 2);
  }
  const parsed = FleetSummarySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : '(the whole file)';
    throw new UserError(`${name}: ${field}: ${issue.message} — not a doorbell fleet --summary file?`, 2);
  }
  return parsed.data;
}

async function writeSummary(file: string, summary: FleetSummary, io: CliIo): Promise<void> {
  const text = `${JSON.stringify(summary)}\n`;
  if (file === '-') io.stdout.write(text);
  else await writeFile(file, text);
}

function startAtFrom(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)
    ? Date.parse(raw)
    : Number.NaN;
  if (Number.isNaN(at))
    throw new UserError(
      `--start-at ${JSON.stringify(raw)}: expected an ISO time with zone, e.g. 2026-12-04T12:00:00Z`,
    );
  return at;
}

function localAddressesFrom(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const addresses = raw.split(',').map((a) => a.trim());
  const bad = addresses.find((a) => isIP(a) === 0);
  if (bad !== undefined)
    throw new UserError(
      `--local-address ${JSON.stringify(raw)}: ${JSON.stringify(bad)} is not an IP address`,
    );
  return addresses;
}

function positiveNumber(
  flag: string,
  raw: string | undefined,
  integer: boolean,
  allowZero = false,
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const ok =
    Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (!ok)
    throw new UserError(
      `${flag} ${JSON.stringify(raw)}: expected a ${integer ? 'whole ' : ''}number ${allowZero ? '≥' : '>'} 0`,
    );
  return value;
}

/** A fixture name, or what `doorbell start --video` takes. */
function videoPath(value: string | undefined, cwd: string, profile: DeviceProfile): string | null {
  if (value === 'none') return null;
  if (value !== undefined && /^[a-z0-9][a-z0-9_-]*$/.test(value))
    return resolve(VIDEO_FIXTURES_DIR, `${value}.mp4`);
  return resolveVideoSource(profile, value, cwd) ?? null;
}
