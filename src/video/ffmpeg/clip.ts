/** Clips: a window of a looping file or of a feed of frame runs, cut frame-accurately into an H.264 MP4. */
import { rename, rm, stat } from 'node:fs/promises';
import type ffmpeg from 'fluent-ffmpeg';
import type { NormalizedPolygon } from '../../geometry/polygon.js';
import { type CameraPicture, retimedFrameCount, retimeFilter } from '../camera-picture.js';
import {
  type FrameRun,
  type FrameRunFeed,
  feedFrameCount,
  framesInWindow,
  runsInWindow,
} from '../frame-runs.js';
import { DETERMINISTIC_H264, seconds } from './args.js';
import { assertReadableVideoFile, VideoError } from './errors.js';
import { drawablePolygons, type MaskFile, writeMaskFile } from './mask.js';
import { cameraFramingFilter, evenPictureSize } from './picture.js';
import { frameSeekMs, probe } from './probe.js';
import { command, runToEnd } from './process.js';

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
  /**
   * The camera's picture: the source framed at its size (cover, centre crop) and re-timed to its rate, as the
   * camera's encoder would make it. Default: the source's own size and rate.
   */
  picture?: CameraPicture;
  /** Privacy masks burned in as black polygons, drawn at the output size (normalized to the output picture). */
  blackout?: readonly NormalizedPolygon[];
  /** x264 quality, default 23. */
  crf?: number;
  /** x264 preset, default veryfast. */
  preset?: string;
  /** Default: the longer of 2 minutes and 20× the clip's length (see encodeTimeoutMs). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface EncodedClip {
  output: string;
  bytes: number;
  durationMs: number;
}

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
  /** The source's size and frame rate, and how many of its frames the cut holds. */
  info: () => Promise<{ width: number; height: number; fps: number; frames: number }>;
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
  // build, so it is only used for windows that do not wrap, where it is a fast, frame-accurate seek; the input's
  // `-t` ends the cut on the source's frames (ffmpeg trims the input), before any re-timing.
  const wraps = window.extraLoops > 0;
  const cmd = command(input).inputOptions(
    wraps
      ? ['-stream_loop', String(window.extraLoops)]
      : ['-ss', seconds(window.seekMs), '-t', seconds(window.durationMs)],
  );
  const graph = wraps
    ? `[0:v:0]trim=start=${seconds(window.seekMs)}:end=${seconds(window.seekMs + window.durationMs)},setpts=PTS-STARTPTS[cut]`
    : undefined;
  return {
    cmd,
    graph,
    inputCount: 1,
    files: [input],
    info: async () => {
      const info = await probe(input);
      // The frames trim keeps, [seek, seek + duration) on the (looped) timeline, counted as frame runs count them.
      const { first, end } = framesInWindow(
        info.fps,
        Number.POSITIVE_INFINITY,
        window.seekMs,
        window.seekMs + window.durationMs,
      );
      const available =
        loopDurationMs || info.frameCount === undefined ? end : Math.min(end, info.frameCount);
      return { ...info, frames: Math.max(0, available - first) };
    },
    durationMs: window.durationMs,
  };
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
    files,
    info: async () => ({ ...infos.get(runs[0]!.path)!, fps: feed.fps, frames }),
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
  const blackout = drawablePolygons(options.blackout);
  const temp = `${output}.partial-${process.pid}`;
  let mask: MaskFile | undefined;
  try {
    const source = await selection.info();
    let maskInput: number | undefined;
    if (blackout.length > 0) {
      const { width, height } = options.picture ? evenPictureSize(options.picture) : source;
      mask = await writeMaskFile(width, height, blackout);
      cmd.input(mask.file);
      maskInput = selection.inputCount;
    }
    const retimed = options.picture && Math.abs(options.picture.fps - source.fps) > 1e-6;
    const picture = options.picture && {
      size: options.picture,
      retime: retimed
        ? {
            sourceFps: source.fps,
            sourceFrames: source.frames,
            fps: options.picture.fps,
            frames: retimedFrameCount(source.frames, source.fps, options.picture.fps),
          }
        : undefined,
    };
    cmd.outputOptions([...videoMapOptions(selection, picture, maskInput), ...h264Options(options)]);
    cmd.output(temp);
    // ffmpeg's own error line is shortened by the input's path only when there is one input.
    const single = files.length === 1 ? files[0] : undefined;
    const timeoutMs = options.timeoutMs ?? encodeTimeoutMs(selection.durationMs);
    await runToEnd(cmd, what, single, timeoutMs, options.signal);
    await rename(temp, output);
    const { size } = await stat(output);
    return { output, bytes: size, durationMs: selection.durationMs };
  } finally {
    await rm(temp, { force: true });
    await mask?.dispose();
  }
}

