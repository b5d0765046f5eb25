/**
 * Clip upload cost against the plainest way to move the same bytes, in one run:
 *
 *   fs:  enqueue(clip) → spool → folder bucket → `uploaded`   vs   fs.copyFile(clip, folder)
 *   s3:  enqueue(clip) → spool → S3Bucket.put → `uploaded`    vs   one bare lib-storage Upload of the file
 *
 * "Ours" is the real product path, timed from "finished clip on disk" to the `uploaded` event, i.e. with the
 * journal fsync'd, the bytes durable, the object confirmed and the spool entry removed. The baselines do none of
 * that. s3rver runs in a child process, as a real endpoint would be outside our event loop.
 * ratio = baseline_ms / our_ms (medians); the goal is ≥ 0.8.
 * Env: BENCH_UPLOAD_MB (default 32), BENCH_UPLOAD_RUNS (default 7).
 *
 * A finished clip comes with its sha256 and MD5, as the recorder hands it over (it hashes what it produced, so
 * the checks cover recorder → spool → bucket). The queue never copies in its default 'move' mode (rename into the
 * spool, hard link into the folder bucket); an S3 upload sends the file as it is and checks the server's MD5 ETag
 * against the producer's MD5. fs_queue_hashing_ms / fs_ratio_queue_hashing show a clip handed over without
 * digests: sha256 of 32 MB alone costs more CPU than a kernel copy_file_range of it. fs_ratio_durable compares
 * with a copy that is also fsync'd, which is what "the clip is safe" costs at the least.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { RealClock } from '../src/clock/real-clock.js';
import type { Bucket } from '../src/storage/bucket.js';
import { FsBucket } from '../src/storage/fs-bucket.js';
import { hashFile } from '../src/storage/hashing.js';
import { createS3Client, DEFAULT_PART_SIZE, S3Bucket } from '../src/storage/s3-bucket.js';
import { type SpoolMode, type UploadedClip, UploadQueue } from '../src/storage/upload-queue.js';
import { median, printResult, round } from './lib/stats.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const MB = Number(process.env['BENCH_UPLOAD_MB'] ?? 32);
const RUNS = Number(process.env['BENCH_UPLOAD_RUNS'] ?? 7);
const QUEUE_SIZE = 2;
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const log = (line: string) => process.stdout.write(`${line}\n`);

const dir = await mkdtemp(join(tmpdir(), 'bench-upload-'));
const clipPath = join(dir, 'clip.mp4');
const workDir = join(dir, 'work');
await mkdir(workDir);

/** A clip as the recorder leaves it: written, flushed. */
async function writeSynced(path: string, data: Buffer): Promise<void> {
  await writeFile(path, data);
  const handle = await open(path, 'r');
  await handle.sync();
  await handle.close();
}

async function time(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

class QueueUnderTest {
  private readonly waiting = new Map<string, (clip: UploadedClip) => void>();
  readonly queue: UploadQueue;
  private counter = 0;

  constructor(
    readonly name: string,
    bucket: Bucket,
  ) {
    this.queue = new UploadQueue({ spoolDir: join(dir, `spool-${name}`), bucket, clock: new RealClock() });
    this.queue.on('uploaded', (clip) => this.waiting.get(clip.clipId)?.(clip));
  }

  /**
   * Times one clip from enqueue() to `uploaded`. A 'move' source is prepared (and flushed) before the clock starts,
   * with its sha256 as the recorder hands it over (`producerHash`), or without (the queue hashes it).
   */
  async upload(mode: SpoolMode, producerHash = mode === 'move'): Promise<number> {
    const clipId = `${this.name}-${mode}-${producerHash ? 'hashed-' : ''}${++this.counter}`;
    let source = clipPath;
    if (mode === 'move') {
      source = join(workDir, `${clipId}.mp4`);
      await copyFile(clipPath, source);
      const handle = await open(source, 'r');
      await handle.sync();
      await handle.close();
    }
    const md5 = createHash('md5');
    const digests = producerHash
      ? { clipSha256: (await hashFile(source, [md5])).sha256, clipMd5: md5.digest('hex') }
      : {};
    const uploaded = new Promise<UploadedClip>((resolve) => this.waiting.set(clipId, resolve));
    return time(async () => {
      await this.queue.enqueue({
        deviceId: 'bench',
        clipId,
        eventId: `event-${clipId}`,
        trigger: 'manual',
        recordedAt: '2026-01-01T00:00:00.000Z',
        clipFile: source,
        ...digests,
        mode,
      });
      await uploaded;
    });
  }
}

async function startS3rverProcess(): Promise<{ child: ChildProcess; endpoint: string }> {
  const code = `
    import S3rver from 's3rver';
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(join(dir, 's3rver'))} });
    const address = await server.run();
    process.stdout.write(JSON.stringify({ port: address.port }) + '\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (exitCode) => reject(new Error(`s3rver exited with ${exitCode}`)));
  });
  return { child, endpoint: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}` };
}

