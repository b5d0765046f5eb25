import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const FRIENDLY: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  ENOENT: 'no such file or directory',
  EEXIST: 'already exists',
  EIO: 'I/O error',
  EMFILE: 'too many open files',
};

export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** One line: "<action> <path>: disk full (ENOSPC)". */
export function describeFsError(error: unknown, action: string, path: string): string {
  const code = errnoCode(error);
  if (code) return `${action} ${path}: ${FRIENDLY[code] ?? 'failed'} (${code})`;
  return `${action} ${path}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Errors that mean "the disk or directory cannot take writes", as opposed to a bug or a missing file. */
export function isStorageUnavailable(error: unknown): boolean {
  const code = errnoCode(error);
  return (
    code === 'ENOSPC' ||
    code === 'EDQUOT' ||
    code === 'EACCES' ||
    code === 'EPERM' ||
    code === 'EROFS' ||
    code === 'ENOTDIR' ||
    code === 'EIO'
  );
}

/** A temp name next to `path`, hidden (leading dot) and unique. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/** Makes a rename or unlink inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `path` so that a crash leaves either the old file or the new one: temp, fsync, rename. */
export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await fsyncDir(dirname(path));
}
