import { z } from 'zod';
import { LatencyHistogram, LatencySummarySchema } from './latency.js';

const count = z.number().int().min(0);

/** What one fleet process (one shard) reports at the end of its run: `doorbell fleet --summary FILE`. */
export const FleetSummarySchema = z
  .object({
    kind: z.literal('doorbell-fleet-summary'),
    v: z.literal(1),
    /** Devices of the whole fleet (every shard). */
    fleetCount: z.number().int().positive(),
    shard: z.object({ index: count, total: z.number().int().positive() }).strict(),
    startedAt: z.iso.datetime(),
    endedAt: z.iso.datetime(),
    /** Devices of this shard. */
    devices: count,
    /** Connected when the run ended (before the devices stopped). */
    connected: count,
    /** Connected at least once during the run. */
    everConnected: count,
    reconnects: count,
    events: z.object({ sent: count, acknowledged: count }).strict(),
    /** From a device's start to its broker's CONNACK (first connect only). */
    connectMs: LatencySummarySchema,
    /** From handing an event to the client to the broker's PUBACK. */
    publishMs: LatencySummarySchema,
    /** Error messages (MQTT client errors, refused subscriptions) and how often each happened. */
    errors: z.record(z.string(), z.number().int().positive()),
  })
  .strict();

export type FleetSummary = z.output<typeof FleetSummarySchema>;

export interface MergedFleet {
  fleetCount: number;
  shards: { total: number; present: number[]; missing: number[] };
  devices: number;
  connected: number;
  everConnected: number;
  reconnects: number;
  events: { sent: number; acknowledged: number; lost: number };
  connectMs: ReturnType<LatencyHistogram['summary']>;
  publishMs: ReturnType<LatencyHistogram['summary']>;
  errors: Record<string, number>;
  startedAt: string;
  endedAt: string;
}

/** Shards of one run add up: one fleet size and shard count, each shard once. Otherwise an error says why. */
export function mergeSummaries(
  summaries: ReadonlyArray<{ file: string; summary: FleetSummary }>,
): MergedFleet {
  const first = summaries[0];
  if (!first) throw new Error('no summaries to merge');
  const { fleetCount } = first.summary;
  const total = first.summary.shard.total;
  const seen = new Map<number, string>();
  const connectMs = new LatencyHistogram();
  const publishMs = new LatencyHistogram();
  const errors: Record<string, number> = {};
  const merged = {
    devices: 0,
    connected: 0,
    everConnected: 0,
    reconnects: 0,
    sent: 0,
    acknowledged: 0,
    startedAt: first.summary.startedAt,
    endedAt: first.summary.endedAt,
  };
  for (const { file, summary } of summaries) {
    if (summary.fleetCount !== fleetCount)
      throw new Error(`${file}: fleetCount ${summary.fleetCount} differs from ${first.file}'s ${fleetCount}`);
    if (summary.shard.total !== total)
      throw new Error(`${file}: shard.total ${summary.shard.total} differs from ${first.file}'s ${total}`);
    const twin = seen.get(summary.shard.index);
    if (twin !== undefined) throw new Error(`${file}: shard.index ${summary.shard.index} is also ${twin}'s`);
    seen.set(summary.shard.index, file);
    merged.devices += summary.devices;
    merged.connected += summary.connected;
    merged.everConnected += summary.everConnected;
    merged.reconnects += summary.reconnects;
    merged.sent += summary.events.sent;
    merged.acknowledged += summary.events.acknowledged;
    if (summary.startedAt < merged.startedAt) merged.startedAt = summary.startedAt;
    if (summary.endedAt > merged.endedAt) merged.endedAt = summary.endedAt;
    connectMs.add(summary.connectMs);
    publishMs.add(summary.publishMs);
    for (const [message, n] of Object.entries(summary.errors)) errors[message] = (errors[message] ?? 0) + n;
  }
  const present = [...seen.keys()].sort((a, b) => a - b);
  return {
    fleetCount,
    shards: {
      total,
      present,
      missing: Array.from({ length: total }, (_, i) => i).filter((i) => !seen.has(i)),
    },
    devices: merged.devices,
    connected: merged.connected,
    everConnected: merged.everConnected,
    reconnects: merged.reconnects,
    events: {
      sent: merged.sent,
      acknowledged: merged.acknowledged,
      lost: Math.max(0, merged.sent - merged.acknowledged),
    },
    connectMs: connectMs.summary(),
    publishMs: publishMs.summary(),
    errors,
    startedAt: merged.startedAt,
    endedAt: merged.endedAt,
  };
}

export interface Thresholds {
  /** Events sent but never acknowledged by the broker. */
  maxLost?: number | undefined;
  /** p99 of publish latency (event handed to the client → PUBACK). */
  maxP99Ms?: number | undefined;
}

export interface Verdict {
  pass: boolean;
  /** One line per missed condition. */
  failures: string[];
}

/** Pass only when every shard reported, every device of the fleet ran, and every threshold given holds. */
export function fleetVerdict(merged: MergedFleet, thresholds: Thresholds): Verdict {
  const failures: string[] = [];
  if (merged.shards.missing.length > 0)
    failures.push(`shards missing: ${merged.shards.missing.join(', ')} of ${merged.shards.total}`);
  if (merged.shards.missing.length === 0 && merged.devices !== merged.fleetCount)
    failures.push(`devices: the shards ran ${merged.devices} of a fleet of ${merged.fleetCount}`);
  if (thresholds.maxLost !== undefined && merged.events.lost > thresholds.maxLost)
    failures.push(`lost ${merged.events.lost} events > --max-lost ${thresholds.maxLost}`);
  const p99 = merged.publishMs.p99;
  if (thresholds.maxP99Ms !== undefined && p99 !== null && p99 > thresholds.maxP99Ms)
    failures.push(`publish p99 ${p99} ms > --max-p99-ms ${thresholds.maxP99Ms}`);
  return { pass: failures.length === 0, failures };
}
