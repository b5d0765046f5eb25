import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { ClipLookupError, setLegalHold } from '../../src/retention/legal-hold.js';
import { DAY_MS } from '../../src/retention/policy.js';
import { sweepRetention } from '../../src/retention/sweep.js';
import { CronExpressionError, RetentionSweeper } from '../../src/retention/sweeper.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { InvalidKeyError } from '../../src/storage/keys.js';
import { UploadQueue } from '../../src/storage/upload-queue.js';
import { FlakyBucket, listKeys, makeClipFile } from '../storage/helpers.js';

const START = Date.UTC(2026, 0, 1, 12, 0);
let dir: string;
let clock: VirtualClock;
let bucket: FlakyBucket;
let queue: UploadQueue;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-retention-'));
  clock = new VirtualClock(START);
  bucket = new FlakyBucket(new FsBucket(join(dir, 'bucket')));
  queue = new UploadQueue({ spoolDir: join(dir, 'spool'), bucket, clock, random: () => 0.5 });
  await queue.start();
});
afterEach(async () => {
  await queue.stop();
  await rm(dir, { recursive: true, force: true });
});

async function record(clipId: string, withThumbnail = true): Promise<void> {
  const clip = await makeClipFile(dir, `${clipId}.mp4`, 2048);
  const thumb = withThumbnail ? await makeClipFile(dir, `${clipId}.jpg`, 256) : undefined;
  await queue.enqueue({
    deviceId: 'front',
    clipId,
    eventId: `e-${clipId}`,
    trigger: 'motion',
    recordedAt: new Date(clock.now()).toISOString(),
    clipFile: clip.path,
    ...(thumb ? { thumbnailFile: thumb.path } : {}),
  });
  await queue.whenIdle();
}

