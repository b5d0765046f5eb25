/**
 * Clip upload throughput with and without end-to-end encryption, in one run, through the real upload path
 * (UploadQueue → spool → folder bucket, verified put).
 *
 *   plain:      enqueue(clip, mode 'copy')  — the spool copies the clip in, hashing on the way
 *   encrypted:  encryptFile(clip → file beside the spool) — encrypt + sha256 of the ciphertext in one pass —
 *               then enqueue(that file, mode 'move'), which fsyncs it into the spool (encryptFile has been
 *               flushing it to disk in the background while encrypting, so that fsync only waits for the tail)
 *
 * The encryption pass takes the place of the spool copy instead of adding a pass. Timing runs from "clip on
 * disk" to the queue's `uploaded` event (the bucket confirmed size + sha256). For reference it also times a plain
 * enqueue in 'move' mode (rename, no copy): the floor that no scheme writing new bytes can reach.
 * Env: BENCH_CRYPTO_MB (default 50), BENCH_CRYPTO_RUNS (default 5; medians), BENCH_CRYPTO_CHUNK_KIB (256).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock } from '../src/clock/real-clock.js';
import { encryptFile } from '../src/privacy/envelope.js';
import { DEFAULT_CHUNK_BYTES } from '../src/privacy/envelope-format.js';
import { generateOwnerKeys } from '../src/privacy/owner-keys.js';
import { FsBucket } from '../src/storage/fs-bucket.js';
import { type EnqueueRequest, type UploadedClip, UploadQueue } from '../src/storage/upload-queue.js';
import { median, round } from './lib/stats.js';

const MB = Number(process.env['BENCH_CRYPTO_MB'] ?? 50);
const RUNS = Number(process.env['BENCH_CRYPTO_RUNS'] ?? 5);
const CHUNK = process.env['BENCH_CRYPTO_CHUNK_KIB']
  ? Number(process.env['BENCH_CRYPTO_CHUNK_KIB']) * 1024
  : DEFAULT_CHUNK_BYTES;

type Mode = 'plain' | 'encrypted' | 'plain-move';

const dir = await mkdtemp(join(tmpdir(), 'bench-crypto-'));
const clipPath = join(dir, 'clip.mp4');
const workDir = join(dir, 'work');
const bucket = new FsBucket(join(dir, 'bucket'));
const queue = new UploadQueue({ spoolDir: join(dir, 'spool'), bucket, clock: new RealClock() });
const { publicKeyPem } = generateOwnerKeys();
const waiting = new Map<string, (clip: UploadedClip) => void>();
queue.on('uploaded', (clip) => waiting.get(clip.clipId)?.(clip));

async function upload(mode: Mode, run: number): Promise<number> {
  const clipId = `${mode}-${run + 1}`;
  const base = {
    deviceId: 'bench',
    clipId,
    eventId: `event-${clipId}`,
    trigger: 'manual',
    recordedAt: '2026-01-01T00:00:00.000Z',
  };
  // 'move' takes the file away, so it gets its own copy (made before the clock starts).
  const moveSource = join(workDir, `${clipId}.mp4`);
  if (mode === 'plain-move') await copyFile(clipPath, moveSource);
  const uploaded = new Promise<UploadedClip>((resolve) => waiting.set(clipId, resolve));
  const started = performance.now();
  let request: EnqueueRequest;
  if (mode === 'encrypted') {
    const encryptedPath = join(workDir, `${clipId}.mp4.enc`);
    // Not durable on its own: the queue's 'move' fsyncs the file it takes, so flushing here would pay twice.
    const envelope = await encryptFile(clipPath, encryptedPath, publicKeyPem, {
      chunkSize: CHUNK,
      durable: false,
    });
    request = {
      ...base,
      clipFile: encryptedPath,
      // Hashed while encrypting: the queue does not read the ciphertext again.
      clipSha256: envelope.sha256,
      mode: 'move',
      encrypted: true,
      extraMetadata: envelope.metadata,
    };
  } else {
    request = {
      ...base,
      clipFile: mode === 'plain' ? clipPath : moveSource,
      mode: mode === 'plain' ? 'copy' : 'move',
    };
  }
  await queue.enqueue(request);
  const clip = await uploaded;
  const seconds = (performance.now() - started) / 1000;
  waiting.delete(clipId);
  if (clip.encrypted !== (mode === 'encrypted'))
    throw new Error(`${clipId}: encrypted flag is ${clip.encrypted}`);
  await bucket.delete(clip.key);
  return MB / seconds;
}

try {
  console.error(`bench:crypto — ${MB} MB clip, ${RUNS} runs each, ${CHUNK / 1024} KiB records, in ${dir}`);
  await mkdir(workDir, { recursive: true });
  await writeFile(clipPath, randomBytes(MB * 1024 * 1024));
  await queue.start();
  const modes: Mode[] = ['plain', 'encrypted', 'plain-move'];
  for (const mode of modes) await upload(mode, -1);
  const speeds: Record<Mode, number[]> = { plain: [], encrypted: [], 'plain-move': [] };
  for (let run = 0; run < RUNS; run++) {
    // Interleaved so every mode sees the same machine conditions.
    for (const mode of modes) speeds[mode].push(await upload(mode, run));
    console.error(
      `run ${run + 1}/${RUNS}: ${modes.map((mode) => `${mode} ${speeds[mode][run]!.toFixed(0)} MB/s`).join(', ')}`,
    );
  }
  const plain = median(speeds.plain);
  const encrypted = median(speeds.encrypted);
  const plainMove = median(speeds['plain-move']);
  console.error(
    `encrypted vs plain copy: ${round(encrypted / plain, 3)}; vs plain move (no copy at all): ${round(encrypted / plainMove, 3)}`,
  );
  // The one JSON line every bench ends with.
  console.log(
    JSON.stringify({
      bench: 'crypto',
      mb: MB,
      runs: RUNS,
      chunk_kib: CHUNK / 1024,
      plain_mb_s: round(plain, 1),
      encrypted_mb_s: round(encrypted, 1),
      ratio: round(encrypted / plain, 3),
      plain_move_mb_s: round(plainMove, 1),
      ratio_vs_move: round(encrypted / plainMove, 3),
    }),
  );
} finally {
  await queue.stop();
  await rm(dir, { recursive: true, force: true });
}
