/**
 * One JPEG encoder per stream, shared by its MJPEG viewers: ffmpeg turns the stream's live picture (the same
 * live-source.ts command the H.264 encoder runs: framing, privacy mask, pacing) into JPEGs. Started by the first
 * viewer, stopped a linger after the last. A viewer that reads slowly gets the latest picture when its socket
 * drains, never a backlog.
 *
 * Encoding from the source rather than decoding the H.264 stream, measured on this machine for battery-720p (CPU s
 * per 10 s of stream): 1.2 from the source; 1.1–1.2 to decode and re-encode, plus the H.264 encode's 1.0–1.3 when
 * no RTSP viewer needs it. MJPEG is often watched alone (Home Assistant's MJPEG camera), and one lossy step fewer
 * is sharper.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import { type FfmpegRun, StdoutSink } from '../video/ffmpeg/process.js';
import { type LivePicture, livePictureCommand, runLiveCommand } from './live-source.js';
import { JpegSplitter, LatestPictureFanout, MJPEG_CONTENT_TYPE } from './mjpeg.js';

export interface MjpegStreamOptions extends LivePicture {
  logger: Logger;
  /** How long the JPEG encoder keeps running after the last viewer left. */
  lingerMs?: number;
  /** Viewers at once; more are refused. */
  maxViewers?: number;
  /** JPEG quality on ffmpeg's 2 (best) … 31 scale. */
  quality?: number;
}

interface EncoderRun {
  /** Undefined while the mask file is being written. */
  ffmpeg: FfmpegRun | undefined;
}

export class MjpegStream {
  private readonly viewers = new LatestPictureFanout();
  private run: EncoderRun | undefined;
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
  serve(res: ServerResponse): void {
    if (this.closed) throw new Error('the MJPEG stream is stopped');
    this.viewers.add(res);
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    res.on('close', () => this.remove(res));
    // The raw multipart body until the connection closes, as cameras send it: no chunked transfer coding around it.
    res.useChunkedEncodingByDefault = false;
    res.writeHead(200, {
      'Content-Type': MJPEG_CONTENT_TYPE,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      Connection: 'close',
    });
    res.flushHeaders();
    if (!this.run) this.startRun();
  }

  /** The owner changed the privacy zones: a running encoder restarts with the new mask (viewers stay). */
  async restart(): Promise<void> {
    if (!this.run) return;
    await this.stopRun();
    if (this.viewers.size > 0 && !this.closed) this.startRun();
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

  private startRun(): void {
    const run: EncoderRun = { ffmpeg: undefined };
    this.run = run;
    this.latestJpeg = undefined;
    this.starts++;
    this.spawn(run).catch((error: Error) => this.onRunEnded(run, error));
  }

  private async spawn(run: EncoderRun): Promise<void> {
    const { options } = this;
    const splitter = new JpegSplitter();
    const sink = new StdoutSink((chunk) => {
      for (const jpeg of splitter.push(chunk)) {
        if (this.run !== run) return;
        this.latestJpeg = jpeg;
        this.viewers.send(jpeg);
      }
    });
    const { cmd, mask } = await livePictureCommand(options, options.feedNow());
    cmd.outputOptions([
      '-c:v',
      'mjpeg',
      '-q:v',
      String(options.quality ?? 5),
      '-pix_fmt',
      'yuvj420p',
      '-f',
      'image2pipe',
    ]);
    const ended = await runLiveCommand(
      { cmd, mask },
      sink,
      `cannot encode the ${options.name} MJPEG stream`,
      options.source,
      (ffmpeg) => {
        run.ffmpeg = ffmpeg;
        return this.run === run;
      },
    );
    this.onRunEnded(run, ended);
  }

  /** A run that ended on its own closes its viewers (a client reconnects and starts a new one). */
  private onRunEnded(run: EncoderRun, error: Error | undefined): void {
    if (this.run !== run) return;
    this.run = undefined;
    if (error)
      this.options.logger.error({ err: error.message, stream: this.options.name }, 'MJPEG encoder failed');
    this.viewers.destroyAll();
  }

  private async stopRun(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.run = undefined;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    // spawn() has not created the process yet: it stops it as soon as it has (this.run changed).
    await run.ffmpeg?.stop();
  }
}
