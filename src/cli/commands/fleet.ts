import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveVideoSource } from '../../agent/camera-rig.js';
import type { Clock } from '../../clock/clock.js';
import type { DeviceProfile } from '../../config/profile.js';
import { Fleet } from '../../fleet/fleet.js';
import { parseShard, type Shard } from '../../fleet/shard.js';
import { SpeedClock } from '../../fleet/virtual-driver.js';
import { createLogger } from '../../log/logger.js';
import { VIDEO_FIXTURES_DIR } from '../../replay/scenario.js';
import { type CliCommand, UsageError, waitForSignal, writeLine } from '../io.js';
import { brokerOptionSpec, connectionFrom, portFrom, profileFrom } from '../options.js';

export const command: CliCommand = {
  summary:
    'run N simulated doorbells in one process (own MQTT session each, shared motion detection, no clips)',
  usage:
    'doorbell fleet --count N [--profile NAME|PATH] [--video FIXTURE|FILE|none] [--shard i/n] [--ring-every S]\n' +
    '               [--connect-rate N] [--duration S] [--speed N] [--data-dir DIR] [--id-prefix P]\n' +
    '               [--broker URL [--username U --password P …] | --port N [--host ADDR]]\n' +
    '  --shard i/n runs devices i, i+n, … of the fleet (k machines: --shard 0/k … --shard k-1/k;\n' +
    '  a Kubernetes Indexed Job: --shard $(JOB_COMPLETION_INDEX)/<completions>; env DOORBELL_SHARD works too)',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        count: { type: 'string' },
        profile: { type: 'string' },
        video: { type: 'string' },
        shard: { type: 'string' },
        'ring-every': { type: 'string' },
        'connect-rate': { type: 'string' },
        duration: { type: 'string' },
        speed: { type: 'string' },
        'data-dir': { type: 'string' },
        'id-prefix': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        ...brokerOptionSpec,
      },
      strict: true,
    });
    const count = positiveNumber('--count', values.count ?? io.env['FLEET_COUNT'], true);
    if (count === undefined) throw new UsageError('how many doorbells? doorbell fleet --count N');
    const shardText = values.shard ?? io.env['DOORBELL_SHARD'];
    let shard: Shard | undefined;
    if (shardText !== undefined) {
      const parsed = parseShard(shardText);
      if (typeof parsed === 'string') throw new UsageError(parsed);
      shard = parsed;
    }
    const profile = await profileFrom(values.profile, io);
    const video = videoPath(values.video, io.cwd, profile.profile);
    const idPrefix = values['id-prefix'] ?? 'fleet';
    if (!/^[a-z0-9_-]{1,20}$/.test(idPrefix))
      throw new UsageError(`--id-prefix ${JSON.stringify(idPrefix)}: 1-20 of a-z, 0-9, "_", "-"`);
    const speed = positiveNumber('--speed', values.speed, false) ?? 1;
    const clock: Clock | undefined = speed === 1 ? undefined : new SpeedClock(speed);
    const external = values.broker ?? io.env['DOORBELL_BROKER'];
    const fleet = new Fleet({
      count,
      ...(shard ? { shard } : {}),
      profile: profile.profile,
      video,
      ...(external
        ? { broker: connectionFrom(values, io, '') }
        : { port: portFrom(values.port, io), host: values.host ?? '127.0.0.1' }),
      ...(clock ? { clock } : {}),
      ringEveryS: positiveNumber('--ring-every', values['ring-every'], false, true) ?? 10,
      connectRate: positiveNumber('--connect-rate', values['connect-rate'], false) ?? 200,
      ...(values['data-dir'] ? { dataDir: resolve(io.cwd, values['data-dir']) } : {}),
      idPrefix,
      logger: createLogger({ level: io.env['DOORBELL_LOG_LEVEL'] ?? 'warn' }),
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
};

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
    throw new UsageError(
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
