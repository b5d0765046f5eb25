import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { HashReply, HashRequest } from './hash-worker.js';

export type EtagStyle = 'whole' | 'parts';

export interface TapTracking {
  /** MD5 of the whole object (AWS single-part ETag; s3rver's for every upload). */
  whole: boolean;
  /** MD5 of each part (AWS multipart ETag: MD5 of the part MD5s, "-N"). */
  parts: boolean;
  sha256: boolean;
}

export interface TapDigests {
  /** The ETags a correct server may answer for the bytes sent. */
  expectedEtags: Map<string, EtagStyle>;
  sha256: string | undefined;
}

/**
 * The hashing runs on a worker thread (hash-worker.ts): on the event loop it held back the upload it verifies
 * (measured: bucket.put ≈100 ms slower than a bare upload of the same 32 MB file).
 */
function startHashWorker(): Worker {
  // Built (dist/): the compiled worker sits beside this file. From source (tsx, vitest): the .ts file. Node 20 does
  // not pass tsx's loader on to a worker (not even with --import tsx in its execArgv), so the worker registers it
  // itself before importing the module: a one-line bootstrap, not the worker's code.
  const compiled = new URL('./hash-worker.js', import.meta.url);
  if (existsSync(compiled)) return new Worker(compiled);
  const source = JSON.stringify(new URL('./hash-worker.ts', import.meta.url).href);
  // Resolved here, from this file: the eval'd worker would resolve a bare name from the working directory.
  const tsx = JSON.stringify(
    typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api',
  );
  return new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${source}); });`, {
    eval: true,
  });
}

type WorkerReply = Extract<HashReply, { done: true }>;

interface JobHandlers {
  onAck: (bytes: number) => void;
  onDone: (reply: WorkerReply) => void;
  onError: (error: Error) => void;
}

/** One hashing worker for the process, started on first use; it keeps the process alive only while jobs are open. */
class HashWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly jobs = new Map<number, JobHandlers>();

  open(track: TapTracking, partSize: number, handlers: JobHandlers): number {
    const worker = this.started();
    const id = ++this.nextId;
    this.jobs.set(id, handlers);
    worker.ref();
    this.send({ op: 'open', id, partSize, ...track });
    return id;
  }

  update(id: number, chunk: Buffer): void {
    // A copy: the chunk itself goes on to the uploader.
    const copy = new Uint8Array(chunk);
    this.send({ op: 'update', id, data: copy }, [copy.buffer]);
  }

  finish(id: number): void {
    this.send({ op: 'finish', id });
  }

  abort(id: number): void {
    if (!this.jobs.delete(id)) return;
    this.send({ op: 'abort', id });
    this.unrefWhenIdle();
  }

  private send(request: HashRequest, transfer: ArrayBuffer[] = []): void {
    this.worker?.postMessage(request, transfer);
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = startHashWorker();
    worker.on('message', (reply: HashReply) => {
      const job = this.jobs.get(reply.id);
      if (!job) return;
      if ('ack' in reply) job.onAck(reply.ack);
      else {
        this.jobs.delete(reply.id);
        this.unrefWhenIdle();
        job.onDone(reply);
      }
    });
    const fail = (error: Error) => {
      // 'error' is followed by 'exit'; only the first of them, for the current worker, fails its jobs.
      if (this.worker !== worker) return;
      this.worker = undefined;
      const jobs = [...this.jobs.values()];
      this.jobs.clear();
      for (const job of jobs) job.onError(new Error(`upload hashing stopped: ${error.message}`));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private unrefWhenIdle(): void {
    if (this.jobs.size === 0) this.worker?.unref();
  }

  get openJobs(): number {
    return this.jobs.size;
  }

  /** Ends the worker; open jobs fail, and the next job starts a new one. */
  async stop(): Promise<void> {
    await this.worker?.terminate();
  }
}

const hashWorker = new HashWorker();

/** Hashing jobs not yet finished or abandoned (each keeps the process alive). */
export function openHashingJobs(): number {
  return hashWorker.openJobs;
}

/** Stops the hashing worker (it is started again on demand). */
export function stopHashingWorker(): Promise<void> {
  return hashWorker.stop();
}

/** Bytes handed to the worker and not yet hashed; past this the tap waits (memory stays bounded). */
const MAX_IN_FLIGHT = 8 << 20;

/**
 * Passes bytes through to the uploader and hashes what was sent on the hashing worker: whole-object MD5 and/or
 * per-part MD5s, optionally sha256.
 */
export class UploadTap extends Transform {
  bytes = 0;
  private inFlight = 0;
  private paused: (() => void) | undefined;
  private readonly job: number;
  private readonly result: Promise<WorkerReply>;
  private finished = false;

  constructor(partSize: number, track: TapTracking) {
    super({ highWaterMark: 1 << 20 });
    let resolve!: (reply: WorkerReply) => void;
    let reject!: (error: Error) => void;
    this.result = new Promise<WorkerReply>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.result.catch(() => undefined);
    this.job = hashWorker.open(track, partSize, {
      onAck: (bytes) => {
        this.inFlight -= bytes;
        if (this.paused && this.inFlight <= MAX_IN_FLIGHT) {
          const resume = this.paused;
          this.paused = undefined;
          resume();
        }
      },
      onDone: resolve,
      onError: (error) => {
        reject(error);
        // The upload must not wait for acks that will never come.
        this.paused = undefined;
        this.destroy(error);
      },
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.inFlight += chunk.length;
    hashWorker.update(this.job, chunk);
    if (this.inFlight > MAX_IN_FLIGHT) this.paused = () => callback(null, chunk);
    else callback(null, chunk);
  }

  /** The digests of everything that went through; call once the upload is done. */
  async digests(): Promise<TapDigests> {
    this.finished = true;
    hashWorker.finish(this.job);
    const reply = await this.result;
    const expectedEtags = new Map<string, EtagStyle>();
    if (reply.whole) expectedEtags.set(reply.whole, 'whole');
    if (reply.parts) {
      const joined = Buffer.concat(reply.parts.map((hex) => Buffer.from(hex, 'hex')));
      expectedEtags.set(`${createHash('md5').update(joined).digest('hex')}-${reply.parts.length}`, 'parts');
    }
    return { expectedEtags, sha256: reply.sha256 };
  }

  /** Drops the hashing job of an upload that failed. */
  abandon(): void {
    if (!this.finished) hashWorker.abort(this.job);
    this.finished = true;
  }
}
