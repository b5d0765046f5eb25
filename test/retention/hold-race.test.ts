import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipLookupError, setLegalHold } from '../../src/retention/legal-hold.js';
import { DAY_MS } from '../../src/retention/policy.js';
import { sweepRetention } from '../../src/retention/sweep.js';
import type { Bucket, ObjectMetadata, PutOptions } from '../../src/storage/bucket.js';
import { CLIP_META } from '../../src/storage/clip-metadata.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { clipObjectKey } from '../../src/storage/keys.js';
import { seededRandom } from '../../src/util/random.js';
import { runCli, spawnCli } from '../helpers/mqtt.js';
import { type S3rverHandle, startS3rver } from '../storage/s3rver-harness.js';

const RECORDED = Date.UTC(2026, 0, 1, 12, 0);
const SWEEP_AT = RECORDED + 90 * DAY_MS;

let dir: string;
let s3: S3rverHandle;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-hold-race-'));
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The sweep's view of a bucket: before its `atOp`-th call it starts the racing hold (and lets it run until it
 * first waits), so each race puts the hold at a chosen point of the sweep — before the listing, between reading
 * and deleting, between a clip's two objects.
 */
class RaceBucket implements Bucket {
  private ops = 0;
  constructor(
    private readonly inner: Bucket,
    private readonly atOp: number,
    private readonly startHold: () => void,
  ) {}
  private async tick(): Promise<void> {
    if (this.ops++ === this.atOp) {
      this.startHold();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  describe(): string {
    return this.inner.describe();
  }
  async put(key: string, source: string, metadata: ObjectMetadata, options?: PutOptions) {
    await this.tick();
    return this.inner.put(key, source, metadata, options);
  }
  async head(key: string) {
    await this.tick();
    return this.inner.head(key);
  }
  async get(key: string): Promise<Readable> {
    await this.tick();
    return this.inner.get(key);
  }
  async *list(prefix: string) {
    await this.tick();
    yield* this.inner.list(prefix);
  }
  async delete(key: string) {
    await this.tick();
    return this.inner.delete(key);
  }
  async updateMetadata(key: string, patch: ObjectMetadata) {
    await this.tick();
    return this.inner.updateMetadata(key, patch);
  }
}

async function storeExpiredClips(bucket: Bucket, race: number, count: number): Promise<string[]> {
  // Its own source file: a test that timed out may still be storing clips from a shared one.
  const source = join(dir, `object-${race}-${randomUUID()}.bin`);
  await writeFile(source, 'x'.repeat(64));
  const clipIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const clipId = `race${race}-clip${i}`;
    const parts = { deviceId: 'front', clipId, recordedAt: RECORDED };
    const metadata = {
      [CLIP_META.recordedAt]: new Date(RECORDED).toISOString(),
      [CLIP_META.retentionDays]: '60',
    };
    await bucket.put(clipObjectKey(parts), source, metadata);
    await bucket.put(clipObjectKey(parts, 'thumbnail'), source, metadata);
    clipIds.push(clipId);
  }
  return clipIds;
}

interface RaceTally {
  /** Holds that answered "set" (the CLI's exit 0). */
  holdsSet: number;
  /** Holds refused because the sweep had already deleted the clip ("not found", exit 1). */
  holdsTooLate: number;
  /** Holds the sweep found only on its re-check at delete time: it had planned to delete that clip. */
  wonAtDeleteTime: number;
  heldClipsDeleted: string[];
}

async function race(bucket: Bucket, races: number, clipsPerRace: number, seed: number): Promise<RaceTally> {
  const random = seededRandom(seed);
  const tally: RaceTally = { holdsSet: 0, holdsTooLate: 0, wonAtDeleteTime: 0, heldClipsDeleted: [] };
  // list + a head per object, then per clip a re-read of both objects and two deletes.
  const sweepOps = 1 + clipsPerRace * 2 + clipsPerRace * 4;
  for (let r = 0; r < races; r++) {
    const clipIds = await storeExpiredClips(bucket, r, clipsPerRace);
    const target = clipIds[Math.floor(random() * clipIds.length)]!;
    let hold: Promise<boolean> | undefined;
    const startHold = () => {
      hold = setLegalHold(bucket, target, true, { deviceId: 'front' }).then(
        () => true,
        (error: unknown) => {
          if (error instanceof ClipLookupError) return false;
          throw error;
        },
      );
    };
    const racing = new RaceBucket(bucket, Math.floor(random() * sweepOps), startHold);
    const report = await sweepRetention({ bucket: racing, nowMs: SWEEP_AT, prefix: 'clips/front/' });
    const held = await hold!;
    expect(report.errors).toEqual([]);
    if (held) tally.holdsSet += 1;
    else tally.holdsTooLate += 1;
    if (report.held.some((h) => h.clipId === target)) tally.wonAtDeleteTime += 1;
    const left = await bucket.head(
      clipObjectKey({ deviceId: 'front', clipId: target, recordedAt: RECORDED }),
    );
    const thumb = await bucket.head(
      clipObjectKey({ deviceId: 'front', clipId: target, recordedAt: RECORDED }, 'thumbnail'),
    );
    if (held && (left?.metadata[CLIP_META.legalHold] !== 'true' || thumb === undefined)) {
      tally.heldClipsDeleted.push(target);
    }
    // Clean the bucket for the next race (the held clip stays otherwise).
    await setLegalHold(bucket, target, false, { deviceId: 'front' }).catch(() => undefined);
    await sweepRetention({ bucket, nowMs: SWEEP_AT, prefix: 'clips/front/' });
  }
  return tally;
}

describe('holds win over a retention sweep', () => {
  it('folder bucket: 0 held clips deleted in 100 races', async () => {
    const tally = await race(new FsBucket(join(dir, 'fs-bucket')), 100, 4, 21);
    expect(tally.heldClipsDeleted).toEqual([]);
    // The races really hit the window: some holds landed after the sweep planned the delete, some came too late.
    expect(tally.wonAtDeleteTime).toBeGreaterThan(0);
    expect(tally.holdsTooLate).toBeGreaterThan(0);
    expect(tally.holdsSet + tally.holdsTooLate).toBe(100);
  });

  it('S3 bucket (s3rver): 0 held clips deleted in 100 races', async () => {
    // s3rver answers in milliseconds, not microseconds: two clips a race keep this test short.
    const tally = await race(await s3.newBucket('hold-race'), 100, 2, 22);
    expect(tally.heldClipsDeleted).toEqual([]);
    expect(tally.wonAtDeleteTime).toBeGreaterThan(0);
    expect(tally.holdsTooLate).toBeGreaterThan(0);
    // ≈10 s on a quiet machine, up to a minute under a full test run's load (s3rver is an HTTP server per op).
  }, 180_000);

  it('CLI processes: `hold set` during `retention sweep` keeps the held clip', async () => {
    const bucketDir = join(dir, 'cli-bucket');
    const bucket = new FsBucket(bucketDir);
    const clipIds = await storeExpiredClips(bucket, 999, 300);
    const target = clipIds.sort().at(-1)!;
    const sweep = spawnCli([
      'retention',
      'sweep',
      '--bucket',
      bucketDir,
      '--now',
      new Date(SWEEP_AT).toISOString(),
    ]);
    // Once the sweep has started deleting, the last clip (deleted last) is still there to be held.
    const first = clipObjectKey({ deviceId: 'front', clipId: clipIds[0]!, recordedAt: RECORDED });
    while ((await bucket.head(first)) !== undefined && sweep.child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const hold = runCli(['hold', 'set', target, '--bucket', bucketDir]);
    expect(await sweep.exited).toBe(0);
    const key = clipObjectKey({ deviceId: 'front', clipId: target, recordedAt: RECORDED });
    if (hold.code === 0) {
      expect(hold.stdout).toContain('legal hold set');
      expect((await bucket.head(key))?.metadata[CLIP_META.legalHold]).toBe('true');
    } else {
      expect(hold.stderr).toContain('not found');
    }
  }, 60_000);
});