/** Source frames at sourceFps in, `frames` frames at fps out (camera-picture.ts). */
interface Retiming {
  sourceFps: number;
  sourceFrames: number;
  fps: number;
  frames: number;
}

/**
 * How long an encode may take before it counts as hung: it scales with the clip, since a 1080p30 clip costs about
 * 0.6 CPU seconds per second of video (docs/measurements.md). A fixed 2 minutes killed 18 s clips on a 2-core
 * machine at load 15 with x264's assembly off (the determinism matrix's x264-no-asm variant), and 20× the clip's
 * length a 12 s clip under qemu's emulated Nehalem at load 11 (≈10 CPU seconds per second of 1080p30 there).
 */
function encodeTimeoutMs(clipMs: number): number {
  return Math.max(120_000, 40 * clipMs);
}

/**
 * The filter graph and map from the cut to the camera's picture: framed at its size, re-timed (`fps` undefined: the
 * source's rate is the camera's; frames restamped from 0 give the re-timing its clock, camera-picture.ts), then the
 * mask (input `maskInput`) overlaid at that size. Re-timing comes before the overlay because overlay's output ends
 * at its last frame's start: `fps` after it would drop the last frame's repeats (measured: 19 frames at 20 fps from
 * 15 source frames, not 20).
 */
function videoMapOptions(
  selection: ClipSelection,
  picture: { size: CameraPicture; retime: Retiming | undefined } | undefined,
  maskInput: number | undefined,
): string[] {
  if (!picture && maskInput === undefined) {
    return selection.graph ? ['-filter_complex', selection.graph, '-map', '[cut]'] : ['-map', '0:v:0'];
  }
  const chains = [selection.graph ?? '[0:v:0]null[cut]'];
  let last = 'cut';
  const retime = picture?.retime;
  if (picture) {
    // Re-timed frames are stamped by their index, after the last one is shown once more: the 2018 build's `fps` ends
    // at its input's last timestamp, so without it the last frame and its repeats were lost (416 frames instead of
    // 418 from 209 frame-run frames; tpad did not help there). `loop` with start = the frame count repeats the last
    // frame (measured on both builds; start = count − 1 repeats the one before). -frames:v then ends at the frames
    // the source's time covers.
    const stamps = retime
      ? `loop=loop=1:size=1:start=${retime.sourceFrames},setpts=N/(${retime.sourceFps}*TB)`
      : 'setpts=PTS-STARTPTS';
    chains.push(`[${last}]${stamps},${cameraFramingFilter(picture.size)}[framed]`);
    last = 'framed';
  }
  if (retime) {
    chains.push(`[${last}]${retimeFilter(retime.fps)}[timed]`);
    last = 'timed';
  }
  if (maskInput !== undefined) {
    chains.push(`[${last}][${maskInput}:v]overlay=0:0:format=auto[masked]`);
    last = 'masked';
  }
  const frames = retime ? ['-frames:v', String(retime.frames)] : [];
  return ['-filter_complex', chains.join(';'), '-map', `[${last}]`, ...frames];
}

/** Video only, every frame kept, H.264 for any player, deterministic, playable while it downloads. */
function h264Options(options: Pick<EncodeClipOptions, 'preset' | 'crf'>): string[] {
  return [
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
  ];
}
