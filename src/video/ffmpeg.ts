/**
 * The one module that runs ffmpeg/ffprobe (through fluent-ffmpeg). Everything else asks it for frames, probes,
 * clips and stills. Measured facts it is built on:
 * - the bundled ffmpeg is a 2018 static build: `-fps_mode` is unknown there, `-vsync passthrough` works on it and
 *   on current releases, so we use that (no duplicated or dropped frames);
 * - reads from a pipe or socket are not frame-aligned, so raw video is re-framed by byte count;
 * - decoded frames for analysis arrive over a Unix socket read into one reused buffer (frame-socket.ts): a Buffer
 *   per 64 KB stdout chunk cost more CPU than the detector;
 * - per-frame presentation times come from the `showinfo` filter on stderr, fed a 2×2 crop of each frame so its
 *   per-pixel checksums cost nothing (on the whole 320-px frame they took ~5% of ffmpeg's CPU);
 * - a stop is `q` on stdin, then SIGINT, then SIGTERM; never SIGKILL (it leaves an unplayable MP4), and exit code
 *   255 after a requested stop is normal.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable, Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import sharp from 'sharp';
import { type FrameRun, type FrameRunFeed, feedFrameCount, runsInWindow } from './frame-runs.js';
import { FrameSocket } from './frame-socket.js';
import {
  FrameAssembler,
  type GrayFrame,
  parseRawvideoOutputSize,
  parseShowinfoLine,
  roundMs,
} from './frames.js';
import { locateFfmpeg } from './locate.js';
import { polygonsSvg } from './polygon-svg.js';

export type { GrayFrame } from './frames.js';

/** A user-facing failure with a one-line message naming the file and what went wrong. */
export class VideoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VideoError';
  }
}

/** Polygon in normalized [0,1] coordinates of the picture, [x, y] pairs. */
export type NormalizedPolygon = ReadonlyArray<readonly [number, number]>;

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
const DEFAULT_STALL_TIMEOUT_MS = 20_000;
const STOP_SIGINT_AFTER_MS = 1_500;
const STOP_SIGTERM_AFTER_MS = 5_000;
/** Decoded bytes held for a slow consumer before ffmpeg is paused (backpressure). */
const DECODE_BUFFER_BYTES = 2 * 1024 * 1024;
const LISTEN_TIMEOUT_MS = 15_000;

let configuredFor: string | undefined;
function configureBinaries(): void {
  const binaries = locateFfmpeg();
  const key = `${binaries.ffmpeg}\0${binaries.ffprobe}`;
  if (configuredFor !== key) {
    ffmpeg.setFfmpegPath(binaries.ffmpeg);
    ffmpeg.setFfprobePath(binaries.ffprobe);
    configuredFor = key;
  }
}