describe('retention on the virtual clock', () => {
  it('keeps a clip at day 59, deletes it after day 60, and a held clip survives', async () => {
    await record('plain');
    await record('evidence');
    const hold = await setLegalHold(bucket, 'evidence', true);
    expect(hold.changes.map((c) => c.key)).toEqual([
      'clips/front/2026/01/01/evidence.jpg',
      'clips/front/2026/01/01/evidence.mp4',
    ]);
    const sweeper = new RetentionSweeper({ bucket, clock, spool: queue });

    clock.advance(59 * DAY_MS);
    const day59 = await sweeper.runNow();
    expect(day59.deleted).toEqual([]);
    expect(day59.retained).toBe(2);
    expect(await listKeys(bucket, 'clips/')).toHaveLength(4);

    clock.advance(DAY_MS + 60_000);
    const day60 = await sweeper.runNow();
    expect(day60.at).toBe('2026-03-02T12:01:00.000Z');
    expect(day60.deleted.map((d) => d.key)).toEqual([
      'clips/front/2026/01/01/plain.jpg',
      'clips/front/2026/01/01/plain.mp4',
    ]);
    expect(day60.held.map((h) => h.clipId)).toEqual(['evidence', 'evidence']);
    expect(await listKeys(bucket, 'clips/')).toEqual([
      'clips/front/2026/01/01/evidence.jpg',
      'clips/front/2026/01/01/evidence.mp4',
    ]);
    // Sidecars went with their objects.
    expect((await readdir(join(dir, 'bucket', 'clips', 'front', '2026', '01', '01'))).sort()).toEqual([
      'evidence.jpg',
      'evidence.jpg.meta.json',
      'evidence.mp4',
      'evidence.mp4.meta.json',
    ]);

    // Lifting the hold lets the next sweep take it.
    await setLegalHold(bucket, 'evidence', false);
    const after = await sweeper.runNow();
    expect(after.deleted.map((d) => d.clipId)).toEqual(['evidence', 'evidence']);
    expect(await listKeys(bucket, 'clips/')).toEqual([]);
  });

  it('reports without deleting on a dry run', async () => {
    await record('dry', false);
    const report = await sweepRetention({ bucket, nowMs: START + 61 * DAY_MS, dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.deleted.map((d) => d.key)).toEqual(['clips/front/2026/01/01/dry.mp4']);
    expect(await listKeys(bucket, 'clips/')).toEqual(['clips/front/2026/01/01/dry.mp4']);
  });

  it('discards clips that expired while still waiting in the spool', async () => {
    bucket.down = true;
    await record('stuck', false);
    expect(queue.health().depth).toBe(1);
    bucket.down = false;
    const report = await sweepRetention({ bucket, nowMs: START + 60 * DAY_MS, spool: queue });
    expect(report.spoolDiscarded).toEqual([
      { entryId: 'front.stuck', clipId: 'stuck', expiredAt: '2026-03-02T12:00:00.000Z' },
    ]);
    expect(queue.health().depth).toBe(0);
    expect(existsSync(join(dir, 'spool', 'entries', 'front.stuck'))).toBe(false);
  });

  it('reports a failing object and carries on with the rest', async () => {
    await record('a', false);
    await record('b', false);
    const flaky = new FsBucket(join(dir, 'bucket'));
    const original = flaky.delete.bind(flaky);
    flaky.delete = async (key: string) => {
      if (key.endsWith('/a.mp4')) throw new Error('permission denied');
      return original(key);
    };
    const report = await sweepRetention({ bucket: flaky, nowMs: START + 61 * DAY_MS });
    expect(report.errors).toEqual([{ key: 'clips/front/2026/01/01/a.mp4', error: 'permission denied' }]);
    expect(report.deleted.map((d) => d.clipId)).toEqual(['b']);
  });
});

describe('legal hold lookup', () => {
  it('names what it could not find, and refuses unsafe ids', async () => {
    await expect(setLegalHold(bucket, 'nope', true)).rejects.toThrow(/clip "nope" not found in file:\/\//);
    await expect(setLegalHold(bucket, '../x', true)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(setLegalHold(bucket, 'x', true, { deviceId: '../etc' })).rejects.toBeInstanceOf(
      InvalidKeyError,
    );
  });

  it('asks for a device when two devices have the clip id', async () => {
    const src = await makeClipFile(dir, 'same.mp4', 10);
    await bucket.put('clips/a/2026/01/01/same.mp4', src.path, { 'legal-hold': 'false' });
    await bucket.put('clips/b/2026/01/01/same.mp4', src.path, { 'legal-hold': 'false' });
    await expect(setLegalHold(bucket, 'same', true)).rejects.toThrow(
      new ClipLookupError('clip "same" exists for devices a, b: choose one with --device'),
    );
    const result = await setLegalHold(bucket, 'same', true, { deviceId: 'b' });
    expect(result).toEqual({
      clipId: 'same',
      deviceId: 'b',
      held: true,
      changes: [{ key: 'clips/b/2026/01/01/same.mp4', before: false, after: true }],
      spooled: [],
    });
  });

  it('holds a clip that is still waiting in the spool, and it is uploaded held', async () => {
    bucket.down = true;
    await record('pending', false);
    bucket.down = false;
    const result = await setLegalHold(bucket, 'pending', true, { spool: queue });
    expect(result).toMatchObject({ spooled: ['front.pending'], changes: [] });
    clock.advance(5_000);
    await queue.whenIdle();
    expect(queue.health().depth).toBe(0);
    const head = await bucket.head('clips/front/2026/01/01/pending.mp4');
    expect(head?.metadata['legal-hold']).toBe('true');
    const report = await sweepRetention({ bucket, nowMs: START + 400 * DAY_MS });
    expect(report.held.map((h) => h.clipId)).toEqual(['pending']);
  });

  it('corrects a clip whose hold was set while it was uploading', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new FlakyBucket(bucket.inner);
    const originalPut = slow.put.bind(slow);
    slow.put = async (...args) => {
      const result = await originalPut(...args);
      await gate;
      return result;
    };
    const slowQueue = new UploadQueue({ spoolDir: join(dir, 'spool-slow'), bucket: slow, clock });
    const uploaded: boolean[] = [];
    slowQueue.on('uploaded', (clip) => {
      uploaded.push(clip.legalHold);
    });
    await slowQueue.start();
    const clip = await makeClipFile(dir, 'inflight.mp4', 1000);
    await slowQueue.enqueue({
      deviceId: 'front',
      clipId: 'inflight',
      eventId: 'e',
      trigger: 'ding',
      recordedAt: new Date(clock.now()).toISOString(),
      clipFile: clip.path,
    });
    while (slowQueue.entries()[0]?.uploading !== true) await new Promise((r) => setImmediate(r));
    expect(await slowQueue.setLegalHold('inflight', true)).toEqual(['front.inflight']);
    release();
    await slowQueue.whenIdle();
    await slowQueue.stop();
    expect(uploaded).toEqual([true]);
    expect((await bucket.head('clips/front/2026/01/01/inflight.mp4'))?.metadata['legal-hold']).toBe('true');
  });
});

describe('RetentionSweeper schedule', () => {
  it('refuses a bad cron expression, naming the field', () => {
    expect(() => new RetentionSweeper({ bucket, clock, cron: '61 * * * *' })).toThrow(
      new CronExpressionError(
        'retention cron "61 * * * *" is invalid (minute: 61 is a invalid expression for minute)',
      ),
    );
  });

  it('schedules hourly by default and stops cleanly (idempotent)', async () => {
    const sweeper = new RetentionSweeper({ bucket, clock });
    expect(sweeper.cron).toBe('0 * * * *');
    expect(sweeper.nextRun()).toBeUndefined();
    sweeper.start();
    sweeper.start();
    const next = sweeper.nextRun();
    expect(next).toBeInstanceOf(Date);
    expect(next!.getUTCMinutes()).toBe(0);
    expect(next!.getTime() - clock.now()).toBeLessThanOrEqual(3_600_000);
    expect(next!.getTime()).toBeGreaterThan(clock.now());
    await sweeper.stop();
    await sweeper.stop();
    expect(sweeper.nextRun()).toBeUndefined();
  });

  it('fires the sweep from the cron schedule on the clock, not the wall clock', async () => {
    clock.advance(10 * DAY_MS);
    let resolveSweep: (at: string) => void = () => undefined;
    const swept = new Promise<string>((resolve) => {
      resolveSweep = resolve;
    });
    const sweeper = new RetentionSweeper({
      bucket,
      clock,
      cron: '* * * * * *',
      onSweep: (r) => resolveSweep(r.at),
    });
    sweeper.start();
    try {
      clock.advance(1000);
      expect(await swept).toBe('2026-01-11T12:00:01.000Z');
    } finally {
      await sweeper.stop();
    }
  });

  it('runs its sweep at the clock time and reports it', async () => {
    const reports: string[] = [];
    const sweeper = new RetentionSweeper({
      bucket,
      clock,
      cron: '*/5 * * * *',
      timezone: 'Europe/Berlin',
      onSweep: (r) => reports.push(r.at),
    });
    clock.advance(3 * DAY_MS);
    await sweeper.runNow();
    expect(reports).toEqual(['2026-01-04T12:00:00.000Z']);
  });
});