let s3rver: ChildProcess | undefined;
try {
  log(`bench:upload — ${MB} MB clip, ${RUNS} runs each, medians`);
  const clipBytes = randomBytes(MB * 1024 * 1024);
  await writeSynced(clipPath, clipBytes);
  log(
    `  sha256 of the clip alone: ${round(await time(async () => createHash('sha256').update(clipBytes).digest()), 1)} ms`,
  );

  // ---- folder bucket
  const fsQueue = new QueueUnderTest('fs', new FsBucket(join(dir, 'fs-bucket')));
  await fsQueue.queue.start();
  const plainCopy: number[] = [];
  const plainCopySynced: number[] = [];
  const fsMove: number[] = [];
  const fsMoveQueueHashes: number[] = [];
  const fsCopyMode: number[] = [];
  await fsQueue.upload('move'); // warm-up
  for (let run = 0; run < RUNS; run++) {
    const target = join(dir, `plain-${run}.mp4`);
    plainCopy.push(await time(() => copyFile(clipPath, target)));
    const syncedTarget = join(dir, `plain-synced-${run}.mp4`);
    plainCopySynced.push(
      await time(async () => {
        await copyFile(clipPath, syncedTarget);
        const handle = await open(syncedTarget, 'r');
        await handle.sync();
        await handle.close();
      }),
    );
    fsMove.push(await fsQueue.upload('move'));
    fsMoveQueueHashes.push(await fsQueue.upload('move', false));
    fsCopyMode.push(await fsQueue.upload('copy'));
    await rm(target);
    await rm(syncedTarget);
    log(
      `  fs run ${run + 1}: plain copy ${round(plainCopy[run]!, 1)} ms (+fsync ${round(plainCopySynced[run]!, 1)}), ` +
        `queue ${round(fsMove[run]!, 1)} ms (hashing it itself ${round(fsMoveQueueHashes[run]!, 1)}, ` +
        `copy mode ${round(fsCopyMode[run]!, 1)})`,
    );
  }
  await fsQueue.queue.stop();

  // ---- S3 (s3rver in its own process)
  const server = await startS3rverProcess();
  s3rver = server.child;
  const client = createS3Client({ endpoint: server.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const s3Queue = new QueueUnderTest(
    's3',
    new S3Bucket({ bucket: 'bench', client, partSize: DEFAULT_PART_SIZE, queueSize: QUEUE_SIZE }),
  );
  const readbackQueue = new QueueUnderTest(
    's3rb',
    new S3Bucket({
      bucket: 'bench',
      client,
      partSize: DEFAULT_PART_SIZE,
      queueSize: QUEUE_SIZE,
      verify: 'readback',
    }),
  );
  await s3Queue.queue.start();
  await readbackQueue.queue.start();
  const bare: number[] = [];
  const s3Move: number[] = [];
  const s3Readback: number[] = [];
  await s3Queue.upload('move'); // warm-up (connections, bucket)
  for (let run = 0; run < RUNS; run++) {
    bare.push(
      await time(() =>
        new Upload({
          client,
          partSize: DEFAULT_PART_SIZE,
          queueSize: QUEUE_SIZE,
          params: {
            Bucket: 'bench',
            Key: `bare/${run}.mp4`,
            Body: createReadStream(clipPath, { highWaterMark: 1 << 20 }),
          },
        }).done(),
      ),
    );
    s3Move.push(await s3Queue.upload('move'));
    s3Readback.push(await readbackQueue.upload('move'));
    log(
      `  s3 run ${run + 1}: bare Upload ${round(bare[run]!, 1)} ms, queue ${round(s3Move[run]!, 1)} ms ` +
        `(verify by read-back ${round(s3Readback[run]!, 1)} ms)`,
    );
  }
  await s3Queue.queue.stop();
  await readbackQueue.queue.stop();
  client.destroy();

  const result = {
    bench: 'upload',
    fs_ratio: round(median(plainCopy) / median(fsMove), 2),
    s3_ratio: round(median(bare) / median(s3Move), 2),
    mb: MB,
    runs: RUNS,
    fs_ratio_durable: round(median(plainCopySynced) / median(fsMove), 2),
    fs_plain_copy_ms: round(median(plainCopy), 1),
    fs_plain_copy_fsync_ms: round(median(plainCopySynced), 1),
    fs_queue_ms: round(median(fsMove), 1),
    fs_queue_hashing_ms: round(median(fsMoveQueueHashes), 1),
    fs_ratio_queue_hashing: round(median(plainCopy) / median(fsMoveQueueHashes), 2),
    fs_queue_copy_mode_ms: round(median(fsCopyMode), 1),
    fs_copy_mode_ratio: round(median(plainCopy) / median(fsCopyMode), 2),
    s3_bare_upload_ms: round(median(bare), 1),
    s3_queue_ms: round(median(s3Move), 1),
    s3_readback_verify_ms: round(median(s3Readback), 1),
    s3_part_size_mb: DEFAULT_PART_SIZE / 1024 / 1024,
  };
  printResult(result);
} finally {
  s3rver?.kill();
  await rm(dir, { recursive: true, force: true });
}
