/**
 * One JPEG encoder per stream, shared by its MJPEG viewers: it decodes the stream's H.264 (so MJPEG shows exactly
 * the pictures RTSP does, and the framing, privacy mask and pacing exist once) and re-encodes each picture as a
 * JPEG. Started by the first viewer, stopped a linger after the last. A viewer that reads slowly gets the latest
 * picture when its socket drains, never a backlog.
 */
import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { command, FfmpegRun, StdoutSink } from '../video/ffmpeg/process.js';
import type { AccessUnit, LiveVideo, StreamInfo, Subscription } from './live-video.js';
import { JpegSplitter, LatestPictureFanout, MJPEG_CONTENT_TYPE } from './mjpeg.js';

export interface MjpegStreamOptions {
  video: LiveVideo;
  logger: Logger;
  /** How long the JPEG encoder keeps running after the last viewer left. */
  lingerMs?: number;
  /** Viewers at once; more are refused. */
  maxViewers?: number;
  /** JPEG quality on ffmpeg's 2 (best) … 31 scale. */
  quality?: number;
}

/** H.264 bytes the decoder has not taken yet above which units are dropped until the next keyframe. */
const MAX_DECODER_BACKLOG_BYTES = 8 << 20;
const START_CODE = Buffer.from([0, 0, 0, 1]);

interface DecoderRun {
  subscription: Subscription | undefined;
  input: PassThrough;
  ffmpeg: FfmpegRun | undefined;
  dropping: boolean;
}

export class MjpegStream {
  private readonly viewers = new LatestPictureFanout();
  private run: DecoderRun | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private latestJpeg: Buffer | undefined;
  private closed = false;
  /** JPEG encoder processes started (tests: viewers share one). */
  starts = 0;

  constructor(private readonly options: MjpegStreamOptions) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  get full(): boolean {
    return this.viewers.size >= (this.options.maxViewers ?? 16);
  }

  /** Pictures slow viewers never got (a newer one replaced them). */
  get dropped(): number {
    return this.viewers.dropped;
  }

  /** Bytes held for viewers now (unsent parts and waiting pictures): bounded however slowly they read. */
  bufferedBytes(): number {
    return this.viewers.bufferedBytes();
  }

  get running(): boolean {
    return this.run !== undefined;
  }

  /** The newest JPEG while the encoder runs. */
  get latest(): Buffer | undefined {
    return this.run ? this.latestJpeg : undefined;
  }

  /** Serves the stream on `res` until the client goes away; the headers are sent at once. */
  async serve(res: ServerResponse): Promise<void> {
    if (this.closed) throw new Error('the MJPEG stream is stopped');
    this.viewers.add(res);
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    res.on('close', () => this.remove(res));
    res.writeHead(200, {
      'Content-Type': MJPEG_CONTENT_TYPE,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      Connection: 'close',
    });
    res.flushHeaders();
    try {
      if (!this.run) await this.startRun();
    } catch (error) {
      this.remove(res);
      res.destroy();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.viewers.destroyAll();
    await this.stopRun();
  }

  private remove(res: ServerResponse): void {
    if (!this.viewers.remove(res) || this.viewers.size > 0 || !this.run) return;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.viewers.size === 0) void this.stopRun();
    }, this.options.lingerMs ?? 5_000);
    this.lingerTimer.unref();
  }

  private onJpeg(run: DecoderRun, jpeg: Buffer): void {
    if (this.run !== run) return;
    this.latestJpeg = jpeg;
    this.viewers.send(jpeg);
  }

  private async startRun(): Promise<void> {
    const input = new PassThrough();
    const run: DecoderRun = { subscription: undefined, input, ffmpeg: undefined, dropping: false };
    this.run = run;
    this.latestJpeg = undefined;
    this.starts++;
    try {
      run.subscription = await this.options.video.subscribe(
        (unit) => this.feed(run, unit),
        (error) => this.onVideoEnded(run, error),
      );
    } catch (error) {
      if (this.run === run) this.run = undefined;
      throw error;
    }
    if (this.run !== run) {
      run.subscription.unsubscribe();
      return;
    }
    this.spawn(run, run.subscription.info);
  }

  private spawn(run: DecoderRun, info: StreamInfo): void {
    const splitter = new JpegSplitter();
    const sink = new StdoutSink((chunk) => {
      for (const jpeg of splitter.push(chunk)) this.onJpeg(run, jpeg);
    });
    const cmd = command(run.input)
      .inputOptions([
        '-f',
        'h264',
        '-framerate',
        String(info.fps),
        '-probesize',
        '32',
        '-analyzeduration',
        '0',
        '-fflags',
        'nobuffer',
        '-flags',
        'low_delay',
        // One decoder thread: frame threads would each hold a picture back.
        '-threads',
        '1',
      ])
      .outputOptions([
        '-an',
        '-vsync',
        'passthrough',
        '-c:v',
        'mjpeg',
        '-q:v',
        String(this.options.quality ?? 5),
        '-pix_fmt',
        'yuvj420p',
        '-f',
        'image2pipe',
      ]);
    const ffmpeg = new FfmpegRun(cmd, `cannot encode the ${info.name} MJPEG stream`, { stdinIsInput: true });
    run.ffmpeg = ffmpeg;
    cmd.pipe(sink, { end: true });
    void ffmpeg.done.then(() => {
      if (this.run !== run) return;
      const error = ffmpeg.failure ?? new Error('ffmpeg ended');
      this.options.logger.error({ err: error.message, stream: info.name }, 'MJPEG encoder failed');
      this.endRun();
    });
  }

  private feed(run: DecoderRun, unit: AccessUnit): void {
    if (this.run !== run) return;
    // A decoder that falls behind skips to the next keyframe rather than queueing without bound.
    if (run.input.writableLength > MAX_DECODER_BACKLOG_BYTES) run.dropping = true;
    if (run.dropping && !unit.keyframe) return;
    run.dropping = false;
    for (const nal of unit.nals) {
      run.input.write(START_CODE);
      run.input.write(nal);
    }
  }

  private onVideoEnded(run: DecoderRun, error: Error | undefined): void {
    if (this.run !== run) return;
    if (error) this.options.logger.warn({ err: error.message }, 'MJPEG stream lost its video');
    this.endRun();
  }

  /** The run ended on its own: its viewers are closed (a client reconnects and starts a new one). */
  private endRun(): void {
    void this.stopRun();
    this.viewers.destroyAll();
  }

  private async stopRun(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.run = undefined;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    run.subscription?.unsubscribe();
    run.input.end();
    await run.ffmpeg?.stop();
  }
}
