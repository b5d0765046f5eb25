/**
 * Frames for analysis: the first video stream decoded, scaled and turned gray by ffmpeg. Measured facts it is built on:
 * - `-vsync passthrough` gives one frame per coded frame, no duplicates or drops (the bundled 2018 build does not
 *   know `-fps_mode`);
 * - reads from a socket are not frame-aligned, so the raw video is re-framed by byte count;
 * - the frames arrive over a Unix socket read into one reused buffer (frame-socket.ts): a Buffer per 64 KB stdout
 *   chunk cost more CPU than the detector;
 * - per-frame presentation times come from a second output: a 2×2 crop of each frame into the `framecrc` muxer on
 *   stdout, one short line per frame in one write. They used to come from the `showinfo` filter on stderr, which
 *   ffmpeg writes unbuffered, ≈15 writes a frame (strace): Node's reads of those cost more CPU than the detector.
 */
import type ffmpeg from 'fluent-ffmpeg';
import { FrameSocket } from '../frame-socket.js';
import {
  FrameAssembler,
  type GrayFrame,
  parseFramecrcLine,
  parseRawvideoOutputSize,
  roundMs,
} from '../frames.js';
import { assertReadableVideoFile, VideoError } from './errors.js';
import { command, FfmpegRun } from './process.js';

const DEFAULT_STALL_TIMEOUT_MS = 20_000;
/** Decoded bytes held for a slow consumer before ffmpeg is paused (backpressure). */
const DECODE_BUFFER_BYTES = 2 * 1024 * 1024;
const LISTEN_TIMEOUT_MS = 15_000;
/** Consumed presentation times kept before the queue is compacted. */
const PTS_COMPACT_AFTER = 1024;

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
  const decode = await GrayDecode.start(file, width, options);
  try {
    for (;;) {
      if (signal?.aborted) return;
      const frame = decode.take();
      if (frame) {
        yield frame;
        continue;
      }
      if (decode.resumeAndCheckEnd()) break;
      await decode.waitForActivity();
    }
    decode.assertComplete();
  } finally {
    await decode.close();
  }
}

/** The ffmpeg command: frames to the socket (`frameSocketUrl`); a split-off 2×2 crop of each to stdout as framecrc. */
function grayDecodeCommand(
  file: string,
  width: number,
  loop: boolean,
  frameSocketUrl: string,
): ffmpeg.FfmpegCommand {
  // A looped decode is the agent's camera and stops when the agent says; a file analysed once may die with Ctrl+C.
  return command(file, { ownProcessGroup: loop })
    .inputOptions(loop ? ['-stream_loop', '-1'] : [])
    .outputOptions([
      '-filter_complex',
      `[0:v:0]scale=${width}:-2:flags=area,format=gray,split[frames][stamps];[stamps]crop=2:2:0:0[stamp]`,
      '-map',
      '[frames]',
      '-vsync',
      'passthrough',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      // One write per frame, not the 32 KB pieces of ffmpeg's I/O buffer: fewer wake-ups for Node.
      '-avioflags',
      'direct',
      // ffmpeg listens; an ffmpeg nobody connects to (its parent died) gives up after this many ms.
      '-listen',
      '1',
      '-timeout',
      String(LISTEN_TIMEOUT_MS),
    ])
    .output(frameSocketUrl)
    .output('pipe:1')
    .outputOptions([
      '-map',
      '[stamp]',
      '-c:v',
      'rawvideo',
      // The source's time base, so the pts are the source's own; each line written as its frame is.
      '-enc_time_base',
      '-1',
      '-flush_packets',
      '1',
      '-f',
      'framecrc',
    ]);
}

/** One running decode: ffmpeg, the socket its frames come through, and the stamps its stderr gives them. */
class GrayDecode {
  private readonly assembler = new FrameAssembler();
  private readonly stamps: FramecrcStamps;
  private readonly activity: ActivityWait;
  private readonly run: FfmpegRun;
  /** With recycled buffers, the frame yielded two requests ago goes back to the assembler. */
  private readonly lent: Array<Uint8Array | undefined> = [undefined, undefined];
  private index = 0;
  private discarding = false;

  static async start(file: string, width: number, options: DecodeOptions): Promise<GrayDecode> {
    const socket = await FrameSocket.create().catch((error: Error) => {
      throw new VideoError(`cannot decode ${file}: ${error.message}`);
    });
    const cmd = grayDecodeCommand(file, width, options.loop === true, socket.url);
    return new GrayDecode(file, cmd, socket, options);
  }

  private constructor(
    private readonly file: string,
    cmd: ffmpeg.FfmpegCommand,
    private readonly socket: FrameSocket,
    private readonly options: DecodeOptions,
  ) {
    const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.activity = new ActivityWait(
      stallTimeoutMs,
      () => new VideoError(`cannot decode ${file}: ffmpeg produced nothing for ${stallTimeoutMs} ms`),
    );
    const { notify } = this.activity;
    this.stamps = new FramecrcStamps(notify, (size) => {
      this.assembler.setFrameSize(size.width * size.height);
      notify();
    });
    this.run = new FfmpegRun(cmd, `cannot decode ${file}`, {
      onLine: (line) => this.stamps.readLog(line),
      onStdout: (chunk) => this.stamps.readStamps(chunk),
      onStdoutEnd: notify,
      inputFile: file,
    });
    this.run.whenExited(notify);
    socket.connect({
      onBytes: (bytes) => {
        if (!this.discarding) this.assembler.write(bytes);
        notify();
        return this.discarding || this.assembler.wholeFrameBytes < DECODE_BUFFER_BYTES;
      },
      onStateChange: notify,
      shouldGiveUp: () => this.run.exited || this.run.stopRequested,
    });
    cmd.run();
    options.signal?.addEventListener('abort', notify, { once: true });
    this.activity.startWatchdog();
  }