function command(input: string | Readable): ffmpeg.FfmpegCommand {
  configureBinaries();
  return ffmpeg(input).inputOptions(['-hide_banner', '-nostats']);
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

async function assertReadableVideoFile(
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

/** One ffmpeg process: its exit, its recent stderr lines (showinfo excluded) and a graceful stop. */
class FfmpegRun {
  proc: ChildProcess | undefined;
  exited = false;
  stopRequested = false;
  private interruptFirst = false;
  failure: VideoError | undefined;
  readonly recent: string[] = [];
  readonly done: Promise<void>;
  private onExit: (() => void) | undefined;

  constructor(
    cmd: ffmpeg.FfmpegCommand,
    private readonly what: string,
    onLine?: (line: string) => boolean,
    /** stdin carries the input data, so `q` cannot be sent there. */
    private readonly stdinIsInput = false,
    private readonly inputFile?: string,
  ) {
    cmd.on('start', () => {
      this.proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      this.proc?.stdin?.on('error', () => {});
      // A stop asked for before fluent-ffmpeg got round to spawning (it checks capabilities first).
      if (this.stopRequested) this.escalate();
    });
    cmd.on('stderr', (line: string) => {
      if (onLine?.(line)) return;
      this.recent.push(line);
      if (this.recent.length > 30) this.recent.shift();
    });
    this.done = new Promise<void>((resolve) => {
      cmd.on('end', () => {
        this.exited = true;
        resolve();
        this.onExit?.();
      });
      cmd.on('error', (error: Error) => {
        this.exited = true;
        if (!this.stopRequested) {
          const line = summarizeFfmpegError(this.recent, error.message, this.inputFile);
          this.failure = new VideoError(`${this.what}: ${line}`);
        }
        resolve();
        this.onExit?.();
      });
    });
  }

  whenExited(callback: () => void): void {
    this.onExit = callback;
  }

  /**
   * `q` on stdin, then SIGINT, then SIGTERM; resolves when the process is gone. `interrupt` starts at SIGINT, for an
   * ffmpeg that is not reading stdin yet (still opening its output).
   */
  async stop(options: { interrupt?: boolean } = {}): Promise<void> {
    if (this.exited) return;
    if (!this.stopRequested) {
      this.stopRequested = true;
      this.interruptFirst = options.interrupt === true;
      if (this.proc) this.escalate();
    }
    await this.done;
  }

  private escalate(): void {
    const proc = this.proc;
    if (!proc || this.exited) return;
    if (!this.stdinIsInput && !this.interruptFirst && proc.stdin?.writable) proc.stdin.write('q');
    else proc.kill('SIGINT');
    const interrupt = setTimeout(() => proc.kill('SIGINT'), STOP_SIGINT_AFTER_MS);
    const terminate = setTimeout(() => proc.kill('SIGTERM'), STOP_SIGTERM_AFTER_MS);
    void this.done.then(() => {
      clearTimeout(interrupt);
      clearTimeout(terminate);
    });
  }
}

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
 * Where ffmpeg's stdout goes when it is not frames for analysis (a still, raw video to hash). It never emits
 * 'close', because fluent-ffmpeg answers an output stream's 'close' by killing ffmpeg 20 ms later, racing a normal
 * exit.
 */
class StdoutSink extends Writable {
  ended = false;

  constructor(private readonly onChunk: (chunk: Buffer) => void) {
    super({ autoDestroy: false, emitClose: false });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.onChunk(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ended = true;
    callback();
  }
}

/**
 * Runs ffmpeg with its stdout handed to `onChunk`, stopped after `timeoutMs`; resolves once ffmpeg and its stdout
 * are both done, with the run (its `stopRequested` says it timed out), or rejects with ffmpeg's error line.
 */
async function runToStdout(
  cmd: ffmpeg.FfmpegCommand,
  what: string,
  input: string,
  onChunk: (chunk: Buffer) => void,
  timeoutMs: number,
): Promise<FfmpegRun> {
  const sink = new StdoutSink(onChunk);
  const run = new FfmpegRun(cmd, what, undefined, false, input);
  const timer = setTimeout(() => void run.stop(), timeoutMs);
  cmd.pipe(sink, { end: true });
  await run.done;
  clearTimeout(timer);
  if (!sink.ended && !run.failure) await once(sink, 'finish').catch(() => undefined);
  if (run.failure) throw run.failure;
  return run;
}

export interface DecodeOptions {
  /** Output width in pixels (even); height follows the aspect ratio, rounded to even. Default 320. */
  width?: number;
  /** Play the file again and again (a live camera feed); ptsMs keeps increasing. */
  loop?: boolean;
  /** Aborting stops ffmpeg gracefully and ends the iteration without an error. */
  signal?: AbortSignal;
  /** Fail when ffmpeg produces nothing for this long while we wait for it. Default 20 s. */
  stallTimeoutMs?: number;
  /**
   * Reuse two frame buffers in turn instead of allocating one per frame (less GC on long feeds). A frame's data
   * is then only valid until the next-but-one frame is requested: copy what you keep.
   */
  recycleBuffers?: boolean;
}

/**
 * Decodes the first video stream to 8-bit gray frames at analysis size, one frame per coded frame
 * (`-vsync passthrough`), each with its presentation time from the file. Pull-based: once 2 MB of whole frames
 * wait, Node stops reading the socket and ffmpeg blocks on its write. Breaking out of the loop stops ffmpeg
 * gracefully.
 */
export async function* decodeGrayFrames(
  file: string,
  options: DecodeOptions = {},
): AsyncGenerator<GrayFrame, void, undefined> {
  await assertReadableVideoFile(file, 'decode');
  const width = options.width ?? 320;
  if (!Number.isInteger(width) || width < 2 || width % 2 !== 0) {
    throw new VideoError(`decode width must be an even whole number of pixels, got ${width}`);
  }
  const { signal } = options;
  if (signal?.aborted) return;
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;

  const framePts: number[] = [];
  let ptsHead = 0;
  let timebase: { num: number; den: number } | undefined;
  let size: { width: number; height: number } | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };

  // The frames go to the socket; a split-off 2×2 crop of each goes through showinfo, which logs its pts.
  // (showinfo checksums and averages every pixel it sees: on the full 320-px frame that cost ~5% of ffmpeg's CPU.)
  const cmd = command(file)
    .inputOptions(options.loop ? ['-stream_loop', '-1'] : [])
    .outputOptions([
      '-filter_complex',
      `[0:v:0]scale=${width}:-2:flags=area,format=gray,split[frames][stamps];` +
        '[stamps]crop=2:2:0:0,showinfo,nullsink',
      '-map',
      '[frames]',
      '-vsync',
      'passthrough',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      // ffmpeg listens; an ffmpeg nobody connects to (its parent died) gives up after this many ms.
      '-listen',
      '1',
      '-timeout',
      String(LISTEN_TIMEOUT_MS),
    ]);
  const assembler = new FrameAssembler();
  const socket = await FrameSocket.create().catch((error: Error) => {
    throw new VideoError(`cannot decode ${file}: ${error.message}`);
  });
  cmd.output(socket.url);
  const onLine = (line: string): boolean => {
    const parsed = parseShowinfoLine(line);
    if (parsed?.kind === 'frame') {
      framePts.push(parsed.frame.pts);
      notify();
      return true;
    }
    if (parsed?.kind === 'timebase') {
      timebase ??= { num: parsed.num, den: parsed.den };
      return true;
    }
    if (!size) {
      size = parseRawvideoOutputSize(line);
      if (size) {
        assembler.setFrameSize(size.width * size.height);
        notify();
      }
    }
    // showinfo's other per-frame line ("color_range:… color_space:unknown…") must not pass for an error.
    return line.includes('Parsed_showinfo');
  };
  const run = new FfmpegRun(cmd, `cannot decode ${file}`, onLine, false, file);
  run.whenExited(notify);
  let discarding = false;
  socket.connect({
    onBytes: (bytes) => {
      if (!discarding) assembler.write(bytes);
      notify();
      return discarding || assembler.wholeFrameBytes < DECODE_BUFFER_BYTES;
    },
    onStateChange: notify,
    shouldGiveUp: () => run.exited || run.stopRequested,
  });
  cmd.run();
  signal?.addEventListener('abort', notify, { once: true });

  // One watchdog per decode rather than a timer per wait: it only fires while we are waiting for ffmpeg.
  let waitingSince = Number.NaN;
  let stalled: VideoError | undefined;
  const watchdog = setInterval(
    () => {
      if (!Number.isNaN(waitingSince) && performance.now() - waitingSince >= stallTimeoutMs) {
        stalled = new VideoError(`cannot decode ${file}: ffmpeg produced nothing for ${stallTimeoutMs} ms`);
        notify();
      }
    },
    Math.min(1_000, stallTimeoutMs),
  );
  watchdog.unref();
  const waitForActivity = async (): Promise<void> => {
    waitingSince = performance.now();
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    waitingSince = Number.NaN;
    if (stalled) throw stalled;
  };

  // With recycled buffers, the frame yielded two requests ago goes back to the assembler.
  const lent: Array<Uint8Array | undefined> = [undefined, undefined];
  let index = 0;
  try {
    for (;;) {
      if (signal?.aborted) return;
      const pts = framePts[ptsHead];
      if (pts !== undefined && size) {
        const data = assembler.take();
        if (data) {
          if (options.recycleBuffers) {
            const returned = lent[index % 2];
            if (returned) assembler.recycle(returned);
            lent[index % 2] = data;
          }
          ptsHead++;
          if (ptsHead > 1024) {
            framePts.splice(0, ptsHead);
            ptsHead = 0;
          }
          const tb = timebase ?? { num: 1, den: 1000 };
          yield {
            index: index++,
            ptsMs: roundMs((pts * 1000 * tb.num) / tb.den),
            width: size.width,
            height: size.height,
            data,
          };
          continue;
        }
      }
      if (assembler.wholeFrameBytes < DECODE_BUFFER_BYTES) socket.resume();
      if (run.exited && (socket.state === 'closed' || run.failure)) break;
      await waitForActivity();
    }
    if (run.failure) throw run.failure;
    if (ptsHead < framePts.length || assembler.bufferedBytes > 0) {
      throw new VideoError(`cannot decode ${file}: ffmpeg output ended inside a frame`);
    }
  } finally {
    clearInterval(watchdog);
    signal?.removeEventListener('abort', notify);
    if (!run.exited) {
      // Drain so a backpressured ffmpeg can read its `q`; one still waiting for us to connect gets SIGINT.
      discarding = true;
      socket.resume();
      await run.stop({ interrupt: socket.state === 'connecting' });
    }
    await socket.dispose();
  }
}

async function maskPng(
  width: number,
  height: number,
  polygons: readonly NormalizedPolygon[],
): Promise<Buffer> {
  return sharp(Buffer.from(polygonsSvg(width, height, polygons)))
    .png()
    .toBuffer();
}

async function runToEnd(
  cmd: ffmpeg.FfmpegCommand,
  what: string,
  input: string | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const run = new FfmpegRun(cmd, what, undefined, false, input);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void run.stop();
  }, timeoutMs);
  const onAbort = (): void => void run.stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    cmd.run();
    await run.done;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (timedOut) throw new VideoError(`${what}: ffmpeg did not finish within ${timeoutMs} ms`);
  if (signal?.aborted) throw new VideoError(`${what}: aborted`);
  if (run.failure) throw run.failure;
}

