import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/fleet/latency.js';
import { type FleetSummary, fleetVerdict, mergeSummaries } from '../../src/fleet/summary.js';

function shard(
  index: number,
  total: number,
  sent: number,
  acknowledged: number,
  latencies: number[],
): FleetSummary {
  const publish = new LatencyHistogram();
  for (const ms of latencies) publish.record(ms);
  return {
    kind: 'doorbell-fleet-summary',
    v: 1,
    fleetCount: 10,
    shard: { index, total },
    startedAt: `2026-12-04T12:00:0${index}.000Z`,
    endedAt: `2026-12-04T12:10:0${index}.000Z`,
    devices: 5,
    connected: 5,
    everConnected: 5,
    reconnects: index,
    events: { sent, acknowledged },
    connectMs: new LatencyHistogram().summary(),
    publishMs: publish.summary(),
    errors: index === 0 ? { 'connack timeout': 2 } : { 'connack timeout': 1, ECONNRESET: 4 },
  };
}

describe('fleet summaries', () => {
  it('merge adds shards up and takes percentiles of the whole run, not of the shards', () => {
    // Shard 0 is fast, shard 1 slow: the run's p99 is shard 1's tail, its p50 between the two.
    const fast = Array.from({ length: 99 }, () => 2);
    const slow = [500];
    const merged = mergeSummaries([
      { file: 'a', summary: shard(0, 2, 100, 100, fast) },
      { file: 'b', summary: shard(1, 2, 50, 47, slow) },
    ]);
    expect(merged.events).toEqual({ sent: 150, acknowledged: 147, lost: 3 });
    expect(merged.devices).toBe(10);
    expect(merged.reconnects).toBe(1);
    expect(merged.errors).toEqual({ 'connack timeout': 3, ECONNRESET: 4 });
    expect(merged.publishMs.count).toBe(100);
    expect(merged.publishMs.p50).toBe(2);
    expect(merged.publishMs.p99).toBe(2);
    expect(merged.publishMs.max).toBe(500);
    expect(merged.startedAt).toBe('2026-12-04T12:00:00.000Z');
    expect(merged.endedAt).toBe('2026-12-04T12:10:01.000Z');
    expect(merged.shards).toEqual({ total: 2, present: [0, 1], missing: [] });

    expect(fleetVerdict(merged, {})).toEqual({ pass: true, failures: [] });
    expect(fleetVerdict(merged, { maxLost: 3 }).pass).toBe(true);
    expect(fleetVerdict(merged, { maxLost: 2 }).failures).toEqual(['lost 3 events > --max-lost 2']);
    expect(fleetVerdict(merged, { maxP99Ms: 1 }).failures).toEqual(['publish p99 2 ms > --max-p99-ms 1']);
  });

  it('refuses summaries of different runs and counts a missing shard as a failure', () => {
    const a = shard(0, 2, 1, 1, [1]);
    expect(() =>
      mergeSummaries([
        { file: 'a', summary: a },
        { file: 'b', summary: { ...shard(1, 2, 1, 1, [1]), fleetCount: 11 } },
      ]),
    ).toThrow("b: fleetCount 11 differs from a's 10");
    expect(() =>
      mergeSummaries([
        { file: 'a', summary: a },
        { file: 'b', summary: shard(1, 3, 1, 1, [1]) },
      ]),
    ).toThrow("b: shard.total 3 differs from a's 2");
    expect(() =>
      mergeSummaries([
        { file: 'a', summary: a },
        { file: 'c', summary: a },
      ]),
    ).toThrow("c: shard.index 0 is also a's");
    const alone = mergeSummaries([{ file: 'a', summary: a }]);
    expect(fleetVerdict(alone, {}).failures).toEqual(['shards missing: 1 of 2']);
  });
});
