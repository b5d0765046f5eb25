import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bucket } from '../../src/storage/bucket.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { readAll, sha256Of } from './bucket-suite.js';
import { listKeys, makeClipFile } from './helpers.js';
import { type S3rverHandle, startS3rver } from './s3rver-harness.js';

const CHILD = join(import.meta.dirname, 'fixtures', 'uploader-child.ts');
const CLIPS = 5;
const CLIP_BYTES = 7 * 1024 * 1024;

interface ChildRun {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first line matching. */
  waitFor(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runChild(config: object): ChildRun {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += String(chunk);
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    waitFor(predicate) {
      const seen = lines.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ predicate, resolve });
        void exited.then(({ code, signal }) =>
          reject(
            new Error(
              `child exited (${code ?? signal}) before the expected line; stderr: ${stderr.slice(-2000)}`,
            ),
          ),
        );
      });
    },
  };
}

let workDir: string;
let s3: S3rverHandle;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'doorbell-crash-'));
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
  await rm(workDir, { recursive: true, force: true });
});

async function crashAndResume(name: string, bucketConfig: object, bucket: Bucket): Promise<void> {
  const expected = new Map<string, string>();
  const clips: Array<{ clipId: string; file: string }> = [];
  for (let i = 1; i <= CLIPS; i++) {
    const clipId = `${name}-${i}`;
    const file = await makeClipFile(workDir, `${clipId}.mp4`, CLIP_BYTES);
    expected.set(`clips/porch/2026/04/01/${clipId}.mp4`, file.sha256);
    clips.push({ clipId, file: file.path });
  }
  const spoolDir = join(workDir, `${name}-spool`);

  const first = runChild({ spoolDir, bucket: bucketConfig, clips, exitWhenDrained: false });
  await first.waitFor((line) => line['event'] === 'uploaded');
  await new Promise((resolve) => setTimeout(resolve, 15));
  first.child.kill('SIGKILL');
  expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
  const uploadedBeforeKill = first.lines.filter((line) => line['event'] === 'uploaded').length;
  expect(uploadedBeforeKill).toBeLessThan(CLIPS);

  const second = runChild({ spoolDir, bucket: bucketConfig, clips: [], exitWhenDrained: true });
  await second.waitFor((line) => line['event'] === 'drained');
  expect(await second.exited).toEqual({ code: 0, signal: null });

  // Every clip the recorder handed over (enqueue resolved) is in the bucket exactly once with the right bytes.
  // A clip whose enqueue the kill interrupted is in the bucket too (rolled forward) or still with the
  // recorder at its own path: never nowhere.
  const spooled = new Set(
    first.lines.filter((line) => line['event'] === 'spooled').map((line) => line['clipId']),
  );
  expect(spooled.size).toBeGreaterThan(0);
  const stored = await listKeys(bucket, 'clips/');
  expect(new Set(stored).size).toBe(stored.length);
  for (const { clipId, file } of clips) {
    const key = `clips/porch/2026/04/01/${clipId}.mp4`;
    if (!stored.includes(key)) {
      expect(spooled.has(clipId), `${clipId} was spooled but is not in the bucket`).toBe(false);
      expect(existsSync(file), `${clipId} is neither in the bucket nor with the recorder`).toBe(true);
      continue;
    }
    expect((await bucket.head(key))?.sha256, key).toBe(expected.get(key));
    expect(sha256Of(await readAll(await bucket.get(key))), key).toBe(expected.get(key));
  }
  expect(stored.every((key) => expected.has(key))).toBe(true);
  expect(await readdir(join(spoolDir, 'entries'))).toEqual([]);
  const uploadedLines = [...first.lines, ...second.lines].filter((line) => line['event'] === 'uploaded');
  expect(new Set(uploadedLines.map((line) => line['key']))).toEqual(new Set(stored));
}

describe('kill -9 during upload, then restart', () => {
  it('leaves every clip in the S3 bucket exactly once with the right sha256', async () => {
    const bucket = await s3.newBucket('crash-bucket', { partSize: 5 * 1024 * 1024 });
    await crashAndResume('s3', { kind: 's3', endpoint: s3.endpoint, name: 'crash-bucket' }, bucket);
  });

  it('leaves every clip in the folder bucket exactly once with the right sha256', async () => {
    const root = join(workDir, 'fs-bucket');
    await crashAndResume('fs', { kind: 'fs', root }, new FsBucket(root));
  });
});
