/** How video failures reach a user: one line naming the file and what went wrong, never a stack or ffmpeg's banner. */
import { stat } from 'node:fs/promises';
import { UserError } from '../../util/user-error.js';

/** A user-facing failure with a one-line message naming the file and what went wrong. */
export class VideoError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'VideoError';
  }
}

const NOISE_PREFIX = /^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/i;
const ERROR_HINT =
  /error|invalid|not found|no such|does not contain|matches no streams|moov atom|could not|unable|unknown|failed|denied|truncat/i;

/** Picks the most telling line of ffmpeg's stderr for a one-line message. */
export function summarizeFfmpegError(lines: readonly string[], fallback: string, file?: string): string {
  const clean = lines
    .map((l) => l.replace(NOISE_PREFIX, '').trim())
    .map((l) => (file && l.startsWith(`${file}: `) ? l.slice(file.length + 2) : l))
    .filter((l) => l.length > 0);
  const hinted = clean.filter((l) => ERROR_HINT.test(l) && !/^(ffmpeg|ffprobe) (version|exited)/.test(l));
  const line = hinted.at(-1) ?? clean.at(-1) ?? fallback;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** The file's stat, or a VideoError when it is missing, empty or not a regular file. */
export async function assertReadableVideoFile(
  file: string,
  verb: string,
): Promise<Awaited<ReturnType<typeof stat>>> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new VideoError(`cannot ${verb} ${file}: ${code === 'ENOENT' ? 'no such file' : String(code)}`);
  }
  // FIFOs, devices and directories are where ffmpeg would block or misbehave; refuse them up front.
  if (!info.isFile()) throw new VideoError(`cannot ${verb} ${file}: not a regular file`);
  if (info.size === 0) throw new VideoError(`cannot ${verb} ${file}: file is empty`);
  return info;
}
