/**
 * One H.264 encoder per stream, shared by every viewer: ffmpeg encodes the camera's live picture (live-source.ts)
 * to an Annex B byte stream that is cut into access units here. Started by the first subscriber, stopped a linger
 * after the last one left; the current group of pictures is kept so a new viewer starts on a keyframe at once.
 */
import type { Logger } from '../log/logger.js';
import { type FfmpegRun, StdoutSink } from '../video/ffmpeg/process.js';
import { gopLength } from './device-streams.js';
import { AccessUnitAssembler, AnnexBSplitter, isKeyframe, NAL_TYPE, nalType } from './h264/annex-b.js';
import { type LivePicture, livePictureCommand, runLiveCommand } from './live-source.js';
import type { AccessUnit, LiveVideo, StreamInfo, StreamName, Subscription } from './live-video.js';

export interface LiveEncoderOptions extends LivePicture {
  logger: Logger;
  /** How long the encoder keeps running after the last viewer left (a reconnecting viewer finds it warm). */
  lingerMs?: number;
  /** How long a subscriber waits for the first keyframe. */
  startTimeoutMs?: number;
}

type EndListener = NonNullable<Parameters<LiveVideo['subscribe']>[1]>;

interface Subscriber {
  onUnit: (unit: AccessUnit) => void;
  onEnd: EndListener | undefined;
  /** Units waiting for delivery until subscribe() has resolved (the GOP replay first). */
  queued: AccessUnit[] | undefined;
}

const DEFAULT_LINGER_MS = 5_000;
const DEFAULT_START_TIMEOUT_MS = 15_000;
/**
 * x264 threads, pinned: "auto" follows the machine's cores and, with zerolatency's sliced threads, cuts every
 * picture into that many slices. One encode per stream must leave a core to detection and clip encodes. Measured on
 * this 2-core machine (privacy zone burned in, whole pipeline): battery-720p (1280×720, 15 fps) 1.3 CPU s per 10 s
 * of stream, wired-1080p (1920×1080, 30 fps) 2.3–3.1 CPU s: one thread keeps either in real time with room to spare.
 */
const X264_THREADS = '1';

/** The run now: its ffmpeg, where it started in feed time, and its own counters. */
interface EncoderRun {
  /** Undefined while the mask file is being written. */
  ffmpeg: FfmpegRun | undefined;
  feedStartMs: number;
  /** ptsMs of this run's first picture (the stream's clock keeps running across restarts). */
  ptsStartMs: number;
  pictures: number;
}

export class LiveEncoder implements LiveVideo {
  private readonly subscribers = new Set<Subscriber>();
  private run: EncoderRun | undefined;
  private info: StreamInfo | undefined;
  private gop: AccessUnit[] = [];
  private waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  private nextPtsMs = 0;
  private stopping: Promise<void> | undefined;
  private closed = false;
  /** How many ffmpeg processes this stream started (tests: viewers share one). */
  starts = 0;

  constructor(private readonly options: LiveEncoderOptions) {}

  get name(): StreamName {
    return this.options.name;
  }

  /** Whether an encoder process runs now. */
  get running(): boolean {
    return this.run !== undefined;
  }

  /** The encoder process's id while one runs (tests check it exits). */
  get pid(): number | undefined {
    return this.run?.ffmpeg?.proc?.pid;
  }

  get viewers(): number {
    return this.subscribers.size;
  }

  subscribe(onUnit: (unit: AccessUnit) => void, onEnd?: EndListener): Promise<Subscription> {
    return this.admit({ onUnit, onEnd, queued: [] });
  }

  /** The owner changed the privacy zones: a running encoder restarts with the new mask. */
  async restart(): Promise<void> {
    if (!this.run) return;
    await this.stopRun();
    if (this.subscribers.size > 0 && !this.closed) this.startRun();
  }

