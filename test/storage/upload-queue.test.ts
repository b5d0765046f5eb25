import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/storage/backoff.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { InvalidKeyError } from '../../src/storage/keys.js';
import { realSpoolFileOps } from '../../src/storage/spool.js';
import {
  type EnqueueRequest,
  type RetryInfo,
  SpoolError,
  type UploadedClip,
  UploadQueue,
  type UploadQueueOptions,
} from '../../src/storage/upload-queue.js';
import { seededRandom } from '../../src/util/random.js';
import { FlakyBucket, listKeys, makeClipFile, sha256Hex } from './helpers.js';

let dir: string;
let clock: VirtualClock;
let bucket: FlakyBucket;
const queues: UploadQueue[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-queue-'));
  clock = new VirtualClock(Date.UTC(2026, 2, 14, 9, 30));
  bucket = new FlakyBucket(new FsBucket(join(dir, 'bucket')));
});
afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.stop();
  await rm(dir, { recursive: true, force: true });
});

function newQueue(options: Partial<UploadQueueOptions> = {}): UploadQueue {
  const queue = new UploadQueue({
    spoolDir: join(dir, 'spool'),
    bucket,
    clock,
    random: seededRandom(7),
    ...options,
  });
  queues.push(queue);
  return queue;
}

function collect(queue: UploadQueue) {
  const uploaded: UploadedClip[] = [];
  const retries: RetryInfo[] = [];
  queue.on('uploaded', (clip) => {
    uploaded.push(clip);
  });
  queue.on('retry', (info) => retries.push(info));
  return { uploaded, retries };
}

async function request(
  clipId: string,
  bytes = 4096,
  extra: Partial<EnqueueRequest> = {},
): Promise<EnqueueRequest> {
  const file = await makeClipFile(dir, `${clipId}.mp4`, bytes);
  return {
    deviceId: 'front-door',
    clipId,
    eventId: `evt-${clipId}`,
    trigger: 'ding',
    recordedAt: new Date(clock.now()).toISOString(),
    clipFile: file.path,
    ...extra,
  };
}

/** Moves virtual time in steps, letting real I/O finish between them. */
async function advance(queue: UploadQueue, ms: number, step = 1_000): Promise<void> {
  for (let passed = 0; passed < ms; passed += step) {
    clock.advance(Math.min(step, ms - passed));
    await queue.whenIdle();
  }
}

