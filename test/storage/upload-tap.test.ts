import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { openHashingJobs, stopHashingWorker, UploadTap } from '../../src/storage/upload-tap.js';

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** Streams `data` through a tap in chunks of `chunk` bytes into a sink that keeps what it got. */
async function through(tap: UploadTap, data: Buffer, chunk: number): Promise<Buffer> {
  const received: Buffer[] = [];
  const chunks = function* () {
    for (let offset = 0; offset < data.length; offset += chunk) yield data.subarray(offset, offset + chunk);
  };
  await pipeline(
    Readable.from(chunks()),
    tap,
    new Writable({
      write(piece: Buffer, _encoding, callback) {
        received.push(piece);
        callback();
      },
    }),
  );
  return Buffer.concat(received);
}

describe('UploadTap (hashing on a worker thread)', () => {
  it('passes every byte through unchanged and hashes exactly what went through', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 777);
    const partSize = 1024 * 1024;
    const tap = new UploadTap(partSize, { whole: true, parts: true, sha256: true });
    const received = await through(tap, data, 100_000);
    expect(received.equals(data)).toBe(true);
    expect(tap.bytes).toBe(data.length);
    const { expectedEtags, sha256 } = await tap.digests();
    expect(sha256).toBe(createHash('sha256').update(data).digest('hex'));
    const partMd5s = [0, 1, 2, 3].map((i) =>
      createHash('md5')
        .update(data.subarray(i * partSize, (i + 1) * partSize))
        .digest(),
    );
    const multipart = `${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-4`;
    expect(expectedEtags).toEqual(
      new Map([
        [md5(data), 'whole'],
        [multipart, 'parts'],
      ]),
    );
  });

  it('hashes only what it is asked to, and keeps concurrent uploads apart', async () => {
    const a = randomBytes(500_000);
    const b = randomBytes(700_000);
    const tapA = new UploadTap(1 << 20, { whole: true, parts: false, sha256: false });
    const tapB = new UploadTap(1 << 20, { whole: true, parts: false, sha256: true });
    await Promise.all([through(tapA, a, 65_536), through(tapB, b, 10_000)]);
    const [digestsA, digestsB] = await Promise.all([tapA.digests(), tapB.digests()]);
    expect(digestsA).toEqual({ expectedEtags: new Map([[md5(a), 'whole']]), sha256: undefined });
    expect(digestsB.expectedEtags).toEqual(new Map([[md5(b), 'whole']]));
    expect(digestsB.sha256).toBe(createHash('sha256').update(b).digest('hex'));
  });

  it('closes an abandoned job (nothing left to keep the process alive)', async () => {
    const abandoned = new UploadTap(1 << 20, { whole: true, parts: false, sha256: true });
    abandoned.write(randomBytes(1000));
    expect(openHashingJobs()).toBe(1);
    abandoned.abandon();
    expect(openHashingJobs()).toBe(0);
    const data = randomBytes(20_000);
    const tap = new UploadTap(1 << 20, { whole: true, parts: false, sha256: false });
    await through(tap, data, 4096);
    expect((await tap.digests()).expectedEtags).toEqual(new Map([[md5(data), 'whole']]));
    expect(openHashingJobs()).toBe(0);
  });

  it('fails the upload, instead of stalling it, when the hashing worker dies; the next upload gets a new one', async () => {
    const tap = new UploadTap(8 << 20, { whole: true, parts: false, sha256: true });
    const source = new PassThrough();
    const flowing = pipeline(
      source,
      tap,
      new Writable({
        write(_piece, _encoding, callback) {
          callback();
        },
      }),
    );
    source.write(randomBytes(1 << 20));
    await stopHashingWorker();
    // Far past the in-flight bound: without the failure this would wait for acks forever.
    for (let i = 0; i < 12; i++) source.write(randomBytes(1 << 20));
    source.end();
    await expect(flowing).rejects.toThrow(/upload hashing stopped/);
    await expect(tap.digests()).rejects.toThrow(/upload hashing stopped/);
    expect(openHashingJobs()).toBe(0);
    const data = randomBytes(50_000);
    const next = new UploadTap(1 << 20, { whole: true, parts: false, sha256: true });
    await through(next, data, 8192);
    expect((await next.digests()).sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('hashes a stream far larger than the 8 MB in-flight bound completely', async () => {
    const data = randomBytes(24 * 1024 * 1024);
    const tap = new UploadTap(8 << 20, { whole: true, parts: true, sha256: true });
    const received = await through(tap, data, 4 * 1024 * 1024);
    expect(received.length).toBe(data.length);
    expect((await tap.digests()).sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });
});

describe('hash-worker.ts as built', () => {
  it('runs as plain JavaScript in a worker, without tsx (what dist/ loads)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'doorbell-hash-worker-'));
    try {
      const built = join(dir, 'hash-worker.js');
      await build({
        entryPoints: [join(import.meta.dirname, '../../src/storage/hash-worker.ts')],
        outfile: built,
        format: 'esm',
        platform: 'node',
        logLevel: 'silent',
      });
      const worker = new Worker(pathToFileURL(built), { execArgv: [] });
      const data = randomBytes(100_000);
      const reply = new Promise<unknown>((resolve, reject) => {
        worker.on('message', (message: { done?: true }) => message.done && resolve(message));
        worker.on('error', reject);
      });
      worker.postMessage({ op: 'open', id: 1, partSize: 0, whole: true, parts: false, sha256: true });
      worker.postMessage({ op: 'update', id: 1, data });
      worker.postMessage({ op: 'finish', id: 1 });
      expect(await reply).toEqual({
        id: 1,
        done: true,
        whole: md5(data),
        sha256: createHash('sha256').update(data).digest('hex'),
      });
      await worker.terminate();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
