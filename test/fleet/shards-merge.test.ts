import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetSummarySchema } from '../../src/fleet/summary.js';
import { runInProcess } from '../helpers/cli.js';
import {
  mosquittoPath,
  type RunningMosquitto,
  spawnCli,
  startMosquitto,
  subscriber,
  tempDir,
} from '../helpers/mqtt.js';

const COUNT = 12;

function shardArgs(url: string, index: number, summary: string, durationS: number, startAt: string) {
  return [
    'fleet',
    ...['--count', String(COUNT), '--shard', `${index}/2`, '--broker', url, '--video', 'none'],
    ...['--ring-every', '1', '--duration', String(durationS), '--connect-rate', '200'],
    ...['--start-at', startAt, '--summary', summary],
  ];
}

function summaryOf(file: string) {
  return FleetSummarySchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

describe.skipIf(!mosquittoPath())('two fleet shards as one run against one mosquitto', () => {
  let broker: RunningMosquitto | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  it('each writes a summary; merge adds them up to what a subscriber saw, and passes', async () => {
    broker = await startMosquitto();
    const dir = tempDir('fleet-shards-');
    const watcher = await subscriber(broker.url, 'doorbell/+/events/ding');
    const startAt = new Date(Date.now() + 3000).toISOString();
    const files = [0, 1].map((i) => join(dir, `shard-${i}.json`));
    const shards = [0, 1].map((i) => spawnCli(shardArgs(broker!.url, i, files[i]!, 4, startAt)));
    expect(await Promise.all(shards.map((s) => s.exited))).toEqual([0, 0]);
    await watcher.client.endAsync();

    const [a, b] = files.map(summaryOf) as [ReturnType<typeof summaryOf>, ReturnType<typeof summaryOf>];
    expect([a.shard, b.shard]).toEqual([
      { index: 0, total: 2 },
      { index: 1, total: 2 },
    ]);
    expect(a.devices + b.devices).toBe(COUNT);
    expect(a.everConnected + b.everConnected).toBe(COUNT);
    // Both ramps waited for --start-at.
    for (const s of [a, b]) expect(Date.parse(s.startedAt)).toBeGreaterThanOrEqual(Date.parse(startAt));
    for (const s of [a, b]) {
      expect(s.events.sent).toBeGreaterThan(0);
      expect(s.events.acknowledged).toBe(s.events.sent);
      expect(s.publishMs.count).toBe(s.events.acknowledged);
      expect(s.connectMs.count).toBe(s.devices);
    }
    // A ring is a ding and a ding end, both on events/ding: what the broker delivered is what the shards sent.
    expect(watcher.messages.length).toBe(a.events.sent + b.events.sent);

    const thresholds = { '--max-lost': '0', '--max-p99-ms': '10000' };
    const merged = await runInProcess(['fleet', 'merge', ...files, ...Object.entries(thresholds).flat()]);
    expect(merged.stderr).toBe('');
    expect(merged.code).toBe(0);
    const verdict = JSON.parse(merged.stdout.trim().split('\n').at(-1)!);
    expect(verdict).toMatchObject({
      verdict: 'pass',
      devices: COUNT,
      everConnected: COUNT,
      shards: { total: 2, missing: [] },
      events: { sent: a.events.sent + b.events.sent, acknowledged: a.events.sent + b.events.sent, lost: 0 },
    });
    expect(verdict.publishMs.count).toBe(a.events.sent + b.events.sent);
    expect(verdict.publishMs.p99).toBeGreaterThanOrEqual(Math.min(a.publishMs.p99!, b.publishMs.p99!));

    // One shard alone is not the run.
    const half = await runInProcess(['fleet', 'merge', files[0]!]);
    expect(half.code).toBe(1);
    expect(half.stderr).toContain('shards missing: 1 of 2');
  }, 60_000);

  it('a broker gone for good mid-run leaves events unacknowledged: merge --max-lost 0 fails', async () => {
    broker = await startMosquitto();
    const dir = tempDir('fleet-loss-');
    const startAt = new Date(Date.now() + 3000).toISOString();
    const files = [0, 1].map((i) => join(dir, `shard-${i}.json`));
    const shards = [0, 1].map((i) => spawnCli(shardArgs(broker!.url, i, files[i]!, 7, startAt)));
    await Promise.all(shards.map((s) => s.waitForOutput('fleet of 6 doorbell(s)', 20_000)));
    await new Promise((r) => setTimeout(r, 1500));
    await broker.stop();
    broker = undefined;
    expect(await Promise.all(shards.map((s) => s.exited))).toEqual([0, 0]);

    const [a, b] = files.map(summaryOf) as [ReturnType<typeof summaryOf>, ReturnType<typeof summaryOf>];
    for (const s of [a, b]) {
      expect(s.events.acknowledged).toBeGreaterThan(0);
      expect(s.events.sent).toBeGreaterThan(s.events.acknowledged);
      expect(s.connected).toBe(0);
    }
    const lost = a.events.sent - a.events.acknowledged + (b.events.sent - b.events.acknowledged);
    const merged = await runInProcess(['fleet', 'merge', ...files, '--max-lost', '0']);
    expect(merged.code).toBe(1);
    expect(merged.stderr).toContain(`fleet merge: FAIL lost ${lost} events > --max-lost 0`);
    expect(JSON.parse(merged.stdout.trim()).verdict).toBe('fail');
    // The same run passes a threshold it meets.
    expect((await runInProcess(['fleet', 'merge', ...files, '--max-lost', String(lost)])).code).toBe(0);
  }, 60_000);

  it('a file that is not a summary is named with the field that is wrong', async () => {
    const dir = tempDir('fleet-bad-');
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    const summary = {
      kind: 'doorbell-fleet-summary',
      v: 1,
      fleetCount: 2,
      shard: { index: 0, total: 1 },
      startedAt: '2026-12-04T12:00:00.000Z',
      endedAt: '2026-12-04T12:01:00.000Z',
      devices: 2,
      connected: 2,
      everConnected: 2,
      reconnects: 0,
      events: { sent: 3, acknowledged: 3 },
      connectMs: { count: 0, p50: null, p90: null, p99: null, max: null, buckets: [] },
      publishMs: { count: 0, p50: null, p90: null, p99: null, max: null, buckets: [] },
      errors: {},
    };
    writeFileSync(good, JSON.stringify(summary));
    expect((await runInProcess(['fleet', 'merge', good])).code).toBe(0);
    writeFileSync(bad, JSON.stringify({ ...summary, events: { sent: 'many', acknowledged: 3 } }));
    const wrong = await runInProcess(['fleet', 'merge', good, bad]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('bad.json: events.sent');
    writeFileSync(bad, '{"kind":');
    expect((await runInProcess(['fleet', 'merge', bad])).stderr).toContain('bad.json: not JSON');
    const missing = await runInProcess(['fleet', 'merge', join(dir, 'missing.json')]);
    expect(missing.stderr).toMatch(/missing\.json: cannot read it/);
    const flag = await runInProcess(['fleet', 'merge', good, '--max-lost', 'x']);
    expect(flag.stderr).toContain('--max-lost "x"');
  }, 30_000);
});