describe('UploadQueue', () => {
  it('start({ holdUploads }) keeps a spooled clip in the spool until resumeUploads(), so no one misses it', async () => {
    const first = newQueue();
    await first.start({ holdUploads: true });
    await first.enqueue(await request('left-by-a-crash'));
    await first.stop();

    const restarted = newQueue();
    await restarted.start({ holdUploads: true });
    await advance(restarted, 5_000);
    expect(await listKeys(bucket)).toEqual([]);
    // Whoever announces uploads listens now; only then does the clip go.
    const { uploaded } = collect(restarted);
    restarted.resumeUploads();
    await expect.poll(() => uploaded.map((clip) => clip.clipId)).toEqual(['left-by-a-crash']);
  });

  it('spools the clip before anything else, uploads it, and emits uploaded only after the bucket confirms', async () => {
    const queue = newQueue();
    const { uploaded } = collect(queue);
    await queue.start();
    const req = await request('clip-1', 10_000);
    const original = await readFile(req.clipFile);
    const spooled = await queue.enqueue(req);
    expect(spooled).toMatchObject({
      entryId: 'front-door.clip-1',
      key: 'clips/front-door/2026/03/14/clip-1.mp4',
      bytes: 10_000,
      duplicate: false,
    });
    expect(existsSync(req.clipFile)).toBe(false);
    await queue.whenIdle();

    expect(uploaded).toHaveLength(1);
    const clip = uploaded[0]!;
    expect(clip).toMatchObject({
      clipId: 'clip-1',
      deviceId: 'front-door',
      eventId: 'evt-clip-1',
      trigger: 'ding',
      key: 'clips/front-door/2026/03/14/clip-1.mp4',
      bytes: 10_000,
      bucket: bucket.describe(),
      recordedAt: '2026-03-14T09:30:00.000Z',
      retentionDays: 60,
      retainUntil: '2026-05-13T09:30:00.000Z',
      encrypted: false,
      legalHold: false,
      attempts: 1,
    });
    const head = await bucket.head(clip.key);
    expect(head?.sha256).toBe(clip.sha256);
    expect(head?.metadata).toMatchObject({
      'device-id': 'front-door',
      'clip-id': 'clip-1',
      'event-id': 'evt-clip-1',
      trigger: 'ding',
      'recorded-at': '2026-03-14T09:30:00.000Z',
      'retention-days': '60',
      'retain-until': '2026-05-13T09:30:00.000Z',
      sha256: clip.sha256,
      encrypted: 'false',
      'legal-hold': 'false',
    });
    expect(Buffer.compare(await readFile(join(dir, 'bucket', clip.key)), original)).toBe(0);
    expect(await readdir(join(dir, 'spool', 'entries'))).toEqual([]);
    expect(queue.health()).toMatchObject({ healthy: true, depth: 0, bytes: 0, uploadedTotal: 1 });
  });

  it('takes a producer-computed sha256: recorded as is for a hard link, checked when the bytes are copied', async () => {
    const queue = newQueue();
    const { uploaded, retries } = collect(queue);
    await queue.start();
    const moved = await request('vouched', 8192);
    const digest = sha256Hex(await readFile(moved.clipFile));
    await queue.enqueue({ ...moved, clipSha256: digest });
    await queue.whenIdle();
    expect(uploaded.map((c) => c.sha256)).toEqual([digest]);
    expect((await bucket.head(uploaded[0]!.key))?.sha256).toBe(digest);

    const copied = await request('wrong-digest', 8192);
    await expect(queue.enqueue({ ...copied, mode: 'copy', clipSha256: '0'.repeat(64) })).rejects.toThrow(
      /sha256/,
    );
    await queue.whenIdle();
    expect(uploaded).toHaveLength(1);
    expect(retries).toEqual([]);
    expect(await listKeys(bucket, 'clips/front-door/')).not.toContain(
      'clips/front-door/2026/03/14/wrong-digest.mp4',
    );
  });

  it('uploads the thumbnail with the clip, and leaves sources in copy mode', async () => {
    const queue = newQueue();
    const { uploaded } = collect(queue);
    await queue.start();
    const thumb = await makeClipFile(dir, 'thumb.jpg', 300);
    const req = await request('clip-2', 2000, { thumbnailFile: thumb.path, mode: 'copy', retentionDays: 7 });
    await queue.enqueue(req);
    await queue.whenIdle();
    expect(existsSync(req.clipFile)).toBe(true);
    expect(uploaded[0]?.thumbnail).toEqual({
      key: 'clips/front-door/2026/03/14/clip-2.jpg',
      bytes: 300,
      sha256: thumb.sha256,
    });
    expect((await bucket.head('clips/front-door/2026/03/14/clip-2.jpg'))?.metadata['retention-days']).toBe(
      '7',
    );
  });

  it('queues clips while the bucket is unreachable and delivers each exactly once when it returns', async () => {
    const queue = newQueue({ backoff: { initialDelayMs: 1_000, maxDelayMs: 8_000, factor: 2, jitter: 0.5 } });
    const { uploaded, retries } = collect(queue);
    const health: boolean[] = [];
    queue.on('health', (h) => health.push(h.healthy));
    await queue.start();
    bucket.down = true;
    for (const id of ['a1', 'a2', 'a3']) await queue.enqueue(await request(id));
    await queue.whenIdle();
    await advance(queue, 60_000);
    expect(uploaded).toEqual([]);
    expect(queue.health().depth).toBe(3);
    expect(queue.health().healthy).toBe(false);
    expect(queue.health().problems.join()).toMatch(/failed \d+ times in a row: connect ECONNREFUSED/);

    // Retry delays grow exponentially, capped, with jitter from the injected random source.
    const a1Delays = retries.filter((r) => r.clipId === 'a1').map((r) => r.delayMs);
    const random = seededRandom(7);
    const policy = { initialDelayMs: 1_000, maxDelayMs: 8_000, factor: 2, jitter: 0.5 };
    const expected = retries.map((r) => backoffDelay(policy, r.failures, random));
    expect(retries.map((r) => r.delayMs)).toEqual(expected);
    expect(a1Delays.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...a1Delays)).toBeLessThanOrEqual(8_000);
    expect(a1Delays[3]!).toBeGreaterThan(a1Delays[0]!);

    bucket.down = false;
    await advance(queue, 10_000);
    expect(uploaded.map((u) => u.clipId).sort()).toEqual(['a1', 'a2', 'a3']);
    expect([...bucket.puts.values()]).toEqual([1, 1, 1]);
    expect(await listKeys(bucket.inner, 'clips/')).toHaveLength(3);
    expect(queue.health()).toMatchObject({ healthy: true, depth: 0, consecutiveFailures: 0 });
    expect(health).toEqual([true, false, true]);
  });

  it('treats the same clip enqueued twice as one', async () => {
    const queue = newQueue();
    const { uploaded } = collect(queue);
    await queue.start();
    bucket.down = true;
    const first = await queue.enqueue(await request('dup', 100, { mode: 'copy' }));
    const second = await queue.enqueue(await request('dup', 100, { mode: 'copy' }));
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(queue.health().depth).toBe(1);
    bucket.down = false;
    await advance(queue, 5_000);
    expect(uploaded).toHaveLength(1);
    expect(bucket.totalPuts()).toBe(1);
  });

  it('keeps the trigger events and visit of a spooled clip across a restart, for its events/clip', async () => {
    const first = newQueue();
    await first.start({ holdUploads: true });
    const ids = ['front-door-00000a', 'front-door-00000c'];
    // Opened mid-visit: its visit is an earlier event's id, not its first trigger's.
    const sessionId = 'front-door-000007';
    await first.enqueue(await request('visit', 4096, { triggerEventIds: ids, sessionId }));
    await first.enqueue(await request('unnamed'));
    await first.stop();

    const restarted = newQueue();
    await restarted.start({ holdUploads: true });
    const { uploaded } = collect(restarted);
    restarted.resumeUploads();
    await expect.poll(() => uploaded.length).toBe(2);
    expect(uploaded.map((clip) => [clip.clipId, clip.triggerEventIds, clip.sessionId])).toEqual([
      ['visit', ids, sessionId],
      ['unnamed', undefined, undefined],
    ]);
    // Not object metadata: the list can outgrow S3's 2 KB, and the bucket does not need it.
    expect(Object.keys(uploaded[0]!.metadata).some((key) => key.includes('trigger-event'))).toBe(false);
  });

  it('resumes the spool after a restart', async () => {
    const first = newQueue();
    await first.start();
    bucket.down = true;
    await first.enqueue(await request('r1'));
    await first.enqueue(await request('r2'));
    await first.whenIdle();
    await first.stop();

    bucket.down = false;
    const second = newQueue();
    const { uploaded } = collect(second);
    await second.start();
    expect(second.health().depth).toBe(2);
    await second.whenIdle();
    expect(uploaded.map((u) => u.clipId)).toEqual(['r1', 'r2']);
    expect(bucket.totalPuts()).toBe(2);
  });

  it('does not upload twice after a crash between the upload and the journal removal', async () => {
    const first = newQueue();
    await first.start();
    bucket.down = true;
    const req = await request('crashy', 5000, { mode: 'copy' });
    await first.enqueue(req);
    await first.whenIdle();
    await first.stop();
    // What the crashed process had already done: the object is in the bucket, the journal still says "to do".
    bucket.down = false;
    await bucket.inner.put('clips/front-door/2026/03/14/crashy.mp4', req.clipFile, {});
    const putsBefore = bucket.totalPuts();

    const second = newQueue();
    const { uploaded } = collect(second);
    await second.start();
    await second.whenIdle();
    expect(uploaded.map((u) => u.clipId)).toEqual(['crashy']);
    expect(bucket.totalPuts()).toBe(putsBefore);
    expect(second.health().depth).toBe(0);
  });

  it("uploads again after a crash when the stored sha256 is only a claim the server's MD5 does not back", async () => {
    // S3-like: the sha256 metadata went up before the body, and the crash came before the body was verified.
    const claims = new Map<string, string>();
    const claiming = new (class extends FlakyBucket {
      override async head(key: string) {
        const head = await super.head(key);
        const claim = claims.get(key);
        if (!head || claim === undefined) return head;
        const stored = await readFile(join(dir, 'bucket', key));
        const contentMd5 = createHash('md5').update(stored).digest('hex');
        const { sha256Verified: _unverified, ...claimed } = head;
        return { ...claimed, sha256: claim, contentMd5 };
      }
    })(new FsBucket(join(dir, 'bucket')));
    const first = newQueue({ bucket: claiming });
    await first.start();
    claiming.down = true;
    const req = await request('torn', 5000, { mode: 'copy' });
    const produced = await readFile(req.clipFile);
    await first.enqueue({
      ...req,
      clipSha256: sha256Hex(produced),
      clipMd5: createHash('md5').update(produced).digest('hex'),
    });
    await first.whenIdle();
    await first.stop();
    claiming.down = false;
    const key = 'clips/front-door/2026/03/14/torn.mp4';
    const torn = join(dir, 'torn-upload.bin');
    await writeFile(torn, Buffer.alloc(produced.length, 7));
    await claiming.inner.put(key, torn, {});
    claims.set(key, sha256Hex(produced));

    const second = newQueue({ bucket: claiming });
    const { uploaded } = collect(second);
    await second.start();
    await second.whenIdle();
    expect(uploaded.map((u) => u.clipId)).toEqual(['torn']);
    expect(claiming.puts.get(key)).toBe(1);
    claims.clear();
    expect(sha256Hex(await readFile(join(dir, 'bucket', key)))).toBe(sha256Hex(produced));
  });

  it('keeps the clip when an uploaded listener fails, and re-emits without uploading again', async () => {
    const queue = newQueue();
    let calls = 0;
    queue.on('uploaded', async () => {
      calls += 1;
      if (calls === 1) throw new Error('outbox disk full');
    });
    await queue.start();
    await queue.enqueue(await request('listener'));
    await queue.whenIdle();
    expect(calls).toBe(1);
    expect(queue.health().depth).toBe(1);
    expect(queue.health().lastError).toMatch(/outbox disk full/);
    await advance(queue, 5_000);
    expect(calls).toBe(2);
    expect(queue.health().depth).toBe(0);
    expect(bucket.totalPuts()).toBe(1);
  });

  it('refuses clips when the spool is full, loudly and without touching them, and recovers when it drains', async () => {
    const queue = newQueue({ maxEntries: 2 });
    await queue.start();
    bucket.down = true;
    await queue.enqueue(await request('f1'));
    await queue.enqueue(await request('f2'));
    const third = await request('f3');
    const refusal = await queue.enqueue(third).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(SpoolError);
    expect((refusal as SpoolError).reason).toBe('full');
    expect((refusal as SpoolError).message).toMatch(/is full \(2\/2 clips.*clip f3 \(4096 bytes\) refused/);
    expect(existsSync(third.clipFile)).toBe(true);
    expect(queue.health()).toMatchObject({ healthy: false, refusedTotal: 1, depth: 2 });
    expect(queue.health().problems[0]).toMatch(/spool full/);

    bucket.down = false;
    await advance(queue, 5_000);
    expect(queue.health().healthy).toBe(true);
    await expect(queue.enqueue(third)).resolves.toMatchObject({ clipId: 'f3' });
  });

  // /dev/shm is a tmpfs here, so moving a clip from it into the spool is a copy (EXDEV).
  const shmIsAnotherDevice = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev;

  it.runIf(shmIsAnotherDevice)(
    "checks a move across file systems against the producer's sha256, and keeps the source when it differs",
    async () => {
      const elsewhere = await mkdtemp('/dev/shm/doorbell-clip-');
      try {
        const queue = newQueue();
        const { uploaded } = collect(queue);
        await queue.start();
        const good = await makeClipFile(elsewhere, 'good.mp4', 3000);
        await queue.enqueue({
          ...(await request('moved-ok')),
          clipFile: good.path,
          clipSha256: sha256Hex(await readFile(good.path)),
        });
        await queue.whenIdle();
        expect(uploaded.map((u) => u.clipId)).toEqual(['moved-ok']);
        expect(existsSync(good.path)).toBe(false);

        const changed = await makeClipFile(elsewhere, 'changed.mp4', 3000);
        const refusal = queue.enqueue({
          ...(await request('moved-bad')),
          clipFile: changed.path,
          clipSha256: sha256Hex(Buffer.alloc(3000)),
        });
        await expect(refusal).rejects.toThrow(
          /changed\.mp4 has sha256 [0-9a-f]{64}, not the [0-9a-f]{64} its producer gave/,
        );
        expect(existsSync(changed.path)).toBe(true);
      } finally {
        await rm(elsewhere, { recursive: true, force: true });
      }
    },
  );

  it('bounds the spool by bytes too', async () => {
    const queue = newQueue({ maxBytes: 10_000 });
    await queue.start();
    bucket.down = true;
    await queue.enqueue(await request('b1', 6_000));
    await expect(queue.enqueue(await request('b2', 6_000))).rejects.toThrow(/6000\/10000 bytes\): clip b2/);
  });

  it('reports an unwritable spool as unhealthy with a clear error instead of crashing', async () => {
    await writeFile(join(dir, 'not-a-dir'), 'x');
    const queue = newQueue({ spoolDir: join(dir, 'not-a-dir', 'spool') });
    await expect(queue.start()).resolves.toBeUndefined();
    const health = queue.health();
    expect(health.healthy).toBe(false);
    expect(health.problems[0]).toMatch(
      /spool unavailable: cannot open .*not-a-dir\/spool: a path component is not a directory \(ENOTDIR\)/,
    );
    const req = await request('nowhere');
    const refusal = await queue.enqueue(req).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(SpoolError);
    expect((refusal as SpoolError).reason).toBe('unavailable');
    expect(existsSync(req.clipFile)).toBe(true);

    // It keeps trying: once the path works, the queue opens and takes clips.
    await rm(join(dir, 'not-a-dir'));
    await advance(queue, 2_000);
    expect(queue.health().healthy).toBe(true);
    await expect(queue.enqueue(req)).resolves.toMatchObject({ clipId: 'nowhere' });
  });

  it('turns a full disk while spooling into a clear refusal and an unhealthy state', async () => {
    let diskFull = true;
    const queue = newQueue({
      fileOps: {
        ...realSpoolFileOps,
        async copyFile(source, target) {
          if (diskFull)
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          return realSpoolFileOps.copyFile(source, target);
        },
      },
    });
    await queue.start();
    const req = await request('full-disk', 1000, { mode: 'copy' });
    await expect(queue.enqueue(req)).rejects.toThrow(
      /clip full-disk refused: spool unavailable: cannot write .*disk full \(ENOSPC\)/,
    );
    expect(queue.health().healthy).toBe(false);
    expect(await readdir(join(dir, 'spool', 'entries'))).toEqual([]);
    diskFull = false;
    await queue.enqueue(req);
    expect(queue.health().healthy).toBe(true);
  });

  it('refuses ids that would escape the bucket or spool, and spools nothing', async () => {
    const queue = newQueue();
    await queue.start();
    await expect(queue.enqueue(await request('x', 10, { deviceId: '../etc' }))).rejects.toBeInstanceOf(
      InvalidKeyError,
    );
    await expect(queue.enqueue(await request('pw', 10, { clipId: '../../passwd' }))).rejects.toThrow(
      /clipId "..\/..\/passwd" is invalid/,
    );
    await expect(queue.enqueue(await request('ab', 10, { clipId: 'a/b' }))).rejects.toBeInstanceOf(
      InvalidKeyError,
    );
    expect(await readdir(join(dir, 'spool', 'entries'))).toEqual([]);
    expect(queue.health().depth).toBe(0);
  });

  it('sets aside a clip whose spooled data vanished, loudly, and reports it', async () => {
    const queue = newQueue();
    const failed: string[] = [];
    queue.on('failed', (f) => failed.push(`${f.clipId}: ${f.reason}`));
    await queue.start();
    bucket.down = true;
    await queue.enqueue(await request('vanish'));
    await queue.whenIdle();
    await rm(join(dir, 'spool', 'entries', 'front-door.vanish', 'clip.mp4'));
    bucket.down = false;
    await advance(queue, 5_000);
    expect(failed).toEqual(['vanish: spooled clip.mp4 is missing']);
    expect(await readdir(join(dir, 'spool', 'failed'))).toEqual(['front-door.vanish']);
    expect(queue.health()).toMatchObject({ healthy: false, failed: 1, depth: 0 });
  });

  it('rolls an interrupted admission forward on start', async () => {
    const req = await request('half', 3000);
    const incoming = join(dir, 'spool', 'entries', 'front-door.half.incoming');
    await mkdir(incoming, { recursive: true });
    const entry = {
      v: 1,
      entryId: 'front-door.half',
      seq: 0,
      enqueuedAt: '2026-03-14T09:30:00.000Z',
      mode: 'move',
      clip: {
        deviceId: 'front-door',
        clipId: 'half',
        eventId: 'evt-half',
        trigger: 'ding',
        recordedAt: '2026-03-14T09:30:00.000Z',
        retentionDays: 60,
        retainUntil: '2026-05-13T09:30:00.000Z',
        encrypted: false,
        legalHold: false,
        extraMetadata: {},
      },
      objects: [
        {
          kind: 'clip',
          key: 'clips/front-door/2026/03/14/half.mp4',
          file: 'clip.mp4',
          bytes: 3000,
          source: req.clipFile,
        },
      ],
    };
    await writeFile(join(incoming, 'entry.json'), JSON.stringify(entry));
    await mkdir(join(dir, 'spool', 'entries', 'front-door.torn.incoming'));

    const queue = newQueue();
    const { uploaded } = collect(queue);
    await queue.start();
    await queue.whenIdle();
    expect(uploaded.map((u) => u.clipId)).toEqual(['half']);
    expect(existsSync(req.clipFile)).toBe(false);
    expect(await readdir(join(dir, 'spool', 'entries'))).toEqual([]);
  });

  it('discards a waiting clip on request and says so', async () => {
    const queue = newQueue();
    const discarded: string[] = [];
    queue.on('discarded', (d) => discarded.push(d.clipId));
    await queue.start();
    bucket.down = true;
    await queue.enqueue(await request('old'));
    await queue.whenIdle();
    expect(queue.entries().map((e) => e.clip.clipId)).toEqual(['old']);
    expect(await queue.discard('front-door.old', 'retention expired')).toBe(true);
    expect(await queue.discard('front-door.old', 'again')).toBe(false);
    expect(discarded).toEqual(['old']);
    expect(queue.health().depth).toBe(0);
  });

  it('needs start() before enqueue()', async () => {
    const queue = newQueue();
    await expect(queue.enqueue(await request('early'))).rejects.toThrow(/not started/);
  });
});

describe('backoffDelay', () => {
  it('grows by the factor, caps, and jitters downwards only', () => {
    const policy = { ...DEFAULT_BACKOFF, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffDelay(policy, 2, () => 0.999999)).toBe(100);
    expect(backoffDelay({ ...policy, jitter: 0 }, 3, () => 0.7)).toBe(400);
  });
});
