import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';

const CHUNK_BYTES = 1 << 20;

export interface CopyDigest {
  bytes: number;
  sha256: string;
}

/**
 * Copies `source` into `target` (from position 0) and hashes the bytes on the way, reading the file once.
 * Reads, hashing and writes overlap: while chunk i is hashed on the main thread, chunk i+1 is read and
 * chunk i-1 written on the libuv pool (three rotating buffers, positional writes).
 */
export async function copyAndHash(
  source: FileHandle,
  target: FileHandle,
  extra: Hash[] = [],
): Promise<CopyDigest> {
  const hash = createHash('sha256');
  const buffers = [
    Buffer.allocUnsafe(CHUNK_BYTES),
    Buffer.allocUnsafe(CHUNK_BYTES),
    Buffer.allocUnsafe(CHUNK_BYTES),
  ];
  const writes: Array<Promise<unknown> | undefined> = [undefined, undefined, undefined];
  let position = 0;
  let index = 0;
  let pendingRead = source.read(buffers[0]!, 0, CHUNK_BYTES, 0);
  try {
    for (;;) {
      const { bytesRead } = await pendingRead;
      if (bytesRead === 0) break;
      const current = buffers[index % 3]!;
      const nextSlot = (index + 1) % 3;
      await writes[nextSlot];
      writes[nextSlot] = undefined;
      pendingRead = source.read(buffers[nextSlot]!, 0, CHUNK_BYTES, position + bytesRead);
      const chunk = current.subarray(0, bytesRead);
      hash.update(chunk);
      for (const other of extra) other.update(chunk);
      const write = writeFully(target, chunk, position);
      // Observed later (next use of its slot, or the end); mark it handled so a failure is not "unhandled" meanwhile.
      write.catch(() => undefined);
      writes[index % 3] = write;
      position += bytesRead;
      index += 1;
    }
  } finally {
    await Promise.allSettled(writes);
    await pendingRead.catch(() => undefined);
  }
  for (const write of writes) await write;
  return { bytes: position, sha256: hash.digest('hex') };
}

async function writeFully(target: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await target.write(chunk, offset, chunk.length - offset, position + offset);
    offset += bytesWritten;
  }
}

/** sha256 (and size) of a file, read once; `extra` hashes see the same bytes. */
export async function hashFile(path: string, extra: Hash[] = []): Promise<CopyDigest> {
  const handle = await open(path, 'r');
  try {
    return await hashHandle(handle, extra);
  } finally {
    await handle.close();
  }
}

export async function hashHandle(handle: FileHandle, extra: Hash[] = []): Promise<CopyDigest> {
  const hash = createHash('sha256');
  const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
  let position = 0;
  let index = 0;
  let pendingRead = handle.read(buffers[0]!, 0, CHUNK_BYTES, 0);
  for (;;) {
    const { bytesRead } = await pendingRead;
    if (bytesRead === 0) break;
    const current = buffers[index % 2]!;
    pendingRead = handle.read(buffers[(index + 1) % 2]!, 0, CHUNK_BYTES, position + bytesRead);
    const chunk = current.subarray(0, bytesRead);
    hash.update(chunk);
    for (const other of extra) other.update(chunk);
    position += bytesRead;
    index += 1;
  }
  return { bytes: position, sha256: hash.digest('hex') };
}