  /** The next whole frame with its presentation time, when both have arrived. */
  take(): GrayFrame | undefined {
    const pts = this.stamps.next();
    const size = this.stamps.size;
    if (pts === undefined || !size) return undefined;
    const data = this.assembler.take();
    if (!data) return undefined;
    if (this.options.recycleBuffers) {
      const returned = this.lent[this.index % 2];
      if (returned) this.assembler.recycle(returned);
      this.lent[this.index % 2] = data;
    }
    this.stamps.advance();
    return {
      index: this.index++,
      ptsMs: this.stamps.toMs(pts),
      width: size.width,
      height: size.height,
      data,
    };
  }

  /** Reads on when there is room; true once ffmpeg has exited and nothing more can arrive. */
  resumeAndCheckEnd(): boolean {
    if (this.assembler.wholeFrameBytes < DECODE_BUFFER_BYTES) this.socket.resume();
    if (this.run.failure) return this.run.exited;
    return this.run.exited && this.run.stdoutEnded && this.socket.state === 'closed';
  }

  waitForActivity(): Promise<void> {
    return this.activity.wait();
  }

  /** After the end: ffmpeg's failure, or output that stopped inside a frame. */
  assertComplete(): void {
    if (this.run.failure) throw this.run.failure;
    if (this.stamps.pending || this.assembler.bufferedBytes > 0) {
      throw new VideoError(`cannot decode ${this.file}: ffmpeg output ended inside a frame`);
    }
  }

  async close(): Promise<void> {
    this.activity.dispose();
    this.options.signal?.removeEventListener('abort', this.activity.notify);
    if (!this.run.exited) {
      // Drain so a backpressured ffmpeg can read its `q`; one still waiting for us to connect gets SIGINT.
      this.discarding = true;
      this.socket.resume();
      await this.run.stop({ interrupt: this.socket.state === 'connecting' });
    }
    await this.socket.dispose();
  }
}

/** Presentation times (framecrc lines on stdout) and the output size (ffmpeg's log), as frames are decoded. */
class FramecrcStamps {
  size: { width: number; height: number } | undefined;
  private readonly pts: number[] = [];
  private head = 0;
  private timebase: { num: number; den: number } | undefined;
  private partialLine = '';
  private inFirstOutput = false;

  constructor(
    private readonly onStamp: () => void,
    private readonly onSize: (size: { width: number; height: number }) => void,
  ) {}

  readStamps(chunk: Buffer): void {
    const lines = (this.partialLine + chunk.toString('latin1')).split('\n');
    this.partialLine = lines.pop()!;
    let stamped = false;
    for (const line of lines) {
      const parsed = parseFramecrcLine(line);
      if (parsed?.kind === 'frame') {
        this.pts.push(parsed.pts);
        stamped = true;
      } else if (parsed?.kind === 'timebase') {
        this.timebase ??= { num: parsed.num, den: parsed.den };
      }
    }
    if (stamped) this.onStamp();
  }

  /** Takes in one stderr line, looking for the frames output's size; never claims the line. */
  readLog(line: string): boolean {
    if (this.size) return false;
    if (line.startsWith('Output #0')) this.inFirstOutput = true;
    else if (this.inFirstOutput) {
      this.size = parseRawvideoOutputSize(line);
      if (this.size) this.onSize(this.size);
    }
    return false;
  }

  /** The next frame's pts in timebase units, if written yet. */
  next(): number | undefined {
    return this.pts[this.head];
  }

  advance(): void {
    this.head++;
    if (this.head > PTS_COMPACT_AFTER) {
      this.pts.splice(0, this.head);
      this.head = 0;
    }
  }

  get pending(): boolean {
    return this.head < this.pts.length;
  }

  toMs(pts: number): number {
    const tb = this.timebase ?? { num: 1, den: 1000 };
    return roundMs((pts * 1000 * tb.num) / tb.den);
  }
}

/**
 * Wakes the decode loop on any activity, and fails its wait once ffmpeg has produced nothing for stallTimeoutMs.
 * One watchdog per decode rather than a timer per wait: it only fires while the loop is waiting.
 */
class ActivityWait {
  private wake: (() => void) | undefined;
  private waitingSince = Number.NaN;
  private stalled: VideoError | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly stallTimeoutMs: number,
    private readonly stallError: () => VideoError,
  ) {}

  readonly notify = (): void => {
    const resolve = this.wake;
    this.wake = undefined;
    resolve?.();
  };

  startWatchdog(): void {
    this.watchdog = setInterval(
      () => {
        if (
          !Number.isNaN(this.waitingSince) &&
          performance.now() - this.waitingSince >= this.stallTimeoutMs
        ) {
          this.stalled = this.stallError();
          this.notify();
        }
      },
      Math.min(1_000, this.stallTimeoutMs),
    );
    this.watchdog.unref();
  }

  async wait(): Promise<void> {
    this.waitingSince = performance.now();
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.waitingSince = Number.NaN;
    if (this.stalled) throw this.stalled;
  }

  dispose(): void {
    clearInterval(this.watchdog);
  }
}