/** Where [startMs, endMs) falls in a source that loops every loopDurationMs (or plays once). */
function sourceWindow(
  startMs: number,
  endMs: number,
  loopDurationMs: number | undefined,
): { seekMs: number; durationMs: number; extraLoops: number } {
  const durationMs = endMs - startMs;
  if (!loopDurationMs)
    return { seekMs: Math.max(0, startMs), durationMs: endMs - Math.max(0, startMs), extraLoops: 0 };
  const seekMs = ((startMs % loopDurationMs) + loopDurationMs) % loopDurationMs;
  const extraLoops = Math.max(0, Math.ceil((seekMs + durationMs) / loopDurationMs) - 1);
  return { seekMs, durationMs, extraLoops };
}

/** Seconds for ffmpeg, nudged half a microsecond down so a frame exactly on the boundary is kept. */
function seconds(ms: number): string {
  return Math.max(0, ms / 1000 - 5e-7).toFixed(7);
}

export interface EncodeClipOptions {
  /** A video file (looped when loopDurationMs is given), or a feed composed of frame runs of several files. */
  input: string | FrameRunFeed;
  /**
   * Window [startMs, endMs) in the source's presentation time. With loopDurationMs it may wrap or be negative;
   * on a frame-run feed it is clamped to the feed.
   */
  startMs: number;
  endMs: number;
  output: string;
  /** The source is a looping feed of this period: the window is taken modulo it and may wrap around the end. */
  loopDurationMs?: number;
  /** Privacy masks burned in as black polygons. */
  blackout?: readonly NormalizedPolygon[];
  /** x264 quality, default 23. */
  crf?: number;
  /** x264 preset, default veryfast. */
  preset?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface EncodedClip {
  output: string;
  bytes: number;
  durationMs: number;
}

/**
 * Deterministic output for the same input and ffmpeg build: a fixed encoder thread count (never "auto", which
 * follows the machine's cores), no version strings. Two threads: measured, the decoded frames are identical to a
 * one-thread encode on both the bundled 2018 build and Debian's 5.1, and an encode takes ≈0.7× the time.
 */
const DETERMINISTIC_H264 = [
  '-threads',
  '2',
  '-fflags',
  '+bitexact',
  '-flags:v',
  '+bitexact',
  '-map_metadata',
  '-1',
];

/**
 * veryfast with superfast's motion search and partitions (diamond, subme 1, i8x8/i4x4) but veryfast's mb-tree rate
 * control. Measured on a 300-frame 640×360 clip (x264 CPU, one thread): veryfast 1.03 s; this 0.54 s for a file
 * 8 % bigger; superfast 0.67 s for a file 2.3× the size (it also turns mb-tree off).
 */
const CLIP_X264_TUNING = ['-x264-params', 'me=dia:subme=1:partitions=i8x8,i4x4'];

/** The part of a source a clip is cut from: inputs added to `cmd` and a filter chain from them to `[cut]`. */
interface ClipSelection {
  cmd: ffmpeg.FfmpegCommand;
  /** filter_complex text ending in the label [cut], or undefined when the first input's video is the cut. */
  graph: string | undefined;
  /** Inputs used before any mask input. */
  inputCount: number;
  /** The files the cut reads. */
  files: string[];
  /** Output options (e.g. -t) that finish the cut. */
  outputOptions: string[];
  size: () => Promise<{ width: number; height: number }>;
  durationMs: number;
}

function selectFromLoopedFile(
  input: string,
  startMs: number,
  endMs: number,
  loopDurationMs: number | undefined,
): ClipSelection {
  const window = sourceWindow(startMs, endMs, loopDurationMs);
  if (window.durationMs <= 0) {
    throw new VideoError(
      `cannot encode clip from ${input}: window [${startMs}, ${endMs}) ms ends before the video starts`,
    );
  }
  // A window that wraps is cut with `trim` on the looped timeline (pts keep increasing across loops; decoding
  // from 0 costs little for a short loop). `-ss` on a looped input restarts mid-file after the wrap in the 2018
  // build, so it is only used for windows that do not wrap, where it is a fast, frame-accurate seek.
  const wraps = window.extraLoops > 0;
  const cmd = command(input).inputOptions(
    wraps ? ['-stream_loop', String(window.extraLoops)] : ['-ss', seconds(window.seekMs)],
  );
  const graph = wraps
    ? `[0:v:0]trim=start=${seconds(window.seekMs)}:end=${seconds(window.seekMs + window.durationMs)},setpts=PTS-STARTPTS[cut]`
    : undefined;
  return {
    cmd,
    graph,
    inputCount: 1,
    outputOptions: wraps ? [] : ['-t', seconds(window.durationMs)],
    files: [input],
    size: () => probe(input),
    durationMs: window.durationMs,
  };
}

/**
 * Where a file's frame `index` (frames counted at `fps`) sits on `-ss`'s clock, which counts from the file's
 * earliest stream: later by the video's start when audio starts first.
 */
function frameSeekMs(info: VideoInfo, index: number, fps: number): number {
  return (info.videoStartMs ?? 0) + (index * 1000) / fps;
}

async function selectFromFrameRuns(
  feed: FrameRunFeed,
  startMs: number,
  endMs: number,
): Promise<ClipSelection> {
  const runs = runsInWindow(feed, startMs, endMs);
  if (runs.length === 0) {
    const files = [...new Set(feed.runs.map((run) => run.path))].join(', ');
    throw new VideoError(
      `cannot encode clip from a feed of ${files}: window [${startMs}, ${endMs}) ms holds none of its ${feedFrameCount(feed)} frames`,
    );
  }
  const files = [...new Set(runs.map((run) => run.path))];
  const infos = new Map(await Promise.all(files.map(async (file) => [file, await probe(file)] as const)));
  let cmd: ffmpeg.FfmpegCommand | undefined;
  for (const run of runs) {
    // Seek to the run's first frame (an exact seek: decoded from the keyframe before, earlier frames dropped) and
    // read no further than the run needs.
    const window = [
      '-ss',
      seconds(frameSeekMs(infos.get(run.path)!, run.startFrame, feed.fps)),
      '-t',
      ((run.endFrame - run.startFrame + 1) / feed.fps).toFixed(6),
    ];
    cmd = cmd ? cmd.input(run.path).inputOptions(window) : command(run.path).inputOptions(window);
  }
  const frames = feedFrameCount({ fps: feed.fps, runs });
  return {
    cmd: cmd!,
    graph: frameRunsGraph(runs, feed.fps, 'cut'),
    inputCount: runs.length,
    outputOptions: [],
    files,
    size: async () => infos.get(runs[0]!.path)!,
    durationMs: (frames * 1000) / feed.fps,
  };
}

/**
 * The runs' frames (each input already starts at its run's first frame), concatenated into [label] and re-stamped at
 * `fps`: concat takes a segment's length from its frames' spacing, so a one-frame segment would last 0 and the next
 * would start on the same timestamp (measured with the 2018 build).
 */
function frameRunsGraph(runs: readonly FrameRun[], fps: number, label: string): string {
  const chains = runs.map(
    (run, i) => `[${i}:v:0]trim=end_frame=${run.endFrame - run.startFrame},setpts=PTS-STARTPTS[s${i}]`,
  );
  const labels = runs.map((_, i) => `[s${i}]`).join('');
  return `${chains.join(';')};${labels}concat=n=${runs.length}:v=1:a=0,setpts=N/(${fps}*TB)[${label}]`;
}

/**
 * Cuts [startMs, endMs) out of a source into an H.264 MP4 (`+faststart`), re-encoded so the cut is
 * frame-accurate. Written to a temporary name and renamed, so `output` is never half-written.
 */
export async function encodeClip(options: EncodeClipOptions): Promise<EncodedClip> {
  const { input, startMs, endMs, output } = options;
  if (!(Number.isFinite(startMs) && Number.isFinite(endMs) && endMs > startMs)) {
    const source = typeof input === 'string' ? input : 'a feed of frame runs';
    throw new VideoError(`cannot encode clip from ${source}: window [${startMs}, ${endMs}) ms is empty`);
  }
  const selection =
    typeof input === 'string'
      ? selectFromLoopedFile(input, startMs, endMs, options.loopDurationMs)
      : await selectFromFrameRuns(input, startMs, endMs);
  const { cmd, files } = selection;
  const what = `cannot encode clip from ${files.join(' + ')}`;
  // Frame-run files were checked when selectFromFrameRuns probed them.
  if (typeof input === 'string') await assertReadableVideoFile(input, 'encode a clip from');
  const blackout = options.blackout?.filter((p) => p.length >= 3) ?? [];
  const temp = `${output}.partial-${process.pid}`;
  let maskDir: string | undefined;
  try {
    const videoMap: string[] = [];
    if (blackout.length > 0) {
      const { width, height } = await selection.size();
      maskDir = await mkdtemp(join(tmpdir(), 'doorbell-mask-'));
      const maskFile = join(maskDir, 'mask.png');
      await writeFile(maskFile, await maskPng(width, height, blackout));
      cmd.input(maskFile);
      const base = selection.graph ?? '[0:v:0]null[cut]';
      videoMap.push(
        '-filter_complex',
        `${base};[cut][${selection.inputCount}:v]overlay=0:0:format=auto[v]`,
        '-map',
        '[v]',
      );
    } else if (selection.graph) {
      videoMap.push('-filter_complex', selection.graph, '-map', '[cut]');
    } else {
      videoMap.push('-map', '0:v:0');
    }
    cmd.outputOptions([
      ...videoMap,
      ...selection.outputOptions,
      '-an',
      '-sn',
      '-dn',
      '-vsync',
      'passthrough',
      '-c:v',
      'libx264',
      '-preset',
      options.preset ?? 'veryfast',
      '-crf',
      String(options.crf ?? 23),
      ...CLIP_X264_TUNING,
      '-pix_fmt',
      'yuv420p',
      ...DETERMINISTIC_H264,
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
    ]);
    cmd.output(temp);
    // ffmpeg's own error line is shortened by the input's path only when there is one input.
    const single = files.length === 1 ? files[0] : undefined;
    await runToEnd(cmd, what, single, options.timeoutMs ?? 120_000, options.signal);
    await rename(temp, output);
    const { size } = await stat(output);
    return { output, bytes: size, durationMs: selection.durationMs };
  } finally {
    await rm(temp, { force: true });
    if (maskDir) await rm(maskDir, { recursive: true, force: true });
  }
}

export type GrabFrameOptions = GrabFrameCommon &
  (
    | { atMs: number }
    /** The file's frame `index`, frames counted at `fps` (as frame runs count them). */
    | { atFrame: { index: number; fps: number } }
  );

interface GrabFrameCommon {
  input: string;
  /** 'rgb' (default): raw rgb24 bytes; 'jpeg': a JPEG file's bytes. */
  format?: 'rgb' | 'jpeg';
  /** Scale to this width (even), keeping the aspect ratio; default: source size. */
  width?: number;
  loopDurationMs?: number;
  blackout?: readonly NormalizedPolygon[];
  timeoutMs?: number;
}

export interface GrabbedFrame {
  format: 'rgb' | 'jpeg';
  width: number;
  height: number;
  data: Buffer;
}

/** The frame shown at `atMs` (the last frame whose pts ≤ atMs), as raw RGB or JPEG. */
export async function grabFrame(options: GrabFrameOptions): Promise<GrabbedFrame> {
  const { input } = options;
  const format = options.format ?? 'rgb';
  const info = await probe(input);
  let atMs =
    'atFrame' in options ? frameSeekMs(info, options.atFrame.index, options.atFrame.fps) : options.atMs;
  const where = 'atFrame' in options ? `frame ${options.atFrame.index}` : `${options.atMs} ms`;
  if (options.loopDurationMs)
    atMs = ((atMs % options.loopDurationMs) + options.loopDurationMs) % options.loopDurationMs;
  const width = options.width ?? info.width;
  const height = options.width
    ? Math.max(2, Math.round((width * info.height) / info.width / 2) * 2)
    : info.height;
  const blackout = options.blackout?.filter((p) => p.length >= 3) ?? [];
  let maskDir: string | undefined;
  try {
    // Seek to the frame at or before atMs: go half a frame back so float rounding never picks the next one.
    const frameMs = info.fps > 0 ? 1000 / info.fps : 0;
    const cmd = command(input).inputOptions(['-ss', seconds(Math.max(0, atMs - frameMs / 2))]);
    const filters = [`scale=${width}:${height}`];
    if (blackout.length > 0) {
      maskDir = await mkdtemp(join(tmpdir(), 'doorbell-mask-'));
      const maskFile = join(maskDir, 'mask.png');
      await writeFile(maskFile, await maskPng(width, height, blackout));
      cmd.input(maskFile);
      cmd.outputOptions([
        '-filter_complex',
        `[0:v:0]${filters.join(',')}[s];[s][1:v]overlay=0:0[v]`,
        '-map',
        '[v]',
      ]);
    } else {
      cmd.outputOptions(['-map', '0:v:0', '-vf', filters.join(',')]);
    }
    cmd.outputOptions([
      '-frames:v',
      '1',
      '-an',
      ...(format === 'jpeg'
        ? ['-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p']
        : ['-f', 'rawvideo', '-pix_fmt', 'rgb24']),
    ]);
    const chunks: Buffer[] = [];
    const timeoutMs = options.timeoutMs ?? 30_000;
    const what = `cannot grab a frame at ${where} from ${input}`;
    const run = await runToStdout(cmd, what, input, (chunk) => chunks.push(chunk), timeoutMs);
    if (run.stopRequested)
      throw new VideoError(`cannot grab a frame from ${input}: timed out after ${timeoutMs} ms`);
    const data = Buffer.concat(chunks);
    const expected = width * height * 3;
    if (data.length === 0 || (format === 'rgb' && data.length !== expected)) {
      throw new VideoError(`cannot grab a frame at ${where} from ${input}: no frame there`);
    }
    return { format, width, height, data };
  } finally {
    if (maskDir) await rm(maskDir, { recursive: true, force: true });
  }
}

export interface RawVideoEncoderOptions {
  output: string;
  width: number;
  height: number;
  fps: number;
  pixelFormat?: 'rgb24' | 'gray';
  crf?: number;
  preset?: string;
  /** Keyframe interval in frames (fixed, no scene-cut keyframes). */
  gop?: number;
  /** x264 threads; default 2 (DETERMINISTIC_H264), which makes the output the same on every machine. 0 = one per core. */
  threads?: number;
  timeoutMs?: number;
}

export interface RawVideoEncoder {
  /** Queues one frame of width*height*(3|1) bytes; resolves when ffmpeg can take more. */
  write(frame: Uint8Array): Promise<void>;
  /** Ends the input and waits until the MP4 is complete. */
  finish(): Promise<{ bytes: number; frames: number }>;
}

/** Pipes raw frames rendered in TypeScript into an H.264 MP4 (used by the fixture generator and benchmarks). */
export function openRawVideoEncoder(options: RawVideoEncoderOptions): RawVideoEncoder {
  const pixelFormat = options.pixelFormat ?? 'rgb24';
  const frameBytes = options.width * options.height * (pixelFormat === 'rgb24' ? 3 : 1);
  const source = new PassThrough({ highWaterMark: frameBytes * 2 });
  const gop = options.gop ?? Math.round(options.fps * 2);
  const cmd = command(source)
    .inputOptions([
      '-f',
      'rawvideo',
      '-pix_fmt',
      pixelFormat,
      '-s',
      `${options.width}x${options.height}`,
      '-framerate',
      String(options.fps),
    ])
    .outputOptions([
      '-c:v',
      'libx264',
      '-preset',
      options.preset ?? 'medium',
      '-crf',
      String(options.crf ?? 23),
      '-g',
      String(gop),
      '-keyint_min',
      String(gop),
      '-sc_threshold',
      '0',
      '-pix_fmt',
      'yuv420p',
      ...DETERMINISTIC_H264,
      ...(options.threads === undefined ? [] : ['-threads', String(options.threads)]),
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
    ])
    .output(options.output);
  const run = new FfmpegRun(cmd, `cannot encode ${options.output}`, undefined, true);
  cmd.run();
  let frames = 0;
  return {
    async write(frame) {
      if (frame.length !== frameBytes) {
        throw new VideoError(`raw frame must be ${frameBytes} bytes, got ${frame.length}`);
      }
      if (run.exited)
        throw run.failure ?? new VideoError(`cannot encode ${options.output}: ffmpeg has exited`);
      frames++;
      // Copy: the caller may reuse its buffer while this one still waits in the pipe.
      if (!source.write(Buffer.from(frame))) {
        await Promise.race([once(source, 'drain'), run.done]);
        if (run.failure) throw run.failure;
      }
    },
    async finish() {
      source.end();
      const timer = setTimeout(() => void run.stop(), options.timeoutMs ?? 300_000);
      await run.done;
      clearTimeout(timer);
      if (run.failure) throw run.failure;
      const { size } = await stat(options.output);
      return { bytes: size, frames };
    },
  };
}

/**
 * The decode-only baseline for benchmarks: the same decode, scale and gray conversion as decodeGrayFrames,
 * into ffmpeg's null sink (no pipe, no Node). Resolves when ffmpeg is done.
 */
export async function decodeToNullSink(file: string, options: { width?: number; timeoutMs?: number } = {}) {
  await assertReadableVideoFile(file, 'decode');
  const width = options.width ?? 320;
  const cmd = command(file)
    .outputOptions([
      '-map',
      '0:v:0',
      '-an',
      '-vf',
      `scale=${width}:-2:flags=area,format=gray`,
      '-vsync',
      'passthrough',
      '-f',
      'null',
    ])
    .output('-');
  await runToEnd(cmd, `cannot decode ${file}`, file, options.timeoutMs ?? 600_000);
}

/**
 * Every coded frame of `file` as raw yuv420p at the source size, in presentation order. No scaling happens in
 * ffmpeg, so the bytes are the same on every ffmpeg build (H.264 decoding is bit-exact). yuv420p, not just the
 * luma plane: ffmpeg converts other sources (10-bit, full range) to it, where a plane copy would pass them through.
 */
export async function decodeRawYuv420(
  file: string,
  onFrame: (frame: Uint8Array) => void,
): Promise<VideoInfo & { frames: number }> {
  const info = await probe(file);
  const frameBytes = rawYuv420FrameBytes(file, info);
  const assembler = new FrameAssembler();
  assembler.setFrameSize(frameBytes);
  const { frames } = await streamRawYuv420(file, info, (chunk) => {
    assembler.write(chunk);
    for (let frame = assembler.take(); frame; frame = assembler.take()) onFrame(frame);
  });
  return { ...info, frames };
}

/**
 * A video's frames as 8-bit full-range gray at width × height, scaled and converted by ffmpeg (area scaling, swscale's
 * range expansion). Cheap for the caller, but swscale has CPU-specific paths, so values may differ by a step between
 * machines: for comparisons with a tolerance (a replay's picture checks), never for analysis frames that must be
 * exact (decodeRawYuv420).
 */
export async function decodeScaledGray(
  file: string,
  size: { width: number; height: number },
  onFrame: (frame: Uint8Array) => void,
): Promise<{ frames: number }> {
  const assembler = new FrameAssembler();
  assembler.setFrameSize(size.width * size.height);
  let frames = 0;
  const scale = `scale=${size.width}:${size.height}:flags=area,format=gray`;
  await streamRawVideo(file, 'gray', scale, (chunk) => {
    assembler.write(chunk);
    for (let frame = assembler.take(); frame; frame = assembler.take()) {
      frames++;
      onFrame(frame);
    }
  });
  return { frames };
}

/** Every frame of the file's first video stream, as raw `pixelFormat` bytes off ffmpeg's stdout. */
async function streamRawVideo(
  file: string,
  pixelFormat: 'yuv420p' | 'gray',
  filter: string | undefined,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  const cmd = command(file).outputOptions([
    '-map',
    '0:v:0',
    '-vsync',
    'passthrough',
    ...(filter ? ['-vf', filter] : []),
    '-f',
    'rawvideo',
    '-pix_fmt',
    pixelFormat,
  ]);
  const timeoutMs = 600_000;
  const run = await runToStdout(cmd, `cannot decode ${file}`, file, onChunk, timeoutMs);
  if (run.stopRequested)
    throw new VideoError(`cannot decode ${file}: ffmpeg did not finish within ${timeoutMs} ms`);
}

function rawYuv420FrameBytes(file: string, info: VideoInfo): number {
  const frameBytes = (info.width * info.height * 3) / 2;
  if (!Number.isInteger(frameBytes)) throw new VideoError(`cannot decode ${file}: odd picture size`);
  return frameBytes;
}

async function streamRawYuv420(
  file: string,
  info: VideoInfo | Promise<VideoInfo>,
  onChunk: (chunk: Buffer) => void,
): Promise<{ frames: number }> {
  let bytes = 0;
  await streamRawVideo(file, 'yuv420p', undefined, (chunk) => {
    bytes += chunk.length;
    onChunk(chunk);
  });
  const frameBytes = rawYuv420FrameBytes(file, await info);
  if (bytes === 0 || bytes % frameBytes !== 0) throw new VideoError(`cannot decode ${file}: no whole frames`);
  return { frames: bytes / frameBytes };
}
