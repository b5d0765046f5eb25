/**
 * The upload hashing worker thread (started by upload-tap.ts): MD5 of the whole object, MD5 of each part and/or
 * sha256 of the bytes an upload sends, off the event loop. MD5 and sha256 of a 32 MB clip are ≈75 ms of CPU, which
 * on the event loop held back the upload they verify.
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type HashRequest =
  | { op: 'open'; id: number; partSize: number; whole: boolean; parts: boolean; sha256: boolean }
  | { op: 'update'; id: number; data: Uint8Array }
  | { op: 'finish'; id: number }
  | { op: 'abort'; id: number };

export type HashReply =
  | { id: number; ack: number }
  | { id: number; done: true; whole?: string; sha256?: string; parts?: string[] };

interface Job {
  whole: Hash | undefined;
  sha256: Hash | undefined;
  /** 0 when part MD5s are not wanted. */
  partSize: number;
  part: Hash | undefined;
  /** Bytes in the current part so far. */
  fill: number;
  partDigests: string[];
}

function feedParts(job: Job, chunk: Buffer): void {
  let offset = 0;
  while (offset < chunk.length) {
    job.part ??= createHash('md5');
    const take = Math.min(job.partSize - job.fill, chunk.length - offset);
    job.part.update(chunk.subarray(offset, offset + take));
    job.fill += take;
    offset += take;
    if (job.fill === job.partSize) {
      job.partDigests.push(job.part.digest('hex'));
      job.part = undefined;
      job.fill = 0;
    }
  }
}

const jobs = new Map<number, Job>();

function handle(request: HashRequest, reply: (message: HashReply) => void): void {
  switch (request.op) {
    case 'open':
      jobs.set(request.id, {
        whole: request.whole ? createHash('md5') : undefined,
        sha256: request.sha256 ? createHash('sha256') : undefined,
        partSize: request.parts ? request.partSize : 0,
        part: undefined,
        fill: 0,
        partDigests: [],
      });
      return;
    case 'update': {
      const job = jobs.get(request.id);
      if (!job) return;
      const { data } = request;
      const chunk = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      job.whole?.update(chunk);
      job.sha256?.update(chunk);
      if (job.partSize > 0) feedParts(job, chunk);
      reply({ id: request.id, ack: chunk.length });
      return;
    }
    case 'finish': {
      const job = jobs.get(request.id);
      jobs.delete(request.id);
      if (!job) return;
      if (job.part) job.partDigests.push(job.part.digest('hex'));
      const whole = job.whole?.digest('hex');
      const sha256 = job.sha256?.digest('hex');
      reply({
        id: request.id,
        done: true,
        ...(whole === undefined ? {} : { whole }),
        ...(sha256 === undefined ? {} : { sha256 }),
        ...(job.partSize > 0 ? { parts: job.partDigests } : {}),
      });
      return;
    }
    case 'abort':
      jobs.delete(request.id);
      return;
  }
}

const port = parentPort;
if (port)
  port.on('message', (request: HashRequest) => handle(request, (message) => port.postMessage(message)));
