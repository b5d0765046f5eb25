import { resolve } from 'node:path';
import { resolveVideoSource } from '../../agent/camera-rig.js';
import type { Clock } from '../../clock/clock.js';
import type { DeviceProfile } from '../../config/profile.js';
import { Fleet } from '../../fleet/fleet.js';
import { parseShard, type Shard } from '../../fleet/shard.js';
import { SpeedClock } from '../../fleet/virtual-driver.js';
import { createLogger } from '../../log/logger.js';
import { VIDEO_FIXTURES_DIR } from '../../replay/scenario.js';
import { UserError, waitForSignal, writeLine } from '../io.js';
import {
  brokerOptionSpec,
  connectionFrom,
  listenOptionSpec,
  portFrom,
  profileFrom,
  profileOption,
} from '../options.js';
import { defineCommand } from '../spec.js';

export const command = defineCommand('fleet', {
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
    duration: { type: 'string', value: 'S', help: 'stop after S simulated seconds (default: at Ctrl+C)' },
    speed: { type: 'string', value: 'N', help: 'run time N times faster (default 1)' },
    'data-dir': {
      type: 'string',
      value: 'DIR',
      help: 'per-device seq, outbox and audit log on disk under DIR (default: in memory)',
    },
    'id-prefix': { type: 'string', value: 'P', help: 'device ids are P-0, P-1, … (default fleet)' },
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
    const clock: Clock | undefined = speed === 1 ? undefined : new SpeedClock(speed);
    const external = values.broker;
    const fleet = new Fleet({
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
      ...(values['data-dir'] ? { dataDir: resolve(io.cwd, values['data-dir']) } : {}),
      idPrefix,
      logger: createLogger({ level: values['log-level'] ?? 'warn' }),
    });
    const durationS = positiveNumber('--duration', values.duration, false);
    const summary = setInterval(() => writeLine(io.stderr, summaryLine()), 1000);
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
    } finally {
      clearInterval(summary);
      if (clock instanceof SpeedClock) clock.halt();
      writeLine(io.stderr, summaryLine());
      await fleet.stop();
    }
    return 0;
  },
});

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
  if (value !== undefined && /^[a-z0-9][a-z0-9_-]*$/.test(value))
    return resolve(VIDEO_FIXTURES_DIR, `${value}.mp4`);
  return resolveVideoSource(profile, value === 'none' ? null : value, cwd) ?? null;
}
