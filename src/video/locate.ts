import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
  /** Where each path came from, for `doorbell doctor`-style messages. */
  source: { ffmpeg: BinarySource; ffprobe: BinarySource };
}

export type BinarySource = 'env' | 'path' | 'bundled';

const require = createRequire(import.meta.url);

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** An executable `name` in one of PATH's folders, or undefined. */
export function findOnPath(
  name: string,
  pathVariable: string | undefined = process.env['PATH'],
): string | undefined {
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function bundled(packageName: string): string | undefined {
  try {
    const path = (require(packageName) as { path?: string }).path;
    return path && isExecutableFile(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

function locateOne(
  name: 'ffmpeg' | 'ffprobe',
  envVariable: string,
  packageName: string,
  env: NodeJS.ProcessEnv,
): { path: string; source: BinarySource } {
  const fromEnv = env[envVariable];
  if (fromEnv) {
    if (!isExecutableFile(fromEnv)) throw new Error(`${envVariable}=${fromEnv} is not an executable file`);
    return { path: fromEnv, source: 'env' };
  }
  const onPath = findOnPath(name, env['PATH']);
  if (onPath) return { path: onPath, source: 'path' };
  const shipped = bundled(packageName);
  if (shipped) return { path: shipped, source: 'bundled' };
  throw new Error(`${name} not found: set ${envVariable}, put ${name} on PATH, or install ${packageName}`);
}

const cache = new Map<string, FfmpegBinaries>();

/**
 * ffmpeg: DOORBELL_FFMPEG, else `ffmpeg` on PATH, else @ffmpeg-installer/ffmpeg;
 * ffprobe likewise with DOORBELL_FFPROBE and @ffprobe-installer/ffprobe.
 */
export function locateFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegBinaries {
  const key = [env['DOORBELL_FFMPEG'], env['DOORBELL_FFPROBE'], env['PATH']].join('\0');
  const hit = cache.get(key);
  if (hit) return hit;
  const ffmpeg = locateOne('ffmpeg', 'DOORBELL_FFMPEG', '@ffmpeg-installer/ffmpeg', env);
  const ffprobe = locateOne('ffprobe', 'DOORBELL_FFPROBE', '@ffprobe-installer/ffprobe', env);
  const found: FfmpegBinaries = {
    ffmpeg: ffmpeg.path,
    ffprobe: ffprobe.path,
    source: { ffmpeg: ffmpeg.source, ffprobe: ffprobe.source },
  };
  cache.set(key, found);
  return found;
}
