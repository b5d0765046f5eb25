/** What a video file holds (size, rate, duration, frames), from ffprobe, cached by file identity; never hangs. */
import ffmpeg from 'fluent-ffmpeg';
import { roundMs } from '../frames.js';
import { assertReadableVideoFile, summarizeFfmpegError, VideoError } from './errors.js';
import { configureBinaries } from './process.js';

export interface VideoInfo {
  width: number;
  height: number;
  fps: number;
  durationMs: number;
  /** From the container when it records one (MP4 does). */
  frameCount?: number;
  codec: string;
  /**
   * Where the first video frame sits on the input's seek clock (`-ss` counts from the file's earliest stream), when
   * not at 0: a video track that starts after the file's other streams.
   */
  videoStartMs?: number;
}

const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [num, den] = rate.split('/').map(Number);
  if (!num || !Number.isFinite(num)) return 0;
  return den ? num / den : num;
}

/** Probe results by file identity: a recorder probes the same source for every clip and snapshot. */
const probeCache = new Map<string, VideoInfo>();
const PROBE_CACHE_ENTRIES = 64;

/** Width, height, frame rate, duration and codec of the first video stream. Never hangs: bounded by a timeout. */
export async function probe(file: string, options: { timeoutMs?: number } = {}): Promise<VideoInfo> {
  const stats = await assertReadableVideoFile(file, 'probe');
  const identity = `${file}\0${stats.size}\0${stats.mtimeMs}\0${stats.ino}`;
  const cached = probeCache.get(identity);
  if (cached) return { ...cached };
  const info = await probeUncached(file, options);
  if (probeCache.size >= PROBE_CACHE_ENTRIES) probeCache.delete(probeCache.keys().next().value!);
  probeCache.set(identity, info);
  return { ...info };
}

/** ffprobe's answer for `file` (with extra `args`), or a VideoError with its one telling line. Never hangs. */
async function ffprobeData(file: string, args: string[], timeoutMs: number): Promise<ffmpeg.FfprobeData> {
  configureBinaries();
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    new Promise<ffmpeg.FfprobeData>((resolve, reject) => {
      ffmpeg.ffprobe(file, ['-v', 'error', ...args], (error: unknown, result: ffmpeg.FfprobeData) => {
        if (error) {
          const lines = String((error as Error).message ?? error).split('\n');
          const line = summarizeFfmpegError(lines.slice(1), lines[0]!, file);
          reject(new VideoError(`cannot probe ${file}: ${line}`));
        } else resolve(result);
      });
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new VideoError(`cannot probe ${file}: ffprobe gave no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

async function probeUncached(file: string, options: { timeoutMs?: number }): Promise<VideoInfo> {
  const data = await ffprobeData(file, [], options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS);
  const stream = data.streams.find((s) => s.codec_type === 'video');
  if (!stream?.width || !stream.height) throw new VideoError(`cannot probe ${file}: no video stream`);
  const fps = parseRate(stream.avg_frame_rate) || parseRate(stream.r_frame_rate);
  const seconds = Number(stream.duration) || Number(data.format.duration) || 0;
  const frames = Number(stream.nb_frames);
  const info: VideoInfo = {
    width: stream.width,
    height: stream.height,
    fps: Math.round(fps * 1000) / 1000,
    durationMs: roundMs(seconds * 1000),
    codec: stream.codec_name ?? 'unknown',
  };
  if (Number.isInteger(frames) && frames > 0) info.frameCount = frames;
  const videoStartMs = roundMs(
    ((Number(stream.start_time) || 0) - (Number(data.format.start_time) || 0)) * 1000,
  );
  if (videoStartMs > 0) info.videoStartMs = videoStartMs;
  return info;
}

/**
 * Refuses a video whose file holds fewer frames than its header promises (a truncated download or copy), which
 * ffmpeg would otherwise play as a shorter video with only a warning. Reads packets, decodes nothing: fast. A
 * container that promises no frame count passes.
 */
export async function assertWholeVideo(file: string, options: { timeoutMs?: number } = {}): Promise<void> {
  await assertReadableVideoFile(file, 'probe');
  const data = await ffprobeData(
    file,
    ['-count_packets', '-select_streams', 'v:0'],
    options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
  );
  const stream = data.streams.find((s) => s.codec_type === 'video');
  const promised = Number(stream?.nb_frames);
  const present = Number((stream as { nb_read_packets?: unknown } | undefined)?.nb_read_packets);
  if (!Number.isInteger(promised) || promised <= 0 || !Number.isInteger(present)) return;
  if (present < promised - 1) {
    throw new VideoError(
      `${file}: truncated or damaged: ${present} of the ${promised} frames its header promises are in the file`,
    );
  }
}

/**
 * Where a file's frame `index` (frames counted at `fps`) sits on `-ss`'s clock, which counts from the file's
 * earliest stream: later by the video's start when audio starts first.
 */
export function frameSeekMs(info: VideoInfo, index: number, fps: number): number {
  return (info.videoStartMs ?? 0) + (index * 1000) / fps;
}
