/** One-line, human descriptions of file-system errors, and which of them mean "this disk takes no writes". */

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