  /** Stops the encoder now and ends every subscription (agent shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    const stopped = new Error(`the ${this.options.name} stream is stopped`);
    for (const waiter of this.waiting.splice(0)) waiter.reject(stopped);
    await this.stopRun();
    this.endAll(undefined);
  }

  private async admit(subscriber: Subscriber): Promise<Subscription> {
    if (this.closed) throw new Error(`the ${this.options.name} stream is stopped`);
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.subscribers.add(subscriber);
    try {
      await this.stopping;
      if (!this.run) this.startRun();
      if (!this.info || this.gop[0]?.keyframe !== true) await this.firstKeyframe();
    } catch (error) {
      this.remove(subscriber);
      throw error;
    }
    if (!this.subscribers.has(subscriber)) throw new Error(`the ${this.options.name} stream ended`);
    subscriber.queued = [...this.gop];
    // Units start after subscribe() resolved, so the viewer has the stream info before its first unit.
    setImmediate(() => this.deliverQueued(subscriber));
    return { info: this.info!, unsubscribe: () => this.remove(subscriber) };
  }

  private deliverQueued(subscriber: Subscriber): void {
    const queued = subscriber.queued ?? [];
    subscriber.queued = undefined;
    for (const unit of queued) {
      if (!this.subscribers.has(subscriber)) return;
      this.deliver(subscriber, unit);
    }
  }

  private deliver(subscriber: Subscriber, unit: AccessUnit): void {
    if (subscriber.queued) {
      subscriber.queued.push(unit);
      return;
    }
    try {
      subscriber.onUnit(unit);
    } catch (error) {
      this.options.logger.error(
        { err: (error as Error).message, stream: this.options.name },
        'a live stream viewer failed on a unit',
      );
    }
  }

  private remove(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    if (this.subscribers.size > 0 || !this.run) return;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.subscribers.size === 0) void this.stopRun();
    }, this.options.lingerMs ?? DEFAULT_LINGER_MS);
    this.lingerTimer.unref();
  }

  private firstKeyframe(): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w.resolve !== done);
        reject(new Error(`the ${this.options.name} stream showed no picture within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiting.push({
        resolve: done,
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  private startRun(): void {
    const { options } = this;
    const feedStartMs = options.feedNow();
    const splitter = new AnnexBSplitter();
    const assembler = new AccessUnitAssembler();
    const sink = new StdoutSink((chunk) => {
      for (const nal of splitter.push(chunk))
        for (const nals of assembler.push(nal)) this.onPicture(run, nals);
    });
    const run: EncoderRun = { ffmpeg: undefined, feedStartMs, ptsStartMs: this.nextPtsMs, pictures: 0 };
    this.run = run;
    this.gop = [];
    this.starts++;
    void this.spawn(run, sink).catch((error: Error) => this.onRunEnded(run, error));
  }

  private async spawn(run: EncoderRun, sink: StdoutSink): Promise<void> {
    const { options } = this;
    const { cmd, mask } = await livePictureCommand(options, run.feedStartMs);
    const gop = String(gopLength(options.fps));
    cmd.outputOptions([
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-g',
      gop,
      '-keyint_min',
      gop,
      '-sc_threshold',
      '0',
      '-x264-params',
      'repeat-headers=1',
      '-threads',
      X264_THREADS,
      '-pix_fmt',
      'yuv420p',
      '-f',
      'h264',
    ]);
    const ended = await runLiveCommand(
      { cmd, mask },
      sink,
      `cannot encode the ${options.name} live stream`,
      options.source,
      (ffmpeg) => {
        run.ffmpeg = ffmpeg;
        return this.run === run;
      },
    );
    this.onRunEnded(run, ended);
  }

  private onPicture(run: EncoderRun, nals: Buffer[]): void {
    if (this.run !== run) return;
    const { fps } = this.options;
    const offsetMs = (run.pictures * 1000) / fps;
    run.pictures++;
    const unit: AccessUnit = {
      nals,
      ptsMs: run.ptsStartMs + offsetMs,
      feedMs: run.feedStartMs + offsetMs,
      keyframe: isKeyframe(nals),
    };
    this.nextPtsMs = unit.ptsMs + 1000 / fps;
    if (unit.keyframe) {
      this.gop = [unit];
      this.info ??= this.streamInfo(nals);
      if (this.info) for (const waiter of this.waiting.splice(0)) waiter.resolve();
    } else if (this.gop.length > 0) {
      // Bounded even if the encoder stopped sending keyframes: a viewer then waits for the next one.
      if (this.gop.length < fps * 4) this.gop.push(unit);
      else this.gop = [];
    } else return;
    for (const subscriber of this.subscribers) this.deliver(subscriber, unit);
  }

  private streamInfo(nals: readonly Buffer[]): StreamInfo | undefined {
    const sps = nals.find((nal) => nalType(nal) === NAL_TYPE.sps);
    const pps = nals.find((nal) => nalType(nal) === NAL_TYPE.pps);
    if (!sps || !pps) return undefined;
    const { name, size, fps } = this.options;
    return {
      name,
      width: size.width - (size.width % 2),
      height: size.height - (size.height % 2),
      fps,
      sps,
      pps,
    };
  }

  private onRunEnded(run: EncoderRun, error: Error | undefined): void {
    if (this.run !== run) return;
    this.run = undefined;
    this.gop = [];
    if (!error) return;
    this.options.logger.error(
      { err: error.message, stream: this.options.name },
      'live stream encoder failed',
    );
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    this.endAll(error);
  }

  private endAll(error: Error | undefined): void {
    const ended = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of ended) {
      try {
        subscriber.onEnd?.(error);
      } catch (listenerError) {
        this.options.logger.error(
          { err: (listenerError as Error).message },
          'a live stream end listener failed',
        );
      }
    }
  }

  private stopRun(): Promise<void> {
    const run = this.run;
    if (!run) return this.stopping ?? Promise.resolve();
    this.run = undefined;
    this.gop = [];
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    const stopped = (async () => {
      // spawn() has not created the process yet: it stops it as soon as it has (this.run changed).
      if (run.ffmpeg) await run.ffmpeg.stop();
    })().finally(() => {
      if (this.stopping === stopped) this.stopping = undefined;
    });
    this.stopping = stopped;
    return stopped;
  }
}
